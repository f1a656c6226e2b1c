#include "model/model.hpp"

#include "core/error.hpp"
#include "core/fetch.hpp"
#include "core/fs.hpp"
#include "core/log.hpp"
#include "core/names.hpp"
#include "core/process.hpp"
#include "core/strings.hpp"
#include "db/db.hpp"
#include "deb822/deb822.hpp"
#include "gpg/gpg.hpp"

#include <algorithm>
#include <map>
#include <regex>

namespace mbd::repo {
namespace {

std::vector<std::string> words(std::string_view s)
{
    std::vector<std::string> out;
    for (auto w : split_ws(s))
        out.emplace_back(w);
    return out;
}

Json json_list(const std::vector<std::string>& v)
{
    Json a = Json::array();
    for (const auto& s : v)
        a.push(s);
    return a;
}

Pairs parse_pairs(std::string_view text, char sep_items)
{
    Pairs out;
    for (auto item : sep_items == '\n' ? split(text, '\n') : split_ws(text)) {
        if (item.empty())
            continue;
        auto eq = item.find('=');
        if (eq == std::string_view::npos || eq == 0)
            throw fail(Exit::usage, "'{}' is not of the form KEY=VALUE", item);
        out.emplace_back(std::string(trim(item.substr(0, eq))), std::string(trim(item.substr(eq + 1))));
    }
    return out;
}


// Debian's wildcards and the source architecture are not architectures of a distribution.
bool valid_arch(std::string_view s)
{
    return names::architecture.valid(s) && s != "all" && s != "any" && s != "source";
}

ModelStatus status_of(db::Stmt& row, int col)
{
    return ModelStatus{parse_status(row.text(col)).value_or(Status::removed),
                       parse_check_flag(row.text(col + 1)).value_or(CheckFlag::unchecked), row.int64(col + 2)};
}

Json status_json(const ModelStatus& s)
{
    return Json::object()
        .set("status", std::string(to_string(s.status)))
        .set("check_flag", std::string(to_string(s.flag)))
        .set("last_check", json_time(s.last_check));
}

// Every row of a query, or the one row with a given key (Error(Exit::not_found) naming `what`).
template <typename Of> auto select_all(db::Db& db, std::string_view sql, Of of)
{
    std::vector<decltype(of(std::declval<db::Stmt&>()))> out;
    auto r = db.prepare(sql);
    while (r.step())
        out.push_back(of(r));
    return out;
}

template <typename Of> auto select_one(db::Db& db, std::string_view sql, std::string_view key, std::string_view what, Of of)
{
    auto r = db.query(sql, key);
    if (!r.step())
        throw fail(Exit::not_found, "no {} '{}'", what, key);
    return of(r);
}

void store_source_status(db::Db& db, std::string_view name, const ModelStatus& s)
{
    db.run("UPDATE sources SET status = ?, check_flag = ?, last_check = ? WHERE name = ?", to_string(s.status),
           to_string(s.flag), s.last_check, name);
}

constexpr std::string_view source_columns =
    "name, origin, codename, suite, uris, identifiers, codeversion, components, architectures, release_date, "
    "status, check_flag, last_check, check_message, uri_used";

Source source_of(db::Stmt& r)
{
    Source s;
    s.name = r.text(0);
    s.origin = r.text(1);
    s.codename = r.text(2);
    s.suite = r.text(3);
    s.uris = words(r.text(4));
    s.identifiers = parse_pairs(r.text(5), '\n');
    s.codeversion = r.text(6);
    s.components = words(r.text(7));
    s.architectures = words(r.text(8));
    s.release_date = r.text(9);
    s.status = status_of(r, 10);
    s.check_message = r.text(13);
    s.uri_used = r.text(14);
    return s;
}

} // namespace

// ---- sources ----------------------------------------------------------------

std::string format_pairs(const Pairs& p, std::string_view sep)
{
    std::string out;
    for (const auto& [k, v] : p) {
        if (!out.empty())
            out += sep;
        out += k + "=" + v;
    }
    return out;
}


std::filesystem::path source_keyring_dir(const Home& home, std::string_view source)
{
    return home.gnupg() / "sources" / std::string(source);
}

std::string known_codeversion(std::string_view codename)
{
    static const std::map<std::string, std::string, std::less<>> known = {
        {"buster", "10"}, {"bullseye", "11"}, {"bookworm", "12"}, {"trixie", "13"}, {"forky", "14"},
        {"duke", "15"},   {"sid", "SID"},     {"focal", "2004"},  {"jammy", "2204"}, {"noble", "2404"},
    };
    auto it = known.find(codename);
    return it == known.end() ? std::string() : it->second;
}

Source add_source(Context& ctx, const SourceSpec& spec)
{
    names::check(names::source, spec.name);
    names::check(names::release, spec.codename);
    if (spec.uris.empty())
        throw fail(Exit::usage, "source '{}' needs at least one archive URL", spec.name);
    for (const auto& u : spec.uris)
        if (u.find("://") == std::string::npos || u.find_first_of(" \t\n") != std::string::npos)
            throw fail(Exit::usage, "invalid archive URL '{}'", u);
    if (spec.key_files.empty())
        throw fail(Exit::usage, "source '{}' needs the keys its Release is signed with (--key FILE)", spec.name);
    auto& db = ctx.db();
    if (db.scalar_int("SELECT 1 FROM sources WHERE name = ?", spec.name))
        throw fail(Exit::exists, "source '{}' exists already", spec.name);

    // Keys first: a source without its keys in the DB would be unusable.
    auto dir = source_keyring_dir(ctx.home(), spec.name);
    if (std::filesystem::exists(dir))
        std::filesystem::remove_all(dir); // left over from a source removed or an add that failed
    make_dirs(dir.parent_path(), 0700);
    gpg::Keyring ring(dir, gpg::Keyring::Kind::public_only);
    size_t imported = 0;
    for (const auto& f : spec.key_files)
        imported += ring.import_keys(read_file(f)).size();
    if (imported == 0)
        throw fail(Exit::usage, "no OpenPGP public key found in {}", join(spec.key_files, ", "));

    std::string codeversion = spec.codeversion.empty() ? known_codeversion(spec.codename) : spec.codeversion;
    ModelStatus st = ModelStatus{}.after_prepare();
    db::Transaction tx(db);
    db.run("INSERT INTO sources(name, origin, codename, suite, uris, identifiers, codeversion, status, check_flag, "
           "last_check) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
           spec.name, spec.origin, spec.codename, spec.suite.empty() ? spec.codename : spec.suite, join(spec.uris, " "),
           format_pairs(spec.identifiers, "\n"), codeversion, to_string(st.status), to_string(st.flag));
    tx.commit();
    log::debug("repo", "source '{}' added with {} keys", spec.name, imported);
    return get_source(db, spec.name);
}

std::vector<Source> list_sources(db::Db& db)
{
    return select_all(db, fmt::format("SELECT {} FROM sources ORDER BY name", source_columns), source_of);
}

Source get_source(db::Db& db, std::string_view name)
{
    return select_one(db, fmt::format("SELECT {} FROM sources WHERE name = ?", source_columns), name, "source",
                      source_of);
}

std::string source_keys_armored(const Home& home, std::string_view source)
{
    gpg::Keyring ring(source_keyring_dir(home, source), gpg::Keyring::Kind::public_only);
    std::string out;
    for (const auto& k : ring.list())
        out += ring.export_key(k.fingerprint, true);
    return out;
}

namespace {

// Download one file with apt's own HTTP code; empty optional when it is not there.
std::optional<std::string> download_text(const std::string& url, const std::filesystem::path& dest)
{
    if (auto e = download(url, dest, 120)) {
        log::debug("repo", "{}", e->what());
        return std::nullopt;
    }
    return read_file(dest);
}

// The verified Release paragraph of a source, from the first URL that serves one
// (used_uri: that archive URL; used_url: its dists/SUITE/).
deb822::Paragraph fetch_release(Context& ctx, const Source& s, std::string& used_uri, std::string& used_url)
{
    if (find_program("/usr/lib/apt/apt-helper").empty())
        throw fail(Exit::environment, "'/usr/lib/apt/apt-helper' is not installed (apt-get install apt)");
    gpg::Keyring ring(source_keyring_dir(ctx.home(), s.name), gpg::Keyring::Kind::public_only);
    TempDir tmp(ctx.home().tmp(), "source-check");
    std::string last_error = "no archive URL";
    for (const auto& uri : uris_in_order(s)) {
        std::string base = uri;
        while (!base.empty() && base.back() == '/')
            base.pop_back();
        base += "/dists/" + s.suite + "/";
        std::string content;
        if (auto in = download_text(base + "InRelease", tmp.path() / "InRelease")) {
            content = ring.verify_archive_clearsigned(*in).content;
        } else {
            auto rel = download_text(base + "Release", tmp.path() / "Release");
            auto sig = rel ? download_text(base + "Release.gpg", tmp.path() / "Release.gpg") : std::nullopt;
            if (!rel || !sig) {
                last_error = fmt::format("cannot download '{}InRelease' nor '{}Release' with its signature", base, base);
                continue;
            }
            ring.verify_archive_detached(*rel, *sig);
            content = *rel;
        }
        used_uri = uri;
        used_url = base;
        return deb822::parse_one(content, base + "Release", {.allow_comments = false, .require_utf8 = false});
    }
    throw fail(Exit::external, "source '{}': {}", s.name, last_error);
}

} // namespace

Source check_source(Context& ctx, std::string_view name)
{
    auto& db = ctx.db();
    Source s = get_source(db, name);
    if (s.status.status == Status::removed)
        throw fail(Exit::state, "source '{}' is removed", name);
    std::optional<Error> problem;
    deb822::Paragraph rel;
    std::string uri, url;
    try {
        rel = fetch_release(ctx, s, uri, url);
        auto expect = [&](const std::string& field, const std::string& want) {
            if (rel.get(field) != want)
                throw fail(Exit::check_failed, "source '{}': '{}Release' has {}: '{}', expected '{}'", s.name, url,
                           field, rel.get(field), want);
        };
        expect("Origin", s.origin);
        expect("Codename", s.codename);
        for (const auto& [k, v] : s.identifiers)
            expect(k, v);
        if (rel.has("Valid-Until")) {
            auto until = parse_rfc2822_time(rel.get("Valid-Until"));
            if (!until || *until <= now_seconds())
                throw fail(Exit::check_failed, "source '{}': '{}Release' is valid until '{}' only", s.name, url,
                           rel.get("Valid-Until"));
        }
    } catch (const Error& e) {
        problem = e;
    }
    ModelStatus st = s.status.after_check(!problem, now_seconds());
    db::Transaction tx(db);
    store_source_status(db, name, st);
    db.run("UPDATE sources SET check_message = ? WHERE name = ?", problem ? std::string(problem->what()) : "", name);
    if (!problem) {
        std::string codeversion = s.codeversion;
        auto version = rel.get("Version");
        if (!version.empty())
            codeversion = version.substr(0, version.find('.'));
        db.run("UPDATE sources SET components = ?, architectures = ?, release_date = ?, codeversion = ?, uri_used = ? "
               "WHERE name = ?",
               rel.folded("Components"), rel.folded("Architectures"), rel.get("Date"), codeversion, uri, name);
    }
    tx.commit();
    if (problem)
        throw *problem;
    return get_source(db, name);
}

ModelStatus status_action(const ModelStatus& st, std::string_view action, std::string_view what)
{
    if (action == "activate") {
        if (auto why = st.activate_error())
            throw fail(Exit::state, "cannot activate {}: {}", what, *why);
        return st.activate();
    }
    if (action == "deactivate")
        return st.deactivate();
    throw fail(Exit::usage, "unknown action '{}'", action);
}

Source source_action(Context& ctx, std::string_view name, std::string_view action)
{
    auto& db = ctx.db();
    Source s = get_source(db, name);
    ModelStatus st = s.status;
    if (action == "remove") {
        if (auto used = db.scalar_text("SELECT codename FROM distributions WHERE base_source = ? UNION "
                                       "SELECT codename FROM distribution_extra_sources WHERE source = ?",
                                       name, name))
            throw fail(Exit::exists, "source '{}' is used by distribution '{}'", name, *used);
        db::Transaction tx(db);
        db.run("DELETE FROM sources WHERE name = ?", name);
        tx.commit();
        std::error_code ec;
        std::filesystem::remove_all(source_keyring_dir(ctx.home(), name), ec);
        s.status = st.after_remove();
        return s;
    }
    st = status_action(st, action, fmt::format("source '{}'", name));
    db::Transaction tx(db);
    store_source_status(db, name, st);
    tx.commit();
    s.status = st;
    return s;
}

std::vector<std::string> uris_in_order(const Source& s)
{
    std::vector<std::string> out;
    if (std::find(s.uris.begin(), s.uris.end(), s.uri_used) != s.uris.end())
        out.push_back(s.uri_used);
    for (const auto& u : s.uris)
        if (u != s.uri_used)
            out.push_back(u);
    return out;
}

std::optional<std::string> source_problem(const Source& s)
{
    auto what = fmt::format("source '{}'", s.name);
    switch (s.status.flag) {
    case CheckFlag::changed:
        return fmt::format("{} was changed and not checked since (mbd-repo source check {})", what, s.name);
    case CheckFlag::failed:
    case CheckFlag::failed_reactivate:
        return fmt::format("{} is inactive: its last check failed: {}", what,
                           s.check_message.empty() ? "(no message)" : s.check_message);
    case CheckFlag::none:
        if (s.status.status != Status::active)
            return fmt::format("{} is inactive: it was deactivated (mbd-repo source activate {})", what, s.name);
        return std::nullopt;
    case CheckFlag::unchecked:
        break;
    }
    if (s.status.status == Status::removed)
        return fmt::format("{} is removed", what);
    return std::nullopt;
}

Json to_json(const Source& s)
{
    Json ids = Json::object();
    for (const auto& [k, v] : s.identifiers)
        ids.set(k, v);
    return Json::object()
        .set("name", s.name)
        .set("origin", s.origin)
        .set("codename", s.codename)
        .set("suite", s.suite)
        .set("uris", json_list(s.uris))
        .set("identifiers", ids)
        .set("codeversion", s.codeversion)
        .set("components", json_list(s.components))
        .set("architectures", json_list(s.architectures))
        .set("release_date", s.release_date)
        .set("uri_used", s.uri_used)
        .set("check_message", s.check_message)
        .set("status", status_json(s.status));
}

// ---- layouts ----------------------------------------------------------------

const Suite* Layout::suite(std::string_view n) const
{
    for (const auto& s : suites)
        if (s.name == n)
            return &s;
    return nullptr;
}

namespace {

Layout layout_of(db::Db& db, db::Stmt& r)
{
    Layout l;
    l.name = r.text(0);
    l.builtin = r.int64(1) != 0;
    l.version_rule = r.opt_text(2);
    l.experimental_version_rule = r.opt_text(3);
    l.meta = parse_pairs(r.text(4), ' ');
    l.description = r.text(5);
    auto s = db.query("SELECT suite, uploadable, experimental, migrates_to, rollbacks, not_automatic, "
                      "but_automatic_upgrades, build_keyring FROM layout_suites WHERE layout = ? ORDER BY position",
                      l.name);
    while (s.step())
        l.suites.push_back(Suite{s.text(0), s.int64(1) != 0, s.int64(2) != 0, s.opt_text(3), int(s.int64(4)),
                                 s.int64(5) != 0, s.int64(6) != 0, s.int64(7) != 0});
    return l;
}

constexpr std::string_view layout_columns = "name, builtin, version_rule, experimental_version_rule, meta, description";

void require_mutable_layout(db::Db& db, const Layout& l)
{
    if (l.builtin)
        throw fail(Exit::not_allowed, "layout '{}' is built in and cannot be changed (make a copy: layout add NAME --from '{}')",
                   l.name, l.name);
    if (auto repo = db.scalar_text("SELECT id FROM repositories WHERE layout = ?", l.name))
        throw fail(Exit::exists, "layout '{}' is used by repository '{}' and cannot be changed", l.name, *repo);
}

void check_regex(const std::optional<std::string>& rule)
{
    if (!rule)
        return;
    try {
        std::regex re(*rule);
    } catch (const std::regex_error& e) {
        throw fail(Exit::usage, "invalid version rule '{}': {}", *rule, e.what());
    }
}

} // namespace

std::vector<Layout> list_layouts(db::Db& db)
{
    return select_all(db, fmt::format("SELECT {} FROM layouts ORDER BY builtin DESC, name", layout_columns),
                      [&](db::Stmt& r) { return layout_of(db, r); });
}

Layout get_layout(db::Db& db, std::string_view name)
{
    return select_one(db, fmt::format("SELECT {} FROM layouts WHERE name = ?", layout_columns), name, "layout",
                      [&](db::Stmt& r) { return layout_of(db, r); });
}

Layout add_layout(db::Db& db, std::string_view name, std::optional<std::string> copy_of)
{
    names::check(names::layout, name);
    db::Transaction tx(db);
    if (db.scalar_int("SELECT 1 FROM layouts WHERE name = ?", name))
        throw fail(Exit::exists, "layout '{}' exists already", name);
    if (copy_of) {
        Layout from = get_layout(db, *copy_of);
        db.run("INSERT INTO layouts(name, builtin, version_rule, experimental_version_rule, meta, description) "
               "VALUES (?, 0, ?, ?, ?, ?)",
               name, from.version_rule, from.experimental_version_rule, format_pairs(from.meta, " "),
               fmt::format("copy of '{}'", from.name));
        db.run("INSERT INTO layout_suites(layout, suite, position, uploadable, experimental, migrates_to, rollbacks, "
               "not_automatic, but_automatic_upgrades, build_keyring) SELECT ?, suite, position, uploadable, "
               "experimental, migrates_to, rollbacks, not_automatic, but_automatic_upgrades, build_keyring "
               "FROM layout_suites WHERE layout = ?",
               name, from.name);
    } else {
        db.run("INSERT INTO layouts(name, builtin, description) VALUES (?, 0, '')", name);
    }
    tx.commit();
    return get_layout(db, name);
}

Layout set_layout_suite(db::Db& db, std::string_view layout, const Suite& s)
{
    db::Transaction tx(db);
    Layout l = get_layout(db, layout);
    require_mutable_layout(db, l);
    names::check(names::suite, s.name);
    if (s.rollbacks < 0 || s.rollbacks > 100)
        throw fail(Exit::usage, "rollbacks must be between 0 and 100, not {}", s.rollbacks);
    if (s.migrates_to && (*s.migrates_to == s.name || !l.suite(*s.migrates_to)))
        throw fail(Exit::usage, "suite '{}' cannot migrate to '{}': no such other suite in layout '{}'", s.name,
                   *s.migrates_to, layout);
    long long position = l.suite(s.name) ? 0 : (long long)l.suites.size() + 1;
    db.run("INSERT INTO layout_suites(layout, suite, position, uploadable, experimental, migrates_to, rollbacks, "
           "not_automatic, but_automatic_upgrades, build_keyring) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
           "ON CONFLICT(layout, suite) DO UPDATE SET uploadable = excluded.uploadable, experimental = "
           "excluded.experimental, migrates_to = excluded.migrates_to, rollbacks = excluded.rollbacks, "
           "not_automatic = excluded.not_automatic, but_automatic_upgrades = excluded.but_automatic_upgrades, "
           "build_keyring = excluded.build_keyring",
           layout, s.name, position, s.uploadable, s.experimental, s.migrates_to, s.rollbacks, s.not_automatic,
           s.but_automatic_upgrades, s.build_keyring);
    tx.commit();
    return get_layout(db, layout);
}

Layout set_layout_rules(db::Db& db, std::string_view layout, std::optional<std::string> rule,
                        std::optional<std::string> experimental_rule, std::optional<std::string> meta)
{
    db::Transaction tx(db);
    Layout l = get_layout(db, layout);
    require_mutable_layout(db, l);
    auto none_if_empty = [](std::optional<std::string>& v) {
        if (v && v->empty())
            v.reset();
    };
    if (rule) {
        none_if_empty(rule);
        check_regex(rule);
        db.run("UPDATE layouts SET version_rule = ? WHERE name = ?", rule, layout);
    }
    if (experimental_rule) {
        none_if_empty(experimental_rule);
        check_regex(experimental_rule);
        db.run("UPDATE layouts SET experimental_version_rule = ? WHERE name = ?", experimental_rule, layout);
    }
    if (meta) {
        for (const auto& [k, v] : parse_pairs(*meta, ' ')) {
            auto dash = v.find('-');
            if (!names::suite.valid(k) || dash == std::string::npos || !l.suite(v.substr(dash + 1)))
                throw fail(Exit::usage, "invalid meta distribution '{}={}' (NAME=CODENAME-SUITE of this layout)", k, v);
        }
        db.run("UPDATE layouts SET meta = ? WHERE name = ?", *meta, layout);
    }
    tx.commit();
    return get_layout(db, layout);
}

Json to_json(const Layout& l)
{
    Json suites = Json::array();
    for (const auto& s : l.suites)
        suites.push(Json::object()
                        .set("name", s.name)
                        .set("uploadable", s.uploadable)
                        .set("experimental", s.experimental)
                        .set("migrates_to", s.migrates_to ? Json(*s.migrates_to) : Json())
                        .set("rollbacks", s.rollbacks)
                        .set("not_automatic", s.not_automatic)
                        .set("but_automatic_upgrades", s.but_automatic_upgrades)
                        .set("build_keyring", s.build_keyring));
    Json meta = Json::object();
    for (const auto& [k, v] : l.meta)
        meta.set(k, v);
    return Json::object()
        .set("name", l.name)
        .set("builtin", l.builtin)
        .set("version_rule", l.version_rule ? Json(*l.version_rule) : Json())
        .set("experimental_version_rule", l.experimental_version_rule ? Json(*l.experimental_version_rule) : Json())
        .set("meta", meta)
        .set("description", l.description)
        .set("suites", suites);
}

// ---- distributions ----------------------------------------------------------

bool valid_check_mode(std::string_view m)
{
    return m == "disabled" || m == "ignore" || m == "errfail" || m == "warnfail";
}

bool valid_resolver(std::string_view r) { return r == "apt" || r == "aptitude" || r == "aspcud"; }

IndexSet parse_index_set(std::string_view text)
{
    IndexSet set{false, false, false, false, false};
    std::string spaced(text);
    std::replace(spaced.begin(), spaced.end(), ',', ' ');
    for (auto w : split_ws(spaced)) {
        if (w == "gz")
            set.gz = true;
        else if (w == "xz")
            set.xz = true;
        else if (w == "contents")
            set.contents = true;
        else if (w == "by-hash")
            set.by_hash = true;
        else if (w == "uncompressed")
            set.uncompressed = true;
        else
            throw fail(Exit::usage, "invalid index form '{}' (uncompressed, gz, xz, contents, by-hash)", w);
    }
    if (!set.uncompressed && !set.gz && !set.xz)
        throw fail(Exit::usage, "index set '{}' has no file apt can read: it needs one of uncompressed, gz, xz", text);
    return set;
}

std::string index_set_text(const IndexSet& set)
{
    std::vector<std::string> w;
    for (auto [on, name] : {std::pair{set.uncompressed, "uncompressed"}, {set.gz, "gz"}, {set.xz, "xz"}, {set.contents, "contents"}, {set.by_hash, "by-hash"}})
        if (on)
            w.emplace_back(name);
    return join(w, " ");
}

void validate(const Distribution& d)
{
    names::check(names::codename, d.codename);
    if (d.architectures.empty())
        throw fail(Exit::usage, "distribution '{}' needs at least one architecture", d.codename);
    for (const auto& a : d.architectures)
        if (!valid_arch(a))
            throw fail(Exit::usage, "invalid architecture '{}'", a);
    if (std::find(d.architectures.begin(), d.architectures.end(), d.arch_all) == d.architectures.end())
        throw fail(Exit::usage, "the architecture building 'all' ('{}') is not one of {}", d.arch_all,
                   join(d.architectures, ", "));
    if (d.components.empty())
        throw fail(Exit::usage, "distribution '{}' needs at least one component", d.codename);
    for (const auto& c : d.components)
        names::check(names::component, c);
    for (const auto* m : {&d.options.lintian_mode, &d.options.autopkgtest_mode})
        if (!valid_check_mode(*m))
            throw fail(Exit::usage, "invalid mode '{}' (disabled, ignore, errfail or warnfail)", *m);
    if (!valid_resolver(d.options.resolver))
        throw fail(Exit::usage, "invalid resolver '{}' (apt, aptitude or aspcud)", d.options.resolver);
    if (d.indices)
        parse_index_set(*d.indices);
    for (const auto& e : d.extra_sources) {
        if (e.source == d.base_source)
            throw fail(Exit::usage, "source '{}' is the base source already", e.source);
        if (e.priority < -32768 || e.priority > 32767)
            throw fail(Exit::usage, "invalid APT priority {}", e.priority);
    }
}

Distribution add_distribution(db::Db& db, const Distribution& d)
{
    validate(d);
    db::Transaction tx(db);
    if (db.scalar_int("SELECT 1 FROM distributions WHERE codename = ?", d.codename))
        throw fail(Exit::exists, "distribution '{}' exists already", d.codename);
    get_source(db, d.base_source);
    db.run("INSERT INTO distributions(codename, base_source, components, architectures, arch_all, lintian_mode, "
           "autopkgtest_mode, build_options, build_profiles, resolver, indices) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
           d.codename, d.base_source, join(d.components, " "), join(d.architectures, " "), d.arch_all, d.options.lintian_mode,
           d.options.autopkgtest_mode, d.options.deb_build_options, d.options.deb_build_profiles, d.options.resolver,
           d.indices ? std::optional(index_set_text(parse_index_set(*d.indices))) : std::nullopt);
    for (const auto& e : d.extra_sources) {
        get_source(db, e.source);
        db.run("INSERT INTO distribution_extra_sources(codename, source, priority) VALUES (?, ?, ?)", d.codename,
               e.source, e.priority);
    }
    tx.commit();
    return get_distribution(db, d.codename);
}

namespace {

constexpr std::string_view dist_columns = "codename, base_source, components, architectures, arch_all, lintian_mode, "
                                          "autopkgtest_mode, build_options, build_profiles, resolver, indices";

Distribution distribution_of(db::Db& db, db::Stmt& r)
{
    Distribution d;
    d.codename = r.text(0);
    d.base_source = r.text(1);
    d.components = words(r.text(2));
    d.architectures = words(r.text(3));
    d.arch_all = r.text(4);
    d.options = BuildOptions{r.text(5), r.text(6), r.text(7), r.text(8), r.text(9)};
    d.indices = r.opt_text(10);
    auto e = db.query("SELECT source, priority FROM distribution_extra_sources WHERE codename = ? ORDER BY source",
                      d.codename);
    while (e.step())
        d.extra_sources.push_back({e.text(0), int(e.int64(1))});
    return d;
}

} // namespace

std::vector<Distribution> list_distributions(db::Db& db)
{
    return select_all(db, fmt::format("SELECT {} FROM distributions ORDER BY codename", dist_columns),
                      [&](db::Stmt& r) { return distribution_of(db, r); });
}

Distribution get_distribution(db::Db& db, std::string_view codename)
{
    return select_one(db, fmt::format("SELECT {} FROM distributions WHERE codename = ?", dist_columns), codename,
                      "distribution", [&](db::Stmt& r) { return distribution_of(db, r); });
}

Json to_json(const Distribution& d)
{
    Json extra = Json::array();
    for (const auto& e : d.extra_sources)
        extra.push(Json::object().set("source", e.source).set("priority", e.priority));
    return Json::object()
        .set("codename", d.codename)
        .set("base_source", d.base_source)
        .set("extra_sources", extra)
        .set("components", json_list(d.components))
        .set("architectures", json_list(d.architectures))
        .set("arch_all", d.arch_all)
        .set("build_options", Json::object()
                                  .set("lintian_mode", d.options.lintian_mode)
                                  .set("autopkgtest_mode", d.options.autopkgtest_mode)
                                  .set("deb_build_options", d.options.deb_build_options)
                                  .set("deb_build_profiles", d.options.deb_build_profiles)
                                  .set("resolver", d.options.resolver))
        .set("indices", d.indices ? Json(*d.indices) : Json());
}

// ---- repositories -----------------------------------------------------------

std::string dist_name(std::string_view codename, std::string_view repository, std::string_view suite, int rollback)
{
    std::string n = fmt::format("{}-{}-{}", codename, repository, suite);
    if (rollback > 0)
        n += fmt::format("-rollback{}", rollback - 1);
    return n;
}

Repository create_repository(db::Db& db, const Repository& r)
{
    names::check(names::repository, r.id);
    if (r.dists.empty())
        throw fail(Exit::usage, "repository '{}' needs at least one distribution (--dist CODENAME)", r.id);
    db::Transaction tx(db);
    if (db.scalar_int("SELECT 1 FROM repositories WHERE id = ?", r.id))
        throw fail(Exit::exists, "repository '{}' exists already", r.id);
    Layout layout = get_layout(db, r.layout);
    if (layout.suites.empty())
        throw fail(Exit::usage, "layout '{}' has no suites", r.layout);
    ModelStatus st;
    db.run("INSERT INTO repositories(id, layout, origin, description, created, status, check_flag, last_check) "
           "VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
           r.id, r.layout, r.origin, r.description, now_seconds(), to_string(st.status), to_string(st.flag));
    for (const auto& rd : r.dists) {
        Distribution d = get_distribution(db, rd.codename);
        for (const auto& a : rd.architectures)
            if (std::find(d.architectures.begin(), d.architectures.end(), a) == d.architectures.end())
                throw fail(Exit::usage, "distribution '{}' has no architecture '{}' (it has {})", d.codename, a,
                           join(d.architectures, ", "));
        if (!rd.architectures.empty() &&
            std::find(rd.architectures.begin(), rd.architectures.end(), d.arch_all) == rd.architectures.end())
            throw fail(Exit::usage, "repository '{}' must include '{}', the architecture that builds 'all' in '{}'",
                       r.id, d.arch_all, d.codename);
        if (db.scalar_int("SELECT 1 FROM repository_distributions WHERE repository = ? AND codename = ?", r.id,
                          rd.codename))
            throw fail(Exit::usage, "distribution '{}' given twice", rd.codename);
        db.run("INSERT INTO repository_distributions(repository, codename, architectures) VALUES (?, ?, ?)", r.id,
               rd.codename, join(rd.architectures, " "));
        for (const auto& s : layout.suites)
            for (int rb = 0; rb <= s.rollbacks; ++rb)
                db.run("INSERT INTO dists(repository, codename, suite, rollback, name) VALUES (?, ?, ?, ?, ?)", r.id,
                       rd.codename, s.name, rb, dist_name(rd.codename, r.id, s.name, rb));
    }
    tx.commit();
    return get_repository(db, r.id);
}

namespace {

Repository repository_of(db::Db& db, db::Stmt& r)
{
    Repository repo;
    repo.id = r.text(0);
    repo.layout = r.text(1);
    repo.origin = r.text(2);
    repo.description = r.text(3);
    repo.created = r.int64(4);
    repo.status = status_of(r, 5);
    repo.changes = r.text(8);
    auto d = db.query("SELECT codename, architectures, retire_after FROM repository_distributions "
                      "WHERE repository = ? ORDER BY codename",
                      repo.id);
    while (d.step())
        repo.dists.push_back({d.text(0), words(d.text(1)), d.int64(2)});
    return repo;
}

constexpr std::string_view repo_columns =
    "id, layout, origin, description, created, status, check_flag, last_check, changes";

} // namespace

std::vector<Repository> list_repositories(db::Db& db)
{
    return select_all(db, fmt::format("SELECT {} FROM repositories ORDER BY id", repo_columns),
                      [&](db::Stmt& r) { return repository_of(db, r); });
}

Repository get_repository(db::Db& db, std::string_view id)
{
    return select_one(db, fmt::format("SELECT {} FROM repositories WHERE id = ?", repo_columns), id, "repository",
                      [&](db::Stmt& r) { return repository_of(db, r); });
}

bool repository_exists(db::Db& db, std::string_view id)
{
    return db.scalar_int("SELECT 1 FROM repositories WHERE id = ?", id).has_value();
}

void store_repository_status(db::Db& db, std::string_view id, const ModelStatus& s)
{
    db.run("UPDATE repositories SET status = ?, check_flag = ?, last_check = ? WHERE id = ?", to_string(s.status),
           to_string(s.flag), s.last_check, id);
}

void mark_repository_changed(db::Db& db, std::string_view id, std::string_view what)
{
    auto r = get_repository(db, id);
    std::string changes = r.changes;
    if (std::string_view(changes).find(what) == std::string_view::npos)
        changes += (changes.empty() ? "" : "; ") + std::string(what);
    store_repository_status(db, id, r.status.after_change());
    db.run("UPDATE repositories SET changes = ? WHERE id = ?", changes, id);
}

const RepositoryDist* Repository::dist(std::string_view codename) const
{
    for (const auto& d : dists)
        if (d.codename == codename)
            return &d;
    return nullptr;
}

std::vector<std::string> repository_architectures(const Repository& r, const Distribution& d)
{
    for (const auto& rd : r.dists)
        if (rd.codename == d.codename && !rd.architectures.empty()) {
            std::vector<std::string> out; // in the distribution's order
            for (const auto& a : d.architectures)
                if (std::find(rd.architectures.begin(), rd.architectures.end(), a) != rd.architectures.end())
                    out.push_back(a);
            return out;
        }
    return d.architectures;
}

Json to_json(const Repository& r)
{
    Json dists = Json::array();
    for (const auto& d : r.dists)
        dists.push(Json::object()
                       .set("codename", d.codename)
                       .set("architectures", json_list(d.architectures))
                       .set("retire_after", d.retire_after ? Json(iso_time(d.retire_after)) : Json()));
    return Json::object()
        .set("id", r.id)
        .set("layout", r.layout)
        .set("origin", r.origin)
        .set("description", r.description)
        .set("created", iso_time(r.created))
        .set("status", status_json(r.status))
        .set("changes", r.changes)
        .set("distributions", dists);
}

// ---- published distributions ------------------------------------------------

namespace {

DistRef dist_of(db::Stmt& r)
{
    return DistRef{r.int64(0), r.text(1), r.text(2), r.text(3), int(r.int64(4)), r.text(5)};
}

constexpr std::string_view distref_columns = "d.id, d.repository, d.codename, d.suite, d.rollback, d.name";

} // namespace

std::vector<DistRef> repository_dists(db::Db& db, std::string_view repository)
{
    std::vector<DistRef> out;
    auto r = db.query(fmt::format("SELECT {} FROM dists d JOIN repositories r ON r.id = d.repository "
                                  "JOIN layout_suites s ON s.layout = r.layout AND s.suite = d.suite "
                                  "WHERE d.repository = ? ORDER BY d.codename, s.position, d.rollback",
                                  distref_columns),
                      repository);
    while (r.step())
        out.push_back(dist_of(r));
    return out;
}

DistRef find_dist(db::Db& db, std::string_view name)
{
    {
        auto r = db.query(fmt::format("SELECT {} FROM dists d WHERE d.name = ?", distref_columns), name);
        if (r.step())
            return dist_of(r);
    }
    // A meta name of a layout: 'unstable' -> 'sid-unstable' -> 'sid-ID-unstable'.
    std::vector<DistRef> found;
    auto r = db.prepare("SELECT r.id, l.meta FROM repositories r JOIN layouts l ON l.name = r.layout "
                        "WHERE l.meta != '' ORDER BY r.id");
    while (r.step()) {
        for (const auto& [meta, target] : parse_pairs(r.text(1), ' ')) {
            if (meta != name)
                continue;
            auto dash = target.find('-');
            auto d = db.query(fmt::format("SELECT {} FROM dists d WHERE d.repository = ? AND d.codename = ? AND "
                                          "d.suite = ? AND d.rollback = 0",
                                          distref_columns),
                              r.text(0), target.substr(0, dash), target.substr(dash + 1));
            if (d.step())
                found.push_back(dist_of(d));
        }
    }
    if (found.size() == 1)
        return found.front();
    if (found.size() > 1)
        throw fail(Exit::not_found, "distribution name '{}' is ambiguous: it means '{}' and '{}'", name,
                   found[0].name, found[1].name);
    throw fail(Exit::not_found, "no distribution '{}' (names are CODENAME-ID-SUITE[-rollbackN])", name);
}

DistRef find_suite_dist(db::Db& db, std::string_view repository, std::string_view codename, std::string_view suite)
{
    auto r = db.query(fmt::format("SELECT {} FROM dists d WHERE d.repository = ? AND d.codename = ? AND d.suite = ? "
                                  "AND d.rollback = 0",
                                  distref_columns),
                      repository, codename, suite);
    if (!r.step())
        throw fail(Exit::not_found, "no distribution '{}'", dist_name(codename, repository, suite, 0));
    return dist_of(r);
}

} // namespace mbd::repo
