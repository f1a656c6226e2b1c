#include "upload/incoming.hpp"

#include "core/fault.hpp"
#include "core/fs.hpp"
#include "core/log.hpp"
#include "core/names.hpp"
#include "core/strings.hpp"
#include "db/db.hpp"
#include "debian/control_files.hpp"
#include "events/events.hpp"
#include "gpg/gpg.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <set>
#include <tuple>
#include <sys/stat.h>
#include <ctime>
#include <unistd.h>

namespace mbd::upload {
namespace {

constexpr std::string_view reason_file = "REASON";
constexpr std::string_view begin_marker = "-----BEGIN PGP SIGNED MESSAGE-----";
constexpr std::string_view sig_marker = "\n-----BEGIN PGP SIGNATURE-----";
constexpr std::string_view end_marker = "\n-----END PGP SIGNATURE-----";

struct Stat {
    bool exists = false, symlink = false, regular = false, directory = false;
    unsigned long long size = 0;
    long long mtime = 0;
    int err = 0; // why lstat failed
};

Stat lstat_of(const fs::path& p)
{
    struct stat st{};
    Stat s;
    if (::lstat(p.c_str(), &st) != 0) {
        s.err = errno;
        return s;
    }
    s.exists = true;
    s.symlink = S_ISLNK(st.st_mode);
    s.regular = S_ISREG(st.st_mode);
    s.directory = S_ISDIR(st.st_mode);
    s.size = static_cast<unsigned long long>(st.st_size);
    s.mtime = st.st_mtim.tv_sec;
    return s;
}

// A file name safe to use in a directory name we make (the original stays as is inside).
std::string label_of(std::string_view name)
{
    std::string out;
    for (char c : name.substr(0, 120))
        out += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == '+' || c == '~')
                   ? c
                   : '_';
    return out.empty() ? "upload" : out;
}

std::string stamp(long long t)
{
    std::string s = iso_time(t); // 2026-11-25T14:09:55Z -> 20261125T140955Z
    std::erase(s, '-');
    std::erase(s, ':');
    return s;
}

// A name for a new directory var/rejected/<time>-<label>[-N]/ (not made yet).
fs::path new_rejected_dir(const Home& home, const std::string& label)
{
    if (fault::inject("incoming.reject.mkdir"))
        throw sys_error(fmt::format("cannot create '{}'", home.rejected().string()));
    make_dirs(home.rejected());
    std::string base = stamp(now_seconds()) + "-" + label_of(label);
    for (int n = 0;; ++n) {
        fs::path dir = home.rejected() / (n ? base + "-" + std::to_string(n) : base);
        if (!lstat_of(dir).exists)
            return dir;
    }
}

// One line of a REASON file (they are read back field by field).
std::string one_line(std::string_view text)
{
    std::string out;
    for (char c : text)
        out += c == '\n' ? ' ' : c;
    return out;
}

// The rejection decided for a claim: written into the claim as its REASON file,
// which names where the claim goes. A claim holding a REASON is rejected (an upload
// cannot bring its own: the name is reserved and loose files named so are renamed).
void write_reason(const Claim& c, const std::string& what, const Rejection& why, const fs::path& target,
                  const std::string& source, const std::string& version, const std::string& distribution)
{
    std::string text = fmt::format("Upload: {}\nRejected: {}\nCode: {} {}\nReason: {}\n", one_line(what),
                                   iso_time(now_seconds()), int(why.code), exit_name(why.code), one_line(why.reason));
    for (auto [field, value] : {std::pair{"Source", &source}, {"Version", &version}, {"Distribution", &distribution}})
        if (!value->empty())
            text += fmt::format("{}: {}\n", field, one_line(*value));
    text += fmt::format("Directory: {}\n", target.string());
    if (fault::inject("incoming.reject.open"))
        throw sys_error(fmt::format("cannot write '{}'", (c.dir / reason_file).string()));
    write_atomic(c.dir / reason_file, text);
    fault::point("incoming.reject");
}

// Finish a rejection decided earlier: record the event (once), then move the claim
// to the directory its REASON names. A pass that dies on the way is finished by the next.
fs::path finish_reject(Context& ctx, const Claim& c)
{
    auto reason = deb822::parse_one(read_file_nofollow(c.dir / reason_file, max_changes_size), "REASON",
                                    {.allow_comments = false});
    fs::path target = reason.get("Directory");
    if (target.parent_path() != ctx.home().rejected())
        throw fail(Exit::state, "'{}' names a directory outside '{}'", (c.dir / reason_file).string(),
                   ctx.home().rejected().string());
    auto& db = ctx.db();
    {
        db::Transaction tx(db);
        if (!has_event(db, "REJECTED", target.string()))
            record_event(db, Event{0, 0, "REJECTED", reason.get("Source"), reason.get("Version"),
                                   reason.get("Distribution"), "",
                                   fmt::format("{}: {}", reason.get("Upload"), reason.get("Reason")), target.string()});
        tx.commit();
    }
    fault::point("incoming.reject");
    if (fault::inject("incoming.reject.rename") || ::rename(c.dir.c_str(), target.c_str()) != 0)
        throw sys_error(fmt::format("cannot move '{}' to '{}'", c.dir.string(), target.string()));
    fsync_dir(ctx.home().rejected());
    fsync_dir(c.dir.parent_path());
    return target;
}

// A new directory in var/spool/claimed/, on disk before anything moves into it.
fs::path new_claim_dir(const Home& home, const std::string& label)
{
    make_dirs(home.spool_claimed());
    std::string tmpl = (home.spool_claimed() / (stamp(now_seconds()) + "-" + label_of(label) + ".XXXXXX")).string();
    if (fault::inject("incoming.claim.mkdir") || !::mkdtemp(tmpl.data()))
        throw sys_error(fmt::format("cannot create a directory in '{}'", home.spool_claimed().string()));
    fsync_dir(home.spool_claimed());
    return tmpl;
}

// Move a file of incoming/ into a claim: 0, or the errno why not. One named REASON
// keeps its bytes as REASON.upload.
int move_into(const Home& home, const std::string& name, const fs::path& dir)
{
    std::string to = name == reason_file ? std::string(reason_file) + ".upload" : name;
    if (fault::inject("incoming.claim.rename") || ::rename((home.incoming() / name).c_str(), (dir / to).c_str()) != 0)
        return errno;
    fault::point("incoming.claim");
    return 0;
}

// Hard-link a file of incoming/ into a claim (it stays for another upload listing it),
// or copy it where the kernel refuses the link (a file another user uploaded, with
// fs.protected_hardlinks): 0, or the errno why not. One there already (a claim
// resumed) is as good.
int link_into(const Home& home, const std::string& name, const fs::path& dir)
{
    std::string to = name == reason_file ? std::string(reason_file) + ".upload" : name;
    if (fault::inject("incoming.claim.rename"))
        return errno;
    if (::link((home.incoming() / name).c_str(), (dir / to).c_str()) != 0 && errno != EEXIST) {
        int err = errno;
        if (err != EPERM && err != EXDEV && err != EMLINK)
            return err;
        try {
            copy_atomic(home.incoming() / name, dir / to);
        } catch (const Error&) {
            return err;
        }
    }
    fault::point("incoming.claim");
    return 0;
}

// Move listed files of incoming/ into a claim (link those in shared). One that is gone
// (claimed along with another upload, or never there: ENOENT, or a name too long to
// exist) is skipped; one that cannot be moved is noted in c.unmoved (the claim is then
// rejected).
void gather(const Home& home, Claim& c, const std::vector<std::string>& names, const std::set<std::string>& shared = {})
{
    for (const auto& n : names) {
        int err = shared.contains(n) ? link_into(home, n, c.dir) : move_into(home, n, c.dir);
        if (!err)
            c.files.push_back(n);
        else if (err != ENOENT && err != ENAMETOOLONG)
            c.unmoved.push_back(fmt::format("cannot claim '{}': {}", n, std::strerror(err)));
    }
}

// The files a .changes lists, read without checking its signature, even of one that
// will be rejected (so its files go with it): the text up to the end of its signature
// (what follows is rejected), or, cut short, its whole lines before the signature.
std::vector<debian::FileEntry> listed_unverified(std::string_view text, std::string_view name)
{
    std::string doc(text);
    if (text.starts_with(begin_marker)) {
        if (auto e = text.find(end_marker); e != std::string_view::npos) {
            doc = text.substr(0, e + end_marker.size());
        } else {
            auto s = text.find(sig_marker);
            if (s == std::string_view::npos)
                s = text.rfind('\n');
            if (s != std::string_view::npos)
                doc = fmt::format("{}{}{}", text.substr(0, s), sig_marker, end_marker);
        }
    }
    return debian::Changes::parse(debian::unwrap_clearsigned_unverified(doc, name), name).files;
}

// The files a claimed .changes lists (unverified), for finishing a claim.
std::vector<std::string> listed_names(const fs::path& changes)
{
    std::vector<std::string> out;
    try {
        for (const auto& f : listed_unverified(read_file_nofollow(changes, max_changes_size), "changes"))
            out.push_back(f.name);
    } catch (const Error&) {
        // rejected when processed
    }
    return out;
}

// A regular file in dir, opened without following a symbolic link (and without
// blocking on a FIFO): its size and digests, from the same open file.
FileDigest open_listed(const fs::path& dir, const std::string& name)
{
    int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        throw sys_error(fmt::format("cannot open '{}'", dir.string()));
    int fd = ::openat(dfd, name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
    int err = errno;
    ::close(dfd);
    if (fd < 0) {
        if (err == ENOENT)
            throw fail(Exit::rejected, "listed file '{}' is missing", name);
        if (err == ELOOP)
            throw fail(Exit::rejected, "listed file '{}' is a symbolic link", name);
        throw sys_error(err, fmt::format("cannot open '{}'", name));
    }
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    struct stat st{};
    if (::fstat(fd, &st) != 0)
        throw sys_error(fmt::format("cannot stat '{}'", name));
    if (!S_ISREG(st.st_mode))
        throw fail(Exit::rejected, "listed file '{}' is not a regular file", name);
    return digest_fd(fd, name);
}

// Why a .changes that stopped before its end (and no longer changes) is rejected.
Rejection cut_short_rejection(std::string_view text, const std::string& name)
{
    if (text.empty())
        return {Exit::rejected, fmt::format("'{}' is empty", name)};
    if (!text.starts_with(begin_marker))
        return {Exit::rejected, fmt::format("'{}' is cut short", name)};
    if (text.find(sig_marker) == std::string_view::npos)
        return {Exit::bad_signature, fmt::format("'{}' is cut short: it ends before its signature", name)};
    return {Exit::bad_signature, fmt::format("'{}' is cut short: its signature block does not end", name)};
}

} // namespace

std::vector<Pending> scan_incoming(const Home& home, long long now, long long settle)
{
    // (a time far in the future is no write in flight, as for written_within)
    auto changing = [settle](long long age) { return age <= settle && age >= -settle; };
    std::vector<std::pair<long long, Pending>> found;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(home.incoming(), ec)) {
        std::string name = entry.path().filename().string();
        if (!name.ends_with(".changes"))
            continue;
        Pending p;
        p.changes = name;
        Stat st = lstat_of(entry.path());
        p.age = now - st.mtime;
        if (auto why = names::problem(names::file, name)) {
            p.malformed = Rejection{Exit::rejected, *why};
        } else if (st.symlink) {
            p.malformed = Rejection{Exit::rejected, fmt::format("'{}' is a symbolic link", name)};
        } else if (!st.regular) {
            p.malformed = Rejection{Exit::rejected, fmt::format("'{}' is not a regular file", name)};
        }
        if (p.malformed) {
            found.emplace_back(st.mtime, std::move(p));
            continue;
        }
        std::string text;
        try {
            text = read_file_nofollow(entry.path(), max_changes_size);
        } catch (const Error& e) {
            if (e.code() == Exit::not_found)
                continue; // claimed by someone meanwhile
            p.malformed = Rejection{Exit::rejected, e.what()};
            found.emplace_back(st.mtime, std::move(p));
            continue;
        }
        // A .changes that does not end yet is still being written, until it has not
        // changed for incoming.settle seconds: then it is as complete as it gets.
        bool signed_doc = text.starts_with(begin_marker);
        bool cut_short = signed_doc ? text.find(end_marker) == std::string::npos
                                    : text.size() < begin_marker.size() && begin_marker.starts_with(text);
        bool fresh = changing(p.age); // (any part of the upload)
        if (cut_short && fresh) {
            p.missing.push_back(name);
            p.settling = true;
            found.emplace_back(st.mtime, std::move(p));
            continue;
        }
        if (cut_short)
            p.malformed = cut_short_rejection(text, name);
        try {
            for (const auto& f : listed_unverified(text, name)) {
                p.files.push_back(f.name);
                Stat fst = lstat_of(home.incoming() / f.name);
                if (fst.err == ENAMETOOLONG && !p.malformed)
                    p.malformed = Rejection{Exit::rejected, fmt::format("listed file name '{}...' is too long for "
                                                                        "the file system",
                                                                        f.name.substr(0, 60))};
                if (!fst.exists) {
                    p.missing.push_back(f.name); // absent: waits for incoming.timeout
                    continue;
                }
                p.age = std::min(p.age, now - fst.mtime);
                fresh = fresh || changing(now - fst.mtime);
                if (fst.regular && fst.size < f.size)
                    p.short_files.push_back(f.name);
            }
        } catch (const Error& e) {
            if (!p.malformed)
                p.malformed = Rejection{e.code(), e.what()};
        }
        // a file shorter than listed is still arriving, until all of the upload has not
        // changed for incoming.settle seconds: then its size is wrong (said when verified)
        if (!p.short_files.empty() && fresh) {
            p.missing.insert(p.missing.end(), p.short_files.begin(), p.short_files.end());
            p.settling = true;
        }
        if (signed_doc && !p.malformed) {
            try {
                gpg::check_clearsign_envelope(text); // text outside the signature: bad_signature
            } catch (const Error& e) {
                p.malformed = Rejection{e.code(), e.what()};
            }
        }
        p.complete = p.missing.empty();
        found.emplace_back(st.mtime, std::move(p));
    }
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
        return a.first != b.first ? a.first < b.first : a.second.changes < b.second.changes;
    });
    std::vector<Pending> out;
    for (auto& f : found)
        out.push_back(std::move(f.second));
    return out;
}

