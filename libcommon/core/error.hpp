// core/error: the one error family of mbd and the fixed exit-code table.
//
// Every failure that reaches a tool's entry wrapper is an mbd::Error carrying a
// message (lowercase, no full stop, subjects in quotes) and an exit code from
// the table below. The table is documented in every man page; tests check the
// exact codes, so codes are never renumbered, only added.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <string_view>

namespace mbd {

enum class Exit : int {
    ok = 0,            // success
    failed = 1,        // generic failure
    usage = 2,         // bad command line
    config = 3,        // invalid configuration (unknown key, bad value)
    not_found = 4,     // a named object (repository, key, file, package) does not exist
    exists = 5,        // conflicts with what exists (object exists, pool file differs)
    locked = 6,        // a lock is held by another process
    rejected = 7,      // an upload or document was rejected
    bad_signature = 8, // signature invalid, tampered, or not made by a trusted key
    key_expired = 9,   // the signing (or instance) key has expired
    key_revoked = 10,  // the signing (or instance) key is revoked
    not_allowed = 11,  // signer known but not allowed for this purpose/repository
    check_failed = 12, // a check found problems (details on stderr / in the report)
    state = 13,        // state database or home is incompatible or corrupt
    environment = 14,  // missing tool, permission, subuid range, binfmt handler...
    no_space = 15,     // disk full or not enough free space
    external = 16,     // an external program (sbuild, mmdebstrap, apt) failed
    tempfail = 17,     // try again later (files still arriving, peer down)
};

struct ExitInfo {
    Exit code;
    std::string_view name;
    std::string_view meaning;
};

// The whole table, in order, for man pages, --help epilogues and tests.
const ExitInfo* exit_table_begin();
const ExitInfo* exit_table_end();
std::string_view exit_name(Exit code);

class Error : public std::runtime_error {
public:
    Error(Exit code, std::string message) : std::runtime_error(std::move(message)), code_(code) {}
    explicit Error(std::string message) : Error(Exit::failed, std::move(message)) {}
    Exit code() const noexcept { return code_; }

private:
    Exit code_;
};

// Thrown to end a tool with an exit status that was reported already (by a program it ran
// for the caller, as the ssh gateway does): the tool prints nothing more.
struct ExitWith {
    int status = 0;
};

// throw fail(Exit::not_found, "no repository '{}'", id);
template <typename... Args>
Error fail(Exit code, fmt::format_string<Args...> f, Args&&... args)
{
    return Error(code, fmt::format(f, std::forward<Args>(args)...));
}

// Errno-carrying failure: "cannot open 'x': No such file or directory".
// ENOSPC/EDQUOT map to Exit::no_space; EACCES/EPERM/EROFS and EXDEV/EMLINK (how the
// file systems are laid out) to Exit::environment.
Error sys_error(int err, std::string what);
Error sys_error(std::string what); // uses errno

} // namespace mbd
