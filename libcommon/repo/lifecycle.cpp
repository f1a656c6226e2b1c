#include "repo/lifecycle.hpp"

#include "archive/publish.hpp"
#include "archive/verify.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/log.hpp"
#include "core/names.hpp"
#include "core/process.hpp"
#include "core/strings.hpp"
#include "db/db.hpp"
#include "keys/instance.hpp"
#include "model/lock.hpp"
#include "repo/packages.hpp"

#include <algorithm>
#include <set>

namespace mbd::repo {
namespace {

namespace fs = std::filesystem;

} // namespace

namespace {

Repository prepare_locked(Context& ctx, const RepositoryLock& lock)
{
    auto& db = ctx.db();
    auto repo = get_repository(db, lock.id());
    make_dirs(archive::repository_dir(ctx, lock.id()) / "pool");
    publish_repository(ctx, lock);
    ModelStatus st = repo.status.after_prepare();
    db::Transaction tx(db);
    store_repository_status(db, lock.id(), st);
    db.run("UPDATE repositories SET changes = '' WHERE id = ?", lock.id());
    tx.commit();
    return get_repository(db, lock.id());
}

// Forget a codename of a repository and delete its distributions' directories (we hold the lock).
std::vector<std::string> retire_locked(Context& ctx, const RepositoryLock& lock, const std::string& codename)
{
    auto names = drop_repository_dist(ctx.db(), lock.id(), codename);
    fs::path dists = archive::repository_dir(ctx, lock.id()) / "dists";
    for (const auto& n : names)
        fs::remove_all(dists / n);
    publish_repository(ctx, lock); // (drops the pool files nothing holds any more)
    log::notice("repository '{}': codename '{}' retired ({} distributions removed)", lock.id(), codename, names.size());
    return names;
}

} // namespace

Repository prepare_repository(Context& ctx, std::string_view id)
{
    keys::require_instance_key(ctx);
    RepositoryLock lock(ctx, std::string(id));
    get_repository(ctx.db(), id);
    return prepare_locked(ctx, lock);
}

RepositoryEditResult edit_repository(Context& ctx, std::string_view id, const RepositoryEdit& edit, bool prepare)
{
    auto& db = ctx.db();
    if (prepare)
        keys::require_instance_key(ctx);
    RepositoryLock lock(ctx, std::string(id));
    RepositoryEditResult out;
    long long grace = ctx.config().get_int("publish.retire_grace");
    out.changes = edit_repository_config(db, id, edit, now_seconds() + std::max(grace, 0LL));
    for (const auto& codename : edit.remove) {
        const auto* rd = get_repository(db, id).dist(codename);
        if (rd && (grace <= 0 || repository_dist_holdings(db, id, codename) == 0)) {
            auto names = retire_locked(ctx, lock, codename);
            out.retired.insert(out.retired.end(), names.begin(), names.end());
        }
    }
    out.repository = prepare && !out.changes.empty() ? prepare_locked(ctx, lock) : get_repository(db, id);
    return out;
}

std::vector<std::string> retire_due(Context& ctx, const RepositoryLock& lock)
{
    std::vector<std::string> out;
    for (const auto& d : get_repository(ctx.db(), lock.id()).dists)
        if (d.retire_after && d.retire_after <= now_seconds()) {
            auto names = retire_locked(ctx, lock, d.codename);
            out.insert(out.end(), names.begin(), names.end());
        }
    return out;
}

Repository create_and_prepare(Context& ctx, const Repository& r)
{
    keys::require_instance_key(ctx);
    create_repository(ctx.db(), r);
    return prepare_repository(ctx, r.id);
}

Repository repository_action(Context& ctx, std::string_view id, std::string_view action)
{
    auto& db = ctx.db();
    auto repo = get_repository(db, id);
    ModelStatus st = repo.status;
    if (action == "remove") {
        RepositoryLock lock(ctx, std::string(id));
        if (auto n = db.scalar_int("SELECT COUNT(*) FROM dist_sources ds JOIN dists d ON d.id = ds.dist_id "
                                   "WHERE d.repository = ?",
                                   id);
            n && *n > 0)
            throw fail(Exit::exists, "repository '{}' holds packages ({} in its distributions); remove them first", id,
                       *n);
        if (auto n = db.scalar_int("SELECT COUNT(*) FROM snapshots WHERE repository = ?", id); n && *n > 0)
            throw fail(Exit::exists, "repository '{}' has {} snapshot{}; remove them first (mbd-repo snapshot remove)",
                       id, *n, *n == 1 ? "" : "s");
        {
            db::Transaction tx(db);
            db.run("DELETE FROM published_dists WHERE dist_id IN (SELECT id FROM dists WHERE repository = ?)", id);
            db.run("DELETE FROM published_indices WHERE dist_id IN (SELECT id FROM dists WHERE repository = ?)", id);
            db.run("DELETE FROM dist_journal WHERE dist_id IN (SELECT id FROM dists WHERE repository = ?)", id);
            db.run("DELETE FROM source_packages WHERE repository = ?", id);
            db.run("DELETE FROM pool_files WHERE repository = ?", id);
            db.run("DELETE FROM pool_pending WHERE repository = ?", id);
            db.run("DELETE FROM pool_garbage WHERE repository = ?", id);
            st = st.after_remove();
            store_repository_status(db, id, st);
            tx.commit();
        }
        fs::remove_all(archive::repository_dir(ctx, id));
        return get_repository(db, id);
    }
    st = status_action(st, action, fmt::format("repository '{}'", id));
    db::Transaction tx(db);
    store_repository_status(db, id, st);
    tx.commit();
    return get_repository(db, id);
}

CheckReport check_repository(Context& ctx, std::string_view id)
{
    auto& db = ctx.db();
    auto repo = get_repository(db, id);
    CheckReport report{repo.id, {}, 0, 0};
    if (repo.status.status == Status::removed) {
        report.problems.push_back(fmt::format("repository '{}' is removed (run 'mbd-repo repository prepare')", id));
        return report;
    }
    RepositoryLock lock(ctx, repo.id);
    fs::path root = archive::repository_dir(ctx, repo.id);

    // DB <-> pool
    std::set<std::string> known;
    auto files = db.query("SELECT path, size, sha256 FROM pool_files WHERE repository = ?", repo.id);
    while (files.step()) {
        std::string path = files.text(0);
        known.insert(path);
        ++report.pool_files;
        try {
            auto d = digest_file(root / path);
            if (d.size != std::uintmax_t(files.int64(1)) || d.sha256 != files.text(2))
                report.problems.push_back(fmt::format("pool file '{}' does not match its size and SHA256", path));
        } catch (const Error& e) {
            report.problems.push_back(fmt::format("pool file '{}': {}", path, e.what()));
        }
    }
    auto garbage = db.query("SELECT path FROM pool_garbage WHERE repository = ?", repo.id);
    while (garbage.step())
        known.insert(garbage.text(0));
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root / "pool", ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
        if (!it->is_regular_file())
            continue;
        std::string rel = fs::relative(it->path(), root).string();
        if (!known.count(rel))
            report.problems.push_back(fmt::format("pool file '{}' is not in the state database", rel));
    }

