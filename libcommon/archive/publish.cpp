#include "archive/publish.hpp"

#include "archive/dists.hpp"
#include "archive/durable.hpp"
#include "archive/index.hpp"
#include "core/error.hpp"
#include "core/fault.hpp"
#include "core/fs.hpp"
#include "core/log.hpp"
#include "core/strings.hpp"
#include "db/db.hpp"
#include "keys/instance.hpp"
#include "model/model.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <fcntl.h>
#include <map>
#include <mutex>
#include <set>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace mbd::archive {
namespace {

namespace fs = std::filesystem;

// The journal since the last publish, as changes per index path.
std::map<std::string, std::vector<Change>> journal_changes(db::Db& db, long long dist_id, long long after,
                                                           const std::vector<IndexSpec>& specs)
{
    std::map<std::string, std::vector<Change>> out;
    auto r = db.query("SELECT j.added, j.binary_id IS NULL, s.component, "
                      "CASE WHEN j.binary_id IS NULL THEN s.stanza ELSE b.stanza END, "
                      "b.architecture, b.kind, b.section, b.name, b.contents "
                      "FROM dist_journal j JOIN source_packages s ON s.id = j.source_id "
                      "LEFT JOIN binary_packages b ON b.id = j.binary_id "
                      "WHERE j.dist_id = ? AND j.seq > ? ORDER BY j.seq",
                      dist_id, after);
    while (r.step()) {
        bool added = r.int64(0) != 0;
        bool is_source = r.int64(1) != 0;
        std::string component = r.text(2), stanza = r.text(3);
        std::string arch = r.text(4), kind = r.text(5);
        for (const auto& spec : specs) {
            if (spec.component != component)
                continue;
            if (is_source) {
                if (spec.kind == IndexKind::sources)
                    out[spec.path].push_back(
                        {stanza_key(spec.kind, stanza), added ? std::optional<std::string>(stanza) : std::nullopt});
                continue;
            }
            if (spec.kind == IndexKind::sources || spec.pkg_kind != kind || (arch != spec.arch && arch != "all"))
                continue;
            if (spec.kind == IndexKind::packages) {
                out[spec.path].push_back(
                    {stanza_key(spec.kind, stanza), added ? std::optional<std::string>(stanza) : std::nullopt});
            } else {
                std::vector<Entry> e;
                add_contents(e, r.text(8), qualified_name(r.text(6), r.text(7)));
                for (auto& x : e)
                    out[spec.path].push_back({std::move(x.key), added ? std::optional<std::string>("") : std::nullopt});
            }
        }
    }
    return out;
}

fs::path by_hash(const fs::path& file, std::string_view algo, const std::string& hash)
{
    return file.parent_path() / "by-hash" / std::string(algo) / hash;
}

// A by-hash name that exists already is replaced, not trusted: the same content can come
// back (an index returning to an earlier state), and a power cut can leave the name of
// an earlier, interrupted publish with its data lost. Replaced by one rename, a reader
// sees the old file or the new one, with the same content when both are whole.
void link_replacing(const fs::path& from, const fs::path& to)
{
    if (::link(from.c_str(), to.c_str()) == 0)
        return;
    fs::path tmp = to.parent_path() / ("." + to.filename().string() + ".tmp");
    if (errno != EEXIST || (::unlink(tmp.c_str()) != 0 && errno != ENOENT) || ::link(from.c_str(), tmp.c_str()) != 0 ||
        ::rename(tmp.c_str(), to.c_str()) != 0)
        throw sys_error(fmt::format("cannot link '{}'", to.string()));
}

// by-hash first, then the canonical name.
void install_file(const fs::path& tmp, const fs::path& target, const FileInfo& info)
{
    auto b256 = by_hash(target, "SHA256", info.sha256), b512 = by_hash(target, "SHA512", info.sha512);
    make_dirs(b256.parent_path());
    make_dirs(b512.parent_path());
    link_replacing(tmp, b256);
    link_replacing(tmp, b512);
    fault::point("publish.by-hash");
    if (::rename(tmp.c_str(), target.c_str()) != 0)
        throw sys_error(fmt::format("cannot rename into '{}'", target.string()));
    fault::point("publish.index");
}

// Mark superseded by-hash files: their grace period starts now.
void touch_superseded(const fs::path& target, const FileInfo& old)
{
    for (auto [algo, hash] : {std::pair{"SHA256", &old.sha256}, std::pair{"SHA512", &old.sha512}})
        if (!hash->empty()) // (a leftover file's hashes are not known)
            ::utimensat(AT_FDCWD, by_hash(target, algo, *hash).c_str(), nullptr, 0);
}

void remove_stale_temporaries(const fs::path& dir)
{
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        auto name = e.path().filename().string();
        if (starts_with(name, ".") && name.find(".tmp.") != std::string::npos)
            fs::remove(e.path(), ec);
    }
}

