#include "repo/packages.hpp"

#include "archive/dists.hpp"
#include "archive/durable.hpp"
#include "archive/publish.hpp"
#include "core/error.hpp"
#include "core/fault.hpp"
#include "core/fs.hpp"
#include "core/log.hpp"
#include "core/strings.hpp"
#include "db/db.hpp"
#include "debian/control_files.hpp"
#include "debian/debfile.hpp"
#include "events/events.hpp"
#include "version/version.hpp"

#include <algorithm>
#include <condition_variable>
#include <fnmatch.h>
#include <functional>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <thread>

namespace mbd::repo {
namespace {

namespace fs = std::filesystem;

// ---- helpers -------------------------------------------------------------------

std::string component_of_section(std::string_view section)
{
    auto slash = section.find('/');
    return slash == std::string_view::npos ? "main" : std::string(section.substr(0, slash));
}

// (the install, migrate and remove commands print what they did themselves)
void add_event(db::Db& db, std::string_view type, std::string_view source, std::string_view version,
               std::string_view dist, std::string_view message)
{
    record_event(db, Event{0, 0, std::string(type), std::string(source), std::string(version), std::string(dist), "",
                           std::string(message), ""},
                 false);
}

std::string with_newline(std::string s)
{
    if (!s.empty() && s.back() != '\n')
        s += '\n';
    return s;
}

// The Packages stanza: the control fields as the .deb has them, Section/Priority from the
// .changes when the control file has none, then Filename, Size and checksums (before
// Description, where apt-ftparchive puts them).
std::string packages_stanza(const deb822::Paragraph& control, const std::string& filename, const FileDigest& d,
                            const std::string& section, const std::string& priority)
{
    static const std::set<std::string, std::less<>> ours = {"filename", "size", "md5sum", "sha1", "sha256", "sha512"};
    std::string head, description;
    for (const auto& f : control.fields()) {
        if (ours.count(lower(f.name)))
            continue;
        if (iequals(f.name, "Description")) {
            description += with_newline(f.raw);
            continue;
        }
        if (!description.empty()) { // fields after Description stay after it
            description += with_newline(f.raw);
            continue;
        }
        head += with_newline(f.raw);
        if (iequals(f.name, "Version")) {
            if (!control.has("Priority") && !priority.empty() && priority != "-")
                head += "Priority: " + priority + "\n";
            if (!control.has("Section") && !section.empty() && section != "-")
                head += "Section: " + section + "\n";
        }
    }
    head += fmt::format("Filename: {}\nSize: {}\nMD5sum: {}\nSHA1: {}\nSHA256: {}\nSHA512: {}\n", filename, d.size,
                        d.md5, d.sha1, d.sha256, d.sha512);
    return head + description;
}

struct PoolFile {
    std::string name;      // file name
    fs::path from;         // where it is now
    std::string path;      // pool path relative to the repository
    FileDigest digest;
    long long id = 0;      // existing pool_files row, or 0
};

// The Sources stanza: the .dsc fields with Source renamed to Package, plus Directory,
// Priority, Section and the file lists (the .dsc included).
std::string sources_stanza(const deb822::Paragraph& dsc, const std::string& directory, const PoolFile& dsc_file,
                           const std::vector<const PoolFile*>& files, const std::string& section,
                           const std::string& priority)
{
    static const std::set<std::string, std::less<>> ours = {"files", "checksums-sha1", "checksums-sha256",
                                                            "checksums-sha512", "directory"};
    std::string out = "Package: " + dsc.get("Source") + "\n";
    for (const auto& f : dsc.fields()) {
        if (iequals(f.name, "Source") || ours.count(lower(f.name)))
            continue;
        out += with_newline(f.raw);
    }
    out += "Directory: " + directory + "\n";
    if (!dsc.has("Priority") && !priority.empty() && priority != "-")
        out += "Priority: " + priority + "\n";
    if (!dsc.has("Section") && !section.empty() && section != "-")
        out += "Section: " + section + "\n";
    std::vector<const PoolFile*> all{&dsc_file};
    all.insert(all.end(), files.begin(), files.end());
    auto list = [&](std::string_view field, std::string FileDigest::*hash) {
        out += std::string(field) + ":\n";
        for (const auto* f : all)
            out += fmt::format(" {} {} {}\n", f->digest.*hash, f->digest.size, f->name);
    };
    list("Files", &FileDigest::md5);
    list("Checksums-Sha1", &FileDigest::sha1);
    list("Checksums-Sha256", &FileDigest::sha256);
    list("Checksums-Sha512", &FileDigest::sha512);
    return out;
}

// ---- membership (with the journal publishing reads) ---------------------------------

void journal(db::Db& db, long long dist_id, bool added, long long source_id)
{
    if (added && archive::full_build_marked(db, dist_id))
        return; // (the next publish builds the distribution in full: it reads no addition)
    db.run("INSERT INTO dist_journal(dist_id, added, source_id, binary_id) VALUES (?, ?, ?, NULL)", dist_id, added,
           source_id);
    db.run("INSERT INTO dist_journal(dist_id, added, source_id, binary_id) "
           "SELECT ?, ?, source_id, id FROM binary_packages WHERE source_id = ?",
           dist_id, added, source_id);
}

std::optional<long long> member(db::Db& db, long long dist_id, std::string_view name)
{
    return db.scalar_int("SELECT source_id FROM dist_sources WHERE dist_id = ? AND name = ?", dist_id, name);
}

// Set what a distribution holds of a source name (nullopt: nothing), from what it holds now.
void change_member(db::Db& db, long long dist_id, std::string_view name, std::optional<long long> current,
                   std::optional<long long> source_id)
{
    if (current == source_id)
        return;
    if (current) {
        journal(db, dist_id, false, *current);
        db.run("DELETE FROM dist_sources WHERE dist_id = ? AND name = ?", dist_id, name);
        db.run("INSERT OR IGNORE INTO gc_candidates(source_id) VALUES (?)", *current);
    }
    if (source_id) {
        db.run("INSERT INTO dist_sources(dist_id, name, source_id, since) VALUES (?, ?, ?, ?)", dist_id, name,
               *source_id, now_seconds());
        journal(db, dist_id, true, *source_id);
    }
}

void set_member(db::Db& db, long long dist_id, std::string_view name, std::optional<long long> source_id)
{
    change_member(db, dist_id, name, member(db, dist_id, name), source_id);
}

std::string version_of(db::Db& db, long long source_id)
{
    return db.scalar_text("SELECT version FROM source_packages WHERE id = ?", source_id).value_or("?");
}

// The distribution of a suite's group: the suite itself (0) or one of its rollbacks (N).
std::optional<long long> group_dist_id(db::Db& db, const DistRef& suite, int rollback)
{
    return db.scalar_int("SELECT id FROM dists WHERE repository = ? AND codename = ? AND suite = ? AND rollback = ?",
                         suite.repository, suite.codename, suite.suite, rollback);
}

// Put source_id into a suite's distribution; what it held moves to rollback0, and so on.
void place(db::Db& db, const DistRef& target, std::string_view name, long long source_id)
{
    auto dist_id_of = [&](int rollback) { return group_dist_id(db, target, rollback); };
    auto previous = member(db, target.id, name);
    if (previous == source_id)
        return;
    if (previous) {
        Suite suite = suite_of(db, target); // (read only when there are rollbacks to shift)
        // Shift rollbacks up, oldest first; the last one is dropped.
        for (int rb = suite.rollbacks; rb >= 1; --rb) {
            auto from = dist_id_of(rb);
            if (!from)
                continue;
            auto held = member(db, *from, name);
            if (!held)
                continue;
            auto to = rb < suite.rollbacks ? dist_id_of(rb + 1) : std::nullopt;
            change_member(db, *from, name, held, std::nullopt);
            if (to)
                set_member(db, *to, name, held);
        }
        change_member(db, target.id, name, previous, std::nullopt);
        if (suite.rollbacks > 0)
            if (auto rb0 = dist_id_of(1))
                set_member(db, *rb0, name, previous);
    }
    change_member(db, target.id, name, std::nullopt, source_id); // (it holds nothing of name now)
}

// A binary with the same name, architecture and version from another source would
// appear twice in the index.
void check_binary_clash(db::Db& db, long long dist_id, std::string_view dist_name, std::string_view source,
                        long long source_id)
{
    // (CROSS JOIN keeps this order: from the new binaries by name, never over the distribution)
    auto r = db.query("SELECT b.name, b.architecture, b.version, ds.name FROM binary_packages nb "
                      "CROSS JOIN binary_packages b ON b.name = nb.name AND b.architecture = nb.architecture "
                      "AND b.version = nb.version "
                      "CROSS JOIN dist_sources ds ON ds.source_id = b.source_id "
                      "WHERE nb.source_id = ? AND ds.dist_id = ? AND ds.name != ?",
                      source_id, dist_id, source);
    if (r.step())
        throw fail(Exit::rejected, "binary package '{}_{}_{}' is in '{}' already, built from source '{}'", r.text(0),
                   r.text(2), r.text(1), dist_name, r.text(3));
}

Version parse_version_or_reject(std::string_view text)
{
    if (auto why = Version::invalid_reason(text))
        throw fail(Exit::rejected, "invalid version '{}': {}", text, *why);
    return Version::parse(text);
}

} // namespace

// ---- checks -----------------------------------------------------------------------

Suite suite_of(db::Db& db, const DistRef& dist)
{
    auto repo = get_repository(db, dist.repository);
    auto layout = get_layout(db, repo.layout);
    const Suite* s = layout.suite(dist.suite);
    if (!s)
        throw fail(Exit::state, "layout '{}' has no suite '{}'", layout.name, dist.suite);
    return *s;
}

namespace {

// What the checks of an upload read of the configuration of its distribution: read once
// for the many uploads of an install_each.
struct UploadRules {
    DistRef dist;
    Repository repo;
    std::string layout;
    std::optional<Suite> suite; // (none: the layout has no suite of that name)
    std::optional<std::string> rule; // the version rule, %ID% and %CODEVERSION% filled in
    std::optional<std::regex> compiled; // (none with a rule: it is invalid)
};

UploadRules upload_rules(db::Db& db, const DistRef& dist)
{
    UploadRules r{dist, get_repository(db, dist.repository), {}, {}, {}, {}};
    auto layout = get_layout(db, r.repo.layout);
    r.layout = layout.name;
    if (const Suite* s = layout.suite(dist.suite))
        r.suite = *s;
    else
        return r;
    const auto& rule = r.suite->experimental ? layout.experimental_version_rule : layout.version_rule;
    if (!rule)
        return r;
    auto distribution = get_distribution(db, dist.codename);
    auto source = get_source(db, distribution.base_source);
    std::string codeversion = source.codeversion.empty() ? known_codeversion(dist.codename) : source.codeversion;
    std::string re = *rule;
    for (auto [var, value] : {std::pair<std::string_view, std::string>{"%ID%", r.repo.id}, {"%CODEVERSION%", codeversion}})
        for (size_t p; (p = re.find(var)) != std::string::npos;)
            re.replace(p, var.size(), value);
    r.rule = re;
    try {
        r.compiled = std::regex(re);
    } catch (const std::regex_error&) {
    }
    return r;
}

std::optional<std::string> rule_violation(const UploadRules& r, std::string_view version)
{
    if (!r.suite)
        return fmt::format("layout '{}' has no suite '{}'", r.layout, r.dist.suite);
    if (!r.rule)
        return std::nullopt;
    if (!r.compiled)
        return fmt::format("layout '{}' has an invalid version rule '{}'", r.layout, *r.rule);
    if (std::regex_search(std::string(version), *r.compiled))
        return std::nullopt;
    return fmt::format("version '{}' does not match the version rule '{}' of '{}'", version, *r.rule, r.dist.name);
}

std::optional<std::string> rejection(db::Db& db, const UploadRules& r, std::string_view source,
                                     std::string_view version, bool admin)
{
    const DistRef& dist = r.dist;
    if (dist.is_rollback())
        return fmt::format("'{}' is a rollback distribution", dist.name);
    if (!admin && r.repo.status.status != Status::active)
        return fmt::format("repository '{}' is not active ({})", r.repo.id, r.repo.status.display());
    if (r.repo.status.status == Status::removed)
        return fmt::format("repository '{}' is removed", r.repo.id);
    if (!r.suite)
        throw fail(Exit::state, "layout '{}' has no suite '{}'", r.layout, dist.suite);
    if (!r.suite->uploadable)
        return fmt::format("'{}' is not uploadable (packages reach it by migration)", dist.name);
    if (auto why = Version::invalid_reason(version))
        return fmt::format("invalid version '{}': {}", version, *why);
    if (auto why = rule_violation(r, version))
        return why;
    return version_conflict(db, dist, source, version);
}

} // namespace

std::optional<std::string> version_rule_violation(db::Db& db, const DistRef& dist, std::string_view version)
{
    return rule_violation(upload_rules(db, dist), version);
}

std::optional<std::string> version_conflict(db::Db& db, const DistRef& dist, std::string_view source,
                                            std::string_view version)
{
    Version v = parse_version_or_reject(version);
    if (auto held = member(db, dist.id, source)) {
        std::string hv = version_of(db, *held);
        if (Version::parse(hv) >= v)
            return fmt::format("'{}' holds {} {}, which is not older than {}", dist.name, source, hv, version);
    }
    auto r = db.query("SELECT d.name FROM source_packages s JOIN dist_sources ds ON ds.source_id = s.id "
                      "JOIN dists d ON d.id = ds.dist_id WHERE s.repository = ? AND s.name = ? AND s.version = ? "
                      "ORDER BY d.id LIMIT 1",
                      dist.repository, source, version);
    if (r.step())
        return fmt::format("{} {} is in '{}' already", source, version, r.text(0));
    return std::nullopt;
}

std::optional<std::string> upload_rejection(db::Db& db, const DistRef& dist, std::string_view source,
                                            std::string_view version, bool admin)
{
    if (dist.is_rollback())
        return fmt::format("'{}' is a rollback distribution", dist.name);
    return rejection(db, upload_rules(db, dist), source, version, admin);
}

// ---- install ----------------------------------------------------------------------

namespace {

struct Upload {
    debian::Changes changes;
    fs::path dir;
    std::map<std::string, fs::path> at; // where a file is when not in dir (an import's)
    std::string lists = "the .changes";  // what lists the files, for messages
};

// The .changes of one install, read and resolved to their distribution.
struct ParsedInstall {
    std::vector<Upload> uploads;
    std::string source, source_version;
    DistRef dist;
    bool import = false; // from another archive: the rules for uploads do not apply
};

// The .changes read (no database: any thread); resolve_dist then names their distribution.
ParsedInstall read_changes(const std::vector<fs::path>& changes)
{
    if (changes.empty())
        throw fail(Exit::usage, "no .changes given");
    ParsedInstall p;
    for (const auto& path : changes) {
        std::string text = read_file(path);
        auto content = debian::unwrap_clearsigned_unverified(text, path.filename().string());
        p.uploads.push_back({debian::Changes::parse(content, path.filename().string()), path.parent_path()});
        if (p.uploads.back().dir.empty())
            p.uploads.back().dir = ".";
    }
    const auto& first = p.uploads.front().changes;
    p.source = first.source;
    p.source_version = first.source_version.value_or(first.version.str());
    for (const auto& u : p.uploads)
        if (u.changes.source != p.source || u.changes.source_version.value_or(u.changes.version.str()) != p.source_version)
            throw fail(Exit::rejected, "the .changes are of different sources or versions ('{} {}' and '{} {}')",
                       p.source, p.source_version, u.changes.source, u.changes.version.str());
    return p;
}

void resolve_dist(db::Db& db, ParsedInstall& p, const std::string& dist)
{
    const auto& first = p.uploads.front().changes;
    std::string dist_name = dist;
    if (dist_name.empty()) {
        if (first.distributions.size() != 1)
            throw fail(Exit::rejected, "the .changes names {} distributions; give one with --dist",
                       first.distributions.size());
        dist_name = first.distributions.front();
    }
    p.dist = find_dist(db, dist_name);
}

ParsedInstall parse_install(db::Db& db, const std::vector<fs::path>& changes, const std::string& dist)
{
    ParsedInstall p = read_changes(changes);
    resolve_dist(db, p, dist);
    return p;
}

struct Binary {
    std::string name, version, arch, kind, section, stanza, contents;
    bool contents_read;
    PoolFile* file;
};

// What an install has checked and copied into the pool, for its database transaction.
struct Staged {
    std::string repository, source, source_version;
    DistRef dist;
    std::map<std::string, PoolFile> files; // by file name; the pointers below point into it
    std::optional<debian::Dsc> dsc;
    std::string dsc_name;
    std::vector<const PoolFile*> dsc_files;
    std::vector<Binary> binaries;
    std::optional<long long> existing_source;
    std::string component = "main", section, priority, directory;
};

bool dropped_unpublished(db::Db& db, const ParsedInstall& p)
{
    return db.scalar_int("SELECT 1 FROM source_packages s WHERE repository = ? AND name = ? AND version = ? AND NOT "
                         "EXISTS (SELECT 1 FROM dist_sources WHERE source_id = s.id)",
                         p.dist.repository, p.source, p.source_version)
        .has_value();
}

// Files of at most this size are read once to be hashed and parsed (see verify_listed_files).
constexpr std::uintmax_t small_file_max = 1 << 20;

// A binary package among an upload's files, by its name (as dpkg-genchanges names them).
bool is_binary_package(std::string_view name) { return ends_with(name, ".deb") || ends_with(name, ".udeb"); }

// Every file the .changes list, once, checked against its size and checksums; entries
// gets the .changes entry of each.
// `small` gets the bytes of each .dsc, .deb and .udeb of at most small_file_max bytes (for
// parsing, without reading them again).
void verify_listed_files(const std::vector<Upload>& uploads, std::map<std::string, PoolFile>& files,
                         std::map<std::string, const debian::FileEntry*>& entries,
                         std::map<std::string, std::string>& small)
{
    for (const auto& u : uploads)
        for (const auto& f : u.changes.files) {
            auto where = u.at.find(f.name);
            fs::path at = where != u.at.end() ? where->second : u.dir / f.name;
            if (files.count(f.name)) {
                if (entries[f.name]->sha256 != f.sha256)
                    throw fail(Exit::rejected, "'{}' is listed twice with different checksums", f.name);
                continue;
            }
            std::optional<std::string> bytes;
            bool parsed = ends_with(f.name, ".dsc") || is_binary_package(f.name);
            auto digest = digest_regular_file(at, parsed ? small_file_max : 0, bytes);
            if (!digest)
                throw fail(Exit::rejected, "'{}' is listed in {} but missing", f.name, u.lists);
            const auto& d = *digest;
            if (d.size != f.size)
                throw fail(Exit::rejected, "'{}' has {} bytes, {} says {}", f.name, d.size, u.lists, f.size);
            if (d.sha256 != f.sha256)
                throw fail(Exit::rejected, "'{}' does not match its SHA256 in {}", f.name, u.lists);
            if (!f.md5.empty() && d.md5 != f.md5)
                throw fail(Exit::rejected, "'{}' does not match its MD5 in {}", f.name, u.lists);
            files[f.name] = PoolFile{f.name, at, {}, d, 0};
            entries[f.name] = &f;
            if (bytes)
                small[f.name] = std::move(*bytes);
        }
}

// The one .dsc among the listed files, or nullptr.
const debian::FileEntry* find_dsc_entry(const std::map<std::string, const debian::FileEntry*>& entries)
{
    const debian::FileEntry* dsc_entry = nullptr;
    for (const auto& [name, e] : entries)
        if (ends_with(name, ".dsc")) {
            if (dsc_entry)
                throw fail(Exit::rejected, "more than one .dsc in the upload");
            dsc_entry = e;
        }
    return dsc_entry;
}

// The file work of checking an upload, no database (any thread): every listed file hashed
// and checked against the .changes, the .dsc parsed, each .deb's control and paths read.
struct ReadUpload {
    std::map<std::string, PoolFile> files; // by file name
    std::map<std::string, const debian::FileEntry*> entries; // (into the ParsedInstall's .changes)
    const debian::FileEntry* dsc_entry = nullptr;
    std::optional<debian::Dsc> dsc;
    std::map<std::string, debian::DebInfo> debs; // by file name
};

ReadUpload read_upload(const ParsedInstall& parsed, debian::DebPaths paths)
{
    ReadUpload r;
    std::map<std::string, std::string> small;
    verify_listed_files(parsed.uploads, r.files, r.entries, small);
    r.dsc_entry = find_dsc_entry(r.entries);
    if (r.dsc_entry) {
        auto read = small.find(r.dsc_entry->name);
        r.dsc = debian::Dsc::parse(read != small.end() ? read->second : read_file(r.files[r.dsc_entry->name].from),
                                   r.dsc_entry->name);
    }
    for (const auto& [name, pf] : r.files)
        if (is_binary_package(name)) {
            auto read = small.find(name);
            r.debs.emplace(name, read != small.end() ? debian::read_deb(pf.from, read->second, paths)
                                                     : debian::read_deb(pf.from, paths));
        }
    return r;
}

// A package's paths are read at install only when a distribution publishes Contents (else
// by the first publish that does: archive::read_unread_paths).
debian::DebPaths paths_to_read(Context& ctx)
{
    return archive::contents_wanted(ctx) ? debian::DebPaths::read : debian::DebPaths::skip;
}

// About what a read upload holds in memory: its .changes, .dsc and control paragraphs
// parsed (some 16 KiB for a small upload, measured), and the paths of its packages.
size_t held_bytes(const ReadUpload& r)
{
    size_t n = 16 << 10;
    for (const auto& [name, deb] : r.debs)
        for (const auto& path : deb.paths)
            n += path.size() + sizeof path;
    return n;
}

// Reads the uploads of install_each ahead, on threads of their own (read_changes and
// read_upload: file work only), at most `window` ahead of the one taken and, past the
// next one taken, while what is read and not taken holds less than `budget` bytes
// (held_bytes); taken in order.
class ReadAhead {
public:
    ReadAhead(const std::vector<fs::path>& changes, debian::DebPaths paths, size_t window, size_t budget)
        : changes_(changes), paths_(paths), window_(window), budget_(budget), slots_(window)
    {
        unsigned n = std::max(1u, std::thread::hardware_concurrency());
        for (unsigned t = 0; t < n; ++t)
            threads_.emplace_back([this] { work(); });
    }
    ~ReadAhead()
    {
        {
            std::lock_guard l(m_);
            stop_ = true;
        }
        cv_.notify_all();
        for (auto& t : threads_)
            t.join();
    }
    ReadAhead(const ReadAhead&) = delete;
    ReadAhead& operator=(const ReadAhead&) = delete;

