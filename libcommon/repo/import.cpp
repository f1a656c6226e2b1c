#include "repo/import.hpp"

#include "archive/compress.hpp"
#include "core/error.hpp"
#include "core/fetch.hpp"
#include "core/fs.hpp"
#include "core/log.hpp"
#include "core/names.hpp"
#include "core/strings.hpp"
#include "deb822/deb822.hpp"
#include "gpg/gpg.hpp"
#include "model/lock.hpp"
#include "model/model.hpp"
#include "version/version.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <iostream>
#include <set>
#include <unistd.h>

namespace mbd::repo {
namespace {

namespace fs = std::filesystem;

bool is_url(std::string_view s)
{
    return s.starts_with("http://") || s.starts_with("https://") || s.starts_with("file://");
}

// Why a path an index names cannot be read from the archive: it must be relative, of
// plain segments (no '', '.', '..'), without control characters or backslashes.
std::optional<std::string> relative_path_problem(std::string_view p)
{
    if (p.empty() || p.front() == '/')
        return fmt::format("'{}' is not a relative path", printable(p, 200));
    for (unsigned char c : p)
        if (c < 0x20 || c == 0x7f || c == '\\')
            return fmt::format("'{}' has a control character or a backslash", printable(p, 200));
    for (auto seg : split(p, '/', false))
        if (seg.empty() || seg == "." || seg == "..")
            return fmt::format("'{}' has an empty, '.' or '..' segment", printable(p, 200));
    return std::nullopt;
}

// The other archive: a directory, or a URL whose files are downloaded into a directory.
class Archive {
public:
    explicit Archive(const std::string& source)
    {
        if (is_url(source)) {
            base_ = source;
            if (!base_.ends_with('/'))
                base_ += '/';
            return;
        }
        std::error_code ec;
        root_ = fs::canonical(source, ec);
        if (ec || !fs::is_directory(root_ / "dists"))
            throw fail(Exit::not_found, "'{}' is not an archive (a directory with dists/ and pool/)", source);
    }

    bool local() const { return base_.empty(); }

    // The file at rel (checked by relative_path_problem): a local archive's own file, checked to
    // lie inside it; a URL's, downloaded into `into`.
    fs::path fetch(const std::string& rel, const fs::path& into) const
    {
        if (auto why = relative_path_problem(rel))
            throw fail(Exit::rejected, "{}", *why);
        if (!local()) {
            fs::path dest = into / rel;
            fs::create_directories(dest.parent_path());
            if (auto e = download(base_ + rel, dest))
                throw *e;
            return dest;
        }
        std::error_code ec;
        fs::path at = fs::canonical(root_ / rel, ec);
        if (ec)
            throw fail(Exit::not_found, "the archive has no '{}'", rel);
        auto r = at.lexically_relative(root_);
        if (r.empty() || *r.begin() == "..")
            throw fail(Exit::rejected, "'{}' leads out of the archive", rel);
        if (!fs::is_regular_file(at))
            throw fail(Exit::rejected, "'{}' is not a file", rel);
        return at;
    }

