#include "app/maintain.hpp"

#include "app/rotate.hpp"
#include "archive/publish.hpp"
#include "build/queue.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/log.hpp"
#include "core/strings.hpp"
#include "db/db.hpp"
#include "deb822/deb822.hpp"
#include "model/lock.hpp"
#include "model/model.hpp"
#include "repo/keyring.hpp"
#include "repo/packages.hpp"
#include "repo/lifecycle.hpp"
#include "repo/snapshots.hpp"
#include "site/site.hpp"
#include "upload/process.hpp"

#include <map>
#include <optional>
#include <set>
#include <sys/stat.h>

namespace mbd::app {
namespace {

using namespace repo;

namespace fs = std::filesystem;

long long mtime_of(const fs::path& p)
{
    struct stat st{};
    return ::lstat(p.c_str(), &st) == 0 ? static_cast<long long>(st.st_mtim.tv_sec) : -1;
}

// The hashes of the files a distribution's Release names that are there, per algorithm.
std::map<std::string, std::set<std::string>> release_hashes(const fs::path& dist_dir)
{
    std::map<std::string, std::set<std::string>> out;
    fs::path release = dist_dir / "Release";
    auto p = deb822::parse_one(read_file(release), release.string());
    for (const char* algo : {"SHA256", "SHA512"})
        for (const auto& line : p.lines(algo)) {
            // (an uncompressed index the set does not write is listed all the same: its
            // by-hash copies, left from when it was written, are superseded; a compressed
            // file listed keeps its copies, even when the file itself is lost)
            auto words = split_ws(line);
            if (words.size() != 3)
                continue;
            std::string_view path = words[2];
            std::error_code ec;
            bool compressed = path.ends_with(".gz") || path.ends_with(".xz");
            if (compressed || (!path.starts_with('/') && path.find("..") == std::string_view::npos &&
                               fs::exists(dist_dir / std::string(path), ec)))
                out[algo].emplace(words.front());
        }
    return out;
}

// By-hash files under dists/NAME/ of no file its Release names and that were
// superseded (archive/publish touches them then) more than grace seconds ago.
long long clean_by_hash(const fs::path& dist_dir, long long grace, long long now)
{
    std::error_code ec;
    if (!fs::exists(dist_dir / "Release", ec))
        return 0; // never published, or a publish in progress that a crash stopped: left to publish
    auto current = release_hashes(dist_dir);
    std::vector<fs::path> stale;
    for (auto it = fs::recursive_directory_iterator(dist_dir, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
        const auto& dir = it->path();
        if (dir.filename() != "by-hash" || !it->is_directory() || it->is_symlink())
            continue;
        for (const char* algo : {"SHA256", "SHA512"}) {
            std::error_code ec2;
            for (const auto& e : fs::directory_iterator(dir / algo, ec2)) {
                long long mtime = mtime_of(e.path());
                if (!current[algo].count(e.path().filename().string()) && mtime >= 0 && mtime + grace <= now)
                    stale.push_back(e.path());
            }
        }
        it.disable_recursion_pending();
    }
    for (const auto& f : stale)
        fs::remove(f, ec);
    return static_cast<long long>(stale.size());
}

// Remove a directory of var/builds/ (only a direct child of it).
bool remove_build_dir(const Home& home, const std::string& dir)
{
    fs::path p(dir);
    std::error_code ec;
    if (p.parent_path() != home.builds() || !fs::is_directory(p, ec) || fs::is_symlink(p, ec))
        return false;
    // a build some pass holds (it is running, or starting again) is not touched
    std::optional<FileLock> lock;
    if (fs::exists(p / "lock", ec)) {
        auto held = FileLock::try_lock(p / "lock");
        if (!held)
            return false;
        lock.emplace(std::move(*held));
    }
    fs::remove_all(p, ec);
    if (ec)
        throw sys_error(ec.value(), fmt::format("cannot remove '{}'", p.string()));
    return true;
}

long long expire_builds(Context& ctx, long long keep, long long now)
{
    if (keep <= 0)
        return 0;
    auto dirs = upload::finished_dirs(ctx, now - keep);
    auto builds = build::finished_dirs(ctx, now - keep);
    dirs.insert(dirs.end(), builds.begin(), builds.end());
    long long removed = 0;
    for (const auto& d : dirs)
        if (remove_build_dir(ctx.home(), d)) {
            log::debug("repo", "removed '{}'", d);
            ++removed;
        }
    return removed;
}

long long expire_rejected(const Home& home, long long keep, long long now)
{
    if (keep <= 0)
        return 0;
    std::vector<fs::path> old;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(home.rejected(), ec)) {
        long long mtime = mtime_of(e.path());
        if (mtime >= 0 && mtime + keep <= now)
            old.push_back(e.path());
    }
    for (const auto& p : old) {
        fs::remove_all(p, ec);
        if (ec)
            throw sys_error(ec.value(), fmt::format("cannot remove '{}'", p.string()));
        log::debug("repo", "removed '{}'", p.string());
    }
    return static_cast<long long>(old.size());
}

} // namespace

MaintainReport maintain(Context& ctx)
{
    MaintainReport report;
    if (auto switched = switch_if_due(ctx))
        report.switched = switched->to;
    const auto& config = ctx.config();
    long long grace = config.get_int("publish.byhash_grace");
    for (const auto& r : list_repositories(ctx.db())) {
        if (r.status.status == Status::removed)
            continue;
        RepositoryLock lock(ctx, r.id);
        for (auto& d : retire_due(ctx, lock))
            report.retired.push_back(std::move(d));
        for (auto& s : expire_snapshots(ctx, lock))
            report.snapshots.push_back(std::move(s));
        for (auto& d : publish_repository(ctx, lock))
            report.published.push_back(std::move(d));
        long long now = now_seconds();
        for (const auto& d : repository_dists(ctx.db(), r.id))
            report.by_hash += clean_by_hash(archive::repository_dir(ctx, r.id) / "dists" / d.name, grace, now);
    }
    for (const auto& k : repo::refresh_keyrings(ctx))
        if (!k.changes.empty())
            report.keyrings.push_back(k.dist + " " + k.version);
    long long now = now_seconds();
    report.builds = expire_builds(ctx, config.get_int("retention.builds"), now);
    report.rejected = expire_rejected(ctx.home(), config.get_int("retention.rejected"), now);
    if (report.builds || report.rejected)
        site::refresh(ctx); // the logs and kept files leave the site with them (no record changed)
    log::info("maintained: {} distributions published, {} snapshots, {} by-hash files, {} build directories and {} "
              "rejected uploads removed",
              report.published.size(), report.snapshots.size(), report.by_hash, report.builds, report.rejected);
    return report;
}

Json to_json(const MaintainReport& r)
{
    Json published = Json::array(), retired = Json::array(), keyrings = Json::array(), snapshots = Json::array();
    for (const auto& s : r.snapshots)
        snapshots.push(s);
    for (const auto& d : r.published)
        published.push(d);
    for (const auto& k : r.keyrings)
        keyrings.push(k);
    for (const auto& d : r.retired)
        retired.push(d);
    return Json::object()
        .set("published", published)
        .set("retired", retired)
        .set("keyrings_uploaded", keyrings)
        .set("key_switched_to", r.switched.empty() ? Json() : Json(r.switched))
        .set("snapshots_removed", snapshots)
        .set("by_hash_removed", r.by_hash)
        .set("builds_removed", r.builds)
        .set("rejected_removed", r.rejected);
}

} // namespace mbd::app
