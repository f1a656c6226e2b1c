#include "keys/instance.hpp"

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/log.hpp"
#include "core/strings.hpp"
#include "db/db.hpp"

namespace mbd::keys {
namespace {

// The row of table instance_key.
struct Record {
    gpg::KeyInfo info; // as recorded when the key was made or last changed by us
    ModelStatus status;
};

std::optional<Record> load(db::Db& db)
{
    auto row = db.query("SELECT fingerprint, algorithm, user_id, created, expires, status, check_flag, last_check "
                        "FROM instance_key WHERE id = 1");
    if (!row.step())
        return std::nullopt;
    Record r;
    r.info.fingerprint = row.text(0);
    r.info.algorithm = row.text(1);
    r.info.user_id = row.text(2);
    r.info.created = row.int64(3);
    r.info.expires = row.int64(4);
    r.status = {parse_status(row.text(5)).value_or(Status::prepared),
                parse_check_flag(row.text(6)).value_or(CheckFlag::unchecked), row.int64(7)};
    return r;
}

// (inside the caller's transaction)
void write_record(db::Db& db, const gpg::KeyInfo& k, const ModelStatus& s)
{
    db.run("INSERT INTO instance_key(id, fingerprint, algorithm, user_id, created, expires, status, check_flag, "
           "last_check) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
           "fingerprint = excluded.fingerprint, algorithm = excluded.algorithm, user_id = excluded.user_id, "
           "created = excluded.created, expires = excluded.expires, status = excluded.status, "
           "check_flag = excluded.check_flag, last_check = excluded.last_check",
           k.fingerprint, k.algorithm, k.user_id, k.created, k.expires, to_string(s.status), to_string(s.flag),
           s.last_check);
}

void store(db::Db& db, const gpg::KeyInfo& k, const ModelStatus& s)
{
    db::Transaction tx(db);
    write_record(db, k, s);
    tx.commit();
}

void store_status(db::Db& db, const ModelStatus& s)
{
    db::Transaction tx(db);
    db.run("UPDATE instance_key SET status = ?, check_flag = ?, last_check = ? WHERE id = 1", to_string(s.status),
           to_string(s.flag), s.last_check);
    tx.commit();
}

Record require_record(Context& ctx)
{
    auto r = load(ctx.db());
    if (!r)
        throw fail(Exit::not_found, "this instance has no key (run 'mbd-keygen init')");
    return *r;
}

// Why the key fpr, as the ring has it (k), cannot sign now, or nullopt; a key missing from the
// ring is Error(missing).
std::optional<Error> unusable(const std::optional<gpg::KeyInfo>& k, const gpg::Keyring& ring, const std::string& fpr,
                              Exit missing)
{
    if (!k || !k->secret)
        return fail(missing, "the instance key {} is missing from '{}'", fpr, ring.dir().string());
    if (k->revoked)
        return fail(Exit::key_revoked, "the instance key {} is revoked", fpr);
    if (k->expired)
        return fail(Exit::key_expired, "the instance key {} expired on {}", fpr, iso_time(k->expires));
    if (!k->can_sign || k->disabled || k->invalid)
        return fail(Exit::check_failed, "the instance key {} cannot sign", fpr);
    return std::nullopt;
}

// Why the recorded key cannot sign now, or nullopt when it signs and verifies.
std::optional<Error> problem(const Record& r, const gpg::Keyring& ring)
{
    const auto& fpr = r.info.fingerprint;
    auto k = ring.find(fpr);
    if (auto err = unusable(k, ring, fpr, Exit::check_failed))
        return err;
    auto differs = [&](std::string_view field, const auto& have, const auto& recorded) {
        return fail(Exit::check_failed, "the instance key {} does not match its record: {} is '{}', recorded '{}'", fpr,
                    field, have, recorded);
    };
    if (k->algorithm != r.info.algorithm)
        return differs("algorithm", k->algorithm, r.info.algorithm);
    if (k->user_id != r.info.user_id)
        return differs("user id", k->user_id, r.info.user_id);
    if (k->created != r.info.created)
        return differs("created", iso_time(k->created), iso_time(r.info.created));
    if (k->expires != r.info.expires)
        return differs("expires", k->expires ? iso_time(k->expires) : "never",
                       r.info.expires ? iso_time(r.info.expires) : "never");
    const std::string probe = "mbd instance key check\n";
    try {
        auto v = ring.verify_clearsigned(ring.clearsign(probe, fpr));
        if (v.fingerprint != fpr || v.content != probe)
            return fail(Exit::check_failed, "the instance key {} made a signature that does not verify", fpr);
    } catch (const Error& e) {
        return fail(Exit::check_failed, "the instance key {} cannot sign: {}", fpr, e.what());
    }
    return std::nullopt;
}

// Keep the secret key in a backup file, then take it out of the key ring.
std::filesystem::path retire(Context& ctx, gpg::Keyring& ring, const std::string& fpr)
{
    auto dir = ctx.home().gnupg() / "retired";
    make_dirs(dir, 0700);
    auto file = dir / (fpr + ".asc");
    write_atomic(file, ring.export_secret_key(fpr), 0600);
    ring.remove_key(fpr);
    return file;
}

} // namespace

gpg::Keyring instance_keyring(const Home& home) { return gpg::Keyring(home.gnupg()); }

std::optional<InstanceKey> find_instance_key(Context& ctx)
{
    auto r = load(ctx.db());
    if (!r)
        return std::nullopt;
    auto info = instance_keyring(ctx.home()).find(r->info.fingerprint);
    if (!info || !info->secret)
        throw fail(Exit::state, "the instance key {} is recorded but missing from '{}'", r->info.fingerprint,
                   ctx.home().gnupg().string());
    return InstanceKey{*info, r->status};
}

std::optional<InstanceKey> instance_key_record(db::Db& db)
{
    if (auto r = load(db))
        return InstanceKey{r->info, r->status};
    return std::nullopt;
}

std::string instance_public_key(Context& ctx)
{
    return instance_keyring(ctx.home()).export_key(require_instance_key(ctx).info.fingerprint, true);
}

std::string instance_user_id(std::string_view identity, std::string_view email)
{
    return fmt::format("{} (mbd instance key) <{}>", identity, email);
}

InstanceKey init_instance_key(Context& ctx, gpg::Algo algo, long long expire_seconds, bool force)
{
    auto& db = ctx.db();
    FileLock lock(ctx.home().locks() / "instance-key.lock", true); // one init at a time: the second sees the first's key
    auto ring = instance_keyring(ctx.home());
    std::optional<std::string> old;
    if (auto r = load(db))
        old = r->info.fingerprint;
    else if (auto secrets = ring.list(true); !secrets.empty())
        old = secrets.front().fingerprint; // a secret key without record: never silently adopt or replace it
    if (old && !force)
        throw fail(Exit::exists, "an instance key exists already ({}); use --force to replace it", *old);
    std::string uid = instance_user_id(ctx.config().get("identity"), ctx.config().get("email"));
    auto info = ring.generate(uid, algo, expire_seconds);
    {
        db::Transaction tx(db);
        write_record(db, info, ModelStatus{}.after_prepare());
        db.run("DELETE FROM instance_key_next"); // (a rotation under way ends with the key it rotated)
        tx.commit();
    }
    if (old && ring.find(*old)) {
        auto file = retire(ctx, ring, *old);
        log::notice("replaced the instance key {} by {}; the old one is kept in '{}'", *old, info.fingerprint,
                    file.string());
    }
    check_instance_key(ctx);
    return activate_instance_key(ctx);
}

InstanceKey require_instance_key(Context& ctx, const gpg::Keyring* open)
{
    auto r = require_record(ctx);
    const auto& fpr = r.info.fingerprint;
    if (r.status.status != Status::active)
        throw fail(Exit::not_allowed, "the instance key {} is not active (status '{}'; see 'mbd-keygen check')", fpr,
                   r.status.display());
    std::optional<gpg::Keyring> own;
    const gpg::Keyring& ring = open ? *open : own.emplace(instance_keyring(ctx.home()));
    auto k = ring.find(fpr); // (one key listing: a gpg process)
    if (auto err = unusable(k, ring, fpr, Exit::state))
        throw *err;
    return InstanceKey{*k, r.status};
}

InstanceKey check_instance_key(Context& ctx)
{
    auto r = require_record(ctx);
    auto ring = instance_keyring(ctx.home());
    auto err = problem(r, ring);
    auto status = r.status.after_check(!err, now_seconds());
    store_status(ctx.db(), status);
    if (err)
        throw *err;
    log::debug("gpg", "instance key {} checked: {}", r.info.fingerprint, status.display());
    return InstanceKey{*ring.find(r.info.fingerprint), status};
}

InstanceKey activate_instance_key(Context& ctx)
{
    auto r = require_record(ctx);
    if (auto why = r.status.activate_error())
        throw fail(Exit::state, "cannot activate the instance key {}: {}", r.info.fingerprint, *why);
    store_status(ctx.db(), r.status.activate());
    return *find_instance_key(ctx);
}

InstanceKey deactivate_instance_key(Context& ctx)
{
    auto r = require_record(ctx);
    store_status(ctx.db(), r.status.deactivate());
    return *find_instance_key(ctx);
}

std::filesystem::path remove_instance_key(Context& ctx)
{
    auto r = require_record(ctx);
    const auto& fpr = r.info.fingerprint;
    if (r.status.status == Status::active)
        throw fail(Exit::state, "cannot remove the instance key {}: it is active (deactivate it first)", fpr);
    auto ring = instance_keyring(ctx.home());
    std::filesystem::path file;
    if (ring.find(fpr))
        file = retire(ctx, ring, fpr);
    db::Transaction tx(ctx.db());
    ctx.db().run("DELETE FROM instance_key WHERE id = 1");
    tx.commit();
    return file;
}

InstanceKey set_instance_key_expiry(Context& ctx, long long expires_in_seconds)
{
    auto r = require_record(ctx);
    auto ring = instance_keyring(ctx.home());
    ring.set_expiry(r.info.fingerprint, expires_in_seconds);
    auto info = ring.find(r.info.fingerprint);
    r.info.expires = info->expires;
    store(ctx.db(), r.info, r.status); // the check decides: a key out of service for its expiry comes back
    return check_instance_key(ctx);
}

std::optional<NextKey> next_instance_key(db::Db& db)
{
    auto r = db.query("SELECT fingerprint, switch_at FROM instance_key_next WHERE id = 1");
    if (!r.step())
        return std::nullopt;
    NextKey k;
    k.info.fingerprint = r.text(0);
    k.switch_at = r.int64(1);
    return k;
}

NextKey rotate_instance_key(Context& ctx, gpg::Algo algo, long long expire_seconds, long long switch_at)
{
    auto& db = ctx.db();
    FileLock lock(ctx.home().locks() / "instance-key.lock", true);
    auto current = require_instance_key(ctx);
    if (auto next = next_instance_key(db))
        throw fail(Exit::exists, "a rotation is under way already: key {} takes over on {} (mbd-keygen switch)",
                   next->info.fingerprint, iso_time(next->switch_at));
    auto ring = instance_keyring(ctx.home());
    auto info = ring.generate(current.info.user_id, algo, expire_seconds);
    db::Transaction tx(db);
    db.run("INSERT INTO instance_key_next(id, fingerprint, created, switch_at) VALUES (1, ?, ?, ?)", info.fingerprint,
           info.created, switch_at);
    tx.commit();
    log::notice("key rotation: {} signs beside {} until {}", info.fingerprint, current.info.fingerprint,
                iso_time(switch_at));
    return {info, switch_at};
}

InstanceKey switch_instance_key(Context& ctx)
{
    auto& db = ctx.db();
    FileLock lock(ctx.home().locks() / "instance-key.lock", true);
    auto next = next_instance_key(db);
    if (!next)
        throw fail(Exit::not_found, "no key rotation is under way (mbd-keygen rotate)");
    auto ring = instance_keyring(ctx.home());
    auto info = ring.find(next->info.fingerprint);
    if (!info)
        throw fail(Exit::state, "the next instance key {} is missing from '{}'", next->info.fingerprint,
                   ring.dir().string());
    auto old = require_record(ctx);
    {
        db::Transaction tx(db);
        write_record(db, *info, ModelStatus{}.after_prepare());
        db.run("DELETE FROM instance_key_next");
        tx.commit();
    }
    auto file = retire(ctx, ring, old.info.fingerprint);
    log::notice("key rotation: {} is the instance key; the old one, {}, is kept in '{}'", info->fingerprint,
                old.info.fingerprint, file.string());
    check_instance_key(ctx);
    return activate_instance_key(ctx);
}

std::vector<std::string> archive_signers(Context& ctx, const gpg::Keyring* ring)
{
    std::vector<std::string> out{require_instance_key(ctx, ring).info.fingerprint};
    if (auto next = next_instance_key(ctx.db()))
        out.push_back(next->info.fingerprint);
    return out;
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

std::string describe(const InstanceKey& key)
{
    const auto& k = key.info;
    return fmt::format("fingerprint: {}\nalgorithm:   {}\nuser id:     {}\ncreated:     {}\nexpires:     {}\n"
                       "status:      {}\nlast check:  {}\n",
                       k.fingerprint, k.algorithm, k.user_id, iso_time(k.created),
                       k.expires ? iso_time(k.expires) : "never", key.status.display(),
                       key.status.last_check ? iso_time(key.status.last_check) : "never");
}

Json to_json(const InstanceKey& key)
{
    const auto& k = key.info;
    return Json::object()
        .set("fingerprint", k.fingerprint)
        .set("algorithm", k.algorithm)
        .set("user_id", k.user_id)
        .set("created", iso_time(k.created))
        .set("expires", json_time(k.expires))
        .set("expired", k.expired)
        .set("revoked", k.revoked)
        .set("status", std::string(to_string(key.status.status)))
        .set("check_flag", std::string(to_string(key.status.flag)))
        .set("last_check", json_time(key.status.last_check));
}

} // namespace mbd::keys