    // A local archive's distributions: the directories under dists/ (not the symbolic
    // links reprepro makes for suite names) that hold a Release or InRelease.
    std::vector<std::string> dist_names() const
    {
        std::vector<std::string> out;
        for (const auto& e : fs::directory_iterator(root_ / "dists")) {
            if (e.is_symlink() || !e.is_directory())
                continue;
            if (fs::exists(e.path() / "InRelease") || fs::exists(e.path() / "Release"))
                out.push_back(e.path().filename().string());
        }
        std::sort(out.begin(), out.end());
        return out;
    }

private:
    std::string base_;
    fs::path root_;
};

// A distribution's Release, verified against the keyring.
deb822::Paragraph verified_release(const Archive& a, const std::string& dist, const gpg::Keyring& ring,
                                   const fs::path& tmp)
{
    std::string dir = "dists/" + dist + "/";
    std::string content;
    try {
        content = ring.verify_archive_clearsigned(read_file(a.fetch(dir + "InRelease", tmp))).content;
    } catch (const Error& e) {
        if (e.code() != Exit::not_found)
            throw fail(e.code(), "{}InRelease: {}", dir, e.what());
        fs::path rel = a.fetch(dir + "Release", tmp);
        fs::path sig;
        try {
            sig = a.fetch(dir + "Release.gpg", tmp);
        } catch (const Error&) {
            throw fail(Exit::bad_signature, "{} has neither InRelease nor Release.gpg: it is not signed", dir);
        }
        content = read_file(rel);
        try {
            ring.verify_archive_detached(content, read_file(sig));
        } catch (const Error& e2) {
            throw fail(e2.code(), "{}Release.gpg: {}", dir, e2.what());
        }
    }
    return deb822::parse_one(content, dir + "Release", {.allow_comments = false, .require_utf8 = false});
}

struct Listed {
    unsigned long long size = 0;
    std::string sha256;
};

// Release's SHA256 list: path -> size and hash.
std::map<std::string, Listed> release_files(const deb822::Paragraph& rel)
{
    std::map<std::string, Listed> out;
    for (const auto& line : rel.lines("SHA256")) {
        auto w = split_ws(line);
        if (w.size() != 3)
            continue;
        auto size = parse_uint(w[1]);
        if (size)
            out[std::string(w[2])] = {*size, std::string(w[0])};
    }
    return out;
}

// One index (BASE: "main/binary-amd64/Packages"), in the form Release lists first of .xz,
// .gz and plain, checked against Release and uncompressed; nullopt when Release lists none.
std::optional<std::string> read_index(const Archive& a, const std::string& dist,
                                      const std::map<std::string, Listed>& listed, const std::string& base,
                                      const fs::path& tmp, std::string& used)
{
    for (std::string ext : {".xz", ".gz", ""}) {
        auto it = listed.find(base + ext);
        if (it == listed.end())
            continue;
        used = base + ext;
        fs::path at = a.fetch("dists/" + dist + "/" + used, tmp);
        auto d = digest_file(at);
        if (d.size != it->second.size || d.sha256 != it->second.sha256)
            throw fail(Exit::rejected, "does not match its size and SHA256 in Release");
        std::string data = read_file(at);
        return ext == ".xz" ? archive::unxz(data) : ext == ".gz" ? archive::gunzip(data) : data;
    }
    return std::nullopt;
}

// "hello (2.10-3)" or "hello" (then the binary's own version).
std::pair<std::string, std::string> source_of_binary(const deb822::Paragraph& p)
{
    auto w = split_ws(p.get("Source"));
    if (w.empty())
        return {p.get("Package"), p.get("Version")};
    std::string version = p.get("Version");
    if (w.size() == 2 && w[1].size() > 2 && w[1].front() == '(' && w[1].back() == ')')
        version = std::string(w[1].substr(1, w[1].size() - 2));
    return {std::string(w[0]), version};
}

using Key = std::pair<std::string, std::string>; // source, version

// A source name and version as an index gives them, checked before they name a pool directory.
void check_name_version(const std::string& source, const std::string& version)
{
    if (auto why = names::problem(names::package, source))
        throw fail(Exit::rejected, "{}", *why);
    if (auto why = Version::invalid_reason(version))
        throw fail(Exit::rejected, "invalid version '{}': {}", printable(version, 100), *why);
}

// What one distribution's indices list, added to packages (by source and version).
void read_dist(const Archive& a, const std::string& dist, const deb822::Paragraph& rel,
               const std::vector<std::string>& archs, const fs::path& tmp, std::map<Key, ImportPackage>& packages,
               std::vector<ImportFailure>& failures)
{
    auto listed = release_files(rel);
    const deb822::ParseOptions opts{.allow_comments = false, .require_utf8 = false};
    auto add_file = [](ImportPackage& p, debian::FileEntry f, const std::string& rel_path) {
        if (p.at.count(f.name))
            return;
        p.at[f.name] = rel_path; // (relative to the archive until fetched)
        p.files.push_back(std::move(f));
    };
    for (const auto& component : split_ws(rel.get("Components"))) {
        std::string comp(component);
        std::string used;
        try {
            if (auto text = read_index(a, dist, listed, comp + "/source/Sources", tmp, used))
                for (const auto& para : deb822::parse(*text, used, opts).paragraphs) {
                    std::string name = para.get("Package"), version = para.get("Version");
                    try {
                        check_name_version(name, version);
                        std::string dir = para.get("Directory");
                        if (auto why = relative_path_problem(dir))
                            throw fail(Exit::rejected, "Directory: {}", *why);
                        auto files = debian::listed_files(para, used + ": " + name);
                        auto& p = packages[{name, version}];
                        p.source = name;
                        p.version = version;
                        for (auto& f : files) {
                            if (f.name.ends_with(".dsc")) {
                                f.section = para.get("Section");
                                f.priority = para.get("Priority");
                            }
                            std::string path = dir + "/" + f.name;
                            add_file(p, std::move(f), path);
                        }
                    } catch (const Error& e) {
                        failures.push_back({fmt::format("{} {}", name, version), e.what()});
                    }
                }
        } catch (const Error& e) {
            failures.push_back({fmt::format("{} {}", dist, used), e.what()});
        }
        for (const auto& arch : archs) {
            std::string base = fmt::format("{}/binary-{}/Packages", comp, arch);
            try {
                auto text = read_index(a, dist, listed, base, tmp, used);
                if (!text)
                    continue;
                for (const auto& para : deb822::parse(*text, used, opts).paragraphs) {
                    std::string arch_of = para.get("Architecture");
                    if (arch_of != "all" && std::find(archs.begin(), archs.end(), arch_of) == archs.end())
                        continue;
                    auto [source, version] = source_of_binary(para);
                    std::string filename = para.get("Filename");
                    try {
                        check_name_version(source, version);
                        if (auto why = relative_path_problem(filename))
                            throw fail(Exit::rejected, "Filename: {}", *why);
                        auto size = parse_uint(para.get("Size"));
                        if (!size || para.get("SHA256").size() != 64)
                            throw fail(Exit::rejected, "{} has no valid Size and SHA256", used);
                        debian::FileEntry f;
                        f.name = fs::path(filename).filename().string();
                        if (auto why = names::problem(names::file, f.name))
                            throw fail(Exit::rejected, "{}", *why);
                        f.size = *size;
                        f.sha256 = para.get("SHA256");
                        f.md5 = para.get("MD5sum");
                        f.section = para.get("Section");
                        f.priority = para.get("Priority");
                        auto& p = packages[{source, version}];
                        p.source = source;
                        p.version = version;
                        add_file(p, std::move(f), filename);
                    } catch (const Error& e) {
                        failures.push_back({fmt::format("{} {} ({})", para.get("Package"), para.get("Version"),
                                                        arch_of),
                                            e.what()});
                    }
                }
            } catch (const Error& e) {
                failures.push_back({fmt::format("{} {}", dist, used.empty() ? base : used), e.what()});
            }
        }
    }
}

// Theirs to our suite: --map, else mini-buildd's naming with any ID. nullopt: not mapped.
std::optional<DistRef> map_dist(db::Db& db, const std::string& repository, const std::string& theirs,
                                const std::map<std::string, std::string>& maps)
{
    auto suite_of_ref = [&](const DistRef& d) {
        return d.is_rollback() ? find_suite_dist(db, d.repository, d.codename, d.suite) : d;
    };
    if (auto it = maps.find(theirs); it != maps.end()) {
        DistRef d = find_dist(db, it->second);
        if (d.repository != repository)
            throw fail(Exit::usage, "--map {}={}: '{}' is not a distribution of repository '{}'", theirs, it->second,
                       it->second, repository);
        return suite_of_ref(d);
    }
    for (const auto& d : repository_dists(db, repository)) {
        if (d.is_rollback())
            continue;
        std::string head = d.codename + "-", tail = "-" + d.suite;
        std::string name = theirs;
        if (auto rb = name.rfind("-rollback"); rb != std::string::npos &&
                                               parse_uint(std::string_view(name).substr(rb + 9)).has_value())
            name.resize(rb);
        if (name.size() > head.size() + tail.size() && name.starts_with(head) && name.ends_with(tail))
            return d;
    }
    return std::nullopt;
}

} // namespace

std::size_t ImportReport::failed() const
{
    std::size_t n = 0;
    for (const auto& d : dists)
        n += d.failures.size();
    return n;
}

std::optional<std::string> import_map_problem(std::string_view map)
{
    auto eq = map.find('=');
    if (eq == std::string_view::npos)
        return fmt::format("'{}' is not THEIRS=OURS", map);
    auto theirs = map.substr(0, eq), ours = map.substr(eq + 1);
    if (theirs.empty() || relative_path_problem(theirs) || theirs.find('/') != std::string_view::npos)
        return fmt::format("'{}': '{}' is not a distribution name", map, theirs);
    if (auto why = names::problem(names::distribution, ours))
        return fmt::format("'{}': {}", map, *why);
    return std::nullopt;
}

ImportReport import_archive(Context& ctx, const ImportRequest& req)
{
    auto& db = ctx.db();
    if (req.keyrings.empty())
        throw fail(Exit::usage, "import needs the archive's signing keys (--keyring FILE)");
    get_repository(db, req.repository); // (Exit::not_found)
    std::map<std::string, std::string> maps;
    for (const auto& m : req.maps) {
        if (auto why = import_map_problem(m))
            throw fail(Exit::usage, "--map {}", *why);
        auto eq = m.find('=');
        maps[m.substr(0, eq)] = m.substr(eq + 1);
    }
    for (const auto& d : req.dists)
        if (auto why = import_map_problem(d + "=x"); why || d.find('/') != std::string::npos)
            throw fail(Exit::usage, "--dist '{}' is not a distribution name", d);
    Archive archive(req.source);
    // Theirs: as named, else every one a directory has (a URL lists none: those --map names).
    std::vector<std::string> theirs = req.dists;
    if (theirs.empty()) {
        if (archive.local())
            theirs = archive.dist_names();
        else
            for (const auto& [t, o] : maps)
                theirs.push_back(t);
        if (theirs.empty())
            throw fail(Exit::not_found, "'{}': no distribution to import (name them with --dist or --map)", req.source);
    }

    TempDir tmp(ctx.home().tmp(), "import");
    gpg::Keyring ring(tmp.path() / "gnupg", gpg::Keyring::Kind::public_only);
    for (const auto& k : req.keyrings) {
        std::error_code ec;
        if (!fs::is_regular_file(k, ec))
            throw fail(Exit::not_found, "no keyring file '{}'", k);
        if (ring.import_keys(read_file(k)).empty())
            throw fail(Exit::usage, "'{}' holds no public key", k);
    }

    RepositoryLock lock(ctx, req.repository);
    auto repo = get_repository(db, req.repository);
    ImportReport report;
    report.source = req.source;
    // Our suites, each with what their distributions of theirs list.
    struct Group {
        DistRef suite;
        std::vector<std::string> from;
        std::map<Key, ImportPackage> packages;
        std::vector<ImportFailure> failures;
    };
    std::map<std::string, Group> groups;
    int n = 0;
    for (const auto& t : theirs) {
        auto suite = map_dist(db, req.repository, t, maps);
        if (!suite) {
            ImportDist d{t, "", {}, {}};
            d.failures.push_back({t, fmt::format("no suite of '{}' matches; name one with --map {}=DIST",
                                                 req.repository, t)});
            report.dists.push_back(std::move(d));
            continue;
        }
        auto& g = groups[suite->name];
        g.suite = *suite;
        g.from.push_back(t);
        fs::path dir = tmp.path() / fmt::format("dist{}", n++);
        try {
            auto rel = verified_release(archive, t, ring, dir);
            auto archs = repository_architectures(repo, get_distribution(db, suite->codename));
            read_dist(archive, t, rel, archs, dir, g.packages, g.failures);
        } catch (const Error& e) {
            g.failures.push_back({t, e.what()});
        }
    }

    for (auto& [name, g] : groups) {
        ImportDist out{join(g.from, ", "), name, {}, std::move(g.failures)};
        std::vector<ImportPackage> all;
        for (auto& [key, p] : g.packages)
            all.push_back(std::move(p));
        // In chunks of whole sources: a URL's files are downloaded for one chunk at a time.
        std::size_t done_before = 0;
        for (std::size_t begin = 0; begin < all.size();) {
            std::size_t end = std::min(all.size(), begin + 200);
            while (end < all.size() && all[end].source == all[end - 1].source)
                ++end;
            std::vector<ImportPackage> chunk(std::make_move_iterator(all.begin() + begin),
                                             std::make_move_iterator(all.begin() + end));
            TempDir files(tmp.path(), "files");
            std::vector<ImportPackage> ready;
            std::vector<ImportFailure> fetch_failures;
            for (auto& p : chunk) {
                try {
                    for (auto& [file, at] : p.at)
                        at = archive.fetch(at.string(), files.path());
                    ready.push_back(std::move(p));
                } catch (const Error& e) {
                    fetch_failures.push_back({p.source + " " + p.version, e.what()});
                }
            }
            auto results = import_packages(ctx, lock, g.suite, ready, [&](std::size_t k) {
                if (req.progress && (k % 50 == 0 || k == ready.size()))
                    std::cerr << fmt::format("\rimport {}: {}/{}", name, done_before + k, all.size()) << std::flush;
            });
            for (std::size_t i = 0; i < results.size(); ++i) {
                ++out.counts[std::string(outcome_name(results[i].outcome))];
                if (results[i].outcome == ImportOutcome::failed)
                    out.failures.push_back({ready[i].source + " " + ready[i].version, results[i].why});
            }
            for (auto& f : fetch_failures) {
                ++out.counts["failed"];
                out.failures.push_back(std::move(f));
            }
            done_before += chunk.size();
            begin = end;
        }
        if (req.progress && !all.empty())
            std::cerr << "\n";
        report.dists.push_back(std::move(out));
    }
    report.published = publish_repository(ctx, lock);
    return report;
}

Json to_json(const ImportReport& r)
{
    Json dists = Json::array();
    for (const auto& d : r.dists) {
        Json counts = Json::object();
        for (const auto& [k, v] : d.counts)
            counts.set(k, Json(static_cast<long long>(v)));
        Json failures = Json::array();
        for (const auto& f : d.failures)
            failures.push(Json::object().set("what", f.what).set("why", f.why));
        dists.push(Json::object()
                       .set("from", d.from)
                       .set("to", d.to.empty() ? Json() : Json(d.to))
                       .set("counts", counts)
                       .set("failures", failures));
    }
    Json published = Json::array();
    for (const auto& p : r.published)
        published.push(p);
    return Json::object().set("source", r.source).set("dists", dists).set("published", published).set(
        "failed", Json(static_cast<long long>(r.failed())));
}

} // namespace mbd::repo
