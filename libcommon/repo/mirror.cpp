#include "repo/mirror.hpp"

#include "archive/publish.hpp"
#include "core/about.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/log.hpp"
#include "core/names.hpp"
#include "core/process.hpp"
#include "core/strings.hpp"
#include "db/db.hpp"
#include "model/lock.hpp"
#include "model/model.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <memory>

namespace mbd::repo {
namespace {

constexpr std::string_view marker_prefix = "Archive-Update-in-Progress-";
constexpr std::string_view trace_dir = "project/trace";
// rsync --timeout: seconds without any I/O before rsync gives up on a stalled peer.
constexpr int io_timeout = 300;
// Exit code of rsync for "some files vanished before they could be transferred".
constexpr int rsync_vanished = 24;

bool is_remote(std::string_view t)
{
    if (t.starts_with("rsync://"))
        return true;
    // rsync's own rule: a colon before the first slash makes HOST:PATH (or HOST::MODULE)
    auto colon = t.find(':'), slash = t.find('/');
    return colon != std::string_view::npos && (slash == std::string_view::npos || colon < slash);
}

// Whether the directory a lies in b or is b.
bool within(fs::path a, fs::path b)
{
    for (auto* p : {&a, &b}) {
        *p = fs::weakly_canonical(fs::absolute(*p)).lexically_normal();
        if (p->filename().empty())
            *p = p->parent_path();
    }
    auto [ia, ib] = std::mismatch(a.begin(), a.end(), b.begin(), b.end());
    return ib == b.end();
}

std::string utc(long long t, const char* format)
{
    std::time_t tt = t;
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[64];
    return std::string(buf, std::strftime(buf, sizeof buf, format, &tm)); // (the C locale: English names)
}

// The last lines of rsync's stderr, for a message.
std::string last_lines(std::string_view err, size_t n = 6)
{
    std::vector<std::string> lines;
    for (auto l : split(err, '\n'))
        if (!l.empty())
            lines.emplace_back(l);
    if (lines.size() > n)
        lines.erase(lines.begin(), lines.end() - long(n));
    return join(lines, "\n");
}

// "Number of regular files transferred: 1,234" and "Total bytes sent: 5,678" of --stats.
long long stat_value(std::string_view out, std::string_view label)
{
    auto at = out.find(label);
    if (at == std::string_view::npos)
        return 0;
    long long v = 0;
    for (auto i = at + label.size(); i < out.size() && out[i] != '\n'; ++i)
        if (out[i] >= '0' && out[i] <= '9')
            v = v * 10 + (out[i] - '0');
    return v;
}

struct Push {
    std::string given;  // the target as given
    std::string target; // as rsync takes it, ending in '/'
    std::string identity;
    bool remote = false;

