#include "keys/uploaders.hpp"

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/names.hpp"
#include "core/strings.hpp"
#include "db/db.hpp"

#include <algorithm>

namespace mbd::keys {
namespace {

std::optional<Uploader> load(db::Db& db, const gpg::Keyring& ring, const std::string& fpr)
{
    auto row = db.query("SELECT user_id, added FROM uploaders WHERE fingerprint = ?", fpr);
    if (!row.step())
        return std::nullopt;
    Uploader u{lookup_key(ring, fpr, row.text(0)), row.int64(1), {}};
    auto repos = db.query("SELECT repository FROM uploader_repositories WHERE fingerprint = ? ORDER BY repository",
                          fpr);
    while (repos.step())
        u.repositories.push_back(repos.text(0));
    return u;
}

Uploader require(db::Db& db, const gpg::Keyring& ring, const std::string& fpr)
{
    auto u = load(db, ring, fpr);
    if (!u)
        throw fail(Exit::not_found, "no uploader {}", fpr);
    return *u;
}

void check_repositories(const std::vector<std::string>& repositories, const RepositoryExists& exists)
{
    for (const auto& r : repositories) {
        names::check(names::repository, r);
        if (!exists(r))
            throw fail(Exit::not_found, "no repository '{}'", r);
    }
}

void grant(db::Db& db, const std::string& fpr, const std::vector<std::string>& repositories)
{
    for (const auto& r : repositories)
        db.run("INSERT OR IGNORE INTO uploader_repositories(fingerprint, repository) VALUES (?, ?)", fpr, r);
}

} // namespace

Uploader add_uploader(Context& ctx, std::string_view key_data, const std::vector<std::string>& repositories,
                      const RepositoryExists& exists)
{
    auto& db = ctx.db();
    check_repositories(repositories, exists);
    auto ring = trust_set(ctx.home(), uploaders_set);
    auto key = import_one_key(ring, key_data); // key material first: a key without record is unknown
    notice_if_unusable(key);
    db::Transaction tx(db);
    db.run("INSERT INTO uploaders(fingerprint, user_id, added) VALUES (?, ?, ?) "
           "ON CONFLICT(fingerprint) DO UPDATE SET user_id = excluded.user_id",
           key.fingerprint, key.user_id, now_seconds());
    grant(db, key.fingerprint, repositories);
    tx.commit();
    log::debug("gpg", "uploader {} may upload to {}", key.fingerprint, fmt::join(repositories, ", "));
    return require(db, ring, key.fingerprint);
}

std::vector<Uploader> list_uploaders(Context& ctx)
{
    auto& db = ctx.db();
    auto ring = trust_set(ctx.home(), uploaders_set);
    std::vector<Uploader> out;
    std::vector<std::string> fprs;
    for (auto rows = db.query("SELECT fingerprint FROM uploaders ORDER BY fingerprint"); rows.step();)
        fprs.push_back(rows.text(0));
    for (const auto& f : fprs)
        out.push_back(require(db, ring, f));
    return out;
}

Uploader grant_uploader(Context& ctx, std::string_view fingerprint, const std::vector<std::string>& repositories,
                        const RepositoryExists& exists)
{
    auto fpr = normalize_fingerprint(fingerprint);
    auto& db = ctx.db();
    auto ring = trust_set(ctx.home(), uploaders_set);
    require(db, ring, fpr);
    check_repositories(repositories, exists);
    db::Transaction tx(db);
    grant(db, fpr, repositories);
    tx.commit();
    return require(db, ring, fpr);
}

Uploader revoke_uploader(Context& ctx, std::string_view fingerprint, const std::vector<std::string>& repositories)
{
    auto fpr = normalize_fingerprint(fingerprint);
    auto& db = ctx.db();
    auto ring = trust_set(ctx.home(), uploaders_set);
    require(db, ring, fpr);
    db::Transaction tx(db);
    for (const auto& r : repositories) {
        names::check(names::repository, r);
        if (db.run("DELETE FROM uploader_repositories WHERE fingerprint = ? AND repository = ?", fpr, r) == 0)
            throw fail(Exit::not_found, "uploader {} is not granted repository '{}'", fpr, r);
    }
    tx.commit();
    return require(db, ring, fpr);
}

void remove_uploader(Context& ctx, std::string_view fingerprint)
{
    auto fpr = normalize_fingerprint(fingerprint);
    auto& db = ctx.db();
    {
        db::Transaction tx(db);
        if (db.run("DELETE FROM uploaders WHERE fingerprint = ?", fpr) == 0)
            throw fail(Exit::not_found, "no uploader {}", fpr);
        tx.commit();
    }
    auto ring = trust_set(ctx.home(), uploaders_set);
    if (ring.find(fpr))
        ring.remove_key(fpr);
}

std::string describe(const std::vector<Uploader>& uploaders)
{
    std::string out;
    for (const auto& u : uploaders)
        out += fmt::format("{} {:<7} {} {}\n", u.key.info.fingerprint, u.key.state,
                           u.repositories.empty() ? "-" : fmt::format("{}", fmt::join(u.repositories, ",")),
                           u.key.info.user_id);
    return out;
}

Json to_json(const std::vector<Uploader>& uploaders)
{
    Json out = Json::array();
    for (const auto& u : uploaders) {
        Json repos = Json::array();
        for (const auto& r : u.repositories)
            repos.push(r);
        out.push(key_json(u.key).set("added", iso_time(u.added)).set("repositories", std::move(repos)));
    }
    return out;
}

} // namespace mbd::keys
