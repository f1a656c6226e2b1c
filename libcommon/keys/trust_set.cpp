#include "keys/trust_set.hpp"

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/strings.hpp"

#include <algorithm>

namespace mbd::keys {

gpg::Keyring trust_set(const Home& home, std::string_view name)
{
    bool ok = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    });
    if (!ok)
        throw fail(Exit::failed, "invalid trust set name '{}'", name);
    return gpg::Keyring(home.gnupg() / name, gpg::Keyring::Kind::public_only);
}

gpg::KeyInfo import_one_key(gpg::Keyring& ring, std::string_view data)
{
    auto keys = ring.inspect_keys(data);
    if (keys.empty())
        throw fail(Exit::rejected, "no OpenPGP public key in the data");
    if (keys.size() > 1)
        throw fail(Exit::rejected, "the data holds {} keys; give one key at a time", keys.size());
    if (keys.front().secret)
        throw fail(Exit::rejected, "refusing to import a secret key");
    auto fprs = ring.import_keys(data);
    auto key = ring.find(keys.front().fingerprint);
    if (fprs.size() != 1 || !key)
        throw fail(Exit::rejected, "key {} was not imported", keys.front().fingerprint);
    return *key;
}

std::string normalize_fingerprint(std::string_view fingerprint)
{
    std::string f(fingerprint);
    std::transform(f.begin(), f.end(), f.begin(), [](unsigned char c) { return char(std::toupper(c)); });
    if (f.size() != 40 || !gpg::valid_fingerprint(f))
        throw fail(Exit::usage, "'{}' is not a full key fingerprint (40 hex digits)", fingerprint);
    return f;
}

SetKey lookup_key(const gpg::Keyring& ring, const std::string& fingerprint, const std::string& recorded_user_id)
{
    auto info = ring.find(fingerprint);
    if (!info) {
        gpg::KeyInfo k;
        k.fingerprint = fingerprint;
        k.user_id = recorded_user_id;
        return {k, "missing"};
    }
    return {*info, info->revoked ? "revoked" : info->expired ? "expired" : "valid"};
}

Json key_json(const SetKey& key)
{
    const auto& k = key.info;
    return Json::object()
        .set("fingerprint", k.fingerprint)
        .set("user_id", k.user_id)
        .set("algorithm", k.algorithm.empty() ? Json() : Json(k.algorithm))
        .set("created", json_time(k.created))
        .set("expires", json_time(k.expires))
        .set("state", key.state);
}

void notice_if_unusable(const gpg::KeyInfo& key)
{
    if (key.revoked)
        log::notice("key {} is revoked: its signatures will be refused", key.fingerprint);
    else if (key.expired)
        log::notice("key {} expired on {}: its signatures will be refused until its expiry is extended",
                    key.fingerprint, iso_time(key.expires));
    else if (!key.can_sign)
        log::notice("key {} has no usable signing key: its signatures will be refused", key.fingerprint);
}

} // namespace mbd::keys