    // The i-th .changes read, waiting for it; what reading it threw is thrown here.
    std::pair<ParsedInstall, ReadUpload> take(size_t i)
    {
        std::unique_lock l(m_);
        Slot& at = slots_[i % window_];
        cv_.wait(l, [&] { return at.done; });
        Slot slot = std::move(at);
        at = Slot{};
        taken_ = i + 1;
        held_ -= slot.bytes;
        l.unlock();
        cv_.notify_all();
        if (slot.error)
            std::rethrow_exception(slot.error);
        return {std::move(*slot.parsed), std::move(*slot.read)};
    }

private:
    struct Slot {
        std::optional<ParsedInstall> parsed;
        std::optional<ReadUpload> read; // (its entries point into parsed's .changes, which moves with it)
        std::exception_ptr error;
        size_t bytes = 0; // held_bytes
        bool done = false;
    };
    void work()
    {
        for (;;) {
            size_t i;
            {
                std::unique_lock l(m_);
                cv_.wait(l, [&] {
                    return stop_ || next_ >= changes_.size() ||
                           (next_ < taken_ + window_ && (held_ < budget_ || next_ == taken_));
                });
                if (stop_ || next_ >= changes_.size())
                    return;
                i = next_++;
            }
            Slot s;
            try {
                s.parsed = read_changes({changes_[i]});
                s.read = read_upload(*s.parsed, paths_);
                s.bytes = held_bytes(*s.read);
            } catch (...) {
                s.error = std::current_exception();
            }
            s.done = true;
            {
                std::lock_guard l(m_);
                held_ += s.bytes;
                slots_[i % window_] = std::move(s);
            }
            cv_.notify_all();
        }
    }
    const std::vector<fs::path>& changes_;
    debian::DebPaths paths_;
    size_t window_, budget_;
    std::vector<Slot> slots_; // a ring: .changes i in slot i % window (the one taken window before it is out)
    size_t next_ = 0, taken_ = 0, held_ = 0;
    bool stop_ = false;
    std::mutex m_;
    std::condition_variable cv_;
    std::vector<std::thread> threads_;
};

// What checking uploads to a distribution reads of the configuration (install_each reads
// it once per distribution).
struct DistChecks {
    UploadRules rules;
    Distribution distribution;
    std::vector<std::string> archs; // the repository's of the distribution
};

DistChecks dist_checks(db::Db& db, const DistRef& dist)
{
    DistChecks c{upload_rules(db, dist), get_distribution(db, dist.codename), {}};
    c.archs = repository_architectures(c.rules.repo, c.distribution);
    return c;
}

// The source from the upload's .dsc: the one the .changes names, one the distribution takes.
void stage_dsc(db::Db& db, Staged& st, const debian::FileEntry& dsc_entry, debian::Dsc dsc, const DistChecks& checks,
               bool import)
{
    st.dsc_name = dsc_entry.name;
    st.dsc = std::move(dsc);
    if (st.dsc->source != st.source || st.dsc->version.str() != st.source_version)
        throw fail(Exit::rejected, "'{}' is {} {}, the .changes says {} {}", dsc_entry.name, st.dsc->source,
                   st.dsc->version.str(), st.source, st.source_version);
    st.section = dsc_entry.section;
    st.priority = dsc_entry.priority;
    st.component = component_of_section(st.section);
    if (import)
        return; // (import_packages decided where it goes)
    if (auto why = rejection(db, checks.rules, st.source, st.source_version, true))
        throw fail(Exit::rejected, "{}", *why);
}

// No .dsc: the source is the same version the distribution holds.
void stage_held_source(db::Db& db, Staged& st)
{
    st.existing_source = member(db, st.dist.id, st.source);
    if (!st.existing_source || version_of(db, *st.existing_source) != st.source_version)
        throw fail(Exit::rejected, "the upload has no source package and '{}' does not hold {} {}", st.dist.name,
                   st.source, st.source_version);
    st.component = db.scalar_text("SELECT component FROM source_packages WHERE id = ?", *st.existing_source).value();
    st.section = "";
}

// The pool directory, in a component of the distribution.
void stage_directory(Staged& st, const Distribution& distribution)
{
    if (std::find(distribution.components.begin(), distribution.components.end(), st.component) ==
        distribution.components.end())
        throw fail(Exit::rejected, "component '{}' is not one of '{}' ({})", st.component, st.dist.codename,
                   join(distribution.components, ", "));
    st.directory = pool_directory(st.component, st.source);
}

// The files of the .dsc: in the upload, or in the pool already (an orig tarball).
void stage_dsc_files(db::Db& db, Staged& st, const std::string& repository)
{
    for (const auto& f : st.dsc->files) {
        auto it = st.files.find(f.name);
        if (it == st.files.end()) {
            auto row = db.query("SELECT id, size, md5, sha1, sha256, sha512 FROM pool_files WHERE repository = ? "
                                "AND path = ?",
                                repository, st.directory + "/" + f.name);
            if (!row.step())
                throw fail(Exit::rejected, "'{}' (listed in '{}') is neither in the upload nor in the pool", f.name,
                           st.dsc_name);
            PoolFile pf{f.name, {}, st.directory + "/" + f.name,
                        FileDigest{std::uintmax_t(row.int64(1)), row.text(2), row.text(3), row.text(4), row.text(5)},
                        row.int64(0)};
            it = st.files.emplace(f.name, pf).first;
        }
        if (it->second.digest.size != f.size || it->second.digest.sha256 != f.sha256)
            throw fail(Exit::rejected, "'{}' does not match its size or SHA256 in '{}'", f.name, st.dsc_name);
        st.dsc_files.push_back(&it->second);
    }
}

// The source name and version a binary's control file says it was built from.
std::pair<std::string, std::string> built_from(const deb822::Paragraph& c, const std::string& pkg,
                                               const std::string& ver)
{
    std::string src_field = c.get("Source");
    auto sw = split_ws(src_field);
    std::string bin_source = sw.empty() ? pkg : std::string(sw[0]);
    std::string bin_source_version = ver;
    if (sw.size() == 2 && sw[1].size() > 2)
        bin_source_version = std::string(sw[1].substr(1, sw[1].size() - 2));
    return {bin_source, bin_source_version};
}

// One .deb or .udeb of the upload (e: its .changes entry), checked, with its pool path.
Binary stage_binary(const Staged& st, const std::string& name, PoolFile& pf, const debian::FileEntry* e,
                    const debian::DebInfo& info, const std::vector<std::string>& archs)
{
    bool deb = ends_with(name, ".deb");
    const auto& c = info.control;
    std::string pkg = c.get("Package"), ver = c.get("Version"), arch = c.get("Architecture");
    parse_version_or_reject(ver);
    auto [bin_source, bin_source_version] = built_from(c, pkg, ver);
    if (bin_source != st.source || bin_source_version != st.source_version)
        throw fail(Exit::rejected, "'{}' was built from {} {}, not from {} {}", name, bin_source, bin_source_version,
                   st.source, st.source_version);
    if (arch != "all" && std::find(archs.begin(), archs.end(), arch) == archs.end())
        throw fail(Exit::rejected, "'{}' is for architecture '{}', not one of '{}' ({})", name, arch, st.dist.name,
                   join(archs, ", "));
    std::string expected = fmt::format("{}_{}_{}.{}", pkg, Version::parse(ver).without_epoch(), arch, deb ? "deb" : "udeb");
    if (name != expected)
        throw fail(Exit::rejected, "'{}' should be named '{}' after its control file", name, expected);
    std::string sec = c.has("Section") ? c.get("Section") : e->section;
    pf.path = st.directory + "/" + name;
    std::string stanza = packages_stanza(c, pf.path, pf.digest, e->section, e->priority);
    return {pkg, ver, arch, deb ? "deb" : "udeb", sec, std::move(stanza), archive::contents_text(info.paths),
            info.paths_read, &pf};
}

// The binaries of the upload, checked.
void stage_binaries(Staged& st, std::map<std::string, const debian::FileEntry*>& entries,
                    const std::map<std::string, debian::DebInfo>& debs, const std::vector<std::string>& archs)
{
    for (auto& [name, pf] : st.files) {
        auto info = debs.find(name);
        if (info != debs.end())
            st.binaries.push_back(stage_binary(st, name, pf, entries[name], info->second, archs));
    }
}

// Into the pool go the source package and the binaries; what else the .changes lists
// (.buildinfo) was verified but is not published.
void keep_published_files(Staged& st)
{
    for (auto it = st.files.begin(); it != st.files.end();) {
        bool wanted = it->first == st.dsc_name || !it->second.path.empty() ||
                      std::any_of(st.dsc_files.begin(), st.dsc_files.end(),
                                  [&](const PoolFile* f) { return f == &it->second; });
        if (!wanted) {
            it = st.files.erase(it);
            continue;
        }
        if (it->second.path.empty())
            it->second.path = st.directory + "/" + it->first;
        ++it;
    }
}

// Pool files: the same name with other content is refused; with the same, it is that row.
// (The files not in the pool yet are all in the upload's directory: one query for them.)
void match_pool_files(db::Db& db, Staged& st, const std::string& repository)
{
    std::map<std::string, PoolFile*> wanted;
    for (auto& [name, pf] : st.files)
        if (!pf.id)
            wanted[pf.path] = &pf;
    if (wanted.empty())
        return;
    // (paths under DIR/ sort between "DIR/" and "DIR0", '0' following '/')
    auto row = db.query("SELECT path, id, size, sha256 FROM pool_files WHERE repository = ? AND path > ? AND path < ?",
                        repository, st.directory + "/", st.directory + "0");
    while (row.step()) {
        auto it = wanted.find(row.text(0));
        if (it == wanted.end())
            continue;
        PoolFile& pf = *it->second;
        if (std::uintmax_t(row.int64(2)) != pf.digest.size || row.text(3) != pf.digest.sha256)
            throw fail(Exit::exists, "pool file '{}' exists with other content", pf.path);
        pf.id = row.int64(1);
    }
}

// Check an upload: everything but writing. What it will install is returned.
std::shared_ptr<Staged> check_install(Context& ctx, const RepositoryLock& lock, const ParsedInstall& parsed,
                                      const DistChecks& checks, ReadUpload read)
{
    auto& db = ctx.db();
    auto st = std::make_shared<Staged>();
    const DistRef& dist = parsed.dist;
    st->repository = lock.id();
    st->source = parsed.source;
    st->source_version = parsed.source_version;
    st->dist = dist;
    if (dist.repository != lock.id())
        throw fail(Exit::usage, "'{}' is not a distribution of repository '{}'", dist.name, lock.id());
    // A version dropped but not yet published away must be gone before it comes back.
    if (dropped_unpublished(db, parsed))
        publish_repository(ctx, lock);
    const auto& repo = checks.rules.repo;
    const auto& distribution = checks.distribution;
    const auto& archs = checks.archs;

    st->files = std::move(read.files);
    auto& entries = read.entries;
    // The source: a .dsc among the files, or the same version held by the distribution.
    if (read.dsc_entry)
        stage_dsc(db, *st, *read.dsc_entry, std::move(*read.dsc), checks, parsed.import);
    else
        stage_held_source(db, *st);
    stage_directory(*st, distribution);
    if (st->dsc)
        stage_dsc_files(db, *st, repo.id);
    stage_binaries(*st, entries, read.debs, archs);
    if (!st->dsc && st->binaries.empty())
        throw fail(Exit::rejected, "the upload has neither a source nor binary packages");
    keep_published_files(*st);
    match_pool_files(db, *st, repo.id);
    return st;
}

// Copy (or hard-link: archive::place_unsynced) the new files of checked uploads into the
// pool, made durable through `durable`. They are recorded as pending first: a kill before
// their install commits leaves them to the next publish, which deletes them.
//
// The record, committed before any file is placed.
void record_pending(db::Db& db, const std::vector<std::shared_ptr<Staged>>& staged)
{
    db::Transaction tx(db);
    for (const auto& st : staged)
        for (const auto& [name, pf] : st->files)
            if (!pf.id)
                db.run("INSERT OR IGNORE INTO pool_pending(repository, path) VALUES (?, ?)", st->repository, pf.path);
    tx.commit();
}

// The files themselves (no database: a thread of its own may do it).
void place_into_pool(const fs::path& root, const std::vector<std::shared_ptr<Staged>>& staged,
                     archive::Durable& durable, bool link)
{
    fs::path dir; // the last one made (an upload's files share one)
    for (const auto& st : staged)
        for (const auto& [name, pf] : st->files)
            if (!pf.id) {
                fs::path to = root / pf.path;
                if (to.parent_path() != dir) {
                    dir = to.parent_path();
                    for (const auto& made : make_new_dirs(dir))
                        durable.dir(made.parent_path()); // (a new pool/main/n/NAME/ must survive with its files)
                    durable.dir(dir);
                }
                archive::place_unsynced(pf.from, to, link);
                durable.file(to);
                fault::point("install.pool");
            }
}

void copy_into_pool(db::Db& db, const fs::path& root, const std::vector<std::shared_ptr<Staged>>& staged,
                    archive::Durable& durable, bool link)
{
    record_pending(db, staged);
    place_into_pool(root, staged, durable, link);
}

// A transaction of its own, or a savepoint in the caller's (a batch of installs).
class Unit {
public:
    explicit Unit(db::Db& db) : db_(db), nested_(db.in_transaction())
    {
        db_.exec(nested_ ? "SAVEPOINT install" : "BEGIN IMMEDIATE");
    }
    ~Unit()
    {
        if (!done_) {
            try {
                db_.exec(nested_ ? "ROLLBACK TO install; RELEASE install" : "ROLLBACK");
            } catch (...) {
            }
        }
    }
    Unit(const Unit&) = delete;
    Unit& operator=(const Unit&) = delete;
    void commit()
    {
        db_.exec(nested_ ? "RELEASE install" : "COMMIT");
        done_ = true;
    }

private:
    db::Db& db_;
    bool nested_;
    bool done_ = false;
};

// Pool files recorded as pending or as garbage that are installed now are neither: once
// per batch of installs, and by each publish's collection (the garbage must not be
// collected; the pending rows are done with).
void settle_pool_rows(db::Db& db, const std::string& repository)
{
    for (auto table : {"pool_pending", "pool_garbage"})
        db.run(fmt::format("DELETE FROM {0} WHERE repository = ? AND EXISTS (SELECT 1 FROM pool_files f "
                           "WHERE f.repository = {0}.repository AND f.path = {0}.path)",
                           table),
               repository);
}

// How the pool rows of an install are settled: by the install itself (one file at a time),
// or by its caller, once for a batch (settle_pool_rows).
enum class PoolRows { each, by_batch };

// The database side of an install, once its files are in the pool and durable.
InstallResult commit_install(db::Db& db, Staged& st, const std::function<void(db::Db&)>& also = {},
                             PoolRows pool_rows = PoolRows::each)
{
    auto& files = st.files;
    const auto& dist = st.dist;
    const auto& source = st.source;
    const auto& source_version = st.source_version;
    const auto& binaries = st.binaries;
    const auto& dsc = st.dsc;
    InstallResult result{dist, source, source_version, {}, {}, {}};
    {
        Unit tx(db);
        for (auto& [name, pf] : files) {
            if (!pf.id) {
                db.run("INSERT INTO pool_files(repository, path, size, md5, sha1, sha256, sha512) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)",
                       st.repository, pf.path, pf.digest.size, pf.digest.md5, pf.digest.sha1, pf.digest.sha256,
                       pf.digest.sha512);
                pf.id = db.last_insert_id();
            }
            if (pool_rows == PoolRows::each) {
                db.run("DELETE FROM pool_pending WHERE repository = ? AND path = ?", st.repository, pf.path);
                db.run("DELETE FROM pool_garbage WHERE repository = ? AND path = ?", st.repository, pf.path);
            }
            result.pool_files.push_back(pf.path);
        }
        long long source_id;
        if (dsc) {
            std::string stanza = sources_stanza(dsc->fields, st.directory, files[st.dsc_name], st.dsc_files,
                                                st.section, st.priority);
            db.run("INSERT INTO source_packages(repository, name, version, component, stanza, installed) "
                   "VALUES (?, ?, ?, ?, ?, ?)",
                   st.repository, source, source_version, st.component, stanza, now_seconds());
            source_id = db.last_insert_id();
            db.run("INSERT INTO source_files(source_id, file_id) VALUES (?, ?)", source_id, files[st.dsc_name].id);
            for (const auto* f : st.dsc_files)
                db.run("INSERT OR IGNORE INTO source_files(source_id, file_id) VALUES (?, ?)", source_id, f->id);
        } else {
            source_id = *st.existing_source;
        }
        std::vector<long long> new_binaries;
        for (const auto& b : binaries) {
            // (a source inserted just now has no binaries yet)
            if (!dsc && db.scalar_int("SELECT 1 FROM binary_packages WHERE source_id = ? AND name = ? AND architecture = ?",
                                      source_id, b.name, b.arch))
                throw fail(Exit::exists, "{} {} has a binary package '{}' for '{}' already", source, source_version,
                           b.name, b.arch);
            db.run("INSERT INTO binary_packages(source_id, name, version, architecture, kind, section, file_id, "
                   "stanza, contents, contents_read) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   source_id, b.name, b.version, b.arch, b.kind, b.section, b.file->id, b.stanza, b.contents,
                   b.contents_read);
            new_binaries.push_back(db.last_insert_id());
            result.binaries.push_back(fmt::format("{}_{}_{}", b.name, b.version, b.arch));
        }
        if (dsc) {
            place(db, dist, source, source_id);
        } else {
            // New binaries of a source some distributions hold already.
            for (long long bin : new_binaries)
                db.run("INSERT INTO dist_journal(dist_id, added, source_id, binary_id) "
                       "SELECT dist_id, 1, source_id, ? FROM dist_sources ds WHERE source_id = ? AND NOT EXISTS "
                       "(SELECT 1 FROM dist_journal m WHERE m.source_id = 0 AND m.dist_id = ds.dist_id)",
                       bin, source_id);
        }
        check_binary_clash(db, dist.id, dist.name, source, source_id);
        add_event(db, "INSTALLED", source, source_version, dist.name,
                  fmt::format("installed {} {} into {} ({})", source, source_version, dist.name,
                              result.binaries.empty() ? "source only" : join(result.binaries, ", ")));
        if (also)
            also(db);
        fault::point("install.commit");
        tx.commit();
    }
    log::info("installed {} {} into {}", source, source_version, dist.name);
    return result;
}

} // namespace

InstallResult install(Context& ctx, const InstallRequest& request)
{
    auto parsed = parse_install(ctx.db(), request.changes, request.dist);
    RepositoryLock lock(ctx, parsed.dist.repository);
    auto st = check_install(ctx, lock, parsed, dist_checks(ctx.db(), parsed.dist),
                             read_upload(parsed, paths_to_read(ctx)));
    fs::path root = archive::repository_dir(ctx, lock.id());
    archive::Durable durable;
    copy_into_pool(ctx.db(), root, {st}, durable, request.link);
    durable.flush(root);
    auto result = commit_install(ctx.db(), *st, request.also);
    if (request.publish)
        result.published = publish_repository(ctx, lock);
    return result;
}

// Uploads installed in one transaction by install_each (their files synced at once). At
// 50,000 packages 250, 500 and 1000 took the same time; 500 holds 40 MB at its peak, 1000
// 49 MB.
constexpr size_t install_batch = 500;

namespace {

// How many journal rows the installs of this run add to each distribution: past what its
// next publish reads into memory (archive::journal_room) the distribution is marked to be
// built in full, and the installs after the mark journal no additions. Counted from the
// journal there is at a distribution's first install (a distribution never published is
// built in full by its first publish: marked at once). Only the rows an upload adds are
// counted (not a replaced version's removal, nor an import's placing of what the repository
// has): a journal longer than counted goes past the limit all the same, and its publish builds
// in full by the count; the mark only spares the rows. (An upload that fails after its charge
// may leave the mark its rows called for: the next publish builds in full all the same.)
class JournalBudget {
public:
    explicit JournalBudget(long long floor_rows) : floor_rows_(floor_rows) {}

