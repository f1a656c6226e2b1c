// app/rotate: a rotation of the instance key across the layers, with nothing for apt
// clients to do: the next key (keys/instance) signs every Release beside the current one
// (archive/publish, resign) and goes into the keyring packages (repo/keyring) at once;
// at the switch (mbd-keygen switch, or maintain once switch_at passed) it becomes the
// instance key and every Release is signed again, by it alone. A client that upgraded its
// keyring package during the overlap has both keys and reads on; one with only the old
// key file fails apt's signature check from the switch on.
#pragma once

#include "core/json.hpp"
#include "db/context.hpp"
#include "gpg/gpg.hpp"
#include "repo/keyring.hpp"

#include <optional>
#include <string>
#include <vector>

namespace mbd::app {

struct RotationReport {
    std::string from, to; // fingerprints: the instance key, the next one (after a switch: the old one, the new)
    long long switch_at = 0;
    std::vector<repo::KeyringUpload> keyrings; // keyring packages uploaded
    std::vector<std::string> published;        // distributions signed again
};

RotationReport rotate(Context& ctx, gpg::Algo algo, long long expire_seconds, long long overlap_seconds);
RotationReport switch_key(Context& ctx);
// maintain: the switch once its time came (nullopt: no rotation due).
std::optional<RotationReport> switch_if_due(Context& ctx);

Json to_json(const RotationReport& r);

} // namespace mbd::app
