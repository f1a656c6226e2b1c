// keys/instance: the instance key, the one secret key in $MBD_HOME/gnupg.
//
// It signs everything this instance publishes or sends: InRelease/Release.gpg,
// build requests and results, the status documents peers read. Its record in
// the state database (table instance_key) carries the seed's status model.
#pragma once

#include "core/entry.hpp"
#include "core/json.hpp"
#include "core/status.hpp"
#include "gpg/gpg.hpp"

#include <optional>
#include <string>

namespace mbd::keys {

struct InstanceKey {
    gpg::KeyInfo info;
    ModelStatus status;
};

gpg::Keyring instance_keyring(const Home& home);

// Create the instance key. Refuses (Error(Exit::exists)) when one exists unless force,
// in which case the old key is removed from the key ring after the new one is made.
InstanceKey init_instance_key(Context& ctx, gpg::Algo algo, long long expire_seconds, bool force);

std::optional<InstanceKey> find_instance_key(Context& ctx);

// The key to sign with: exists (Exit::not_found), not expired (Exit::key_expired),
// not revoked (Exit::key_revoked), can sign.
InstanceKey require_instance_key(Context& ctx);

// Sign with the instance key.
std::string clearsign(Context& ctx, std::string_view text);
std::string detach_sign(Context& ctx, std::string_view data);

} // namespace mbd::keys

namespace mbd::keys {
// For `mbd-keygen show`: "field: value" lines, or a JSON object.
std::string describe(const InstanceKey& key);
Json to_json(const InstanceKey& key);
} // namespace mbd::keys
