// mbd-repo's mirror group: push the published archive to a downstream mirror.
#include "cli.hpp"

#include "core/names.hpp"
#include "core/strings.hpp"
#include "repo/mirror.hpp"

#include <memory>

namespace mbd::repo {

void define_mirror(Cli& cli)
{
    auto* g = cli.group("mirror", "downstream mirrors of the published archive: push");
    auto push = std::make_shared<MirrorOptions>();
    auto* c = cli.command(
        g, "push",
        "copy the published archive to TARGET with rsync in two stages, as Debian's ftpsync does (pool and by-hash "
        "files first, then the indices and Release files, with deletions), with a marker during the push and a "
        "trace file after it",
        [push](Context& ctx) {
            auto r = mirror_push(ctx, *push);
            std::cout << fmt::format("pushed {} to {}\n", join(r.repositories, ", "), r.target);
            std::cout << fmt::format("stage 1: {} files, {} bytes sent, {:.1f} s\n", r.stage1.files, r.stage1.bytes,
                                     r.stage1.seconds);
            std::cout << fmt::format("stage 2: {} files, {} bytes sent, {:.1f} s\n", r.stage2.files, r.stage2.bytes,
                                     r.stage2.seconds);
            std::cout << fmt::format("trace: {}\n", r.trace);
        });
    c->add_option("target", push->target,
                  "a local directory, HOST:PATH (ssh), HOST::MODULE/PATH or rsync://HOST/MODULE/PATH (an rsync "
                  "daemon); what the archive does not hold is deleted there")
        ->required()
        ->check(CLI::Validator([](std::string& v) { return mirror_target_problem(v).value_or(""); }, ""));
    c->add_option("--repository", push->repository, "only this repository (default: all of HOME/repositories/)")
        ->check(name_of(names::repository));
}

} // namespace mbd::repo