std::set<std::string> shared_files(const Home& home, const std::vector<Pending>& pending, std::size_t i)
{
    std::set<std::string> out;
    for (std::size_t j = 0; j < pending.size(); ++j) {
        if (j == i || !lstat_of(home.incoming() / pending[j].changes).exists)
            continue;
        for (const auto& f : pending[j].files)
            if (std::find(pending[i].files.begin(), pending[i].files.end(), f) != pending[i].files.end())
                out.insert(f);
    }
    return out;
}

std::optional<Claim> claim(const Home& home, const Pending& pending, const std::set<std::string>& shared)
{
    Claim c{new_claim_dir(home, pending.changes), pending.changes, {}, {}};
    if (fault::inject("incoming.claim.rename") ||
        ::rename((home.incoming() / pending.changes).c_str(), (c.dir / pending.changes).c_str()) != 0) {
        int err = errno;
        ::rmdir(c.dir.c_str());
        if (err == ENOENT)
            return std::nullopt;
        // nothing moved: the upload stays in incoming/ as it came
        throw sys_error(err, fmt::format("cannot claim '{}'", pending.changes));
    }
    // the .changes is in the claim before its files follow it (a claim holding the
    // files without it would be rejected, and the .changes left waiting for them)
    fsync_dir(c.dir);
    fault::point("incoming.claim");
    std::vector<std::string> files;
    for (const auto& f : pending.files)
        if (f != pending.changes)
            files.push_back(f);
    gather(home, c, files, shared);
    fsync_dir(c.dir);
    fsync_dir(home.incoming());
    log::debug("incoming", "claimed '{}' into '{}'", pending.changes, c.dir.string());
    return c;
}

