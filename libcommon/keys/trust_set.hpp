// keys/trust_set: independent key rings, one per purpose.
//
// A trust set is a GnuPG home of its own under $MBD_HOME/gnupg/SET/ (0700)
// holding public keys only: "uploaders" (keys/uploaders.hpp), "remotes"
// (keys/peers.hpp); the sources' archive keys may use sets of their own. A
// signature is only ever verified against one set, so a key of one set never
// verifies for another, nor for the instance key's home ($MBD_HOME/gnupg).
// Key material lives in the set's key ring; which key may do what lives in the
// state database. A key in a ring without a record counts as unknown.
#pragma once

#include "core/home.hpp"
#include "core/json.hpp"
#include "gpg/gpg.hpp"

#include <string>
#include <string_view>

namespace mbd::keys {

inline constexpr std::string_view uploaders_set = "uploaders";
inline constexpr std::string_view remotes_set = "remotes";

// The key ring of a set (created on first use). Names are [a-z0-9-]+.
gpg::Keyring trust_set(const Home& home, std::string_view name);

// Import the public key in data (armored or binary) into ring: exactly one
// primary key, no secret key (Error(Exit::rejected) otherwise). A key already
// in the ring is updated (new expiry, user ids, revocation). Returns the key
// as the ring now has it.
gpg::KeyInfo import_one_key(gpg::Keyring& ring, std::string_view data);

// A fingerprint as given on a command line: 40 hex digits, any case; returns
// it upper-cased. Error(Exit::usage) otherwise (short key ids are refused).
std::string normalize_fingerprint(std::string_view fingerprint);

// A recorded key as its set's key ring has it now.
struct SetKey {
    gpg::KeyInfo info; // only fingerprint and user id (from the record) when missing
    std::string state; // "valid", "expired", "revoked", or "missing" from the key ring
};
SetKey lookup_key(const gpg::Keyring& ring, const std::string& fingerprint, const std::string& recorded_user_id);
// The fields every listing of set keys shows: fingerprint, user_id, algorithm,
// created, expires (null: never), state.
Json key_json(const SetKey& key);
// Tell (log::notice) that a key just added cannot verify anything.
void notice_if_unusable(const gpg::KeyInfo& key);

} // namespace mbd::keys