struct Published {
    long long seq = 0;
    std::string header;
    long long published = 0, valid_until = 0;
    std::string indices; // its index set's words
};

// The files of an index its state says were written: the suffix and its file's size and hashes.
std::vector<std::pair<std::string, const FileInfo*>> forms_of(const IndexState& st)
{
    std::vector<std::pair<std::string, const FileInfo*>> out;
    if (st.raw_written)
        out.emplace_back("", &st.raw);
    if (!st.gz.sha256.empty())
        out.emplace_back(".gz", &st.gz);
    if (!st.xz.sha256.empty())
        out.emplace_back(".xz", &st.xz);
    return out;
}

// What Release lists of an index: its files, and the uncompressed one written or not.
std::vector<std::pair<std::string, const FileInfo*>> listed_forms(const IndexState& st)
{
    auto out = forms_of(st);
    if (!st.raw_written)
        out.insert(out.begin(), {"", &st.raw});
    return out;
}

// Is the first file of an index as its state has it there, under its name and by-hash?
bool present(const fs::path& target, const IndexState& st)
{
    auto files = forms_of(st);
    if (files.empty())
        return false;
    fs::path file = target.string() + files.front().first;
    return fs::exists(file) && fs::exists(by_hash(file, "SHA256", files.front().second->sha256));
}

std::string release_text(const std::string& header, long long date, long long valid_until,
                         const std::map<std::string, IndexState>& states)
{
    // Date and Valid-Until after Codename, as Debian's archive writes them.
    std::string text;
    for (auto line : split(header, '\n', false)) {
        if (line.empty())
            continue;
        text += line;
        text += '\n';
        if (starts_with(line, "Codename:")) {
            text += "Date: " + rfc2822_time(date) + "\n";
            if (valid_until)
                text += "Valid-Until: " + rfc2822_time(valid_until) + "\n";
        }
    }
    struct Row {
        std::string path;
        const FileInfo* info;
    };
    std::vector<Row> rows;
    for (const auto& [path, st] : states)
        for (auto [ext, info] : listed_forms(st))
            rows.push_back({path + ext, info});
    std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.path < b.path; });
    size_t width = 0;
    for (const auto& r : rows)
        width = std::max(width, std::to_string(r.info->size).size());
    text += "SHA256:\n";
    for (const auto& r : rows)
        text += fmt::format(" {} {:>{}} {}\n", r.info->sha256, r.info->size, width, r.path);
    text += "SHA512:\n";
    for (const auto& r : rows)
        text += fmt::format(" {} {:>{}} {}\n", r.info->sha512, r.info->size, width, r.path);
    return text;
}

// An integer configuration key, refused outside [lo, hi].
long long config_in(const Context& ctx, std::string_view key, long long lo, long long hi)
{
    long long v = ctx.config().get_int(key);
    if (v < lo || v > hi)
        throw fail(Exit::config, "'{}' must be between {} and {}, not {}", key, lo, hi, v);
    return v;
}

BuildOptions build_options(const Context& ctx)
{
    return BuildOptions{int(config_in(ctx, "publish.gzip_level", 1, 9)), int(config_in(ctx, "publish.xz_preset", 0, 9)),
                        0};
}

// The journal rows a publish reads into memory: publish.journal_rows, whatever the size of
// the indices (a few MB of stanzas), or an eighth of the entries published.
long long journal_limit_of(long long floor_rows, unsigned long long entries)
{
    return std::max<long long>(floor_rows, (long long)(entries / 8));
}

// A distribution being published.
struct Work {
    const DistPlan* plan;
    long long seq = 0;
    std::map<std::string, IndexState> states; // every index, new or kept
    std::set<fs::path> touched_dirs;          // directories where index files changed
    fs::path dir;
    std::string release;
    fs::path pair;         // a new .release.XXXXXX/ holding Release and Release.gpg
    fs::path inrelease;    // the new InRelease, a temporary file
    struct Built {
        fs::path target;
        BuiltIndex index;
        std::optional<IndexState> old;
    };
    std::vector<Built> built; // index files written, not yet under their names
    std::vector<std::pair<fs::path, FileInfo>> dropped; // index files published no more (a form or an index)
};