    // Before st's install, in its transaction.
    void charge(db::Db& db, const Staged& st)
    {
        long long id = st.dist.id;
        auto it = dists_.find(id);
        if (it == dists_.end()) {
            Budget b;
            b.marked = archive::full_build_marked(db, id);
            if (!b.marked)
                b.left = archive::journal_room(db, id, floor_rows_);
            it = dists_.emplace(id, b).first;
        }
        Budget& b = it->second;
        if (b.marked)
            return;
        // (its additions: a row for its source, one per binary; a replaced version's removal
        // is not counted: a journal longer than counted has the publish build it in full anyway)
        b.left -= (st.dsc ? 1 : 0) + (long long)st.binaries.size();
        if (b.left < 0) {
            archive::mark_full_build(db, id);
            b.marked = true;
        }
    }

private:
    struct Budget {
        bool marked = false;
        long long left = 0;
    };
    long long floor_rows_;
    std::map<long long, Budget> dists_;
};

// The batches of install_each, two at a time: while one batch's files go into the pool
// (and are synced) on a thread of its own, the one before it is committed and the next is
// checked. A batch commits only once its files are durable (its thread joined).
class Batches {
public:
    Batches(db::Db& db, const fs::path& root, bool link, const std::function<void(const InstallResult&)>& installed,
            long long journal_floor)
        : db_(db), root_(root), link_(link), installed_(installed), budget_(journal_floor)
    {
    }
    Batches(const Batches&) = delete;
    Batches& operator=(const Batches&) = delete;