    // One rsync run; Error(Exit::external) with what it means for the target when it fails.
    RunResult rsync(std::vector<std::string> args, std::string_view step, std::string_view state,
                    bool vanished_ok = false) const
    {
        args.insert(args.begin(), "rsync");
        auto started = std::chrono::steady_clock::now();
        auto r = run(args);
        log::debug("repo", "{}: rsync exit {} after {:.1f} s", step, r.status,
                   std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
        if (r.ok() || (vanished_ok && r.status == rsync_vanished))
            return r;
        std::string tail = last_lines(r.err);
        throw fail(Exit::external, "mirror push to '{}': {} failed (rsync exit {}); {}{}{}", given, step, r.status,
                   state, tail.empty() ? "" : "; rsync said:\n", tail);
    }
};

// The options every copy of the archive takes. ftpsync's own: recursive, symbolic links
// as links (only those that stay in the tree: Release -> .release/Release -> .release.X/),
// hard links as hard links (an index and its two by-hash names are one file), permissions
// and times but not owners (the target's user owns what it receives, links and files
// alike, which nginx's disable_symlinks if_not_owner wants); the whole file list first
// (hard links across directories, and --delay-updates needs it). --modify-window=-1
// compares times to the nanosecond: two publishes in one second can make an InRelease of
// the same size, which rsync's quick check would otherwise take for unchanged.
std::vector<std::string> copy_options()
{
    return {"--recursive", "--links", "--safe-links", "--hard-links", "--perms", "--times", "--modify-window=-1",
            "--no-inc-recursive", fmt::format("--timeout={}", io_timeout), "--stats"};
}

// Never copied: a publisher's temporary files (.NAME.tmp.XXXXXX, .InRelease.new and the
// links' NAME.new), which only a killed publisher leaves behind while stage 2 runs (it
// holds the locks).
void exclude_temporaries(std::vector<std::string>& args, const std::string& top)
{
    args.push_back("--exclude=.*.tmp.*");
    args.push_back("--exclude=" + top + "dists/*/*.new");
}

// Stage 1 leaves out what names other files and changes at each publish in place: a reader
// of the target keeps the previous InRelease, Release (+ .gpg, through the .release link)
// and canonical indices, which agree with each other, while the files of the new
// publication arrive beside them: pool files, by-hash files (what apt fetches, as every
// Release says Acquire-By-Hash: yes) and the new pair directory .release.XXXXXX (its
// Release and Release.gpg are reached only once .release points at it, in stage 2).
void exclude_naming_files(std::vector<std::string>& args, const std::string& top)
{
    for (auto name : {"InRelease", "Release", "Release.gpg", ".release"})
        args.push_back(fmt::format("--exclude={}dists/*/{}", top, name));
    for (auto name : {"Packages*", "Sources*", "Contents-*"})
        args.push_back(fmt::format("--exclude={}dists/**/{}", top, name));
}

MirrorStage stage_of(const RunResult& r, std::chrono::steady_clock::time_point started)
{
    return {stat_value(r.out, "Number of regular files transferred:"), stat_value(r.out, "Total bytes sent:"),
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()};
}

// The repositories a push copies (the directories under HOME/repositories/ with a dists/)
// and their distributions.
void list_pushed(const fs::path& repositories, const std::string& only, MirrorReport& report)
{
    report.repositories.clear();
    report.dists.clear();
    std::vector<std::string> ids;
    std::error_code ec;
    if (!only.empty())
        ids.push_back(only);
    else
        for (const auto& e : fs::directory_iterator(repositories, ec))
            if (!e.path().filename().string().starts_with(".") && fs::is_directory(e.path() / "dists", ec))
                ids.push_back(e.path().filename().string());
    std::sort(ids.begin(), ids.end());
    for (const auto& id : ids) {
        report.repositories.push_back(id);
        std::vector<std::string> dists;
        for (const auto& e : fs::directory_iterator(repositories / id / "dists", ec))
            if (e.is_directory() && !e.path().filename().string().starts_with("."))
                dists.push_back(id + "/" + e.path().filename().string());
        std::sort(dists.begin(), dists.end());
        report.dists.insert(report.dists.end(), dists.begin(), dists.end());
    }
}

// ftpsync's trace format: date(1)'s line, then fields.
std::string trace_text(const MirrorReport& r, const std::string& identity, long long started, long long finished)
{
    std::string s = utc(finished, "%a %b %e %H:%M:%S UTC %Y") + "\n";
    s += "Date: " + rfc2822_time(finished) + "\n";
    s += "Date-Started: " + rfc2822_time(started) + "\n";
    s += fmt::format("Creator: mbd-repo {}\n", version());
    s += "Running on host: " + identity + "\n";
    s += "Repositories: " + join(r.repositories, " ") + "\n";
    s += "Distributions: " + join(r.dists, " ") + "\n";
    s += fmt::format("Total bytes sent in rsync: {}\n", r.stage1.bytes + r.stage2.bytes);
    s += fmt::format("Total time spent in stage1 rsync: {:.0f}\n", r.stage1.seconds);
    s += fmt::format("Total time spent in stage2 rsync: {:.0f}\n", r.stage2.seconds);
    return s;
}

// A directory under the staging directory holding one file at RELATIVE (0755 all the way
// down: rsync gives a directory it creates the mode of its source).
fs::path stage_file(const fs::path& root, const std::string& relative, const std::string& content)
{
    fs::path file = root / relative;
    make_dirs(file.parent_path());
    for (fs::path d = file.parent_path(); d != root.parent_path(); d = d.parent_path())
        fs::permissions(d, fs::perms(0755));
    write_atomic(file, content);
    return file;
}

} // namespace

std::optional<std::string> mirror_target_problem(std::string_view t)
{
    if (t.empty())
        return "is empty";
    if (t.front() == '-')
        return fmt::format("'{}' starts with '-' (rsync would read it as an option)", t);
    for (unsigned char c : t)
        if (c <= ' ' || c == 0x7f)
            return fmt::format("'{}' has whitespace or a control character", std::string(t));
    if (!is_remote(t))
        return std::nullopt;
    std::string_view path;
    if (t.starts_with("rsync://")) {
        auto rest = t.substr(8);
        auto slash = rest.find('/');
        path = slash == std::string_view::npos || slash == 0 ? "" : rest.substr(slash + 1);
    } else {
        auto colon = t.find(':');
        if (colon == 0)
            return fmt::format("'{}' names no host", t);
        path = t.substr(colon + 1);
        if (path.starts_with(":"))
            path = path.substr(1);
    }
    if (path.empty() || path == "/")
        return fmt::format("'{}' names no directory (a push deletes what the archive does not hold)", t);
    return std::nullopt;
}

MirrorReport mirror_push(Context& ctx, const MirrorOptions& options)
{
    if (auto p = mirror_target_problem(options.target))
        throw Error(Exit::usage, "target " + *p);
    if (!options.repository.empty())
        names::check(names::repository, options.repository);
    const fs::path repositories = ctx.home().repositories();
    fs::path source = repositories;
    if (!options.repository.empty()) {
        if (!repository_exists(ctx.db(), options.repository))
            throw fail(Exit::not_found, "no repository '{}'", options.repository);
        source = archive::repository_dir(ctx, options.repository);
        if (!fs::is_directory(source / "dists"))
            throw fail(Exit::not_found, "repository '{}' is not published (no '{}')", options.repository,
                       (source / "dists").string());
    }
    MirrorReport report;
    list_pushed(repositories, options.repository, report);
    if (report.repositories.empty())
        throw fail(Exit::not_found, "nothing to push: no repository is published in '{}'", repositories.string());

    Push push;
    push.given = options.target;
    push.remote = is_remote(options.target);
    push.target = options.target.ends_with('/') ? options.target : options.target + "/";
    push.identity = ctx.config().get("identity");
    if (!push.remote) {
        // the push deletes in the target what the archive does not hold: never the archive
        // itself, nor a directory around it (the home), nor one in it
        if (within(options.target, source) || within(source, options.target))
            throw fail(Exit::usage, "target '{}' is, holds or lies in the pushed directory '{}'", options.target,
                       source.string());
    }
    require_program("rsync", "rsync");

    report.target = options.target;
    report.marker = std::string(marker_prefix) + push.identity;
    report.trace = std::string(trace_dir) + "/" + push.identity;
    // where dists/ lies in the transfer, for anchored patterns: /dists/NAME or /ID/dists/NAME
    const std::string top = options.repository.empty() ? "/*/" : "/";
    const std::string from = source.string() + "/";
    const long long started = now_seconds();

    make_dirs(ctx.home().tmp());
    TempDir staging(ctx.home().tmp(), "mirror");
    const fs::path mark = staging.path() / "mark", done = staging.path() / "done";
    stage_file(mark, report.marker,
               fmt::format("Date-Started: {}\nCreator: mbd-repo {}\nRunning on host: {}\n", rfc2822_time(started),
                           version(), push.identity));

    const std::string before = fmt::format("the target is as it was (but for the marker '{}', which stays until a "
                                           "push succeeds)", report.marker);
    push.rsync({"--recursive", "--times", "--omit-dir-times", "--mkpath", fmt::format("--timeout={}", io_timeout),
                mark.string() + "/", push.target},
               "writing the marker", before);

    // Stage 1, without the locks: pool and by-hash files are only added while a publish
    // runs and removed only after their grace period (a file that vanishes meanwhile,
    // rsync's exit 24, is stage 2's business).
    auto t0 = std::chrono::steady_clock::now();
    auto args = copy_options();
    exclude_temporaries(args, top);
    exclude_naming_files(args, top);
    args.push_back(from);
    args.push_back(push.target);
    const std::string after1 = fmt::format("the target still serves its previous state, with some new pool and "
                                           "by-hash files (the marker '{}' stays until a push succeeds)",
                                           report.marker);
    report.stage1 = stage_of(push.rsync(args, "stage 1 (pool and by-hash files)", after1, true), t0);

    // Stage 2, holding every pushed repository's lock (in id order, as other writers take
    // one): what it copies is one publication, not half of the next.
    //
    // Order: --delay-updates rather than a third rsync run for InRelease alone. Every file
    // stage 2 changes (InRelease, the canonical Packages*/Sources*/Contents-*) waits in a
    // .~tmp~ directory beside its place until the whole transfer is done, and all are then
    // renamed into place in rapid succession, in file-list order (a directory's files
    // before its subdirectories: dists/NAME/InRelease a moment before its
    // main/binary-ARCH/Packages*); the .release link is swapped by one rename when rsync
    // reaches it, so Release and Release.gpg change together; deletions (--delete-delay:
    // found during the transfer, done after it) come last, so the previous publication's
    // files stay until the new InRelease is in place. Each file changes atomically, and
    // every InRelease, the previous or the new one, names only by-hash files stage 1
    // already brought: an apt using by-hash (every Release says Acquire-By-Hash: yes) reads
    // either publication whole at any moment. Only a client that ignores by-hash could,
    // for the instant of the renames, pair a new InRelease with an old canonical index
    // (mbd's own publish has the reverse window); a third run for the Release files alone
    // would close that instant at the cost of scanning the whole tree once more.
    // Protected from --delete: the trace files and markers at the target's top (its own and
    // those of other mirrors that sync into it).
    t0 = std::chrono::steady_clock::now();
    {
        std::vector<RepositoryLock> locks;
        locks.reserve(report.repositories.size());
        for (const auto& id : report.repositories)
            if (repository_exists(ctx.db(), id))
                locks.emplace_back(ctx, id);
        list_pushed(repositories, options.repository, report);
        args = copy_options();
        for (auto a : {"--delete", "--delete-delay", "--delay-updates"})
            args.push_back(a);
        args.push_back("--filter=P /" + std::string(trace_dir) + "/");
        args.push_back("--filter=P /project/");
        args.push_back("--filter=P /" + std::string(marker_prefix) + "*");
        exclude_temporaries(args, top);
        args.push_back(from);
        args.push_back(push.target);
        const std::string after2 =
            fmt::format("stage 2 had started: each file of the target is either the previous or the new one (every "
                        "InRelease names files that are there) and nothing was deleted unless rsync got that far; "
                        "push again to finish (the marker '{}' stays until a push succeeds)",
                        report.marker);
        report.stage2 = stage_of(push.rsync(args, "stage 2 (indices, Release files, deletions)", after2), t0);
    }

    // The trace, and the marker removed: one run that includes only those two names.
    stage_file(done, report.trace, trace_text(report, push.identity, started, now_seconds()));
    push.rsync({"--recursive", "--times", "--omit-dir-times", "--delete", fmt::format("--timeout={}", io_timeout),
                "--filter=+ /project/", "--filter=+ /" + std::string(trace_dir) + "/", "--filter=+ /" + report.trace,
                "--filter=+ /" + report.marker, "--filter=- *", done.string() + "/", push.target},
               "writing the trace file and removing the marker",
               fmt::format("the archive was pushed completely, but the marker '{}' may still be there", report.marker));
    log::debug("repo", "pushed {} to {}", join(report.repositories, ","), options.target);
    return report;
}

} // namespace mbd::repo
