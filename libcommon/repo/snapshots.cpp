#include "repo/snapshots.hpp"

#include "archive/dists.hpp"
#include "archive/publish.hpp"
#include "core/error.hpp"
#include "core/fault.hpp"
#include "core/log.hpp"
#include "core/names.hpp"
#include "core/strings.hpp"
#include "db/db.hpp"
#include "events/events.hpp"
#include "keys/instance.hpp"
#include "model/model.hpp"
#include "repo/packages.hpp"

#include <ctime>
#include <map>
#include <set>

namespace mbd::repo {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view columns =
    "s.repository, s.dist, s.codename, s.suite, s.name, s.named, s.created, "
    "(SELECT COUNT(*) FROM snapshot_sources WHERE snapshot_id = s.id), "
    "(SELECT COUNT(*) FROM snapshot_binaries WHERE snapshot_id = s.id), s.id";

Snapshot read_row(db::Stmt& r)
{
    return Snapshot{r.text(0), r.text(1), r.text(2), r.text(3), r.text(4), r.int64(5) != 0,
                    r.int64(6),  r.int64(7), r.int64(8)};
}

std::string utc_name(long long t)
{
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    ::gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
    return buf;
}

bool taken(db::Db& db, const std::string& dist, const std::string& name)
{
    return db.scalar_int("SELECT 1 FROM snapshots WHERE dist = ? AND name = ?", dist, name).has_value();
}

void event(db::Db& db, std::string_view type, const std::string& dist, std::string message)
{
    record_event(db, Event{0, 0, std::string(type), "", "", dist, "", std::move(message), ""}, false);
}

// DIST@NAME split and checked (Exit::usage).
std::pair<std::string, std::string> split_full_name(std::string_view full)
{
    auto at = full.rfind('@');
    if (at == std::string_view::npos)
        throw fail(Exit::usage, "invalid snapshot '{}' (DIST@NAME, as 'mbd-repo snapshot ls' prints it)", full);
    std::string dist(full.substr(0, at)), name(full.substr(at + 1));
    names::check(names::distribution, dist);
    names::check(names::snapshot, name);
    return {dist, name};
}

// Forget a snapshot (its sources become candidates for pool GC again), then delete its directory.
void remove_locked(Context& ctx, const RepositoryLock& lock, long long id, const std::string& full, const char* why)
{
    auto& db = ctx.db();
    {
        db::Transaction tx(db);
        db.run("INSERT OR IGNORE INTO gc_candidates(source_id) SELECT source_id FROM snapshot_sources "
               "WHERE snapshot_id = ?",
               id);
        std::string dist = *db.scalar_text("SELECT dist FROM snapshots WHERE id = ?", id);
        db.run("DELETE FROM snapshots WHERE id = ?", id);
        event(db, "SNAPSHOT_REMOVED", dist, fmt::format("removed snapshot {} ({})", full, why));
        tx.commit();
    }
    fault::point("snapshot.removed");
    fs::remove_all(archive::repository_dir(ctx, lock.id()) / "dists" / full);
    log::info("removed snapshot {} ({})", full, why);
}

long long day_of(long long t) { return t >= 0 ? t / 86400 : (t - 86399) / 86400; }

long long bucket(int kind, long long t)
{
    if (kind == 0)
        return day_of(t);
    if (kind == 1)
        return (day_of(t) + 3) / 7; // ISO weeks start on Monday; 1970-01-01 was a Thursday
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    ::gmtime_r(&tt, &tm);
    return (tm.tm_year + 1900LL) * 12 + tm.tm_mon;
}

} // namespace

