#include "repo/apt.hpp"

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/process.hpp"
#include "core/strings.hpp"
#include "db/db.hpp"
#include "keys/access.hpp"
#include "core/names.hpp"
#include "keys/instance.hpp"
#include "repo/snapshots.hpp"

#include <algorithm>
#include <cctype>

namespace mbd::repo {

std::string repository_url(const Context& ctx, std::string_view repository)
{
    std::string base = ctx.config().get("publish.url");
    if (base.empty())
        return "file://" + (ctx.home().repositories() / std::string(repository)).string();
    while (!base.empty() && base.back() == '/')
        base.pop_back();
    return base + "/" + std::string(repository);
}

std::string sources_list(Context& ctx, std::string_view repository, const SourcesListOptions& o)
{
    auto& db = ctx.db();
    auto repo = get_repository(db, repository);
    auto layout = get_layout(db, repo.layout);
    for (const auto& c : o.codenames)
        if (std::none_of(repo.dists.begin(), repo.dists.end(), [&](const RepositoryDist& d) { return d.codename == c; }))
            throw fail(Exit::not_found, "repository '{}' has no distribution '{}'", repo.id, c);
    for (const auto& s : o.suites)
        if (!layout.suite(s))
            throw fail(Exit::not_found, "layout '{}' has no suite '{}'", layout.name, s);
    std::string url = o.url.empty() ? repository_url(ctx, repo.id) : o.url;
    std::string key = o.signed_by.empty()
                          ? fmt::format("/etc/apt/keyrings/mbd-{}.asc", ctx.config().get("identity"))
                          : o.signed_by;
    auto wanted = [](const std::vector<std::string>& list, const std::string& v) {
        return list.empty() || std::find(list.begin(), list.end(), v) != list.end();
    };
    // (name, components) of each distribution to print
    std::vector<std::pair<std::string, std::string>> dists;
    if (!o.snapshot.empty()) {
        if (o.snapshot.find('@') == std::string::npos)
            names::check(names::snapshot, o.snapshot);
        for (const auto& s : list_snapshots(db, repo.id))
            if ((s.full_name() == o.snapshot || s.name == o.snapshot) && wanted(o.codenames, s.codename) &&
                wanted(o.suites, s.suite)) {
                std::string components = *db.scalar_text("SELECT header FROM snapshots WHERE dist = ? AND name = ?",
                                                         s.dist, s.name);
                components = components.substr(components.find("\nComponents:") + 12);
                dists.emplace_back(s.full_name(), std::string(trim(components.substr(0, components.find('\n')))));
            }
        if (dists.empty())
            throw fail(Exit::not_found, "repository '{}' has no snapshot '{}'{} (mbd-repo snapshot ls {})", repo.id,
                       o.snapshot, o.codenames.empty() && o.suites.empty() ? "" : " of those codenames and suites",
                       repo.id);
    }
    for (const auto& d : o.snapshot.empty() ? repository_dists(db, repo.id) : std::vector<DistRef>{}) {
        if (!wanted(o.codenames, d.codename) || !wanted(o.suites, d.suite) || (d.is_rollback() && !o.rollbacks))
            continue;
        std::string components;
        for (const auto& c : get_distribution(db, d.codename).components)
            components += (components.empty() ? "" : " ") + c;
        dists.emplace_back(d.name, components);
    }
    std::string out;
    for (const auto& [name, components] : dists) {
        if (o.deb822) {
            if (!out.empty())
                out += "\n";
            out += fmt::format("Types: deb{}\nURIs: {}\nSuites: {}\nComponents: {}\nSigned-By: {}\n",
                               o.sources ? " deb-src" : "", url, name, components, key);
        } else {
            out += fmt::format("deb [signed-by={}] {} {} {}\n", key, url, name, components);
            if (o.sources)
                out += fmt::format("deb-src [signed-by={}] {} {} {}\n", key, url, name, components);
        }
    }
    return out;
}

std::vector<fs::path> install_sources(Context& ctx, std::string_view repository, SourcesListOptions o,
                                      const fs::path& root)
{
    if (!root.is_absolute())
        throw fail(Exit::usage, "--root '{}' is not an absolute path", root.string());
    std::string identity = ctx.config().get("identity");
    fs::path keyrings = root / "etc/apt/keyrings", lists = root / "etc/apt/sources.list.d";
    for (const auto& dir : {keyrings, lists})
        if (!fs::is_directory(dir))
            throw fail(Exit::not_found, "no directory '{}' (is apt installed under '{}'?)", dir.string(), root.string());
    fs::path key = keyrings / fmt::format("mbd-{}.asc", identity);
    std::string file = fmt::format("mbd-{}-{}", identity, repository);
    if (!o.snapshot.empty()) {
        file += "-snapshot-" + o.snapshot;
        for (auto& ch : file)
            if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != '-' && ch != '.')
                ch = '_';
    }
    fs::path sources = lists / (file + ".sources");
    o.deb822 = true;
    o.signed_by = key.string();
    std::string text = sources_list(ctx, repository, o); // (checks the repository and the filters first)
    write_atomic(key, keys::instance_public_key(ctx));
    write_atomic(sources, text);
    return {key, sources};
}

