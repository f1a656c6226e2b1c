// remote/transport: how documents and files reach a peer instance.
//
//   ssh://[user@]host[:port]   OpenSSH (the client command is remote.ssh_command);
//                              the peer's authorized_keys entry for our key forces
//                              `mbd-remote serve`, which takes the verb we send
//   file:///path/to/peer/home  a shared file system: we read its var/status.asc
//                              and write into its incoming/ ourselves
//
// Two exchanges exist: fetch the peer's signed status document, and put files
// into its incoming/. put sends the files in order (data files first, the
// document last); each one appears in incoming/ only once complete (it is
// written under a dot-name and renamed), so mbd-incoming never sees a part.
//
// The put stream (what `serve put` reads on stdin):
//   "mbd-put 1\n", then per file "file NAME SIZE SHA256\n" and SIZE bytes, then "end\n".
#pragma once

#include "db/context.hpp"

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mbd::remote {

struct Url {
    enum class Kind { ssh, file };
    Kind kind = Kind::file;
    std::string user, host; // ssh
    int port = 0;           // ssh; 0: the client's default
    std::filesystem::path path; // file: the peer's home
    std::string text;       // as given
};

// Error(Exit::usage) for anything but the two forms above.
Url parse_url(std::string_view text);

class Transport {
public:
    virtual ~Transport() = default;
    // The peer's signed status document. Error(Exit::tempfail) when unreachable.
    virtual std::string fetch_status() = 0;
    // Send files (in this order) into the peer's incoming/. Error(Exit::tempfail)
    // when the peer cannot be reached or does not take them.
    virtual void put(const std::vector<std::filesystem::path>& files) = 0;
};

std::unique_ptr<Transport> open_transport(Context& ctx, const Url& url);

// The receiving end of put: read a put stream from fd into dir. Returns the
// names stored. Error(Exit::rejected) for a malformed stream, a bad file name,
// or a file whose size or SHA256 does not match (that file is not stored).
std::vector<std::string> receive_files(int fd, const std::filesystem::path& dir);

} // namespace mbd::remote