    // Checking an upload of this source must wait for the batches that hold it.
    bool holds(const std::string& source) const { return open_sources_.count(source) || placed_sources_.count(source); }
    size_t open_size() const { return open_.size(); }
    bool any_installed() const { return any_; }

    void add(std::shared_ptr<Staged> st)
    {
        open_sources_.insert(st->source);
        open_.push_back(std::move(st));
    }

    // The open batch's files go into the pool (on their thread), the batch before it is
    // committed. The caller holds no read transaction. After an error nothing more goes
    // in (the files of a batch not committed stay pending, for the next publish to delete).
    void rotate()
    {
        if (failed_)
            return;
        try {
            rotate_once();
        } catch (...) {
            failed_ = true;
            throw;
        }
    }

    // Every batch committed.
    void finish()
    {
        rotate();
        rotate();
    }

private:
    void rotate_once()
    {
        auto placed = wait_placed();
        placed_sources_ = std::move(open_sources_);
        open_sources_.clear();
        if (!open_.empty()) {
            placed_ = std::move(open_);
            open_.clear();
            record_pending(db_, placed_);
            placing_ = std::jthread([this] {
                try {
                    archive::Durable durable;
                    place_into_pool(root_, placed_, durable, link_);
                    durable.flush(root_);
                } catch (...) {
                    placing_error_ = std::current_exception();
                }
            });
        }
        commit(placed);
    }

