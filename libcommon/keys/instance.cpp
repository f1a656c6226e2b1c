#include "keys/instance.hpp"

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/strings.hpp"
#include "db/db.hpp"

namespace mbd::keys {
namespace {

void store(db::Db& db, const gpg::KeyInfo& k, const ModelStatus& s)
{
    db.run("INSERT INTO instance_key(id, fingerprint, algorithm, user_id, created, expires, status, check_flag, "
           "last_check) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
           "fingerprint = excluded.fingerprint, algorithm = excluded.algorithm, user_id = excluded.user_id, "
           "created = excluded.created, expires = excluded.expires, status = excluded.status, "
           "check_flag = excluded.check_flag, last_check = excluded.last_check",
           k.fingerprint, k.algorithm, k.user_id, k.created, k.expires, to_string(s.status), to_string(s.flag),
           s.last_check);
}

} // namespace

gpg::Keyring instance_keyring(const Home& home) { return gpg::Keyring(home.gnupg()); }

std::optional<InstanceKey> find_instance_key(Context& ctx)
{
    auto& db = ctx.db();
    auto row = db.query("SELECT fingerprint, status, check_flag, last_check FROM instance_key WHERE id = 1");
    if (!row.step())
        return std::nullopt;
    auto fpr = row.text(0);
    auto ring = instance_keyring(ctx.home());
    auto info = ring.find(fpr);
    if (!info || !info->secret)
        throw fail(Exit::state, "the instance key {} is recorded but missing from '{}'", fpr,
                   ctx.home().gnupg().string());
    ModelStatus s{parse_status(row.text(1)).value_or(Status::prepared),
                  parse_check_flag(row.text(2)).value_or(CheckFlag::unchecked), row.int64(3)};
    return InstanceKey{*info, s};
}

InstanceKey init_instance_key(Context& ctx, gpg::Algo algo, long long expire_seconds, bool force)
{
    auto& db = ctx.db();
    auto ring = instance_keyring(ctx.home());
    auto old = db.scalar_text("SELECT fingerprint FROM instance_key WHERE id = 1");
    if (!old) {
        // a key ring with a secret key but no record: refuse too, never silently adopt or replace
        auto secrets = ring.list(true);
        if (!secrets.empty())
            old = secrets.front().fingerprint;
    }
    if (old && !force)
        throw fail(Exit::exists, "an instance key exists already ({}); use --force to replace it", *old);
    std::string uid = fmt::format("{} (mbd instance key) <{}>", ctx.config().get("identity"),
                                  ctx.config().get("email"));
    auto info = ring.generate(uid, algo, expire_seconds);
    ModelStatus s = ModelStatus{}.after_prepare().after_check(true, now_seconds()).activate();
    {
        db::Transaction tx(db);
        store(db, info, s);
        tx.commit();
    }
    if (old && *old != info.fingerprint) {
        ring.remove_key(*old);
        log::notice("replaced the instance key {} by {}", *old, info.fingerprint);
    }
    return InstanceKey{info, s};
}

InstanceKey require_instance_key(Context& ctx)
{
    auto key = find_instance_key(ctx);
    if (!key)
        throw fail(Exit::not_found, "this instance has no key (run 'mbd-keygen init')");
    if (key->info.revoked)
        throw fail(Exit::key_revoked, "the instance key {} is revoked", key->info.fingerprint);
    if (key->info.expired || (key->info.expires && key->info.expires <= now_seconds()))
        throw fail(Exit::key_expired, "the instance key {} has expired", key->info.fingerprint);
    if (!key->info.can_sign || key->info.disabled || key->info.invalid)
        throw fail(Exit::failed, "the instance key {} cannot sign", key->info.fingerprint);
    return *key;
}

std::string clearsign(Context& ctx, std::string_view text)
{
    auto key = require_instance_key(ctx);
    return instance_keyring(ctx.home()).clearsign(text, key.info.fingerprint);
}

std::string detach_sign(Context& ctx, std::string_view data)
{
    auto key = require_instance_key(ctx);
    return instance_keyring(ctx.home()).detach_sign(data, key.info.fingerprint);
}

} // namespace mbd::keys

namespace mbd::keys {

std::string describe(const InstanceKey& key)
{
    const auto& k = key.info;
    return fmt::format("fingerprint: {}\nalgorithm:   {}\nuser id:     {}\ncreated:     {}\nexpires:     {}\n"
                       "status:      {}\n",
                       k.fingerprint, k.algorithm, k.user_id, iso_time(k.created),
                       k.expires ? iso_time(k.expires) : "never", key.status.display());
}

Json to_json(const InstanceKey& key)
{
    const auto& k = key.info;
    return Json::object()
        .set("fingerprint", k.fingerprint)
        .set("algorithm", k.algorithm)
        .set("user_id", k.user_id)
        .set("created", iso_time(k.created))
        .set("expires", k.expires ? Json(iso_time(k.expires)) : Json())
        .set("expired", k.expired)
        .set("revoked", k.revoked)
        .set("status", std::string(to_string(key.status.status)))
        .set("check_flag", std::string(to_string(key.status.flag)))
        .set("last_check", key.status.last_check ? Json(iso_time(key.status.last_check)) : Json());
}

} // namespace mbd::keys