    // DB <-> dists <-> signatures
    auto published = archive::verify_published(ctx, repo.id);
    report.problems.insert(report.problems.end(), published.begin(), published.end());
    auto snapshots = archive::verify_snapshots(ctx, repo.id);
    report.problems.insert(report.problems.end(), snapshots.begin(), snapshots.end());
    report.dists = (long long)repository_dists(db, repo.id).size();
    report.snapshots = db.scalar_int("SELECT COUNT(*) FROM snapshots WHERE repository = ?", repo.id).value_or(0);

    ModelStatus st = repo.status.after_check(report.ok(), now_seconds());
    db::Transaction tx(db);
    store_repository_status(db, repo.id, st);
    tx.commit();
    return report;
}

Json to_json(const CheckReport& r)
{
    Json problems = Json::array();
    for (const auto& p : r.problems)
        problems.push(p);
    return Json::object()
        .set("repository", r.repository)
        .set("ok", r.ok())
        .set("pool_files", r.pool_files)
        .set("distributions", r.dists)
        .set("snapshots", r.snapshots)
        .set("problems", problems);
}

namespace {

// A Debian codename's companion archives: suite suffix, where (empty: the mirror), Origin, APT priority.
struct Companion {
    std::string_view suffix;
    std::string uri;
    std::string_view origin;
    int priority;
};

std::vector<Companion> companions(const std::string& mirror)
{
    std::string base = mirror;
    while (!base.empty() && base.back() == '/')
        base.pop_back();
    std::vector<Companion> out{{"updates", mirror, "Debian", 500}};
    // (Debian's mirrors serve the security archive beside the main one: .../debian-security)
    if (base.ends_with("/debian"))
        out.push_back({"security", base + "-security", "Debian", 500});
    out.push_back({"backports", mirror, "Debian Backports", 100});
    return out;
}

// A source that is added only when its check passes; why not otherwise.
std::optional<std::string> add_checked_source(Context& ctx, const SourceSpec& spec)
{
    add_source(ctx, spec);
    try {
        check_source(ctx, spec.name);
    } catch (const Error& e) {
        source_action(ctx, spec.name, "remove");
        return std::string(e.what());
    }
    source_action(ctx, spec.name, "activate");
    return std::nullopt;
}

// setup's first step for one codename: source debian-CODENAME and distribution CODENAME,
// each unless it exists, with the companions that pass their checks.
Distribution setup_distribution(Context& ctx, const SetupOptions& o, const std::string& codename, SetupResult& result)
{
    auto& db = ctx.db();
    std::string source_name = "debian-" + codename;
    std::string mirror = o.mirror.empty() ? ctx.config().get("mirror") : o.mirror;
    if (!fs::exists(o.keyring))
        throw fail(Exit::environment, "no archive keyring '{}' (apt-get install debian-archive-keyring)", o.keyring);
    if (!db.scalar_int("SELECT 1 FROM sources WHERE name = ?", source_name)) {
        SourceSpec spec;
        spec.name = source_name;
        spec.codename = codename;
        spec.uris = {mirror};
        spec.key_files = {o.keyring};
        add_source(ctx, spec);
        log::notice("added source '{}' ({})", source_name, mirror);
    }
    Source source = get_source(db, source_name);
    if (o.check_source && source.status.flag != CheckFlag::none) {
        source = check_source(ctx, source_name);
        if (source.status.status != Status::active)
            source = source_action(ctx, source_name, "activate");
    }
    if (db.scalar_int("SELECT 1 FROM distributions WHERE codename = ?", codename))
        return get_distribution(db, codename);
    Distribution d;
    d.codename = codename;
    d.base_source = source_name;
    d.architectures = o.architectures;
    if (d.architectures.empty())
        d.architectures = {std::string(trim(run_checked({"dpkg", "--print-architecture"})))};
    d.arch_all = d.architectures.front();
    for (const auto& c : o.check_source ? companions(mirror) : std::vector<Companion>{}) {
        SourceSpec spec;
        spec.name = fmt::format("{}-{}", source_name, c.suffix);
        spec.codename = fmt::format("{}-{}", codename, c.suffix);
        spec.origin = c.origin;
        spec.uris = {c.uri};
        spec.key_files = {o.keyring};
        spec.codeversion = known_codeversion(codename);
        if (!db.scalar_int("SELECT 1 FROM sources WHERE name = ?", spec.name)) {
            if (auto why = add_checked_source(ctx, spec)) {
                result.skipped.push_back(*why);
                log::notice("skipped {}", *why);
                continue;
            }
            log::notice("added source '{}' ({}, checked)", spec.name, c.uri);
        }
        d.extra_sources.push_back({spec.name, c.priority});
        result.extra_sources.push_back(spec.name);
    }
    add_distribution(db, d);
    log::notice("added distribution '{}' ({}{}{})", codename, join(d.architectures, " "),
                d.extra_sources.empty() ? "" : ", extra sources ", [&] {
                    std::vector<std::string> names;
                    for (const auto& x : d.extra_sources)
                        names.push_back(x.source);
                    return join(names, " ");
                }());
    return get_distribution(db, codename);
}

} // namespace

