#include "core/wake.hpp"

#include "core/error.hpp"
#include "core/log.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace mbd::wake {

std::filesystem::path flag(const Home& home, Pass pass)
{
    const char* name = pass == Pass::incoming ? "incoming" : pass == Pass::build ? "build" : "outgoing";
    return home.wake() / name;
}

void raise(const Home& home, Pass pass) noexcept
{
    auto path = flag(home, pass);
    try {
        // (not made here: var/spool/wake/ belongs to the home's owner, Home::ensure makes it)
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
            throw sys_error(fmt::format("cannot create '{}'", path.string()));
        ::close(fd);
    } catch (const std::exception& e) {
        log::debug("wake", "{}", e.what());
    }
}

bool lower(const Home& home, Pass pass)
{
    auto path = flag(home, pass);
    if (::unlink(path.c_str()) == 0)
        return true;
    if (errno != ENOENT)
        throw sys_error(fmt::format("cannot remove '{}'", path.string()));
    return false;
}

} // namespace mbd::wake
