// mbd-repo: manage APT repositories: configure, install, publish, query.
// The subcommands are defined in libcommon/repo/cli.cpp.
#include "core/entry.hpp"
#include "repo/cli.hpp"

int main(int argc, char** argv)
{
    return mbd::run_tool(argc, argv, {"mbd-repo", "manage APT repositories: configure, install, publish, query"},
                         mbd::repo::define_cli);
}