Snapshot create_snapshot(Context& ctx, std::string_view dist_name, const std::optional<std::string>& name)
{
    if (name)
        names::check(names::snapshot, *name);
    auto& db = ctx.db();
    DistRef dist = find_dist(db, dist_name);
    keys::require_instance_key(ctx);
    RepositoryLock lock(ctx, dist.repository);
    long long now = now_seconds();
    std::string n = name ? *name : utc_name(now);
    if (name && taken(db, dist.name, n))
        throw fail(Exit::exists, "'{}' has a snapshot '{}' already ({}@{})", dist.name, n, dist.name, n);
    for (int k = 2; !name && taken(db, dist.name, n); ++k)
        n = fmt::format("{}.{}", utc_name(now), k);
    std::string full = dist.name + "@" + n;

    // Its index files as published now, after anything not published yet.
    publish_repository(ctx, lock, false, dist.name);
    const archive::DistPlan* plan = nullptr;
    auto plans = archive::plan_dists(db, dist.repository, archive::default_index_set(ctx));
    for (const auto& p : plans)
        if (p.dist.id == dist.id)
            plan = &p;
    if (!plan)
        throw fail(Exit::state, "repository '{}' does not publish '{}'", dist.repository, dist.name);
    std::string header = archive::snapshot_header(*plan, full);
    std::string release_sha256 = archive::publish_snapshot(ctx, lock, dist, full, header);

    // What it holds, copied by two INSERT ... SELECT in the transaction that records it.
    db::Transaction tx(db);
    db.run("INSERT INTO snapshots(repository, dist, codename, suite, name, named, created, header, release_sha256) "
           "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
           dist.repository, dist.name, dist.codename, dist.suite, n, name.has_value(), now, header, release_sha256);
    long long id = db.last_insert_id();
    long long sources = db.run("INSERT INTO snapshot_sources(snapshot_id, source_id) "
                               "SELECT ?, source_id FROM dist_sources WHERE dist_id = ?",
                               id, dist.id);
    long long binaries = db.run("INSERT INTO snapshot_binaries(snapshot_id, binary_id) "
                                "SELECT ?, b.id FROM dist_sources ds JOIN binary_packages b ON b.source_id = ds.source_id "
                                "WHERE ds.dist_id = ?",
                                id, dist.id);
    event(db, "SNAPSHOT", dist.name,
          fmt::format("made snapshot {} ({} sources, {} binaries)", full, sources, binaries));
    fault::point("snapshot.commit");
    tx.commit();
    log::info("made snapshot {} ({} sources, {} binaries)", full, sources, binaries);
    return Snapshot{dist.repository, dist.name, dist.codename, dist.suite, n, name.has_value(), now, sources, binaries};
}

std::vector<Snapshot> list_snapshots(db::Db& db, std::string_view repository, std::string_view dist)
{
    std::vector<Snapshot> out;
    auto r = db.query(fmt::format("SELECT {} FROM snapshots s WHERE (? = '' OR s.repository = ?) AND "
                                  "(? = '' OR s.dist = ?) ORDER BY s.dist, s.created, s.name",
                                  columns),
                      std::string(repository), std::string(repository), std::string(dist), std::string(dist));
    while (r.step())
        out.push_back(read_row(r));
    return out;
}

Snapshot find_snapshot(db::Db& db, std::string_view full_name)
{
    auto [dist, name] = split_full_name(full_name);
    auto r = db.query(fmt::format("SELECT {} FROM snapshots s WHERE s.dist = ? AND s.name = ?", columns), dist, name);
    if (!r.step())
        throw fail(Exit::not_found, "no snapshot '{}' (mbd-repo snapshot ls)", full_name);
    return read_row(r);
}

Snapshot remove_snapshot(Context& ctx, std::string_view full_name)
{
    auto& db = ctx.db();
    Snapshot s = find_snapshot(db, full_name);
    RepositoryLock lock(ctx, s.repository);
    auto id = db.scalar_int("SELECT id FROM snapshots WHERE dist = ? AND name = ?", s.dist, s.name);
    if (!id) // (removed meanwhile)
        throw fail(Exit::not_found, "no snapshot '{}' (mbd-repo snapshot ls)", full_name);
    remove_locked(ctx, lock, *id, s.full_name(), "snapshot remove");
    publish_repository(ctx, lock); // (pool GC)
    return s;
}