    // The batch whose files were being placed, once they are durable.
    std::vector<std::shared_ptr<Staged>> wait_placed()
    {
        if (placing_.joinable())
            placing_.join();
        placed_sources_.clear();
        auto placed = std::move(placed_);
        placed_.clear();
        if (auto e = std::exchange(placing_error_, nullptr))
            std::rethrow_exception(e);
        return placed;
    }

    void commit(std::vector<std::shared_ptr<Staged>>& staged)
    {
        if (staged.empty())
            return;
        std::vector<InstallResult> results;
        db::Transaction tx(db_);
        auto committed = [&] {
            settle_pool_rows(db_, staged.front()->repository);
            tx.commit();
            any_ = any_ || !results.empty();
            for (const auto& r : results)
                installed_(r);
        };
        for (auto& st : staged) {
            try {
                budget_.charge(db_, *st);
                results.push_back(commit_install(db_, *st, {}, PoolRows::by_batch));
            } catch (...) {
                committed(); // those before it go in
                throw;
            }
        }
        committed();
    }

    db::Db& db_;
    const fs::path& root_;
    bool link_;
    const std::function<void(const InstallResult&)>& installed_;
    JournalBudget budget_;
    std::vector<std::shared_ptr<Staged>> open_, placed_; // being checked; going into the pool
    std::set<std::string> open_sources_, placed_sources_;
    std::exception_ptr placing_error_;
    bool any_ = false;    // something went in
    bool failed_ = false; // a batch could not go in
    std::jthread placing_; // (last: joined before what it uses goes)
};

} // namespace

std::vector<std::string> install_each(Context& ctx, const std::vector<std::filesystem::path>& changes,
                                      const std::string& dist, bool publish, bool link,
                                      const std::function<void(const InstallResult&)>& installed)
{
    if (changes.empty())
        return {};
    auto first = parse_install(ctx.db(), {changes.front()}, dist);
    RepositoryLock lock(ctx, first.dist.repository);
    fs::path root = archive::repository_dir(ctx, lock.id());
    // In batches: check many, copy their files, make them durable at once, install them in
    // one transaction. An upload of a source already in a batch waits for it.
    auto& db = ctx.db();
    Batches batches(db, root, link, installed, archive::journal_floor(ctx));
    std::map<long long, DistChecks> checks; // by distribution id
    // The checks of a batch read one snapshot: with the repository locked, only this
    // install changes what they read, and it writes between them (rotate, finish).
    std::optional<db::ReadSnapshot> reading;
    try {
        // (past a batch: the reading goes on while a batch is committed; 8 MiB hold some
        // 500 small uploads)
        ReadAhead ahead(changes, paths_to_read(ctx), 2 * install_batch, 8 << 20);
        for (size_t i = 0; i < changes.size(); ++i) {
            auto [parsed, read] = ahead.take(i);
            if (!reading)
                reading.emplace(db);
            resolve_dist(db, parsed, dist);
            // (checking may publish, which must not find files of a batch pending, nor run
            // in a read snapshot)
            bool publishes = dropped_unpublished(db, parsed);
            if (batches.holds(parsed.source) || publishes) {
                reading.reset();
                batches.finish();
            } else if (batches.open_size() >= install_batch) {
                reading.reset();
                batches.rotate();
            }
            if (!publishes && !reading)
                reading.emplace(db);
            auto known = checks.find(parsed.dist.id);
            if (known == checks.end())
                known = checks.emplace(parsed.dist.id, dist_checks(db, parsed.dist)).first;
            batches.add(check_install(ctx, lock, parsed, known->second, std::move(read)));
        }
        reading.reset();
        batches.finish();
    } catch (...) {
        reading.reset();
        try {
            batches.finish(); // what was checked before the failure goes in
        } catch (...) {
        }
        if (publish && batches.any_installed())
            publish_repository(ctx, lock); // and is published; the error stands
        throw;
    }
    return publish && batches.any_installed() ? publish_repository(ctx, lock) : std::vector<std::string>{};
}

// ---- import --------------------------------------------------------------------------

std::string_view outcome_name(ImportOutcome o)
{
    switch (o) {
    case ImportOutcome::installed: return "installed";
    case ImportOutcome::placed: return "placed";
    case ImportOutcome::held: return "held";
    case ImportOutcome::older: return "older";
    case ImportOutcome::failed: return "failed";
    }
    return "?";
}

namespace {

// What an import does with one package, from what the repository holds now.
struct ImportPlan {
    ImportOutcome outcome = ImportOutcome::installed;
    std::string why;
    std::optional<long long> existing; // placed: the repository's row of this version
};

ImportPlan plan_import(db::Db& db, const DistRef& suite, int rollbacks, const ImportPackage& p)
{
    Version version = parse_version_or_reject(p.version);
    for (int rb = 0; rb <= rollbacks; ++rb) {
        auto dist_id = group_dist_id(db, suite, rb);
        auto held = dist_id ? member(db, *dist_id, p.source) : std::nullopt;
        if (held && version_of(db, *held) == p.version)
            return {ImportOutcome::held, "", {}};
    }
    if (auto held = member(db, suite.id, p.source)) {
        std::string hv = version_of(db, *held);
        if (Version::parse(hv) > version)
            return {ImportOutcome::older, fmt::format("older than {} {} that '{}' holds", p.source, hv, suite.name), {}};
    }
    auto existing = db.scalar_int("SELECT id FROM source_packages WHERE repository = ? AND name = ? AND version = ?",
                                  suite.repository, p.source, p.version);
    if (existing)
        return {ImportOutcome::placed, "", existing};
    return {};
}

// An import package as the .changes of an upload would describe it.
ParsedInstall parsed_import(const DistRef& suite, const ImportPackage& p)
{
    Upload u;
    u.changes.source = p.source;
    u.changes.source_version = p.version;
    u.changes.version = Version::parse(p.version);
    u.changes.files = p.files;
    u.at = p.at;
    u.lists = "the archive's index";
    ParsedInstall parsed;
    parsed.uploads.push_back(std::move(u));
    parsed.source = p.source;
    parsed.source_version = p.version;
    parsed.dist = suite;
    parsed.import = true;
    return parsed;
}

} // namespace

std::vector<ImportPackageResult> import_packages(Context& ctx, const RepositoryLock& lock, const DistRef& suite,
                                                 const std::vector<ImportPackage>& packages,
                                                 const std::function<void(std::size_t)>& progress)
{
    auto& db = ctx.db();
    if (suite.repository != lock.id() || suite.is_rollback())
        throw fail(Exit::usage, "'{}' is not a suite of repository '{}'", suite.name, lock.id());
    int rollbacks = suite_of(db, suite).rollbacks;
    std::vector<ImportPackageResult> results(packages.size());
    // Oldest version of each source first (a bad version sorts first, and fails there).
    std::vector<std::size_t> order(packages.size());
    for (std::size_t i = 0; i < order.size(); ++i)
        order[i] = i;
    auto key = [&](std::size_t i) {
        return Version::invalid_reason(packages[i].version) ? std::optional<Version>() : Version::parse(packages[i].version);
    };
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        if (packages[a].source != packages[b].source)
            return packages[a].source < packages[b].source;
        return key(a) < key(b);
    });

    fs::path root = archive::repository_dir(ctx, lock.id());
    DistChecks checks = dist_checks(db, suite);
    auto paths = paths_to_read(ctx);
    std::vector<std::pair<std::size_t, std::shared_ptr<Staged>>> batch;
    std::vector<std::pair<std::size_t, long long>> placements;
    std::set<std::string> sources;
    std::size_t done = 0;
    auto decided = [&] {
        if (progress)
            progress(++done);
    };
    // A batch: the new files into the pool and durable, then one transaction, a savepoint
    // per package (a failing one is rolled back alone).
    JournalBudget budget(archive::journal_floor(ctx));
    auto commit_batch = [&] {
        auto staged = std::move(batch);
        auto placing = std::move(placements);
        batch.clear();
        placements.clear();
        sources.clear();
        if (staged.empty() && placing.empty())
            return;
        std::vector<std::shared_ptr<Staged>> files;
        for (const auto& [i, st] : staged)
            files.push_back(st);
        archive::Durable durable;
        copy_into_pool(db, root, files, durable, true); // (the other archive's files, or downloads)
        durable.flush(root);
        db::Transaction tx(db);
        for (auto& [i, st] : staged) {
            try {
                budget.charge(db, *st);
                commit_install(db, *st, {}, PoolRows::by_batch);
                results[i] = {ImportOutcome::installed, ""};
            } catch (const Error& e) {
                results[i] = {ImportOutcome::failed, e.what()};
            }
        }
        for (auto [i, id] : placing) {
            const auto& p = packages[i];
            try {
                Unit unit(db);
                place(db, suite, p.source, id);
                check_binary_clash(db, suite.id, suite.name, p.source, id);
                add_event(db, "MIGRATED", p.source, p.version, suite.name,
                          fmt::format("imported {} {} into {} (the repository had it)", p.source, p.version,
                                      suite.name));
                unit.commit();
                results[i] = {ImportOutcome::placed, ""};
            } catch (const Error& e) {
                results[i] = {ImportOutcome::failed, e.what()};
            }
        }
        if (!files.empty())
            settle_pool_rows(db, files.front()->repository);
        tx.commit();
    };
    for (std::size_t i : order) {
        const auto& p = packages[i];
        try {
            // (what it holds decides, so an earlier version of the source must be in first)
            if (sources.count(p.source) || batch.size() >= 1000)
                commit_batch();
            ImportPlan plan = plan_import(db, suite, rollbacks, p);
            results[i] = {plan.outcome, plan.why};
            if (plan.outcome == ImportOutcome::placed) {
                sources.insert(p.source);
                placements.emplace_back(i, *plan.existing);
            } else if (plan.outcome == ImportOutcome::installed) {
                if (!std::any_of(p.files.begin(), p.files.end(), [](const auto& f) { return ends_with(f.name, ".dsc"); }))
                    throw fail(Exit::rejected, "the archive has binaries of {} {} but not its source", p.source,
                               p.version);
                auto parsed = parsed_import(suite, p);
                if (dropped_unpublished(db, parsed)) {
                    commit_batch();
                    publish_repository(ctx, lock);
                }
                sources.insert(p.source);
                batch.emplace_back(i, check_install(ctx, lock, parsed, checks, read_upload(parsed, paths)));
            }
        } catch (const Error& e) {
            results[i] = {ImportOutcome::failed, e.what()};
        }
        decided();
    }
    commit_batch();
    return results;
}