std::vector<Claim> leftover_claims(const Home& home)
{
    std::vector<Claim> out;
    std::error_code ec;
    std::vector<fs::path> dirs;
    for (const auto& entry : fs::directory_iterator(home.spool_claimed(), ec))
        if (entry.is_directory() && !entry.is_symlink())
            dirs.push_back(entry.path());
    std::sort(dirs.begin(), dirs.end());
    for (const auto& dir : dirs) {
        Claim c{dir, {}, {}, {}};
        for (const auto& f : fs::directory_iterator(dir, ec)) {
            std::string n = f.path().filename().string();
            if (n.ends_with(".changes") && c.changes.empty())
                c.changes = n;
            else
                c.files.push_back(n);
        }
        // a pass that died while claiming: the files still in incoming/ join their .changes
        if (!c.changes.empty() && !lstat_of(dir / reason_file).exists) {
            size_t before = c.files.size();
            std::vector<std::string> rest;
            for (const auto& f : listed_names(dir / c.changes))
                if (!lstat_of(dir / f).exists)
                    rest.push_back(f);
            gather(home, c, rest);
            if (c.files.size() != before) {
                fsync_dir(dir);
                fsync_dir(home.incoming());
            }
        }
        std::sort(c.files.begin(), c.files.end());
        out.push_back(std::move(c));
    }
    return out;
}

