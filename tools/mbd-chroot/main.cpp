// mbd-chroot: create, check and update build chroots.
#include "core/entry.hpp"

int main(int argc, char** argv)
{
    return mbd::run_tool(argc, argv, {"mbd-chroot", "create, check and update build chroots"}, [](mbd::Cli&) {});
}