// ---- migrate, remove --------------------------------------------------------------------

ChangeResult migrate(Context& ctx, std::string_view source, std::string_view from_dist, bool publish)
{
    auto& db = ctx.db();
    DistRef from = find_dist(db, from_dist);
    RepositoryLock lock(ctx, from.repository);
    if (from.is_rollback())
        throw fail(Exit::usage, "'{}' is a rollback distribution; migrate from a suite", from.name);
    Suite suite = suite_of(db, from);
    if (!suite.migrates_to)
        throw fail(Exit::not_allowed, "suite '{}' does not migrate (its layout says so)", from.suite);
    DistRef to = find_suite_dist(db, from.repository, from.codename, *suite.migrates_to);
    auto held = member(db, from.id, source);
    if (!held)
        throw fail(Exit::not_found, "'{}' holds no source '{}'", from.name, source);
    std::string version = version_of(db, *held);
    if (auto there = member(db, to.id, source)) {
        std::string tv = version_of(db, *there);
        if (*there == *held)
            throw fail(Exit::exists, "'{}' holds {} {} already", to.name, source, tv);
        if (Version::parse(tv) > Version::parse(version))
            throw fail(Exit::rejected, "'{}' holds {} {}, newer than {}", to.name, source, tv, version);
    }
    {
        db::Transaction tx(db);
        place(db, to, source, *held);
        check_binary_clash(db, to.id, to.name, source, *held);
        add_event(db, "MIGRATED", source, version, to.name,
                  fmt::format("migrated {} {} from {} to {}", source, version, from.name, to.name));
        tx.commit();
    }
    log::info("migrated {} {} from {} to {}", source, version, from.name, to.name);
    ChangeResult r{std::string(source), version, from.name, to.name, {}};
    if (publish)
        r.published = publish_repository(ctx, lock);
    return r;
}

