// mbd-incoming: accept or reject uploads waiting in incoming/.
#include "core/entry.hpp"

int main(int argc, char** argv)
{
    return mbd::run_tool(argc, argv, {"mbd-incoming", "accept or reject uploads waiting in incoming/"}, [](mbd::Cli&) {});
}