std::string dput_conf(Context& ctx, const DputOptions& o)
{
    auto& config = ctx.config();
    std::string host = o.host.empty() ? config.get("access.host") : o.host;
    std::string method = o.method.empty() ? (host.empty() ? "local" : "scp") : o.method;
    if (method != "local" && method != "scp" && method != "sftp")
        throw fail(Exit::usage, "unknown dput method '{}' (local, scp or sftp)", method);
    if (method == "local") {
        std::string incoming = o.incoming.empty() ? ctx.home().incoming().string() : o.incoming;
        return fmt::format("[mbd-{}]\nmethod = local\nincoming = {}\nallow_unsigned_uploads = 0\n",
                           config.get("identity"), incoming);
    }
    if (host.empty())
        throw fail(Exit::usage, "method '{}' needs a host: --host, or the configuration key access.host", method);
    std::string login = o.login.empty() ? config.get("access.login") : o.login;
    if (login.empty())
        login = current_user();
    for (const auto& [what, value] : {std::pair{"host", host}, {"login", login}, {"incoming", o.incoming}})
        if (value.find_first_of(" \t\n\r#;=[]") != std::string::npos)
            throw fail(Exit::usage, "the {} '{}' cannot be written into dput.cf", what, value);
    std::string out = fmt::format("# uploads over ssh go through the gateway (mbd-keygen access); the account {}@{}\n"
                                  "# takes the ssh keys of role uploader or admin{}\n",
                                  login, host, o.keys ? ":" : ".");
    int keys_shown = 0;
    for (const auto& k : o.keys ? keys::list_access(ctx) : std::vector<keys::AccessKey>{})
        if (k.role >= keys::Role::uploader && ++keys_shown)
            out += fmt::format("#   {} {} ({})\n", k.name, k.fingerprint, keys::role_name(k.role));
    if (o.keys && !keys_shown)
        out += "#   none yet: mbd-keygen access add NAME KEY.pub --role uploader\n";
    if (method == "sftp")
        out += "# (method sftp is dput-ng's; Debian's dput uploads with scp)\n";
    out += fmt::format("[mbd-{}]\nmethod = {}\nfqdn = {}\nlogin = {}\nincoming = {}\n", config.get("identity"), method,
                       host, login, o.incoming.empty() ? "/incoming" : o.incoming);
    if (auto port = config.get_int("access.port"); port != 22)
        out += fmt::format("ssh_config_options = Port={}\n", port);
    out += "allow_unsigned_uploads = 0\n";
    return out;
}

namespace {

void add_suite(std::vector<std::string>& out, const std::string& s)
{
    if (std::find(out.begin(), out.end(), s) == out.end())
        out.push_back(s);
}

} // namespace

std::vector<AptSource> build_sources(Context& ctx, const DistRef& dist, int internal_priority)
{
    auto& db = ctx.db();
    auto distribution = get_distribution(db, dist.codename);
    auto repo = get_repository(db, dist.repository);
    auto layout = get_layout(db, repo.layout);
    std::vector<AptSource> out;
    auto external = [&](const std::string& name, std::optional<int> priority) {
        Source s = get_source(db, name);
        std::vector<std::string> comps;
        for (const auto& c : distribution.components)
            if (s.components.empty() || std::find(s.components.begin(), s.components.end(), c) != s.components.end())
                comps.push_back(c);
        out.push_back({uris_in_order(s).front(), s.suite, comps, source_keys_armored(ctx.home(), s.name), priority, false, {}});
    };
    for (const auto& e : distribution.extra_sources)
        external(e.source, e.priority);

    // Our own suites: this one and where it migrates to; experimental ones see all others.
    const Suite* suite = layout.suite(dist.suite);
    if (!suite)
        throw fail(Exit::state, "layout '{}' has no suite '{}'", layout.name, dist.suite);
    std::vector<std::string> suites{suite->name};
    for (const Suite* s = suite; s && s->migrates_to && suites.size() <= layout.suites.size();) {
        add_suite(suites, *s->migrates_to);
        s = layout.suite(*s->migrates_to);
    }
    if (suite->experimental)
        for (const auto& s : layout.suites)
            if (!s.experimental)
                add_suite(suites, s.name);
    std::string key = keys::instance_public_key(ctx);
    for (const auto& s : suites)
        out.push_back({repository_url(ctx, repo.id), dist_name(dist.codename, repo.id, s, 0), distribution.components,
                       key, internal_priority, true, ctx.home().repositories() / repo.id});
    return out;
}

BuildTarget build_target(db::Db& db, const DistRef& dist)
{
    auto distribution = get_distribution(db, dist.codename);
    auto repo = get_repository(db, dist.repository);
    return {repository_architectures(repo, distribution), distribution.arch_all, distribution.options};
}

} // namespace mbd::repo
