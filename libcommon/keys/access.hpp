// keys/access: the ssh keys that reach this instance from other machines, each with a
// role, and the authorized_keys block that forces every one of them to the gateway
// (`mbd-remote gateway --key NAME`, access/gateway.hpp), so that a key can do nothing
// but what its role allows:
//   reader    queries: ls, show, search, events, uploads, build list and log, sources-list, ...
//   uploader  + upload sessions (dput over sftp or scp) and retry/cancel of its own uploads' builds
//   admin     + migrate, remove, port and the repository, distribution, source and chroot actions
// The records are in the state database (table access_keys, schema domain keys); the
// file is HOME/.ssh/authorized_keys (access.authorized_keys), of which mbd owns one
// block between two marker lines and leaves every other line alone.
#pragma once

#include "core/json.hpp"
#include "db/context.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mbd::keys {

enum class Role { reader, uploader, admin };
std::optional<Role> parse_role(std::string_view name);
std::string_view role_name(Role role);

struct AccessKey {
    std::string name;        // names::remote's grammar
    Role role = Role::reader;
    std::string key;         // "TYPE BASE64": the public key, without options or comment
    std::string fingerprint; // "SHA256:..." as ssh-keygen -l prints it (what sshd logs)
    std::vector<std::string> uploaders; // GnuPG fingerprints: uploads signed by them are its own
    long long added = 0;
};

// Add a key from the text of an OpenSSH public key file (one "TYPE BASE64 [COMMENT]" line;
// ssh-keygen checks it). Error(Exit::rejected) for anything else, Error(Exit::exists) for a
// name or key already there. uploaders: each a registered uploader's fingerprint
// (Error(Exit::not_found) otherwise).
AccessKey add_access(Context& ctx, std::string_view name, Role role, std::string_view public_key,
                     const std::vector<std::string>& uploaders);
std::vector<AccessKey> list_access(Context& ctx);
std::optional<AccessKey> find_access(Context& ctx, std::string_view name);
// Error(Exit::not_found) for an unknown name.
AccessKey set_access_role(Context& ctx, std::string_view name, Role role);
void remove_access(Context& ctx, std::string_view name);

// HOME/.ssh/authorized_keys unless access.authorized_keys names another file.
std::filesystem::path authorized_keys_file(Context& ctx);
// Write the block of every access key into the authorized_keys file (0600, its directory
// made 0700), each line "restrict,command="GATEWAY --home HOME gateway --key NAME" KEY mbd:NAME";
// gateway: the mbd-remote program. Lines outside the block stay as they are.
void write_authorized_keys(Context& ctx, const std::filesystem::path& gateway);

// `access list`: "NAME ROLE FINGERPRINT UPLOADERS"; JSON: [{name, role, fingerprint, key, uploaders, added}].
std::string describe(const std::vector<AccessKey>& keys);
Json to_json(const std::vector<AccessKey>& keys);

} // namespace mbd::keys