SetupResult setup(Context& ctx, const SetupOptions& options)
{
    SetupOptions o = options;
    if (o.codenames.empty())
        o.codenames = {"bookworm"};
    names::check(names::repository, o.id);
    for (const auto& c : o.codenames)
        names::check(names::codename, c);
    auto& db = ctx.db();
    keys::require_instance_key(ctx);
    SetupResult result;
    if (repository_exists(db, o.id)) {
        // (setup again: what it made is kept, when it is what was asked for)
        auto r = get_repository(db, o.id);
        if (r.layout != o.layout)
            throw fail(Exit::exists, "repository '{}' exists already, with layout '{}'; choose another id", o.id,
                       r.layout);
        for (const auto& c : o.codenames)
            if (!r.dist(c))
                throw fail(Exit::exists, "repository '{}' exists already, without codename '{}' (mbd-repo repository "
                           "set {} --add-dist {})",
                           o.id, c, o.id, c);
        log::notice("repository '{}': kept", o.id);
    } else {
        Repository r;
        r.id = o.id;
        r.layout = o.layout;
        r.origin = ctx.config().get("identity");
        r.description = fmt::format("mbd repository '{}'", o.id);
        for (const auto& c : o.codenames) {
            setup_distribution(ctx, o, c, result);
            r.dists.push_back({c, {}, 0}); // (all of the distribution's: an architecture added later is served too)
        }
        create_and_prepare(ctx, r);
        log::notice("repository '{}': created and published", o.id);
    }
    if (get_repository(db, o.id).status.status != Status::active) {
        auto report = check_repository(ctx, o.id);
        if (!report.ok())
            throw fail(Exit::check_failed, "repository '{}' failed its first check: {}", o.id, report.problems.front());
        repository_action(ctx, o.id, "activate");
    }
    for (const auto& c : o.codenames)
        result.distributions.push_back(get_distribution(db, c));
    result.repository = get_repository(db, o.id);
    return result;
}

} // namespace mbd::repo
