// mbd-repo: manage APT repositories: configure, install, publish, query.
// Its command groups are defined in this directory (cli.hpp).
#include "app/entry.hpp"
#include "cli.hpp"

int main(int argc, char** argv)
{
    return mbd::run_tool(argc, argv, {"mbd-repo", "manage APT repositories: configure, install, publish, query"},
                         [](mbd::Cli& cli) {
                             mbd::repo::define_setup(cli);
                             mbd::repo::define_packages(cli);
                             mbd::repo::define_output(cli);
                             mbd::repo::define_repository(cli);
                             mbd::repo::define_source(cli);
                             mbd::repo::define_layout(cli);
                             mbd::repo::define_dist(cli);
                             mbd::repo::define_mirror(cli);
                             mbd::repo::define_snapshot(cli);
                             mbd::repo::define_import(cli);
                         });
}
