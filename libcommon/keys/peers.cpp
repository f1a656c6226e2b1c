#include "keys/peers.hpp"

#include "core/error.hpp"
#include "core/strings.hpp"
#include "db/db.hpp"

namespace mbd::keys {
namespace {

std::optional<PeerKey> load(db::Db& db, const gpg::Keyring& ring, const std::string& fpr)
{
    auto row = db.query("SELECT user_id, added, active FROM peer_keys WHERE fingerprint = ?", fpr);
    if (!row.step())
        return std::nullopt;
    return PeerKey{lookup_key(ring, fpr, row.text(0)), row.int64(1), row.int64(2) != 0};
}

} // namespace

PeerKey add_peer_key(Context& ctx, std::string_view key_data)
{
    auto& db = ctx.db();
    auto ring = trust_set(ctx.home(), remotes_set);
    auto key = import_one_key(ring, key_data);
    notice_if_unusable(key);
    db::Transaction tx(db);
    db.run("INSERT INTO peer_keys(fingerprint, user_id, added) VALUES (?, ?, ?) "
           "ON CONFLICT(fingerprint) DO UPDATE SET user_id = excluded.user_id",
           key.fingerprint, key.user_id, now_seconds());
    tx.commit();
    return *load(db, ring, key.fingerprint);
}

void remove_peer_key(Context& ctx, std::string_view fingerprint)
{
    auto fpr = normalize_fingerprint(fingerprint);
    auto& db = ctx.db();
    {
        db::Transaction tx(db);
        if (db.run("DELETE FROM peer_keys WHERE fingerprint = ?", fpr) == 0)
            throw fail(Exit::not_found, "no peer key {}", fpr);
        tx.commit();
    }
    auto ring = trust_set(ctx.home(), remotes_set);
    if (ring.find(fpr))
        ring.remove_key(fpr);
}

PeerKey set_peer_key_active(Context& ctx, std::string_view fingerprint, bool active)
{
    auto fpr = normalize_fingerprint(fingerprint);
    auto& db = ctx.db();
    db::Transaction tx(db);
    if (db.run("UPDATE peer_keys SET active = ? WHERE fingerprint = ?", active, fpr) == 0)
        throw fail(Exit::not_found, "no peer key {}", fpr);
    tx.commit();
    return *load(db, trust_set(ctx.home(), remotes_set), fpr);
}

std::optional<PeerKey> find_peer_key(Context& ctx, std::string_view fingerprint)
{
    return load(ctx.db(), trust_set(ctx.home(), remotes_set), normalize_fingerprint(fingerprint));
}

std::vector<PeerKey> list_peer_keys(Context& ctx)
{
    auto& db = ctx.db();
    auto ring = trust_set(ctx.home(), remotes_set);
    std::vector<std::string> fprs;
    for (auto rows = db.query("SELECT fingerprint FROM peer_keys ORDER BY fingerprint"); rows.step();)
        fprs.push_back(rows.text(0));
    std::vector<PeerKey> out;
    for (const auto& f : fprs)
        out.push_back(*load(db, ring, f));
    return out;
}

Json to_json(const PeerKey& key)
{
    return key_json(key.key).set("added", iso_time(key.added)).set("active", key.active);
}

} // namespace mbd::keys