KeepPolicy keep_policy(std::string_view value, std::string_view suite)
{
    KeepPolicy out;
    // every suite's first, then this suite's
    for (bool own : {false, true})
        for (auto word : split_ws(value)) {
            auto colon = word.find(':');
            std::string_view kind = colon == std::string_view::npos ? word : word.substr(colon + 1);
            auto eq = kind.find('=');
            auto parsed = eq == std::string_view::npos ? std::nullopt : parse_uint(kind.substr(eq + 1));
            long long n = parsed && *parsed <= 100000 ? static_cast<long long>(*parsed) : -1;
            kind = kind.substr(0, eq);
            int* field = kind == "daily" ? &out.daily : kind == "weekly" ? &out.weekly
                                                   : kind == "monthly" ? &out.monthly : nullptr;
            if (!field || n < 0 || colon == 0)
                throw fail(Exit::config,
                           "snapshot.keep: '{}' is not KIND=N or SUITE:KIND=N (KIND: daily, weekly or monthly)", word);
            bool mine = colon != std::string_view::npos;
            if (mine == own && (!mine || word.substr(0, colon) == suite))
                *field = static_cast<int>(n);
        }
    return out;
}

std::vector<bool> kept_by(const KeepPolicy& policy, const std::vector<long long>& created)
{
    std::vector<bool> keep(created.size(), !policy.any());
    int kind = 0;
    for (int n : {policy.daily, policy.weekly, policy.monthly}) {
        std::optional<long long> last;
        int count = 0;
        for (size_t i = 0; i < created.size() && n > 0; ++i) {
            long long b = bucket(kind, created[i]);
            if (last == b)
                continue;
            last = b;
            if (++count > n)
                break;
            keep[i] = true;
        }
        ++kind;
    }
    return keep;
}

std::vector<std::string> expire_snapshots(Context& ctx, const RepositoryLock& lock)
{
    auto& db = ctx.db();
    const std::string& value = ctx.config().get("snapshot.keep");
    struct Row {
        long long id;
        std::string full;
        long long created;
    };
    std::map<std::pair<std::string, std::string>, std::vector<Row>> groups; // (suite, dist): newest first
    std::set<std::string> known;
    {
        auto r = db.query("SELECT id, dist, suite, name, created, named FROM snapshots WHERE repository = ? "
                          "ORDER BY created DESC, id DESC",
                          lock.id());
        while (r.step()) {
            std::string full = r.text(1) + "@" + r.text(3);
            known.insert(full);
            if (r.int64(5) == 0)
                groups[{r.text(2), r.text(1)}].push_back({r.int64(0), full, r.int64(4)});
        }
    }
    std::vector<std::string> removed;
    for (const auto& [key, rows] : groups) {
        auto policy = keep_policy(value, key.first);
        std::vector<long long> created;
        for (const auto& row : rows)
            created.push_back(row.created);
        auto keep = kept_by(policy, created);
        for (size_t i = 0; i < rows.size(); ++i)
            if (!keep[i]) {
                remove_locked(ctx, lock, rows[i].id, rows[i].full, "snapshot.keep");
                removed.push_back(rows[i].full);
            }
    }
    // directories of snapshots the database does not know (a remove or create killed half-way)
    std::error_code ec;
    fs::path dists = archive::repository_dir(ctx, lock.id()) / "dists";
    for (const auto& e : fs::directory_iterator(dists, ec)) {
        std::string n = e.path().filename().string();
        if (n.find('@') != std::string::npos && !known.count(n) && e.is_directory() && !e.is_symlink()) {
            fs::remove_all(e.path(), ec);
            log::notice("removed '{}', a snapshot directory the state database does not know", e.path().string());
        }
    }
    return removed;
}

Json to_json(const Snapshot& s)
{
    return Json::object()
        .set("snapshot", s.full_name())
        .set("repository", s.repository)
        .set("distribution", s.dist)
        .set("codename", s.codename)
        .set("suite", s.suite)
        .set("name", s.name)
        .set("named", s.named)
        .set("created", s.created)
        .set("sources", s.sources)
        .set("binaries", s.binaries);
}

} // namespace mbd::repo