std::vector<std::string> orphans(const Home& home, const std::vector<Pending>& pending, long long now, long long timeout)
{
    std::set<std::string> listed;
    for (const auto& p : pending) {
        listed.insert(p.changes);
        listed.insert(p.files.begin(), p.files.end());
    }
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(home.incoming(), ec)) {
        std::string n = entry.path().filename().string();
        if (listed.count(n) || n.starts_with(".")) // dot files: partial uploads of some tools (rsync, sftp)
            continue;
        Stat st = lstat_of(entry.path());
        if (st.exists && now - st.mtime >= timeout)
            out.push_back(n);
    }
    std::sort(out.begin(), out.end());
    return out;
}

bool written_within(const Home& home, double seconds)
{
    struct timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(home.incoming(), ec)) {
        struct stat st{};
        if (::lstat(entry.path().c_str(), &st) != 0)
            continue;
        double age = double(now.tv_sec - st.st_mtim.tv_sec) + double(now.tv_nsec - st.st_mtim.tv_nsec) / 1e9;
        if (age < seconds && age > -seconds) // (a time far in the future is not a write in flight)
            return true;
    }
    return false;
}

fs::path reject(Context& ctx, const Claim& c, const Rejection& why, const std::string& source,
                const std::string& version, const std::string& distribution)
{
    if (!lstat_of(c.dir / reason_file).exists) {
        Rejection r = why;
        if (!c.unmoved.empty())
            r.reason += fmt::format(" (left in incoming/: {})", fmt::join(c.unmoved, "; "));
        write_reason(c, c.changes, r,
                     new_rejected_dir(ctx.home(), c.changes.empty() ? c.dir.filename().string() : c.changes), source,
                     version, distribution);
    }
    return finish_reject(ctx, c);
}