ChangeResult remove(Context& ctx, std::string_view source, std::string_view dist_name,
                    const std::optional<std::string>& version, bool publish)
{
    auto& db = ctx.db();
    DistRef dist = find_dist(db, dist_name);
    RepositoryLock lock(ctx, dist.repository);
    auto held = member(db, dist.id, source);
    if (!held)
        throw fail(Exit::not_found, "'{}' holds no source '{}'", dist.name, source);
    std::string v = version_of(db, *held);
    if (version && *version != v)
        throw fail(Exit::not_found, "'{}' holds {} {}, not {}", dist.name, source, v, *version);
    {
        db::Transaction tx(db);
        set_member(db, dist.id, source, std::nullopt);
        add_event(db, "REMOVED", source, v, dist.name, fmt::format("removed {} {} from {}", source, v, dist.name));
        tx.commit();
    }
    log::info("removed {} {} from {}", source, v, dist.name);
    ChangeResult r{std::string(source), v, dist.name, {}, {}};
    if (publish)
        r.published = publish_repository(ctx, lock);
    return r;
}

std::vector<std::string> publish_repository(Context& ctx, const RepositoryLock& lock, bool rebuild,
                                            const std::optional<std::string>& dist)
{
    auto report = archive::publish(ctx, lock, {rebuild, dist});
    auto& db = ctx.db();
    fs::path root = archive::repository_dir(ctx, lock.id());
    long long now = now_seconds();
    std::vector<std::string> unlink;
    {
        db::Transaction tx(db);
        // Sources nothing holds (no distribution, no snapshot, no unpublished change) go, then
        // the pool files nothing else names; each look-up by index, so this costs what was dropped.
        std::vector<long long> drop;
        auto c = db.query("SELECT c.source_id FROM gc_candidates c CROSS JOIN source_packages s ON s.id = c.source_id "
                          "WHERE s.repository = ? AND NOT EXISTS (SELECT 1 FROM dist_sources WHERE source_id = c.source_id) "
                          "AND NOT EXISTS (SELECT 1 FROM snapshot_sources WHERE source_id = c.source_id) "
                          "AND NOT EXISTS (SELECT 1 FROM dist_journal WHERE source_id = c.source_id)",
                          lock.id());
        while (c.step())
            drop.push_back(c.int64(0));
        for (long long id : drop) {
            std::vector<long long> files;
            auto f = db.query("SELECT file_id FROM source_files WHERE source_id = ? UNION "
                              "SELECT file_id FROM binary_packages WHERE source_id = ?",
                              id, id);
            while (f.step())
                files.push_back(f.int64(0));
            db.run("DELETE FROM source_packages WHERE id = ?", id);
            for (long long file : files) {
                if (db.scalar_int("SELECT 1 FROM source_files WHERE file_id = ? UNION ALL "
                                  "SELECT 1 FROM binary_packages WHERE file_id = ?",
                                  file, file))
                    continue;
                db.run("INSERT OR IGNORE INTO pool_garbage(repository, path, since) "
                       "SELECT repository, path, ? FROM pool_files WHERE id = ?",
                       now, file);
                db.run("DELETE FROM pool_files WHERE id = ?", file);
            }
        }
        // Candidates held again (moved to a rollback, migrated) or by a snapshot are done with
        // until dropped again (snapshot remove makes its sources candidates again).
        db.run("DELETE FROM gc_candidates WHERE EXISTS (SELECT 1 FROM dist_sources ds "
               "WHERE ds.source_id = gc_candidates.source_id) OR EXISTS (SELECT 1 FROM snapshot_sources ss "
               "WHERE ss.source_id = gc_candidates.source_id)");
        // Pending files of installs killed before their commit (those committed since are
        // in pool_files: nothing to do), and garbage past its grace period. Their rows go
        // once the files are gone, so a kill in between leaves them to the next publish.
        auto pending = db.query("SELECT p.path FROM pool_pending p WHERE p.repository = ? AND NOT EXISTS "
                                "(SELECT 1 FROM pool_files f WHERE f.repository = p.repository AND f.path = p.path)",
                                lock.id());
        while (pending.step())
            unlink.push_back(pending.text(0));
        settle_pool_rows(db, lock.id()); // (and no garbage row may name a file installed again)
        auto old = db.query("SELECT path FROM pool_garbage WHERE repository = ? AND since + ? <= ?", lock.id(),
                            ctx.config().get_int("publish.pool_grace"), now);
        while (old.step())
            unlink.push_back(old.text(0));
        tx.commit();
    }
    fault::point("publish.gc");
    for (const auto& p : unlink) {
        std::error_code ec;
        fs::remove(root / p, ec);
        // empty pool directories go too (never pool/ itself)
        for (fs::path dir = (root / p).parent_path(); dir != root / "pool" && fs::is_empty(dir, ec) && !ec;
             dir = dir.parent_path())
            fs::remove(dir, ec);
        fault::point("publish.gc");
    }
    if (!unlink.empty()) {
        db::Transaction tx(db);
        for (const auto& p : unlink) {
            db.run("DELETE FROM pool_pending WHERE repository = ? AND path = ?", lock.id(), p);
            db.run("DELETE FROM pool_garbage WHERE repository = ? AND path = ?", lock.id(), p);
        }
        tx.commit();
    }
    return report.dists;
}

