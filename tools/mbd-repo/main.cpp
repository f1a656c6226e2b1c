// mbd-repo: manage APT repositories: configure, install, publish, query.
#include "core/entry.hpp"

int main(int argc, char** argv)
{
    return mbd::run_tool(argc, argv, {"mbd-repo", "manage APT repositories: configure, install, publish, query"}, [](mbd::Cli&) {});
}