// Stage 1: the index files that changed, written as temporary files.
void stage_indices(db::Db& db, Work& w, const std::optional<Published>& published, const PublishOptions& options,
                   const BuildOptions& build, long long journal_floor, PublishReport& report)
{
    const auto& d = w.plan->dist;
    std::map<std::string, IndexState> published_states, old_states;
    if (published) {
        auto r = db.query("SELECT path, state FROM published_indices WHERE dist_id = ?", d.id);
        while (r.step())
            if (auto st = IndexState::decode(r.text(1)))
                published_states[r.text(0)] = *st;
        if (!options.rebuild)
            old_states = published_states;
    }
    BuildOptions forms = build;
    forms.raw = w.plan->set.uncompressed;
    forms.gz = w.plan->set.gz;
    forms.xz = w.plan->set.xz;
    // The journal is read into memory when it is short against the indices; a long one (an
    // import, a first publish) is not read: the indices are built in full from the database.
    bool incremental = published && !options.rebuild;
    if (incremental && full_build_marked(db, d.id)) {
        incremental = false;
        log::debug("publish", "{}: marked by a bulk install: built in full", d.name);
    } else if (incremental) {
        unsigned long long entries = 0; // (stanzas: a journal row is one, a Contents entry a path)
        for (const auto& spec : w.plan->indices)
            if (auto st = old_states.find(spec.path); st != old_states.end() && spec.kind != IndexKind::contents)
                for (const auto& c : st->second.chunks)
                    entries += c.entries;
        auto rows = db.scalar_int("SELECT count(*) FROM dist_journal WHERE dist_id = ? AND seq > ?", d.id, published->seq);
        incremental = rows.value_or(0) <= journal_limit_of(journal_floor, entries);
        if (!incremental)
            log::debug("publish", "{}: {} journal rows, {} entries published: built in full", d.name, *rows, entries);
    }
    auto changes = incremental ? journal_changes(db, d.id, published->seq, w.plan->indices)
                               : std::map<std::string, std::vector<Change>>{};
    for (const auto& spec : w.plan->indices) {
        fs::path target = w.dir / spec.path;
        auto old = old_states.find(spec.path);
        auto ch = changes.find(spec.path);
        bool have_old = old != old_states.end();
        // Unchanged and present: kept as it is.
        if (incremental && have_old && ch == changes.end() && same_forms(old->second, forms) &&
            present(target, old->second)) {
            w.states[spec.path] = old->second;
            continue;
        }
        make_dirs(target.parent_path());
        if (w.touched_dirs.insert(target.parent_path()).second)
            remove_stale_temporaries(target.parent_path());
        std::string base = target.filename().string();
        std::optional<BuiltIndex> built;
        if (incremental && have_old && ch != changes.end())
            built = build_incremental(spec.kind, old->second, by_hash(target, "SHA256", old->second.raw.sha256),
                                      by_hash(target, "SHA256", old->second.gz.sha256),
                                      by_hash(target, "SHA256", old->second.xz.sha256), std::move(ch->second),
                                      target.parent_path(), base, forms);
        if (!built)
            built = build_from_db(db, d.id, spec, target.parent_path(), base, forms);
        ++report.indices_built;
        report.chunks_built += built->chunks_built;
        bool same = have_old && built->state.raw == old->second.raw && built->state.gz == old->second.gz &&
                    built->state.xz == old->second.xz && same_forms(old->second, forms) &&
                    present(target, old->second);
        if (same) {
            for (const auto* p : {&built->raw_tmp, &built->gz_tmp, &built->xz_tmp})
                if (!p->empty())
                    fs::remove(*p);
            w.states[spec.path] = old->second;
            continue;
        }
        w.states[spec.path] = built->state;
        w.built.push_back({target, std::move(*built), have_old ? std::optional(old->second) : std::nullopt});
    }
    // The suffixes of the files an index of this publish has (none: not published now).
    auto kept = [&](const std::string& path) {
        std::set<std::string> out;
        if (auto now = w.states.find(path); now != w.states.end())
            for (const auto& f : forms_of(now->second))
                out.insert(f.first);
        return out;
    };
    std::set<fs::path> dropped;
    auto drop = [&](const fs::path& file, const FileInfo& info) {
        dropped.insert(file);
        w.touched_dirs.insert(file.parent_path());
        w.dropped.emplace_back(file, info);
    };
    // What the last publish wrote and this one does not (Contents, or a compressed form, turned off).
    for (const auto& [path, st] : published_states) {
        auto keep = kept(path);
        for (auto [ext, info] : forms_of(st))
            if (!keep.count(ext))
                drop(w.dir / (path + ext), *info);
    }
    // A form not written whose file is there all the same (a publish killed after recording
    // what it published, before removing what it dropped, leaves it): it goes too (its
    // hashes are not known; its by-hash copies, named by no Release, are pruned).
    for (const auto& [path, st] : w.states) {
        auto keep = kept(path);
        for (auto ext : all_index_forms) {
            fs::path file = w.dir / (path + std::string(ext));
            std::error_code ec;
            if (!keep.count(std::string(ext)) && !dropped.count(file) &&
                fs::is_regular_file(fs::symlink_status(file, ec)))
                drop(file, FileInfo{});
        }
    }
}

