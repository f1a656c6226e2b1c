// mbd-keygen: manage the instance key, uploader keys and peer keys.
#include "core/entry.hpp"

int main(int argc, char** argv)
{
    return mbd::run_tool(argc, argv, {"mbd-keygen", "manage the instance key, uploader keys and peer keys"}, [](mbd::Cli&) {});
}
