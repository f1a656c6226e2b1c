// mbd-remote: connect peer instances and exchange build requests.
#include "core/entry.hpp"

int main(int argc, char** argv)
{
    return mbd::run_tool(argc, argv, {"mbd-remote", "connect peer instances and exchange build requests"}, [](mbd::Cli&) {});
}
