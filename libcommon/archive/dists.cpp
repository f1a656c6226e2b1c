#include "archive/dists.hpp"

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/strings.hpp"
#include "db/context.hpp"
#include "db/db.hpp"
#include "debian/debfile.hpp"

#include <algorithm>
#include <deque>
#include <map>

namespace mbd::archive {
namespace {

std::vector<IndexSpec> index_specs(const std::vector<std::string>& components, const std::vector<std::string>& archs,
                                   bool contents)
{
    std::vector<IndexSpec> out;
    for (const auto& c : components) {
        out.push_back({c + "/source/Sources", IndexKind::sources, c, "", ""});
        for (const auto& a : archs) {
            out.push_back({c + "/binary-" + a + "/Packages", IndexKind::packages, c, a, "deb"});
            out.push_back({c + "/debian-installer/binary-" + a + "/Packages", IndexKind::packages, c, a, "udeb"});
            if (contents)
                out.push_back({c + "/Contents-" + a, IndexKind::contents, c, a, "deb"});
        }
    }
    return out;
}

std::string release_header(const repo::Repository& repo, const repo::Suite& suite, const repo::DistRef& d,
                           const std::vector<std::string>& archs, const std::vector<std::string>& components,
                           bool by_hash)
{
    std::string h;
    h += "Origin: " + repo.origin + "\n";
    h += "Label: " + repo.id + "\n";
    h += "Suite: " + d.name + "\n";
    h += "Codename: " + d.name + "\n";
    if (suite.not_automatic)
        h += "NotAutomatic: yes\n";
    if (suite.not_automatic && suite.but_automatic_upgrades)
        h += "ButAutomaticUpgrades: yes\n";
    if (by_hash)
        h += "Acquire-By-Hash: yes\n";
    h += "Architectures:";
    for (const auto& a : archs)
        h += " " + a;
    h += "\nComponents:";
    for (const auto& c : components)
        h += " " + c;
    h += "\n";
    h += fmt::format("Description: {} {} {}{}\n", repo.id, d.codename, d.suite,
                     d.is_rollback() ? fmt::format(" (rollback {})", d.rollback - 1) : "");
    return h;
}

} // namespace

repo::IndexSet default_index_set(const Context& ctx)
{
    try {
        return repo::parse_index_set(ctx.config().get("publish.indices"));
    } catch (const Error& e) {
        throw fail(Exit::config, "publish.indices: {}", e.what());
    }
}

bool contents_wanted(Context& ctx)
{
    auto& db = ctx.db();
    if (db.scalar_int("SELECT count(*) FROM distributions WHERE indices IS NULL").value_or(0) > 0 &&
        default_index_set(ctx).contents)
        return true;
    for (const auto& words : db.column_text("SELECT DISTINCT indices FROM distributions WHERE indices IS NOT NULL"))
        if (repo::parse_index_set(words).contents)
            return true;
    return false;
}

size_t read_unread_paths(db::Db& db, std::string_view repository, const std::filesystem::path& root)
{
    std::vector<std::pair<long long, std::string>> unread; // (binary id, pool path)
    {
        // (CROSS JOIN keeps this order: the binaries unread by their partial index, costing
        // nothing when there are none; joined the other way, every pool file of the repository
        // was read at each publish, 60 ms at 50,000 packages)
        auto r = db.query("SELECT b.id, f.path FROM binary_packages b CROSS JOIN pool_files f ON f.id = b.file_id "
                          "WHERE b.contents_read = 0 AND f.repository = ?",
                          repository);
        while (r.step())
            unread.emplace_back(r.int64(0), r.text(1));
    }
    if (unread.empty())
        return 0;
    db::Transaction tx(db);
    for (const auto& [id, path] : unread) {
        std::string text;
        try {
            text = contents_text(debian::read_deb(root / path).paths);
        } catch (const Error& e) {
            log::warning("{}: its paths cannot be read, it has no Contents line: {}", path, e.what());
        }
        db.run("UPDATE binary_packages SET contents = ?, contents_read = 1 WHERE id = ?", text, id);
    }
    tx.commit();
    log::debug("publish", "'{}': the paths of {} binaries read for Contents", repository, unread.size());
    return unread.size();
}

std::string contents_text(const std::vector<std::string>& paths)
{
    std::string text;
    for (const auto& p : paths)
        if (std::none_of(p.begin(), p.end(), [](unsigned char ch) { return ch < 0x20 || ch == 0x7f; }) &&
            p.back() != ' ') {
            text += p;
            text += '\n';
        }
    return text;
}

std::vector<std::string> index_forms(const repo::IndexSet& set)
{
    std::vector<std::string> out;
    if (set.uncompressed)
        out.emplace_back("");
    if (set.gz)
        out.emplace_back(".gz");
    if (set.xz)
        out.emplace_back(".xz");
    return out;
}

std::vector<DistPlan> plan_dists(db::Db& db, std::string_view repository, const repo::IndexSet& default_set)
{
    auto repo = repo::get_repository(db, repository);
    auto layout = repo::get_layout(db, repo.layout);
    std::map<std::string, repo::Distribution> distributions;
    std::vector<DistPlan> out;
    for (const auto& d : repo::repository_dists(db, repo.id)) {
        if (!distributions.count(d.codename))
            distributions[d.codename] = repo::get_distribution(db, d.codename);
        const auto& distribution = distributions[d.codename];
        auto archs = repo::repository_architectures(repo, distribution);
        const repo::Suite* suite = layout.suite(d.suite);
        if (!suite)
            throw fail(Exit::state, "layout '{}' has no suite '{}' (distribution '{}')", layout.name, d.suite, d.name);
        auto set = distribution.indices ? repo::parse_index_set(*distribution.indices) : default_set;
        out.push_back({d, release_header(repo, *suite, d, archs, distribution.components, set.by_hash),
                       index_specs(distribution.components, archs, set.contents), set});
    }
    return out;
}

std::string snapshot_header(const DistPlan& plan, const std::string& full_name)
{
    std::string h;
    for (auto line : split(plan.header, '\n', false)) {
        if (line.empty() || starts_with(line, "NotAutomatic:") || starts_with(line, "ButAutomaticUpgrades:"))
            continue;
        if (starts_with(line, "Suite:")) {
            h += "Suite: " + full_name + "\n";
        } else if (starts_with(line, "Codename:")) {
            h += "Codename: " + full_name + "\n";
            h += "NotAutomatic: yes\n";
        } else if (starts_with(line, "Description:")) {
            auto at = full_name.find('@');
            h += fmt::format("{} snapshot {}\n", line, at == std::string::npos ? full_name : full_name.substr(at + 1));
        } else {
            h += std::string(line) + "\n";
        }
    }
    return h;
}

std::vector<IndexSpec> header_index_specs(const std::string& header, bool contents)
{
    std::vector<std::string> components, archs;
    for (auto line : split(header, '\n', false)) {
        auto words = [&](std::vector<std::string>& out) {
            for (auto w : split_ws(line.substr(line.find(':') + 1)))
                out.emplace_back(w);
        };
        if (starts_with(line, "Components:"))
            words(components);
        else if (starts_with(line, "Architectures:"))
            words(archs);
    }
    return index_specs(components, archs, contents);
}

namespace {

// An index's entries from its query's rows: a stanza each, or (Contents) the paths, the
// section and the name of a binary package.
std::vector<Entry> read_entries(db::Stmt& r, const IndexSpec& spec)
{
    std::vector<Entry> out;
    while (r.step()) {
        if (spec.kind == IndexKind::contents) {
            add_contents(out, r.text(0), qualified_name(r.text(1), r.text(2)));
        } else {
            std::string t = r.text(0);
            out.push_back({stanza_key(spec.kind, t), std::move(t)});
        }
    }
    return out;
}

} // namespace

std::vector<Entry> snapshot_entries(db::Db& db, long long snapshot_id, const IndexSpec& spec)
{
    if (spec.kind == IndexKind::sources) {
        auto r = db.query("SELECT s.stanza FROM snapshot_sources ss JOIN source_packages s ON s.id = ss.source_id "
                          "WHERE ss.snapshot_id = ? AND s.component = ?",
                          snapshot_id, spec.component);
        return read_entries(r, spec);
    }
    bool contents = spec.kind == IndexKind::contents;
    auto r = db.query(fmt::format("SELECT b.{}, b.section, b.name FROM snapshot_binaries sb "
                                  "JOIN binary_packages b ON b.id = sb.binary_id "
                                  "JOIN source_packages s ON s.id = b.source_id "
                                  "WHERE sb.snapshot_id = ? AND s.component = ? AND b.kind = ? "
                                  "AND b.architecture IN (?, 'all')",
                                  contents ? "contents" : "stanza"),
                      snapshot_id, spec.component, spec.pkg_kind, spec.arch);
    return read_entries(r, spec);
}

std::string qualified_name(const std::string& section, const std::string& name)
{
    return (section.empty() ? std::string("unknown") : section) + "/" + name;
}

void add_contents(std::vector<Entry>& out, const std::string& paths, const std::string& q)
{
    for (auto p : split(paths, '\n', false))
        if (!p.empty())
            out.push_back({contents_key(p, q), {}});
}

namespace {

// The rows of a distribution's index (its stanzas, or for Contents its binaries' paths, section
// and name), in key order when sorted.
db::Stmt index_rows(db::Db& db, long long dist_id, const IndexSpec& spec, bool sorted)
{
    if (spec.kind == IndexKind::sources)
        return db.query(fmt::format("SELECT s.stanza FROM dist_sources ds JOIN source_packages s ON s.id = ds.source_id "
                                    "WHERE ds.dist_id = ? AND s.component = ?{}",
                                    sorted ? " ORDER BY s.name, s.version" : ""),
                        dist_id, spec.component);
    bool contents = spec.kind == IndexKind::contents;
    return db.query(fmt::format("SELECT b.{}, b.section, b.name FROM dist_sources ds "
                                "JOIN source_packages s ON s.id = ds.source_id "
                                "JOIN binary_packages b ON b.source_id = s.id "
                                "WHERE ds.dist_id = ? AND s.component = ? AND b.kind = ? "
                                "AND b.architecture IN (?, 'all'){}",
                                contents ? "contents" : "stanza",
                                sorted ? " ORDER BY b.name, b.architecture, b.version" : ""),
                    dist_id, spec.component, spec.pkg_kind, spec.arch);
}

// The keys of a Contents index, sorted, compactly: its paths are a text column per binary, not
// rows the database could sort, so they are sorted here, in blocks of text with a view each
// (a string per entry took twice the memory: 97-118 MB at 200,000 packages).
class ContentsKeys {
public:
    void add(std::string_view path, const std::string& qualified)
    {
        std::string key = contents_key(path, qualified);
        if (blocks_.empty() || blocks_.back().capacity() - blocks_.back().size() < key.size())
            blocks_.emplace_back().reserve(std::max<size_t>(key.size(), 1 << 20));
        std::string& b = blocks_.back();
        keys_.emplace_back(b.data() + b.size(), key.size()); // (a block is never reallocated: it was reserved)
        b += key;
    }
    void sort() { std::sort(keys_.begin(), keys_.end()); }
    const std::vector<std::string_view>& keys() const { return keys_; }

private:
    std::deque<std::string> blocks_;
    std::vector<std::string_view> keys_;
};

} // namespace

std::vector<Entry> all_entries(db::Db& db, long long dist_id, const IndexSpec& spec)
{
    auto r = index_rows(db, dist_id, spec, false);
    return read_entries(r, spec);
}

BuiltIndex build_from_db(db::Db& db, long long dist_id, const IndexSpec& spec, const std::filesystem::path& dir,
                         const std::string& basename, const BuildOptions& options)
{
    if (spec.kind != IndexKind::contents) {
        // (the key is Package, Architecture, Version of the stanza, which the columns are; and
        // since the separator sorts before any character of theirs, the columns' order is the keys')
        auto r = index_rows(db, dist_id, spec, true);
        auto built = build_streamed(
            spec.kind,
            [&](Entry& e) {
                if (!r.step())
                    return false;
                e.text = r.text(0);
                e.key = stanza_key(spec.kind, e.text);
                return true;
            },
            dir, basename, options);
        if (built)
            return std::move(*built);
        log::warning("{}: the database's columns do not match its stanzas (index sorted in memory)", spec.path);
        return build_full(spec.kind, all_entries(db, dist_id, spec), dir, basename, options);
    }
    ContentsKeys keys;
    auto r = index_rows(db, dist_id, spec, false);
    while (r.step()) {
        std::string paths = r.text(0), q = qualified_name(r.text(1), r.text(2));
        for (auto p : split(paths, '\n', false))
            if (!p.empty())
                keys.add(p, q);
    }
    keys.sort();
    size_t i = 0;
    return *build_streamed(
        spec.kind,
        [&](Entry& e) {
            if (i == keys.keys().size())
                return false;
            e.key = keys.keys()[i++];
            return true;
        },
        dir, basename, options);
}

} // namespace mbd::archive
