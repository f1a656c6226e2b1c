// mbd-test-build: a test-only driver (never installed) that runs one real
// mbd-build pass (build/queue.hpp: spool, slots, job records, signed results,
// delivery, fault points) with sbuild replaced by a prebuilt result: for a
// request SOURCE VERSION on ARCH it takes DIR/SOURCE_VERSION_ARCH.changes and
// the files it lists (made with dpkg-buildpackage on the host). Crash and
// concurrency tests use it where sbuild itself is not what they test; a
// request without a prebuilt result fails like a build that failed.
#include "app/entry.hpp"
#include "build/queue.hpp"
#include "core/fs.hpp"
#include "core/strings.hpp"
#include "deb822/deb822.hpp"
#include "remote/routing.hpp"
#include "version/version.hpp"

#include <fmt/format.h>

#include <iostream>

using namespace mbd;

namespace {

build::SbuildOutcome prebuilt(const fs::path& from, const build::SbuildJob& job)
{
    const auto& r = job.request;
    std::string stem = fmt::format("{}_{}_{}", r.source, Version::parse(r.version).without_epoch(), r.architecture);
    fs::path out = job.dir / "out";
    make_dirs(out);
    build::SbuildOutcome o;
    o.log = out / (stem + ".build");
    fs::path changes = from / (stem + ".changes");
    std::error_code ec;
    if (!fs::exists(changes, ec)) {
        o.status = "failed";
        write_atomic(o.log, fmt::format("No prebuilt result '{}'.\nStatus: failed\n", changes.string()));
        return o;
    }
    auto p = deb822::parse_one(read_file(changes), changes.filename().string());
    for (const auto& line : p.lines("Files")) {
        auto w = split_ws(line);
        if (w.size() == 5)
            copy_atomic(from / std::string(w[4]), out / std::string(w[4]));
    }
    copy_atomic(changes, out / changes.filename());
    write_atomic(o.log, fmt::format("Prebuilt result of {} {} on {} (sbuild skipped).\nStatus: successful\n",
                                    r.source, r.version, r.architecture));
    o.status = "successful";
    o.changes = out / changes.filename();
    return o;
}

} // namespace

int main(int argc, char** argv)
{
    return run_tool(argc, argv, {"mbd-test-build", "test driver: an mbd-build pass with prebuilt results"}, [](Cli& cli) {
        auto dir = std::make_shared<std::string>();
        auto* c = cli.command("run", "one pass over the build spool, results taken from DIR", [dir](Context& ctx) {
            fs::path from = *dir;
            auto r = build::run_pass(ctx, remote::result_delivery(),
                                     [from](const build::SbuildJob& job) { return prebuilt(from, job); });
            std::cout << fmt::format("started {}, successful {}, failed {}\n", r.started, r.successful, r.failed);
        });
        c->add_option("DIR", *dir, "directory of prebuilt .changes and their files")->required();
    });
}
