#include "repo/port.hpp"

#include "archive/publish.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/log.hpp"
#include "core/process.hpp"
#include "core/strings.hpp"
#include "core/wake.hpp"
#include "db/db.hpp"
#include "debian/control_files.hpp"
#include "events/events.hpp"
#include "keys/instance.hpp"
#include "model/model.hpp"
#include "repo/packages.hpp"
#include "version/version.hpp"

#include <regex>

namespace mbd::repo {
namespace {

std::string codeversion_of(db::Db& db, const DistRef& d)
{
    auto distribution = get_distribution(db, d.codename);
    auto s = get_source(db, distribution.base_source);
    return s.codeversion.empty() ? known_codeversion(d.codename) : s.codeversion;
}

} // namespace

namespace {

// version with its suffix ~<ID><CODEVERSION>+N (ours: the pattern of that suffix a
// version may end in) made to.repository's for to's codeversion.
std::string ported_version(db::Db& db, std::string_view version, const std::regex& ours, const DistRef& to)
{
    bool experimental = suite_of(db, to).experimental;
    std::string target = fmt::format("~{}{}+", to.repository, codeversion_of(db, to));
    std::smatch m;
    std::string v(version);
    if (std::regex_search(v, m, ours))
        return v.substr(0, size_t(m.position(0))) + target + (experimental ? "0" : m[1].str());
    return v + target + (experimental ? "0" : "1");
}

} // namespace

std::string port_version(Context& ctx, std::string_view version, std::string_view from_dist, std::string_view to_dist)
{
    auto& db = ctx.db();
    auto from = find_dist(db, from_dist), to = find_dist(db, to_dist);
    return ported_version(db, version, std::regex(fmt::format("~{}{}\\+([0-9]+)$", from.repository, codeversion_of(db, from))),
                          to);
}

std::string port_version_external(Context& ctx, std::string_view version, std::string_view to_dist)
{
    auto& db = ctx.db();
    auto to = find_dist(db, to_dist);
    return ported_version(db, version, std::regex(fmt::format("~{}[0-9]+\\+([0-9]+)$", to.repository)), to);
}

DistRef port_target(Context& ctx, std::string_view to_dist)
{
    auto to = find_dist(ctx.db(), to_dist);
    if (to.is_rollback() || !suite_of(ctx.db(), to).uploadable)
        throw fail(Exit::rejected, "cannot port to '{}': not an uploadable suite", to.name);
    return to;
}

std::filesystem::path upload_source_tree(Context& ctx, const std::filesystem::path& work,
                                         const std::filesystem::path& tree, std::string_view source,
                                         std::string_view version)
{
    run_checked({"dpkg-buildpackage", "-S", "-d", "-nc", "-us", "-uc", "-sa"}, {.cwd = tree});
    std::string name = fmt::format("{}_{}_source.changes", source, Version::parse(version).without_epoch());
    std::string text = read_file(work / name);
    auto changes = debian::Changes::parse(text, name);
    // the files first, the signed .changes last, each by atomic rename
    for (const auto& f : changes.files)
        copy_atomic(work / f.name, ctx.home().incoming() / f.name);
    write_atomic(ctx.home().incoming() / name, keys::clearsign(ctx, text));
    wake::raise(ctx.home(), wake::Pass::incoming); // (a pass running now may not see it)
    return ctx.home().incoming() / name;
}

std::filesystem::path upload_port(Context& ctx, const std::filesystem::path& dsc, const PortUpload& p)
{
    require_program("dpkg-source", "dpkg-dev");
    make_dirs(ctx.home().tmp());
    TempDir work(ctx.home().tmp(), "port");
    // (dsc's files were checked: as the pool holds them, or by port_ext's dscverify)
    run_checked({"dpkg-source", "--no-check", "-x", dsc.string(), "src"}, {.cwd = work.path()});
    auto tree = work.path() / "src";
    std::string entry = fmt::format("{} ({}) {}; urgency=medium\n\n  * Automatic port of {} {} from {}.\n\n"
                                    " -- {} <{}>  {}\n\n",
                                    p.source, p.version, p.to, p.source, p.from_version, p.origin,
                                    ctx.config().get("identity"), ctx.config().get("email"),
                                    rfc2822_time(now_seconds()));
    write_atomic(tree / "debian/changelog", entry + read_file(tree / "debian/changelog"));
    auto path = upload_source_tree(ctx, work.path(), tree, p.source, p.version);
    auto& db = ctx.db();
    db::Transaction tx(db);
    record_event(db, Event{0, 0, "PORTING", p.source, p.version, p.to, "",
                           fmt::format("port of {} {} from {} uploaded", p.source, p.from_version, p.origin),
                           path.string()});
    tx.commit();
    return path;
}

PortResult port(Context& ctx, std::string_view source, std::string_view from_dist, std::string_view to_dist)
{
    auto& db = ctx.db();
    auto from = find_dist(db, from_dist);
    auto to = port_target(ctx, to_dist);
    auto held = db.query("SELECT sp.id, sp.version FROM dist_sources ds JOIN source_packages sp ON sp.id = ds.source_id "
                         "WHERE ds.dist_id = ? AND ds.name = ?",
                         from.id, source);
    if (!held.step())
        throw fail(Exit::not_found, "'{}' holds no source '{}'", from.name, source);
    long long source_id = held.int64(0);
    PortResult r{std::string(source), held.text(1), "", from.name, to.name, {}};
    r.version = port_version(ctx, r.from_version, from.name, to.name);

    make_dirs(ctx.home().tmp());
    TempDir work(ctx.home().tmp(), "port");
    auto root = archive::repository_dir(ctx, from.repository);
    std::string dsc;
    auto files = db.query("SELECT pf.path FROM source_files sf JOIN pool_files pf ON pf.id = sf.file_id "
                          "WHERE sf.source_id = ?",
                          source_id);
    while (files.step()) {
        std::filesystem::path p = root / files.text(0);
        copy_atomic(p, work.path() / p.filename());
        if (p.extension() == ".dsc")
            dsc = p.filename().string();
    }
    if (dsc.empty())
        throw fail(Exit::state, "source '{}' {} has no .dsc in the pool", source, r.from_version);
    r.changes = upload_port(ctx, work.path() / dsc, {r.source, r.from_version, r.version, to.name, from.name});
    return r;
}

} // namespace mbd::repo
