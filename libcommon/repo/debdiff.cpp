#include "repo/debdiff.hpp"

#include "archive/publish.hpp"
#include "core/error.hpp"
#include "core/process.hpp"
#include "core/strings.hpp"
#include "db/db.hpp"
#include "model/model.hpp"

namespace mbd::repo {
namespace {

namespace fs = std::filesystem;

struct Held {
    long long id = 0;
    std::string repository;
};

// The source package of a version (in the one repository holding it, or the one named).
Held find_version(db::Db& db, const DebdiffRequest& r, const std::string& version)
{
    std::vector<Held> found;
    auto q = db.query("SELECT id, repository FROM source_packages WHERE name = ? AND version = ? AND "
                      "(? = '' OR repository = ?) ORDER BY repository",
                      r.source, version, r.repository, r.repository);
    while (q.step())
        found.push_back({q.int64(0), q.text(1)});
    if (found.empty())
        throw fail(Exit::not_found, "no {} {} in {}", r.source, version,
                   r.repository.empty() ? "any repository" : "repository '" + r.repository + "'");
    if (found.size() > 1)
        throw fail(Exit::usage, "{} {} is in repositories '{}' and '{}': name one with --repository", r.source, version,
                   found[0].repository, found[1].repository);
    return found.front();
}

std::string version_in(db::Db& db, const std::string& source, const std::string& dist_name)
{
    DistRef d = find_dist(db, dist_name);
    auto v = db.scalar_text("SELECT s.version FROM dist_sources ds JOIN source_packages s ON s.id = ds.source_id "
                            "WHERE ds.dist_id = ? AND ds.name = ?",
                            d.id, source);
    if (!v)
        throw fail(Exit::not_found, "'{}' holds no source '{}'", d.name, source);
    return *v;
}

std::vector<std::string> files_of(Context& ctx, const Held& h, const DebdiffRequest& r)
{
    auto& db = ctx.db();
    fs::path root = archive::repository_dir(ctx, h.repository);
    std::vector<std::string> out;
    auto q = r.binary_arch.empty()
                 ? db.query("SELECT p.path FROM source_files f JOIN pool_files p ON p.id = f.file_id "
                            "WHERE f.source_id = ? AND p.path LIKE '%.dsc'",
                            h.id)
                 : db.query("SELECT p.path FROM binary_packages b JOIN pool_files p ON p.id = b.file_id "
                            "WHERE b.source_id = ? AND b.kind = 'deb' AND b.architecture IN (?, 'all') ORDER BY b.name",
                            h.id, r.binary_arch);
    while (q.step())
        out.push_back((root / q.text(0)).string());
    if (out.empty())
        throw fail(Exit::not_found, "{} has no {} in the archive", r.source,
                   r.binary_arch.empty() ? std::string(".dsc") : "binary packages for " + r.binary_arch);
    return out;
}

} // namespace

DebdiffResult debdiff(Context& ctx, const DebdiffRequest& r)
{
    auto& db = ctx.db();
    std::vector<std::string> versions = r.versions;
    if (versions.empty() && r.dists.size() == 2)
        versions = {version_in(db, r.source, r.dists[0]), version_in(db, r.source, r.dists[1])};
    if (versions.size() != 2)
        throw fail(Exit::usage, "give two versions, or two distributions (--dist A --dist B)");
    if (find_program("debdiff").empty())
        throw fail(Exit::environment, "debdiff is not installed (apt-get install devscripts)");
    auto from = files_of(ctx, find_version(db, r, versions[0]), r);
    auto to = files_of(ctx, find_version(db, r, versions[1]), r);
    std::vector<std::string> argv{"debdiff"};
    if (r.binary_arch.empty()) {
        argv.insert(argv.end(), {from.front(), to.front()});
    } else {
        argv.push_back("--from");
        argv.insert(argv.end(), from.begin(), from.end());
        argv.push_back("--to");
        argv.insert(argv.end(), to.begin(), to.end());
    }
    auto result = run(argv, {.timeout_seconds = 600});
    if (result.status != 0 && result.status != 1)
        throw fail(Exit::external, "debdiff exited {}: {}", result.status, printable(trim(result.err), 500));
    return {versions[0], versions[1], result.out, result.status == 1};
}

} // namespace mbd::repo
