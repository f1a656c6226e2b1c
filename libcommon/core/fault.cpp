#include "core/fault.hpp"

#include "core/config.hpp"
#include "core/log.hpp"
#include "core/strings.hpp"

#include <atomic>
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
    static std::atomic<long long> count = 0; // (builds pass points from several threads)
    std::string_view s = spec;
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos)
        return;
    auto wanted = s.substr(0, colon);
    if (name != wanted && !(name.starts_with(wanted) && name.size() > wanted.size() && name[wanted.size()] == '.'))
        return;
    long long n = ++count;
    log::debug("fault", "{} #{}", name, n);
    if (parse_int(s.substr(colon + 1)) == n)
        ::kill(::getpid(), SIGKILL);
}

} // namespace mbd::fault