// Stage 3, once every file of the publish is written (a full disk stops it before
// anything the last publication serves changed): the new index files under by-hash,
// then under their canonical names.
void install_indices(Work& w, Durable& durable)
{
    for (const auto& [target, built, old] : w.built) {
        for (auto [ext, info] : forms_of(built.state)) {
            const fs::path& tmp = ext.empty() ? built.raw_tmp : ext == ".gz" ? built.gz_tmp : built.xz_tmp;
            install_file(tmp, target.string() + ext, *info);
            durable.file(target.string() + ext);
        }
        durable.dir(target.parent_path());
        durable.dir(target.parent_path() / "by-hash" / "SHA256");
        durable.dir(target.parent_path() / "by-hash" / "SHA512");
        if (old)
            for (auto [ext, info] : forms_of(*old))
                touch_superseded(target.string() + ext, *info);
    }
    for (const auto& [file, info] : w.dropped)
        touch_superseded(file, info);
}

// After the new Release is live: the files of what is published no more go (their by-hash
// copies stay for the grace period).
void remove_dropped(const Work& w)
{
    std::error_code ec;
    for (const auto& [file, info] : w.dropped)
        fs::remove(file, ec);
}

// Release and Release.gpg are symbolic links to .release/Release and .release/Release.gpg,
// and .release is a link to a directory .release.XXXXXX holding the pair: swapping that
// one link changes both at once, so a reader never sees a Release with the signature of
// another. InRelease, which holds both, is a plain file, renamed into place last.
constexpr std::string_view pair_link = ".release";
constexpr std::array<std::string_view, 2> pair_files{"Release", "Release.gpg"};

fs::path new_pair_dir(const fs::path& dir)
{
    std::string tmpl = (dir / (std::string(pair_link) + ".XXXXXX")).string();
    if (!::mkdtemp(tmpl.data()) || ::chmod(tmpl.c_str(), 0755) != 0)
        throw sys_error(fmt::format("cannot create a directory in '{}'", dir.string()));
    return tmpl;
}

// Make (or replace) the symbolic link link -> target by one rename.
void swap_link(const fs::path& link, const fs::path& target)
{
    fs::path tmp = link.string() + ".new";
    ::unlink(tmp.c_str());
    if (::symlink(target.c_str(), tmp.c_str()) != 0 || ::rename(tmp.c_str(), link.c_str()) != 0)
        throw sys_error(fmt::format("cannot link '{}' to '{}'", link.string(), target.string()));
}

// Release and Release.gpg as links through .release. A distribution published with
// plain files moves over keeping its pair: .release first links to a directory with
// (hard links of) the current files, then each file is replaced by its link. (Never
// published: the links dangle until the swap.)
void link_release_pair(const fs::path& dir)
{
    std::error_code ec;
    auto linked = [&](std::string_view name) {
        return fs::is_symlink(dir / name, ec) && fs::read_symlink(dir / name, ec) == fs::path(pair_link) / name;
    };
    if (std::all_of(pair_files.begin(), pair_files.end(), linked))
        return;
    if (!fs::is_symlink(dir / pair_link, ec) && fs::exists(dir / "Release", ec)) {
        fs::path current = new_pair_dir(dir);
        for (auto name : pair_files)
            if (fs::exists(dir / name, ec) && ::link((dir / name).c_str(), (current / name).c_str()) != 0)
                throw sys_error(fmt::format("cannot link '{}'", (current / name).string()));
        fsync_dir(current);
        swap_link(dir / pair_link, current.filename());
        fsync_dir(dir);
        fault::point("publish.release");
    }
    for (auto name : pair_files)
        if (!linked(name)) {
            swap_link(dir / name, fs::path(pair_link) / name);
            fault::point("publish.release");
        }
}

