// keys/instance: the instance key, the one secret key in $MBD_HOME/gnupg.
//
// It signs everything this instance publishes or sends: InRelease/Release.gpg,
// build requests and results, the status documents peers read. Its record in
// the state database (table instance_key) carries the seed's status model
// (core/status.hpp):
//   init        prepare + check + activate: a new key, ready to sign
//   check       usable for signing; the outcome goes into the check flag
//   activate    only an active key signs (require_instance_key)
//   deactivate  stop signing with it (publishing and builds stop too)
//   remove      only an inactive key; its secret part is kept in a backup file
// The instance key's GnuPG home holds nothing but this key, so verifying
// against it never accepts a key of another trust set (keys/trust_set.hpp).
#pragma once

#include "core/json.hpp"
#include "core/status.hpp"
#include "db/context.hpp"
#include "gpg/gpg.hpp"

#include <filesystem>
#include <optional>
#include <string>

namespace mbd::keys {

struct InstanceKey {
    gpg::KeyInfo info;
    ModelStatus status;
};

gpg::Keyring instance_keyring(const Home& home);

// The instance key's public key, armored (Error(Exit::not_found) without one).
std::string instance_public_key(Context& ctx);

// The instance key's user id: "IDENTITY (mbd instance key) <EMAIL>".
std::string instance_user_id(std::string_view identity, std::string_view email);

// Create the instance key, check it and activate it. Refuses (Error(Exit::exists))
// when one exists unless force; then the old key is retired (see remove_instance_key)
// after the new one is made.
InstanceKey init_instance_key(Context& ctx, gpg::Algo algo, long long expire_seconds, bool force);

// The recorded key, nullopt when there is none; Error(Exit::state) when the
// record names a key that is missing from the key ring.
std::optional<InstanceKey> find_instance_key(Context& ctx);
// The key as its record says, without a look at the key ring (no gpg: cheap).
std::optional<InstanceKey> instance_key_record(db::Db& db);

// The key to sign with: exists (Exit::not_found), active (Exit::not_allowed),
// in the key ring (Exit::state), not revoked (Exit::key_revoked), not expired
// (Exit::key_expired), can sign (Exit::check_failed).
// ring: the instance key ring when the caller has it open already (each one opened costs gpg
// start-ups).
InstanceKey require_instance_key(Context& ctx, const gpg::Keyring* ring = nullptr);

// `mbd-keygen check`: the key exists (Exit::not_found), its secret part is in
// the key ring and it matches its record (algorithm, user id, dates) and makes
// a v4 SHA-256+ signature that verifies (Exit::check_failed), it is not revoked
// (Exit::key_revoked) nor expired (Exit::key_expired). The outcome is recorded
// first (ModelStatus::after_check: a failing active key is taken out of service
// with auto-reactivate 'A'; a passing one comes back), then a failure is thrown.
InstanceKey check_instance_key(Context& ctx);

// The status actions; refusals are Error(Exit::state) saying why.
InstanceKey activate_instance_key(Context& ctx);
InstanceKey deactivate_instance_key(Context& ctx);
// Refused while the key is active. Its armored secret key is written to
// $MBD_HOME/gnupg/retired/FPR.asc (0600) before it leaves the key ring and its
// record is deleted; returns that file.
std::filesystem::path remove_instance_key(Context& ctx);

// New expiry counted from now (0: never), recorded, then checked as above (so
// a key taken out of service when it expired, 'A', is active again).
InstanceKey set_instance_key_expiry(Context& ctx, long long expires_in_seconds);

// ---- key rotation ----
// The next instance key: made by rotate_instance_key, it signs the archives (and goes into
// the keyring packages) beside the instance key until switch_at; switch_instance_key then
// makes it the instance key (the old one retired as by remove_instance_key).
struct NextKey {
    gpg::KeyInfo info;
    long long switch_at = 0;
};
std::optional<NextKey> next_instance_key(db::Db& db);
// A new key of the instance's user id; Error(Exit::exists) during a rotation, the instance
// key's errors (require_instance_key) without a usable one.
NextKey rotate_instance_key(Context& ctx, gpg::Algo algo, long long expire_seconds, long long switch_at);
// Error(Exit::not_found) when no rotation is under way.
InstanceKey switch_instance_key(Context& ctx);
// The keys archives are signed with: the instance key (require_instance_key), and the
// next one during a rotation.
std::vector<std::string> archive_signers(Context& ctx, const gpg::Keyring* ring = nullptr);

// Sign with the instance key (require_instance_key first).
std::string clearsign(Context& ctx, std::string_view text);
std::string detach_sign(Context& ctx, std::string_view data);

// For `mbd-keygen show`: "field: value" lines, or a JSON object.
std::string describe(const InstanceKey& key);
Json to_json(const InstanceKey& key);

} // namespace mbd::keys
