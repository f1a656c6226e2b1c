#include "core/fault.hpp"

#include "core/config.hpp"
#include "core/log.hpp"
#include "core/strings.hpp"

#include <array>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <unistd.h>
#include <utility>

namespace mbd::fault {
namespace {

// MBD_FAULT=NAME:N (kill) or NAME:N:ERRNO (fail), N a count or '*'.
struct Spec {
    std::string name;
    long long n = 0; // 0: every time
    int err = 0;     // 0: kill
};

int errno_named(std::string_view s)
{
    static constexpr std::array<std::pair<std::string_view, int>, 10> names{{{"ENAMETOOLONG", ENAMETOOLONG},
                                                                              {"EACCES", EACCES},
                                                                              {"EPERM", EPERM},
                                                                              {"EXDEV", EXDEV},
                                                                              {"ENOSPC", ENOSPC},
                                                                              {"EDQUOT", EDQUOT},
                                                                              {"EMLINK", EMLINK},
                                                                              {"EROFS", EROFS},
                                                                              {"EIO", EIO},
                                                                              {"ENOENT", ENOENT}}};
    for (auto [name, value] : names)
        if (s == name)
            return value;
    if (auto n = parse_int(s); n && *n > 0)
        return int(*n);
    // a test that asks for what cannot happen must not pass unnoticed
    std::fprintf(stderr, "%s: unknown errno '%.*s'\n", std::string(env_fault).c_str(), int(s.size()), s.data());
    std::abort();
}

const std::optional<Spec>& spec()
{
    static const std::optional<Spec> parsed = []() -> std::optional<Spec> {
        const char* env = std::getenv(std::string(env_fault).c_str());
        if (!env)
            return std::nullopt;
        auto parts = split(env, ':');
        if (parts.size() < 2 || parts.size() > 3)
            return std::nullopt;
        Spec s{std::string(parts[0]), 0, 0};
        if (parts[1] != "*") {
            auto n = parse_int(parts[1]);
            if (!n || *n <= 0)
                return std::nullopt;
            s.n = *n;
        }
        if (parts.size() == 3)
            s.err = errno_named(parts[2]);
        return s;
    }();
    return parsed;
}

// Whether this pass of point `name` is the one the spec names (counting matching passes).
bool hit(std::string_view name, const Spec& s)
{
    std::string_view wanted = s.name;
    if (name != wanted && !(name.starts_with(wanted) && name.size() > wanted.size() && name[wanted.size()] == '.'))
        return false;
    static std::atomic<long long> count = 0; // (builds pass points from several threads)
    long long n = ++count;
    log::debug("fault", "{} #{}", name, n);
    return s.n == 0 || s.n == n;
}

} // namespace

void point(std::string_view name)
{
    const auto& s = spec();
    if (s && !s->err && hit(name, *s))
        ::kill(::getpid(), SIGKILL);
}

bool inject(std::string_view name)
{
    const auto& s = spec();
    if (!s || !s->err || !hit(name, *s))
        return false;
    errno = s->err;
    return true;
}

} // namespace mbd::fault