std::vector<std::string> publish_unfinished(Context& ctx)
{
    std::vector<std::string> ids;
    {
        auto q = ctx.db().query(
            "SELECT DISTINCT d.repository FROM dist_journal j JOIN dists d ON d.id = j.dist_id "
            "LEFT JOIN published_dists p ON p.dist_id = j.dist_id WHERE p.seq IS NULL OR j.seq > p.seq "
            "UNION SELECT repository FROM pool_pending ORDER BY 1");
        while (q.step())
            ids.push_back(q.text(0));
    }
    std::vector<std::string> published;
    for (const auto& id : ids) {
        RepositoryLock lock(ctx, id);
        auto dists = publish_repository(ctx, lock);
        published.insert(published.end(), dists.begin(), dists.end());
    }
    return published;
}

// ---- queries ------------------------------------------------------------------------

namespace {

std::vector<Holding> holdings(db::Db& db, const std::string& where, const std::vector<std::string>& args)
{
    std::vector<Holding> out;
    auto q = db.prepare("SELECT d.name, s.name, s.version, s.component, ds.since, s.id FROM dist_sources ds "
                        "JOIN dists d ON d.id = ds.dist_id JOIN source_packages s ON s.id = ds.source_id "
                        "JOIN repositories r ON r.id = d.repository "
                        "JOIN layout_suites ls ON ls.layout = r.layout AND ls.suite = d.suite WHERE " +
                        where + " ORDER BY s.name, d.repository, d.codename, ls.position, d.rollback");
    for (size_t i = 0; i < args.size(); ++i)
        q.bind(int(i + 1), args[i]);
    auto bins = db.prepare("SELECT name, version, architecture FROM binary_packages WHERE source_id = ? "
                           "ORDER BY name, architecture");
    while (q.step()) {
        Holding h{q.text(0), q.text(1), q.text(2), q.text(3), q.int64(4), {}};
        bins.reset();
        bins.bind(1, q.int64(5));
        while (bins.step())
            h.binaries.push_back(fmt::format("{}_{}_{}", bins.text(0), bins.text(1), bins.text(2)));
        out.push_back(std::move(h));
    }
    return out;
}

} // namespace

std::vector<Holding> list_holdings(db::Db& db, std::string_view repository, std::string_view dist,
                                   std::string_view first, std::string_view last)
{
    std::string where = "1";
    std::vector<std::string> args;
    if (!repository.empty()) {
        get_repository(db, repository);
        where += " AND d.repository = ?";
        args.emplace_back(repository);
    }
    if (!dist.empty()) {
        auto d = find_dist(db, dist);
        where += " AND d.id = " + std::to_string(d.id);
    }
    if (!first.empty() || !last.empty()) {
        where += " AND ds.name >= ? AND ds.name <= ?";
        args.emplace_back(first);
        args.emplace_back(last);
    }
    return holdings(db, where, args);
}

std::vector<std::string> source_names(db::Db& db, std::string_view dist)
{
    std::vector<std::string> out;
    auto q = dist.empty() ? db.prepare("SELECT DISTINCT name FROM dist_sources ORDER BY name")
                          : db.prepare("SELECT name FROM dist_sources WHERE dist_id = ? ORDER BY name");
    if (!dist.empty())
        q.bind(1, find_dist(db, dist).id);
    while (q.step())
        out.push_back(q.text(0));
    return out;
}

SourceRange source_range(db::Db& db, std::string_view dist, std::string_view low, std::string_view high)
{
    auto q = dist.empty() ? db.prepare("SELECT count(DISTINCT name), min(name), max(name) FROM dist_sources "
                                       "WHERE name >= ?1 AND name < ?2")
                          : db.prepare("SELECT count(*), min(name), max(name) FROM dist_sources "
                                       "WHERE name >= ?1 AND name < ?2 AND dist_id = ?3");
    q.bind(1, low);
    q.bind(2, high);
    if (!dist.empty())
        q.bind(3, find_dist(db, dist).id);
    SourceRange out;
    if (q.step() && q.int64(0) > 0)
        out = {std::size_t(q.int64(0)), q.text(1), q.text(2)};
    return out;
}

std::vector<Holding> show_source(db::Db& db, std::string_view source, std::string_view repository)
{
    std::string where = "ds.name = ?"; // (each distribution's key: no scan of every source)
    std::vector<std::string> args{std::string(source)};
    if (!repository.empty()) {
        get_repository(db, repository);
        where += " AND d.repository = ?";
        args.emplace_back(repository);
    }
    auto out = holdings(db, where, args);
    if (out.empty())
        throw fail(Exit::not_found, "no distribution holds a source '{}'", source);
    return out;
}

std::vector<Holding> search(db::Db& db, std::string_view pattern, std::string_view repository)
{
    std::vector<Holding> out;
    std::string pat(pattern);
    for (auto& h : list_holdings(db, repository, ""))
        if (fnmatch(pat.c_str(), h.source.c_str(), 0) == 0 ||
            std::any_of(h.binaries.begin(), h.binaries.end(), [&](const std::string& b) {
                return fnmatch(pat.c_str(), b.substr(0, b.find('_')).c_str(), 0) == 0;
            }))
            out.push_back(std::move(h));
    return out;
}

std::string pool_directory(std::string_view component, std::string_view source)
{
    auto prefix = starts_with(source, "lib") && source.size() > 3 ? source.substr(0, 4) : source.substr(0, 1);
    return fmt::format("pool/{}/{}/{}", component, prefix, source);
}

Json to_json(const Holding& h)
{
    Json bins = Json::array();
    for (const auto& b : h.binaries)
        bins.push(b);
    return Json::object()
        .set("distribution", h.dist)
        .set("source", h.source)
        .set("version", h.version)
        .set("component", h.component)
        .set("since", iso_time(h.since))
        .set("binaries", bins);
}

} // namespace mbd::repo
