#include "core/error.hpp"

#include <cerrno>
#include <cstring>
#include <iterator>

namespace mbd {
namespace {
constexpr ExitInfo table[] = {
    {Exit::ok, "ok", "success"},
    {Exit::failed, "failed", "generic failure"},
    {Exit::usage, "usage", "bad command line (unknown option, missing argument)"},
    {Exit::config, "config", "invalid configuration (unknown key, bad value)"},
    {Exit::not_found, "not-found", "a named object (repository, key, file, package) does not exist"},
    {Exit::exists, "exists", "conflicts with what exists (object exists, pool file differs)"},
    {Exit::locked, "locked", "a lock is held by another process"},
    {Exit::rejected, "rejected", "an upload or document was rejected"},
    {Exit::bad_signature, "bad-signature", "signature invalid, tampered, unsigned, or by an unknown key"},
    {Exit::key_expired, "key-expired", "the signing or instance key has expired"},
    {Exit::key_revoked, "key-revoked", "the signing or instance key is revoked"},
    {Exit::not_allowed, "not-allowed", "signer known but not allowed for this purpose or repository"},
    {Exit::check_failed, "check-failed", "a check found problems"},
    {Exit::state, "state", "state database or home is incompatible or corrupt"},
    {Exit::environment, "environment", "missing tool, permission, subuid range or binfmt handler"},
    {Exit::no_space, "no-space", "disk full or not enough free space"},
    {Exit::external, "external", "an external program (sbuild, mmdebstrap, apt) failed"},
    {Exit::tempfail, "tempfail", "temporary failure, try again later"},
};
} // namespace

const ExitInfo* exit_table_begin() { return std::begin(table); }
const ExitInfo* exit_table_end() { return std::end(table); }

std::string_view exit_name(Exit code)
{
    for (const auto& e : table)
        if (e.code == code)
            return e.name;
    return "unknown";
}

Error sys_error(int err, std::string what)
{
    Exit code = Exit::failed;
    if (err == ENOSPC || err == EDQUOT)
        code = Exit::no_space;
    else if (err == EACCES || err == EPERM || err == EROFS || err == EXDEV || err == EMLINK)
        code = Exit::environment;
    else if (err == ENOENT)
        code = Exit::not_found;
    return Error(code, what + ": " + std::strerror(err));
}

Error sys_error(std::string what) { return sys_error(errno, std::move(what)); }

} // namespace mbd
