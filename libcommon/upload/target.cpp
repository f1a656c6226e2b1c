#include "upload/target.hpp"

#include "core/error.hpp"
#include "core/strings.hpp"
#include "db/db.hpp"
#include "model/edit.hpp"
#include "model/model.hpp"
#include "repo/apt.hpp"
#include "repo/packages.hpp"

#include <set>

namespace mbd::upload {
namespace {

repo::DistRef dist_of(Context& ctx, const Target& t) { return repo::find_dist(ctx.db(), t.name); }

} // namespace

Target resolve_upload_target(Context& ctx, std::string_view distribution)
{
    auto& db = ctx.db();
    repo::DistRef dist;
    try {
        dist = repo::find_dist(db, distribution);
    } catch (const Error& e) {
        throw fail(Exit::rejected, "unknown distribution '{}': {}", distribution, e.what());
    }
    if (dist.is_rollback())
        throw fail(Exit::rejected, "'{}' is a rollback distribution: uploads go to suites", dist.name);
    auto suite = repo::suite_of(db, dist);
    if (!suite.uploadable)
        throw fail(Exit::rejected, "suite '{}' of '{}' is not uploadable (packages reach it by migration)", suite.name,
                   dist.name);
    auto repository = repo::get_repository(db, dist.repository);
    if (repository.status.status != Status::active)
        throw fail(Exit::rejected, "repository '{}' is not active ({})", repository.id, repository.status.display());
    if (repository.status.flag == CheckFlag::changed)
        throw fail(Exit::rejected, "repository '{}' was changed ({}) and not prepared since (mbd-repo repository prepare {})",
                   repository.id, repository.changes, repository.id);
    if (const auto* rd = repository.dist(dist.codename); rd && rd->retire_after)
        throw fail(Exit::rejected, "repository '{}' no longer serves '{}' (removed; retired on {})", repository.id,
                   dist.codename, iso_time(rd->retire_after));
    if (auto why = repo::distribution_source_problem(db, dist.codename))
        throw fail(Exit::rejected, "{}", *why);
    auto bt = repo::build_target(db, dist);
    Target t;
    t.name = dist.name;
    t.repository = dist.repository;
    t.codename = dist.codename;
    t.suite = dist.suite;
    t.architectures = bt.architectures;
    t.arch_all = bt.arch_all;
    t.lintian_mode = bt.options.lintian_mode;
    t.autopkgtest_mode = bt.options.autopkgtest_mode;
    t.deb_build_options = bt.options.deb_build_options;
    t.deb_build_profiles = bt.options.deb_build_profiles;
    t.resolver = bt.options.resolver;
    return t;
}

void check_upload_version(Context& ctx, const Target& target, std::string_view source, std::string_view version)
{
    if (auto why = repo::upload_rejection(ctx.db(), dist_of(ctx, target), source, version))
        throw fail(Exit::rejected, "{}", *why);
}

BuildSources build_sources(Context& ctx, const Target& target, int internal_apt_priority)
{
    BuildSources out;
    auto sources = repo::build_sources(ctx, dist_of(ctx, target), internal_apt_priority);
    std::set<std::string> keys;
    for (const auto& s : sources) {
        std::string line = fmt::format("deb {} {}", s.uri, s.suite);
        for (const auto& c : s.components)
            line += " " + c;
        out.lines.push_back(line);
        if (s.priority)
            out.preferences += fmt::format("Package: *\nPin: release n={}\nPin-Priority: {}\n\n", s.suite, *s.priority);
        if (!s.key.empty() && keys.insert(s.key).second)
            out.keys += s.key;
    }
    return out;
}

void install_built(Context& ctx, const Target& target, const std::filesystem::path& upload_changes,
                   const std::vector<std::filesystem::path>& result_changes,
                   const std::function<void(db::Db&)>& also)
{
    repo::InstallRequest request;
    request.also = also;
    request.changes.push_back(upload_changes);
    request.changes.insert(request.changes.end(), result_changes.begin(), result_changes.end());
    request.dist = target.name;
    repo::install(ctx, request);
}

void publish_unfinished(Context& ctx) { repo::publish_unfinished(ctx); }

} // namespace mbd::upload