// After the swap: pair directories superseded more than grace seconds ago go (a reader
// that resolved .release just before the swap still finds its files meanwhile).
void clean_release_pairs(const fs::path& dir, long long grace, long long now)
{
    std::error_code ec;
    fs::path current = fs::read_symlink(dir / pair_link, ec);
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        auto name = e.path().filename().string();
        struct stat st{};
        if (name.starts_with(std::string(pair_link) + ".") && name != current && !e.is_symlink() &&
            ::lstat(e.path().c_str(), &st) == 0 && st.st_mtime + grace <= now)
            fs::remove_all(e.path(), ec);
    }
}

// Stage 2: Release and Release.gpg in a new pair directory, InRelease as a temporary file.
void stage_release(const gpg::Keyring& ring, const std::vector<std::string>& signers, Work& w, long long date,
                   long long valid_until)
{
    make_dirs(w.dir);
    w.release = release_text(w.plan->header, date, valid_until, w.states);
    auto signed_release = ring.sign_release(w.release, signers);
    w.pair = new_pair_dir(w.dir);
    write_unsynced(w.pair / "Release", w.release); // (all made durable before the swap)
    write_unsynced(w.pair / "Release.gpg", signed_release.detached);
    w.inrelease = w.dir / ".InRelease.new";
    write_unsynced(w.inrelease, signed_release.clearsigned);
}

// After the new Release is live: superseded by-hash files past their grace period go.
void clean_by_hash(const Work& w, long long grace, long long now)
{
    std::map<fs::path, std::set<std::string>> current;
    for (const auto& [path, st] : w.states)
        for (auto [ext, f] : forms_of(st)) {
            fs::path parent = (w.dir / path).parent_path() / "by-hash";
            current[parent / "SHA256"].insert(f->sha256);
            current[parent / "SHA512"].insert(f->sha512);
        }
    for (const auto& t : w.touched_dirs) {
        for (auto algo : {"SHA256", "SHA512"}) {
            fs::path bh = t / "by-hash" / algo;
            std::error_code ec;
            for (const auto& e : fs::directory_iterator(bh, ec)) {
                if (current[bh].count(e.path().filename().string()))
                    continue;
                struct stat st{};
                if (::lstat(e.path().c_str(), &st) == 0 && st.st_mtime + grace <= now) {
                    fs::remove(e.path(), ec);
                    fault::point("publish.prune");
                }
            }
        }
    }
}

// What decides whether a distribution is due: its last publish, its journal, the time.
struct Schedule {
    std::map<long long, Published> published;  // by distribution id
    std::map<long long, long long> journal_seq; // the last journal entry, by distribution id
    long long now = 0;
    long long valid = 0; // publish.valid_until (<= 0: no Valid-Until)
    long long journal_floor = 0; // publish.journal_rows (journal_room)
};

// The last publish and the journal of each distribution of a repository, and the time.
Schedule read_schedule(Context& ctx, std::string_view repository)
{
    auto& db = ctx.db();
    Schedule s;
    {
        auto r = db.query("SELECT p.dist_id, p.seq, p.header, p.published, p.valid_until, p.indices FROM "
                          "published_dists p JOIN dists d ON d.id = p.dist_id WHERE d.repository = ?",
                          repository);
        while (r.step())
            s.published[r.int64(0)] = Published{r.int64(1), r.text(2), r.int64(3), r.int64(4), r.text(5)};
    }
    {
        auto r = db.query("SELECT j.dist_id, MAX(j.seq) FROM dist_journal j JOIN dists d ON d.id = j.dist_id "
                          "WHERE d.repository = ? GROUP BY j.dist_id",
                          repository);
        while (r.step())
            s.journal_seq[r.int64(0)] = r.int64(1);
    }
    s.now = now_seconds();
    s.valid = ctx.config().get_int("publish.valid_until");
    s.journal_floor = journal_floor(ctx);
    return s;
}

// The distributions to publish: all, or the one options.dist names (which must exist).
std::vector<const DistPlan*> selected_dists(const std::vector<DistPlan>& plans, const PublishOptions& options,
                                            std::string_view repository)
{
    std::vector<const DistPlan*> out;
    for (const auto& plan : plans)
        if (!options.dist || *options.dist == plan.dist.name)
            out.push_back(&plan);
    if (options.dist && out.empty())
        throw fail(Exit::not_found, "repository '{}' has no distribution '{}'", repository, *options.dist);
    return out;
}

