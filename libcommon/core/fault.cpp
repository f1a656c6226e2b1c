#include "core/fault.hpp"

#include "core/config.hpp"
#include "core/log.hpp"
#include "core/strings.hpp"

#include <csignal>
#include <cstdlib>
#include <string>
#include <unistd.h>

namespace mbd::fault {

void point(std::string_view name)
{
    static const char* spec = std::getenv(std::string(env_fault).c_str());
    if (!spec)
        return;
    static long long count = 0;
    std::string_view s = spec;
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos || s.substr(0, colon) != name)
        return;
    ++count;
    log::debug("fault", "{} #{}", name, count);
    if (parse_int(s.substr(colon + 1)) == count)
        ::kill(::getpid(), SIGKILL);
}

} // namespace mbd::fault
