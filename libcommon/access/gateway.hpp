// access/gateway: `mbd-remote gateway --key NAME`, the forced ssh command of every access
// key (keys/access.hpp). It runs what the client asked ssh to run (SSH_ORIGINAL_COMMAND):
// - an upload session (SFTP or scp into /incoming: upload/receive.hpp), for uploaders and admins;
// - dput's "chmod 0644 /incoming/FILE..." after an scp upload: nothing to do, for uploaders;
// - one mbd command of a fixed table, for the roles the table gives it: the command line is
//   split into words (quotes and backslashes as a shell would, nothing expanded, never run
//   through a shell), each word made of letters, digits and ._+~:=,@%*?[]- only (no path,
//   no shell syntax), no option that changes the instance or its configuration (--home,
//   -o/--option, --log, --show-config); the tool runs with this instance's home, in an empty
//   directory, stdin /dev/null, its output and exit status passed through.
// Every call, refused or not, is an event (CALL) naming the key, its role and fingerprint.
// Refusals exit 11 (not-allowed) with the reason on stderr.
#pragma once

#include "db/context.hpp"
#include "keys/access.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mbd::access {

struct Command {
    std::string_view tool;    // "mbd-repo"
    std::string_view words;   // "repository ls": the subcommand
    keys::Role role;          // the least role that may run it
    bool own = false;         // an uploader only for builds of its own uploads (its first argument)
};
const std::vector<Command>& commands();
// The table, one line per command: "ROLE TOOL SUBCOMMAND" (+ " (own uploads)"), for role
// (the commands it may run) or all.
std::string describe_commands(std::optional<keys::Role> role = std::nullopt);

// Words of a command line the way ssh passed it; Error(Exit::usage) for an unbalanced quote.
std::vector<std::string> split_words(std::string_view line);

// Serve one call of access key `name`: original is SSH_ORIGINAL_COMMAND (nullopt: none,
// an interactive login), tools the directory holding the mbd programs. Returns the exit status.
int serve(Context& ctx, std::string_view name, const std::optional<std::string>& original,
          const std::filesystem::path& tools);

} // namespace mbd::access