// Whether a distribution needs a new Release (changes, a new header or index set, a Valid-Until to renew or
// drop, no InRelease).
bool is_due(const Schedule& s, const DistPlan& plan, const std::optional<Published>& pub, long long seq,
            bool rebuild, const fs::path& dir)
{
    return !pub || rebuild || seq > pub->seq || pub->header != plan.header ||
           pub->indices != repo::index_set_text(plan.set) ||
           (s.valid > 0 && (pub->valid_until == 0 || s.now >= pub->published + s.valid / 2)) ||
           (s.valid <= 0 && pub->valid_until != 0) || ::access((dir / "InRelease").c_str(), F_OK) != 0;
}

// Stage 1 for each selected distribution that is due.
std::vector<Work> stage_due(db::Db& db, const std::vector<const DistPlan*>& plans, const Schedule& s,
                            const fs::path& root, const PublishOptions& options, const BuildOptions& build,
                            PublishReport& report)
{
    std::vector<Work> work;
    for (const auto* plan : plans) {
        const auto& d = plan->dist;
        std::optional<Published> pub;
        if (auto p = s.published.find(d.id); p != s.published.end())
            pub = p->second;
        auto j = s.journal_seq.find(d.id);
        long long seq = j != s.journal_seq.end() ? j->second : (pub ? pub->seq : 0);
        fs::path dir = root / "dists" / d.name;
        if (!is_due(s, *plan, pub, seq, options.rebuild || options.resign, dir))
            continue;
        Work w{plan, seq, {}, {}, dir, {}, {}};
        stage_indices(db, w, pub, options, build, s.journal_floor, report);
        work.push_back(std::move(w));
    }
    return work;
}

// Stage 2 for every distribution, several at once (each signature is a gpg process that mostly waits).
void sign_releases(Context& ctx, const gpg::Keyring& first, const std::vector<std::string>& signers,
                   std::vector<Work>& work, long long date, long long valid_until)
{
    std::atomic<size_t> next{0};
    std::exception_ptr error;
    std::mutex m;
    auto sign = [&](const gpg::Keyring* open) {
        try {
            std::optional<gpg::Keyring> own;
            const gpg::Keyring& ring = open ? *open : own.emplace(keys::instance_keyring(ctx.home()));
            for (size_t i; (i = next++) < work.size();)
                stage_release(ring, signers, work[i], date, valid_until);
        } catch (...) {
            std::lock_guard l(m);
            error = std::current_exception();
        }
    };
    // (a key ring costs gpg start-ups of its own: a few distributions are signed with one)
    std::vector<std::thread> threads;
    for (size_t t = 1; t < std::min<size_t>(work.size() / 4, 4); ++t)
        threads.emplace_back(sign, nullptr);
    sign(&first);
    for (auto& t : threads)
        t.join();
    if (error)
        std::rethrow_exception(error);
}

// Stage 3 for every distribution; its new Release files are made durable with its index files.
void install_all(std::vector<Work>& work, Durable& durable)
{
    for (auto& w : work) {
        install_indices(w, durable);
        for (auto name : pair_files)
            durable.file(w.pair / name);
        durable.dir(w.pair);
        durable.file(w.inrelease);
        durable.dir(w.dir);
    }
}

// Make a distribution's new Release pair live, then its new InRelease; the previous pair's grace period starts.
void switch_release(const Work& w, Durable& durable)
{
    link_release_pair(w.dir);
    std::error_code ec;
    fs::path previous = fs::read_symlink(w.dir / pair_link, ec);
    swap_link(w.dir / pair_link, w.pair.filename());
    fault::point("publish.release");
    if (!previous.empty())
        ::utimensat(AT_FDCWD, (w.dir / previous).c_str(), nullptr, 0); // its grace period starts now
    if (::rename(w.inrelease.c_str(), (w.dir / "InRelease").c_str()) != 0)
        throw sys_error(fmt::format("cannot rename into '{}'", (w.dir / "InRelease").string()));
    fault::point("publish.release");
    durable.dir(w.dir);
}

// Record what each distribution publishes now, and drop its journal up to it, in one transaction.
void record_published(db::Db& db, const std::vector<Work>& work, long long now, long long valid_until,
                      long long took_ms)
{
    db::Transaction tx(db);
    for (const auto& w : work) {
        long long id = w.plan->dist.id;
        db.run("DELETE FROM published_indices WHERE dist_id = ?", id);
        for (const auto& [path, st] : w.states)
            db.run("INSERT INTO published_indices(dist_id, path, state) VALUES (?, ?, ?)", id, path, st.encode());
        db.run("INSERT INTO published_dists(dist_id, seq, header, release_sha256, published, valid_until, took_ms, "
               "indices) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(dist_id) DO UPDATE SET seq = excluded.seq, "
               "header = excluded.header, release_sha256 = excluded.release_sha256, published = excluded.published, "
               "valid_until = excluded.valid_until, took_ms = excluded.took_ms, indices = excluded.indices",
               id, w.seq, w.plan->header, sha256_hex(w.release), now, valid_until, took_ms,
               repo::index_set_text(w.plan->set));
        db.run("DELETE FROM dist_journal WHERE dist_id = ? AND seq <= ?", id, w.seq);
    }
    tx.commit();
}

} // namespace

