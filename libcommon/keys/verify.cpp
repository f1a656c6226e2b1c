#include "keys/verify.hpp"

#include "core/error.hpp"
#include "core/names.hpp"
#include "db/db.hpp"
#include "keys/instance.hpp"
#include "keys/peers.hpp"
#include "keys/trust_set.hpp"
#include "keys/uploaders.hpp"

namespace mbd::keys {
namespace {

// Does the (single) signature of document name a key of ring as its issuer?
bool issued_by_key_of(const gpg::Keyring& ring, std::string_view document)
{
    gpg::check_clearsign_envelope(document);
    auto sigs = gpg::signature_packets(document);
    const auto& s = sigs.front();
    if (!s.issuer_fingerprint.empty())
        return gpg::valid_fingerprint(s.issuer_fingerprint) && ring.find(s.issuer_fingerprint).has_value();
    if (s.issuer_key_id.empty())
        return false;
    for (const auto& k : ring.list())
        if (k.fingerprint.ends_with(s.issuer_key_id))
            return true;
    return false;
}

} // namespace

gpg::Verified verify_upload(Context& ctx, std::string_view document, std::string_view repository)
{
    names::check(names::repository, repository);
    auto v = trust_set(ctx.home(), uploaders_set).verify_clearsigned(document);
    auto& db = ctx.db();
    if (!db.scalar_int("SELECT 1 FROM uploaders WHERE fingerprint = ?", v.fingerprint))
        throw fail(Exit::bad_signature, "signed by unknown key {}", v.fingerprint); // in the ring, not recorded
    if (!db.scalar_int("SELECT 1 FROM uploader_repositories WHERE fingerprint = ? AND repository = ?", v.fingerprint,
                       repository))
        throw fail(Exit::not_allowed, "uploader {} may not upload to repository '{}'", v.fingerprint, repository);
    return v;
}

gpg::Verified verify_from_instance_or_remote(Context& ctx, std::string_view document)
{
    auto instance = instance_keyring(ctx.home());
    if (issued_by_key_of(instance, document))
        return instance.verify_clearsigned(document);
    auto v = trust_set(ctx.home(), remotes_set).verify_clearsigned(document);
    auto peer = find_peer_key(ctx, v.fingerprint);
    if (!peer)
        throw fail(Exit::bad_signature, "signed by unknown key {}", v.fingerprint);
    if (!peer->active)
        throw fail(Exit::not_allowed, "the peer key {} is not active", v.fingerprint);
    return v;
}

} // namespace mbd::keys
