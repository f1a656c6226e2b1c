#include "model/edit.hpp"

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/log.hpp"
#include "core/names.hpp"
#include "core/strings.hpp"
#include "db/db.hpp"
#include "gpg/gpg.hpp"

#include <algorithm>

namespace mbd::repo {
namespace {

bool contains(const std::vector<std::string>& v, std::string_view s)
{
    return std::find(v.begin(), v.end(), s) != v.end();
}

// Records "WHAT: BEFORE -> AFTER" when a field changes, and changes it.
template <typename T> struct Changes {
    std::vector<std::string>& out;
    void operator()(std::string_view what, T& field, const T& value, std::string before, std::string after) const
    {
        if (field == value)
            return;
        out.push_back(fmt::format("{}: {} -> {}", what, before.empty() ? "''" : before, after.empty() ? "''" : after));
        field = value;
    }
};

void set_text(std::vector<std::string>& out, std::string_view what, std::string& field,
              const std::optional<std::string>& value)
{
    if (value)
        Changes<std::string>{out}(what, field, *value, field, *value);
}

void set_list(std::vector<std::string>& out, std::string_view what, std::vector<std::string>& field,
              const std::vector<std::string>& value)
{
    Changes<std::vector<std::string>>{out}(what, field, value, join(field, " "), join(value, " "));
}

std::vector<std::string> using_repositories(db::Db& db, std::string_view codename)
{
    std::vector<std::string> out;
    auto q = db.query("SELECT repository FROM repository_distributions WHERE codename = ? ORDER BY repository",
                      codename);
    while (q.step())
        out.push_back(q.text(0));
    return out;
}

} // namespace

// ---- sources ----------------------------------------------------------------

std::pair<Source, std::vector<std::string>> edit_source(Context& ctx, std::string_view name, const SourceEdit& e)
{
    auto& db = ctx.db();
    Source s = get_source(db, name);
    std::vector<std::string> changes;
    set_text(changes, "origin", s.origin, e.origin);
    if (e.codename) {
        names::check(names::release, *e.codename);
        set_text(changes, "codename", s.codename, e.codename);
    }
    if (e.suite) {
        if (!names::release.valid(*e.suite) && e.suite->find('/') == std::string::npos)
            throw fail(Exit::usage, "invalid suite '{}'", *e.suite);
        set_text(changes, "suite", s.suite, e.suite);
    }
    set_text(changes, "codeversion", s.codeversion, e.codeversion);
    if (e.uris) {
        if (e.uris->empty())
            throw fail(Exit::usage, "source '{}' needs at least one archive URL", name);
        for (const auto& u : *e.uris)
            if (u.find("://") == std::string::npos || u.find_first_of(" \t\n") != std::string::npos)
                throw fail(Exit::usage, "invalid archive URL '{}'", u);
        set_list(changes, "uris", s.uris, *e.uris);
    }
    if (e.identifiers)
        Changes<Pairs>{changes}("identifiers", s.identifiers, *e.identifiers, format_pairs(s.identifiers, " "),
                                format_pairs(*e.identifiers, " "));

    if (!e.key_files.empty()) {
        // The new keys go into a new keyring first, which replaces the old one only when it
        // holds at least one key: a failed edit leaves the source as it was.
        auto dir = source_keyring_dir(ctx.home(), name);
        auto next = dir;
        next += ".new";
        std::filesystem::remove_all(next);
        std::vector<std::string> fingerprints;
        {
            gpg::Keyring ring(next, gpg::Keyring::Kind::public_only);
            for (const auto& f : e.key_files)
                for (const auto& fpr : ring.import_keys(read_file(f)))
                    fingerprints.push_back(fpr);
        }
        if (fingerprints.empty()) {
            std::filesystem::remove_all(next);
            throw fail(Exit::usage, "no OpenPGP public key found in {}", join(e.key_files, ", "));
        }
        std::vector<std::string> before;
        for (const auto& k : gpg::Keyring(dir, gpg::Keyring::Kind::public_only).list())
            before.push_back(k.fingerprint);
        std::sort(before.begin(), before.end());
        std::sort(fingerprints.begin(), fingerprints.end());
        fingerprints.erase(std::unique(fingerprints.begin(), fingerprints.end()), fingerprints.end());
        if (before != fingerprints) {
            auto old = dir;
            old += ".old";
            std::filesystem::remove_all(old);
            std::filesystem::rename(dir, old);
            std::filesystem::rename(next, dir);
            std::filesystem::remove_all(old);
            changes.push_back(fmt::format("keys: {} -> {}", join(before, " "), join(fingerprints, " ")));
        } else {
            std::filesystem::remove_all(next);
        }
    }
    if (changes.empty())
        return {s, changes};
    if (!contains(s.uris, s.uri_used))
        s.uri_used.clear();
    auto st = s.status.after_change();
    db::Transaction tx(db);
    db.run("UPDATE sources SET origin = ?, codename = ?, suite = ?, codeversion = ?, uris = ?, identifiers = ?, "
           "uri_used = ?, status = ?, check_flag = ? WHERE name = ?",
           s.origin, s.codename, s.suite, s.codeversion, join(s.uris, " "), format_pairs(s.identifiers, "\n"),
           s.uri_used,
           to_string(st.status), to_string(st.flag), name);
    tx.commit();
    log::info("source '{}' changed: {}", name, join(changes, "; "));
    return {get_source(db, name), changes};
}

// ---- distributions ----------------------------------------------------------

DistEditResult edit_distribution(db::Db& db, std::string_view codename, const DistEdit& e)
{
    db::Transaction tx(db);
    Distribution before = get_distribution(db, codename);
    Distribution d = before;
    std::vector<std::string> changes;
    auto repositories = using_repositories(db, codename);

    if (e.base_source) {
        get_source(db, *e.base_source);
        set_text(changes, "base source", d.base_source, e.base_source);
    }
    auto archs = d.architectures;
    for (const auto& a : e.add_architectures)
        if (!contains(archs, a))
            archs.push_back(a);
    for (const auto& a : e.remove_architectures) {
        if (!contains(archs, a))
            throw fail(Exit::not_found, "distribution '{}' has no architecture '{}'", codename, a);
        if (a == e.arch_all.value_or(d.arch_all))
            throw fail(Exit::usage, "'{}' builds Architecture: all in '{}' (choose another with --arch-all first)", a,
                       codename);
        auto held = db.scalar_int("SELECT COUNT(*) FROM binary_packages b JOIN dist_sources ds ON ds.source_id = "
                                  "b.source_id JOIN dists x ON x.id = ds.dist_id WHERE x.codename = ? AND "
                                  "b.architecture = ?",
                                  codename, a);
        if (held && *held > 0)
            throw fail(Exit::exists,
                       "distribution '{}' cannot lose architecture '{}': its repositories hold {} binaries of it "
                       "(mbd-repo remove them first)",
                       codename, a, *held);
        std::erase(archs, a);
    }
    set_list(changes, "architectures", d.architectures, archs);
    set_text(changes, "arch all", d.arch_all, e.arch_all);
    if (e.components) {
        for (const auto& c : d.components) {
            if (contains(*e.components, c))
                continue;
            auto held = db.scalar_int("SELECT COUNT(*) FROM dist_sources ds JOIN dists x ON x.id = ds.dist_id "
                                      "JOIN source_packages s ON s.id = ds.source_id WHERE x.codename = ? AND "
                                      "s.component = ?",
                                      codename, c);
            if (held && *held > 0)
                throw fail(Exit::exists,
                           "distribution '{}' cannot lose component '{}': its repositories hold {} sources in it",
                           codename, c, *held);
        }
        set_list(changes, "components", d.components, *e.components);
    }
    auto extra = d.extra_sources;
    for (const auto& r : e.remove_extra) {
        auto it = std::find_if(extra.begin(), extra.end(), [&](const ExtraSource& x) { return x.source == r; });
        if (it == extra.end())
            throw fail(Exit::not_found, "distribution '{}' has no extra source '{}'", codename, r);
        extra.erase(it);
    }
    for (const auto& a : e.add_extra) {
        get_source(db, a.source);
        auto it = std::find_if(extra.begin(), extra.end(), [&](const ExtraSource& x) { return x.source == a.source; });
        if (it != extra.end())
            it->priority = a.priority;
        else
            extra.push_back(a);
    }
    std::sort(extra.begin(), extra.end(), [](const auto& x, const auto& y) { return x.source < y.source; });
    auto extra_text = [](const std::vector<ExtraSource>& v) {
        std::vector<std::string> items;
        for (const auto& x : v)
            items.push_back(fmt::format("{}:{}", x.source, x.priority));
        return join(items, " ");
    };
    if (extra_text(extra) != extra_text(d.extra_sources)) {
        changes.push_back(fmt::format("extra sources: {} -> {}", extra_text(d.extra_sources), extra_text(extra)));
        d.extra_sources = extra;
    }
    set_text(changes, "lintian mode", d.options.lintian_mode, e.lintian_mode);
    set_text(changes, "autopkgtest mode", d.options.autopkgtest_mode, e.autopkgtest_mode);
    set_text(changes, "DEB_BUILD_OPTIONS", d.options.deb_build_options, e.deb_build_options);
    set_text(changes, "DEB_BUILD_PROFILES", d.options.deb_build_profiles, e.deb_build_profiles);
    set_text(changes, "resolver", d.options.resolver, e.resolver);
    // (the index set is publishing's alone: the next publish writes it, nothing waits for a prepare)
    std::optional<std::string> index_change;
    if (e.indices) {
        std::optional<std::string> to;
        if (*e.indices != "default")
            to = index_set_text(parse_index_set(*e.indices));
        if (to != d.indices)
            index_change = fmt::format("indices: {} -> {}", d.indices.value_or("default"), to.value_or("default"));
        d.indices = to;
    }
    validate(d);
    // A repository publishing a subset of the architectures must keep the one building 'all'.
    for (const auto& id : repositories) {
        auto r = get_repository(db, id);
        const auto* rd = r.dist(codename);
        if (rd && !rd->architectures.empty() && !contains(rd->architectures, d.arch_all))
            throw fail(Exit::usage, "repository '{}' publishes {} of '{}' only, not '{}' (the architecture that "
                       "would build 'all')",
                       id, join(rd->architectures, " "), codename, d.arch_all);
        if (rd)
            for (const auto& a : e.remove_architectures)
                if (contains(rd->architectures, a))
                    throw fail(Exit::exists, "repository '{}' publishes architecture '{}' of '{}' by name "
                               "(mbd-repo repository set {} --remove-dist {} first)",
                               id, a, codename, id, codename);
    }
    if (changes.empty() && !index_change)
        return {d, {}, {}};
    db.run("UPDATE distributions SET base_source = ?, components = ?, architectures = ?, arch_all = ?, lintian_mode = ?, "
           "autopkgtest_mode = ?, build_options = ?, build_profiles = ?, resolver = ?, indices = ? WHERE codename = ?",
           d.base_source, join(d.components, " "), join(d.architectures, " "), d.arch_all, d.options.lintian_mode,
           d.options.autopkgtest_mode, d.options.deb_build_options, d.options.deb_build_profiles, d.options.resolver,
           d.indices, codename);
    db.run("DELETE FROM distribution_extra_sources WHERE codename = ?", codename);
    for (const auto& x : d.extra_sources)
        db.run("INSERT INTO distribution_extra_sources(codename, source, priority) VALUES (?, ?, ?)", codename,
               x.source, x.priority);
    for (const auto& id : repositories)
        for (const auto& c : changes)
            mark_repository_changed(db, id, fmt::format("distribution {}: {}", codename, c));
    if (changes.empty())
        repositories.clear(); // (none flagged)
    if (index_change)
        changes.push_back(*index_change);
    tx.commit();
    log::info("distribution '{}' changed: {}", codename, join(changes, "; "));
    return {get_distribution(db, codename), changes, repositories};
}

void remove_distribution(db::Db& db, std::string_view codename)
{
    db::Transaction tx(db);
    get_distribution(db, codename);
    if (auto used = using_repositories(db, codename); !used.empty())
        throw fail(Exit::exists, "distribution '{}' is served by repository '{}' (mbd-repo repository set {} "
                   "--remove-dist {} first)",
                   codename, used.front(), used.front(), codename);
    db.run("DELETE FROM distributions WHERE codename = ?", codename);
    tx.commit();
}

std::optional<std::string> distribution_source_problem(db::Db& db, std::string_view codename)
{
    auto d = get_distribution(db, codename);
    std::vector<std::string> names{d.base_source};
    for (const auto& x : d.extra_sources)
        names.push_back(x.source);
    for (const auto& n : names)
        if (auto why = source_problem(get_source(db, n)))
            return fmt::format("distribution '{}' takes no uploads now: {}", codename, *why);
    return std::nullopt;
}

// ---- layouts ----------------------------------------------------------------

namespace {

Layout mutable_layout(db::Db& db, std::string_view name)
{
    Layout l = get_layout(db, name);
    if (l.builtin)
        throw fail(Exit::not_allowed, "layout '{}' is built in and cannot be changed", name);
    if (auto repo = db.scalar_text("SELECT id FROM repositories WHERE layout = ?", name))
        throw fail(Exit::exists, "layout '{}' is used by repository '{}'", name, *repo);
    return l;
}

} // namespace

void remove_layout(db::Db& db, std::string_view name)
{
    db::Transaction tx(db);
    mutable_layout(db, name);
    db.run("DELETE FROM layouts WHERE name = ?", name);
    tx.commit();
}

Layout remove_layout_suite(db::Db& db, std::string_view layout, std::string_view suite)
{
    db::Transaction tx(db);
    Layout l = mutable_layout(db, layout);
    if (!l.suite(suite))
        throw fail(Exit::not_found, "layout '{}' has no suite '{}'", layout, suite);
    for (const auto& s : l.suites)
        if (s.migrates_to && *s.migrates_to == suite)
            throw fail(Exit::exists, "suite '{}' of layout '{}' migrates to '{}' (change it first)", s.name, layout,
                       suite);
    for (const auto& [meta, target] : l.meta)
        if (target.size() > suite.size() && target.substr(target.size() - suite.size()) == suite &&
            target[target.size() - suite.size() - 1] == '-')
            throw fail(Exit::exists, "meta name '{}' of layout '{}' means '{}' (change it first)", meta, layout, target);
    db.run("DELETE FROM layout_suites WHERE layout = ? AND suite = ?", layout, suite);
    db.run("UPDATE layout_suites SET position = (SELECT COUNT(*) FROM layout_suites o WHERE o.layout = "
           "layout_suites.layout AND o.position <= layout_suites.position) WHERE layout = ?",
           layout);
    tx.commit();
    return get_layout(db, layout);
}

// ---- repositories -----------------------------------------------------------

std::vector<std::string> edit_repository_config(db::Db& db, std::string_view id, const RepositoryEdit& e,
                                                long long retire_after)
{
    db::Transaction tx(db);
    Repository r = get_repository(db, id);
    Layout layout = get_layout(db, r.layout);
    std::vector<std::string> changes;
    set_text(changes, "description", r.description, e.description);
    set_text(changes, "origin", r.origin, e.origin);
    if (e.origin && e.origin->find_first_of("\n\r") != std::string::npos)
        throw fail(Exit::usage, "an origin is one line");
    if (e.description && e.description->find_first_of("\n\r") != std::string::npos)
        throw fail(Exit::usage, "a description is one line");
    db.run("UPDATE repositories SET description = ?, origin = ? WHERE id = ?", r.description, r.origin, id);
    for (const auto& codename : e.remove) {
        const auto* rd = r.dist(codename);
        if (!rd)
            throw fail(Exit::not_found, "repository '{}' does not serve '{}'", id, codename);
        if (rd->retire_after)
            continue;
        if (r.dists.size() - std::count_if(r.dists.begin(), r.dists.end(),
                                           [](const RepositoryDist& x) { return x.retire_after != 0; }) <= 1)
            throw fail(Exit::not_allowed, "'{}' is the last codename repository '{}' serves (mbd-repo repository "
                       "remove {} removes the repository's data)",
                       codename, id, id);
        db.run("UPDATE repository_distributions SET retire_after = ? WHERE repository = ? AND codename = ?",
               retire_after, id, codename);
        changes.push_back(fmt::format("codename {} removed", codename));
        r.dists.erase(r.dists.begin() + (rd - r.dists.data()));
    }
    for (const auto& add : e.add) {
        Distribution d = get_distribution(db, add.codename);
        for (const auto& a : add.architectures)
            if (!contains(d.architectures, a))
                throw fail(Exit::usage, "distribution '{}' has no architecture '{}' (it has {})", d.codename, a,
                           join(d.architectures, ", "));
        if (!add.architectures.empty() && !contains(add.architectures, d.arch_all))
            throw fail(Exit::usage, "repository '{}' must include '{}', the architecture that builds 'all' in '{}'",
                       id, d.arch_all, d.codename);
        if (const auto* rd = r.dist(add.codename)) {
            if (!rd->retire_after)
                throw fail(Exit::exists, "repository '{}' serves '{}' already", id, add.codename);
            db.run("UPDATE repository_distributions SET retire_after = 0, architectures = ? WHERE repository = ? AND "
                   "codename = ?",
                   join(add.architectures, " "), id, add.codename);
            changes.push_back(fmt::format("codename {} kept again", add.codename));
            continue;
        }
        db.run("INSERT INTO repository_distributions(repository, codename, architectures) VALUES (?, ?, ?)", id,
               add.codename, join(add.architectures, " "));
        for (const auto& s : layout.suites)
            for (int rb = 0; rb <= s.rollbacks; ++rb)
                db.run("INSERT INTO dists(repository, codename, suite, rollback, name) VALUES (?, ?, ?, ?, ?)", id,
                       add.codename, s.name, rb, dist_name(add.codename, id, s.name, rb));
        changes.push_back(fmt::format("codename {} added", add.codename));
    }
    for (const auto& c : changes)
        mark_repository_changed(db, id, c);
    tx.commit();
    return changes;
}

long long repository_dist_holdings(db::Db& db, std::string_view id, std::string_view codename)
{
    return db.scalar_int("SELECT COUNT(*) FROM dist_sources ds JOIN dists d ON d.id = ds.dist_id "
                         "WHERE d.repository = ? AND d.codename = ?",
                         id, codename)
        .value_or(0);
}

std::vector<std::string> drop_repository_dist(db::Db& db, std::string_view id, std::string_view codename)
{
    std::vector<std::string> names;
    db::Transaction tx(db);
    auto q = db.query("SELECT name FROM dists WHERE repository = ? AND codename = ? ORDER BY name", id, codename);
    while (q.step())
        names.push_back(q.text(0));
    db.run("INSERT OR IGNORE INTO gc_candidates(source_id) SELECT ds.source_id FROM dist_sources ds "
           "JOIN dists d ON d.id = ds.dist_id WHERE d.repository = ? AND d.codename = ?",
           id, codename);
    db.run("DELETE FROM dists WHERE repository = ? AND codename = ?", id, codename);
    db.run("DELETE FROM repository_distributions WHERE repository = ? AND codename = ?", id, codename);
    tx.commit();
    return names;
}

} // namespace mbd::repo