long long journal_floor(const Context& ctx) { return config_in(ctx, "publish.journal_rows", 0, 100'000'000); }

long long journal_room(db::Db& db, long long dist_id, long long floor_rows)
{
    auto published = db.scalar_int("SELECT seq FROM published_dists WHERE dist_id = ?", dist_id);
    if (!published)
        return 0;
    unsigned long long entries = 0;
    auto r = db.query("SELECT path, state FROM published_indices WHERE dist_id = ?", dist_id);
    while (r.step())
        if (!starts_with(fs::path(r.text(0)).filename().string(), "Contents-"))
            if (auto st = IndexState::decode(r.text(1)))
                for (const auto& c : st->chunks)
                    entries += c.entries;
    auto rows = db.scalar_int("SELECT count(*) FROM dist_journal WHERE dist_id = ? AND seq > ?", dist_id, *published);
    return journal_limit_of(floor_rows, entries) - rows.value_or(0);
}

bool full_build_marked(db::Db& db, long long dist_id)
{
    return db.scalar_int("SELECT 1 FROM dist_journal WHERE source_id = 0 AND dist_id = ?", dist_id).has_value();
}

void mark_full_build(db::Db& db, long long dist_id)
{
    if (!full_build_marked(db, dist_id))
        db.run("INSERT INTO dist_journal(dist_id, added, source_id, binary_id) VALUES (?, 1, 0, NULL)", dist_id);
}

fs::path repository_dir(const Context& ctx, std::string_view id) { return ctx.home().repositories() / std::string(id); }

PublishReport publish(Context& ctx, const repo::RepositoryLock& lock, const PublishOptions& options)
{
    auto began = std::chrono::steady_clock::now();
    auto& db = ctx.db();
    fs::path root = repository_dir(ctx, lock.id());
    make_dirs(root / "dists");
    auto schedule = read_schedule(ctx, lock.id());
    PublishReport report;
    auto plans = plan_dists(db, lock.id(), default_index_set(ctx));
    auto build = build_options(ctx);
    if (std::any_of(plans.begin(), plans.end(), [](const DistPlan& p) { return p.set.contents; }))
        read_unread_paths(db, lock.id(), root);
    auto work = stage_due(db, selected_dists(plans, options, lock.id()), schedule, root, options, build, report);
    if (work.empty())
        return report;

    // Everything a new Release names is on disk before any Release is; the Releases are
    // all on disk before the database says they are published.
    auto ring = keys::instance_keyring(ctx.home());
    auto signers = keys::archive_signers(ctx, &ring); // (two during a key rotation)
    long long now = schedule.now;
    long long valid_until = schedule.valid > 0 ? now + schedule.valid : 0;
    std::vector<fs::path> written;
    for (const auto& w : work)
        for (const auto& b : w.built)
            for (const auto* tmp : {&b.index.raw_tmp, &b.index.gz_tmp, &b.index.xz_tmp})
                if (!tmp->empty())
                    written.push_back(*tmp);
    {
        std::jthread writeback(start_writeback, std::cref(written)); // beside gpg
        sign_releases(ctx, ring, signers, work, now, valid_until);
    }
    Durable durable;
    install_all(work, durable);
    durable.flush(root);
    for (const auto& w : work)
        switch_release(w, durable);
    durable.flush(root);
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - began);
    record_published(db, work, now, valid_until, took.count());
    fault::point("publish.recorded");
    long long grace = ctx.config().get_int("publish.byhash_grace");
    for (const auto& w : work) {
        remove_dropped(w);
        clean_by_hash(w, grace, now);
        clean_release_pairs(w.dir, grace, now);
        report.dists.push_back(w.plan->dist.name);
    }
    log::debug("publish", "'{}': {} distributions, {} indices built, {} chunks compressed", lock.id(),
               report.dists.size(), report.indices_built, report.chunks_built);
    return report;
}

