// remote/serve: the peer-facing end of ssh:// remotes, `mbd-remote serve`.
//
// The authorized_keys entry of each peer's ssh key forces this command, e.g.
//   restrict,command="mbd-remote --home /var/lib/mbd serve" ssh-ed25519 AAAA... peer-b
// so that key can do nothing else. The verb is what the client asked ssh to
// run (SSH_ORIGINAL_COMMAND), else the command line's arguments:
//   status   print this instance's signed status document (remote/status.hpp)
//   put      store a put stream from standard input into incoming/
//            (remote/transport.hpp); prints one "stored NAME" line per file
// Anything else is refused (Error(Exit::usage)).
#pragma once

#include "db/context.hpp"

#include <string>
#include <vector>

namespace mbd::remote {

// Returns what to print on standard output.
std::string serve(Context& ctx, const std::vector<std::string>& args);

} // namespace mbd::remote
