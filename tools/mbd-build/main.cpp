// mbd-build: run queued builds with sbuild.
#include "app/entry.hpp"
#include "build/queue.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/names.hpp"
#include "core/strings.hpp"
#include "remote/routing.hpp"
#include "upload/process.hpp"

#include <iostream>

using namespace mbd;

namespace {

struct Args {
    bool json = false;
    std::string status, id;
} args;

} // namespace

int main(int argc, char** argv)
{
    return run_tool(argc, argv, {"mbd-build", "run queued builds with sbuild"}, [](Cli& cli) {
        cli.command("run", "one pass over the build spool (what mbd-build.service runs)", [](Context& ctx) {
            auto r = build::run_pass(ctx, remote::result_delivery());
            std::cout << fmt::format("started {}, successful {}, failed {}\n", r.started, r.successful, r.failed);
            if (r.errors)
                throw fail(r.error, "{} build(s) ended in an error (their requesters got a failed result): see "
                                    "'mbd-build list'",
                           r.errors);
            if (r.rejected)
                throw fail(Exit::rejected, "rejected {} build request(s): see var/rejected/", r.rejected);
        });

        auto* c = cli.command("list", "builds run here: queued, waiting, running, successful, failed", [](Context& ctx) {
            auto jobs = build::list_jobs(ctx, args.status);
            if (args.json) {
                Json all = Json::array();
                for (const auto& j : jobs)
                    all.push(build::to_json(j));
                std::cout << all.dump();
                return;
            }
            for (const auto& j : jobs)
                std::cout << fmt::format("{:<12} {:<10} {} {} {} {}{}\n", j.id, j.status, j.source, j.version,
                                         j.architecture, j.finished ? iso_time(j.finished) : iso_time(j.queued),
                                         j.message.empty() || j.message == j.status ? "" : " " + j.message);
        });
        c->add_flag("--json", args.json, "print JSON");
        c->add_option("--status", args.status, "only builds in this state");

        c = cli.command("log", "print the log of a build", [](Context& ctx) { std::cout << read_file(build::job_log(ctx, args.id)); });
        c->add_option("id", args.id, "build id (see 'mbd-build list')")->required()->check(name_of(names::build_ref));

        c = cli.command("retry", "request a failed build again", [](Context& ctx) { upload::retry_build(ctx, args.id); });
        c->add_option("id", args.id, "build id (see 'mbd-incoming uploads')")->required()->check(name_of(names::build_id));

        c = cli.command("cancel", "stop a queued or running build; the upload fails", [](Context& ctx) {
            build::cancel(ctx, args.id, remote::result_delivery());
        });
        c->add_option("id", args.id, "build id (see 'mbd-build list')")->required()->check(name_of(names::build_ref));
    });
}
