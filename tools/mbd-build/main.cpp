// mbd-build: run queued builds with sbuild.
#include "core/entry.hpp"

int main(int argc, char** argv)
{
    return mbd::run_tool(argc, argv, {"mbd-build", "run queued builds with sbuild"}, [](mbd::Cli&) {});
}
