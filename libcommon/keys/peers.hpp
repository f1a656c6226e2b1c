// keys/peers: the keys of peer instances (remotes), for the remote domain.
//
// Key material is in the trust set "remotes" ($MBD_HOME/gnupg/remotes), kept
// apart from uploaders' keys; the record (table peer_keys) says whether the
// key is trusted now: only an active peer key verifies build requests and
// results (keys/verify.hpp). The remote domain owns the Remote model and its
// status; it calls set_peer_key_active() when a remote is activated,
// deactivated or fails its check, and may reference peer_keys(fingerprint).
#pragma once

#include "core/json.hpp"
#include "db/context.hpp"
#include "keys/trust_set.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mbd::keys {

struct PeerKey {
    SetKey key;
    long long added = 0; // unix seconds
    bool active = false;
};

// Import one public key (Error(Exit::rejected) for anything else). A new key
// starts inactive; adding a known key refreshes its key material only.
PeerKey add_peer_key(Context& ctx, std::string_view key_data);
// Error(Exit::not_found) for an unknown fingerprint (any case, 40 hex digits).
void remove_peer_key(Context& ctx, std::string_view fingerprint);
PeerKey set_peer_key_active(Context& ctx, std::string_view fingerprint, bool active);
std::optional<PeerKey> find_peer_key(Context& ctx, std::string_view fingerprint);
std::vector<PeerKey> list_peer_keys(Context& ctx);
// key_json() fields, then added and active.
Json to_json(const PeerKey& key);

} // namespace mbd::keys