std::string publish_snapshot(Context& ctx, const repo::RepositoryLock& lock, const repo::DistRef& dist,
                             const std::string& full_name, const std::string& header)
{
    auto& db = ctx.db();
    fs::path dists = repository_dir(ctx, lock.id()) / "dists";
    fs::path from = dists / dist.name;
    auto published = db.scalar_int("SELECT seq FROM published_dists WHERE dist_id = ?", dist.id);
    auto journal = db.scalar_int("SELECT MAX(seq) FROM dist_journal WHERE dist_id = ?", dist.id);
    if (!published || (journal && *journal > *published))
        throw fail(Exit::state, "'{}' has changes that are not published (run 'mbd-repo publish')", dist.name);
    std::map<std::string, IndexState> states;
    {
        auto r = db.query("SELECT path, state FROM published_indices WHERE dist_id = ?", dist.id);
        while (r.step()) {
            auto st = IndexState::decode(r.text(1));
            if (!st)
                throw fail(Exit::state, "'{}': the state of '{}' is unreadable (run 'mbd-repo publish --rebuild')",
                           dist.name, r.text(0));
            states[r.text(0)] = *st;
        }
    }
    // Leftovers of a snapshot killed half-way (we hold the lock: none is being written).
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dists, ec))
        if (e.path().filename().string().starts_with(".snapshot."))
            fs::remove_all(e.path(), ec);
    std::string tmpl = (dists / ".snapshot.XXXXXX").string();
    if (!::mkdtemp(tmpl.data()) || ::chmod(tmpl.c_str(), 0755) != 0)
        throw sys_error(fmt::format("cannot create a directory in '{}'", dists.string()));
    fs::path tmp = tmpl;
    Durable durable;
    auto link = [](const fs::path& a, const fs::path& b) {
        if (::link(a.c_str(), b.c_str()) != 0)
            throw sys_error(fmt::format("cannot link '{}' to '{}'", b.string(), a.string()));
    };
    for (const auto& [path, st] : states)
        for (auto [ext, info] : forms_of(st)) {
            fs::path source = by_hash(from / (path + ext), "SHA256", info->sha256);
            fs::path target = tmp / (path + ext);
            auto b256 = by_hash(target, "SHA256", info->sha256), b512 = by_hash(target, "SHA512", info->sha512);
            make_dirs(b256.parent_path());
            make_dirs(b512.parent_path());
            link(source, target);
            link(source, b256);
            link(source, b512);
            durable.dir(target.parent_path());
            durable.dir(b256.parent_path());
            durable.dir(b512.parent_path());
        }
    auto signers = keys::archive_signers(ctx);
    auto ring = keys::instance_keyring(ctx.home());
    std::string release = release_text(header, now_seconds(), 0, states);
    auto signed_release = ring.sign_release(release, signers);
    write_unsynced(tmp / "Release", release);
    write_unsynced(tmp / "Release.gpg", signed_release.detached);
    write_unsynced(tmp / "InRelease", signed_release.clearsigned);
    for (auto name : {"Release", "Release.gpg", "InRelease"})
        durable.file(tmp / name);
    durable.dir(tmp);
    durable.flush(dists);
    fault::point("snapshot.written");
    fs::path target = dists / full_name;
    if (fs::exists(target, ec))
        fs::remove_all(target);
    if (::rename(tmp.c_str(), target.c_str()) != 0)
        throw sys_error(fmt::format("cannot rename into '{}'", target.string()));
    fsync_dir(dists);
    return sha256_hex(release);
}

std::vector<std::string> resign_snapshots(Context& ctx, const repo::RepositoryLock& lock)
{
    auto& db = ctx.db();
    fs::path dists = repository_dir(ctx, lock.id()) / "dists";
    auto signers = keys::archive_signers(ctx);
    auto ring = keys::instance_keyring(ctx.home());
    std::vector<std::string> out;
    auto r = db.query("SELECT dist || '@' || name FROM snapshots WHERE repository = ? ORDER BY 1", lock.id());
    while (r.step()) {
        fs::path dir = dists / r.text(0);
        std::string release = read_file(dir / "Release");
        // (the Release stays: a signature by another key over the same text fits it)
        auto signed_release = ring.sign_release(release, signers);
        write_atomic(dir / "Release.gpg", signed_release.detached);
        write_atomic(dir / "InRelease", signed_release.clearsigned);
        out.push_back(r.text(0));
    }
    return out;
}

std::vector<PublishTime> publish_times(db::Db& db)
{
    std::vector<PublishTime> out;
    auto r = db.query("SELECT d.name, p.published, p.took_ms FROM published_dists p JOIN dists d ON d.id = p.dist_id "
                      "ORDER BY d.name");
    while (r.step())
        out.push_back({r.text(0), r.int64(1), r.int64(2)});
    return out;
}

} // namespace mbd::archive