bool rejected_already(const Claim& claim) { return lstat_of(claim.dir / reason_file).exists; }

fs::path reject_loose(Context& ctx, const std::vector<std::string>& names, const std::string& label,
                      const Rejection& why)
{
    const Home& home = ctx.home();
    Claim c{new_claim_dir(home, label), {}, {}, {}};
    write_reason(c, fmt::format("{}", fmt::join(names, " ")), why, new_rejected_dir(home, label), {}, {}, {});
    gather(home, c, names);
    if (c.files.empty() && !c.unmoved.empty()) {
        // nothing could be moved: no rejection to keep (the files stay where they are)
        ::unlink((c.dir / reason_file).c_str());
        ::rmdir(c.dir.c_str());
        throw fail(Exit::environment, "cannot reject {}: {}", label, fmt::join(c.unmoved, "; "));
    }
    fsync_dir(c.dir);
    fsync_dir(home.incoming());
    return finish_reject(ctx, c);
}

std::string read_claimed(const Claim& c, const std::string& name, std::uintmax_t max_size)
{
    return read_file_nofollow(c.dir / name, max_size);
}

void check_listed(const FileDigest& found, const ListedFile& f, std::string_view document)
{
    if (found.size != f.size)
        throw fail(Exit::rejected, "size differs: listed {}, found {} ('{}' in the {})", f.size, found.size, f.name,
                   document);
    for (auto [algo, listed, actual] : {std::tuple{"SHA256", &f.sha256, &found.sha256}, {"SHA1", &f.sha1, &found.sha1},
                                        {"MD5", &f.md5, &found.md5}})
        if (!listed->empty() && *listed != *actual)
            throw fail(Exit::rejected, "checksum mismatch: {} of '{}' does not match the {}", algo, f.name, document);
}

std::map<std::string, FileDigest> verify_files(const Claim& c, const std::vector<ListedFile>& files,
                                               std::string_view document)
{
    std::map<std::string, FileDigest> out;
    for (const auto& f : files) {
        auto found = open_listed(c.dir, f.name);
        check_listed(found, f, document);
        out.emplace(f.name, std::move(found));
    }
    return out;
}

} // namespace mbd::upload
