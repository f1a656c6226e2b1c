// upload/receive: the receiving end of an upload over ssh, for a key that may do
// nothing but drop files into the instance's incoming/ (`mbd-incoming receive`, the
// forced command of an upload-only key in authorized_keys).
//
// Two protocols, what dput's scp method (OpenSSH's scp), dput-ng's sftp method
// (paramiko) and sftp(1) speak:
//   SFTP version 3 (draft-ietf-secsh-filexfer-02), a write-only subset over a virtual
//     namespace: "/" (the working directory) holds one directory, "/incoming", which
//     is the instance's incoming/. Files can be created there, written and closed;
//     nothing can be read, listed, removed, renamed or made elsewhere, and only the
//     files this session stored can be looked at (their size).
//   the legacy scp sink (`scp -t incoming`, as OpenSSH's scp -O and older clients
//     run it): "C" records store files, "T" records are acknowledged and ignored,
//     directories ("D", scp -r) are refused.
// Every file is written to its part (core/parts.hpp) and renamed to its name only once
// complete, never over a file that is already there; a session that ends (the
// connection dropped, a protocol error, a signal) removes the parts of the files it
// had not finished. The names are those of core/names (names::file).
#pragma once

#include "db/context.hpp"

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mbd::upload {

enum class Protocol { sftp, scp };

// What the client asked ssh to run (SSH_ORIGINAL_COMMAND): an SFTP session (the
// subsystem's command: a path ending in "sftp-server", or "internal-sftp"), a legacy
// scp sink ("scp" with -t and optionally -p -d -v -r -q, the target last), or
// something else (nullopt).
std::optional<Protocol> upload_protocol(std::string_view original_command);

struct Received {
    std::vector<std::string> stored; // the names stored in dir, in order
    std::string refused;             // the first thing refused or not stored, if any
};

// Serve one upload session on the descriptors in/out into dir (the instance's
// incoming/). Returns when the client ends the session. Error(Exit::not_allowed) for an
// scp target other than incoming, Error(Exit::rejected) for a malformed or oversized
// packet or record, Error(Exit::tempfail) when the session ends (end of input, a
// signal: SIGHUP, SIGINT, SIGTERM) with files unfinished; their parts are removed.
// What a session stored before it broke stays stored (the caller cannot tell what:
// it wakes the incoming pass anyway). While it runs, SIGPIPE is ignored and those
// three signals end the session. Waking the incoming pass is the caller's job.
Received receive_upload(Protocol p, std::string_view original_command, int in, int out,
                        const std::filesystem::path& dir);

// receive_upload on standard input and output into the instance's incoming/, for the
// forced commands (`mbd-incoming receive`, the gateway's uploaders): wakes the incoming
// pass for what was stored (also when the session broke), then Error(Exit::not_allowed)
// if something was refused.
Received receive_session(Context& ctx, Protocol p, std::string_view original_command);

// The largest SFTP packet taken: 256 KiB of data and its header.
inline constexpr std::size_t max_sftp_packet = 256 * 1024 + 1024;
// At most this many files open at once in an SFTP session.
inline constexpr std::size_t max_sftp_handles = 64;

// A path of the SFTP session's namespace, resolved lexically ("..", ".", "//")
// relative to "/": the root, /incoming, a name in /incoming (not checked here), or
// anything else.
struct VirtualPath {
    enum class Kind { root, incoming, file, other };
    Kind kind = Kind::other;
    std::string path; // normalized: "/", "/incoming", "/incoming/NAME", "/a/b"
    std::string name; // Kind::file: NAME
};
VirtualPath resolve_virtual(std::string_view path);

} // namespace mbd::upload
