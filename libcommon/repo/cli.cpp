#include "repo/cli.hpp"

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/names.hpp"
#include "core/strings.hpp"
#include "db/db.hpp"
#include "repo/apt.hpp"
#include "repo/lifecycle.hpp"
#include "repo/maintain.hpp"
#include "repo/packages.hpp"
#include "repo/port.hpp"

#include <iostream>
#include <memory>

namespace mbd::repo {
namespace {

std::vector<std::string> comma_list(const std::vector<std::string>& args)
{
    std::vector<std::string> out;
    for (const auto& a : args)
        for (auto w : split(a, ','))
            if (!w.empty())
                out.emplace_back(w);
    return out;
}

template <typename T> void print_list(const std::vector<T>& items, bool json, const std::function<std::string(const T&)>& text)
{
    if (json) {
        Json a = Json::array();
        for (const auto& i : items)
            a.push(to_json(i));
        std::cout << a.dump();
        return;
    }
    for (const auto& i : items)
        std::cout << text(i);
}

std::string source_line(const Source& s)
{
    return fmt::format("{:<24} {:<10} {:<10} {:<12} {}\n", s.name, s.origin, s.codename, s.status.display(),
                       join(s.uris, " "));
}

std::string source_text(const Source& s)
{
    std::string ids;
    for (const auto& [k, v] : s.identifiers)
        ids += (ids.empty() ? "" : ", ") + k + "=" + v;
    return fmt::format("name:          {}\norigin:        {}\ncodename:      {}\nsuite:         {}\nuris:          {}\n"
                       "identifiers:   {}\ncodeversion:   {}\ncomponents:    {}\narchitectures: {}\n"
                       "release date:  {}\nstatus:        {}\n",
                       s.name, s.origin, s.codename, s.suite, join(s.uris, " "), ids, s.codeversion,
                       join(s.components, " "), join(s.architectures, " "), s.release_date, s.status.display());
}

std::string layout_text(const Layout& l)
{
    std::string out = fmt::format("layout: {}{}\n", l.name, l.builtin ? " (built in)" : "");
    out += fmt::format("version rule: {} / experimental: {}\n", l.version_rule.value_or("none"),
                       l.experimental_version_rule.value_or("none"));
    if (!l.meta.empty()) {
        out += "meta:";
        for (const auto& [k, v] : l.meta)
            out += " " + k + "=" + v;
        out += "\n";
    }
    out += fmt::format("  {:<14} {:<10} {:<12} {:<12} {}\n", "suite", "uploadable", "experimental", "migrates to",
                       "rollbacks");
    for (const auto& s : l.suites)
        out += fmt::format("  {:<14} {:<10} {:<12} {:<12} {}\n", s.name, s.uploadable ? "yes" : "no",
                           s.experimental ? "yes" : "no", s.migrates_to.value_or("-"), s.rollbacks);
    return out;
}

std::string dist_text(const Distribution& d)
{
    std::string extra;
    for (const auto& e : d.extra_sources)
        extra += fmt::format("{}{}:{}", extra.empty() ? "" : " ", e.source, e.priority);
    return fmt::format("{}: source {}, extra [{}], components [{}], architectures [{}] (all: {}), lintian {}\n",
                       d.codename, d.base_source, extra, join(d.components, " "), join(d.architectures, " "), d.arch_all,
                       d.options.lintian_mode);
}

std::string repo_text(const Repository& r)
{
    std::string dists;
    for (const auto& d : r.dists)
        dists += fmt::format("{}{}{}", dists.empty() ? "" : " ", d.codename,
                             d.architectures.empty() ? "" : ":" + join(d.architectures, ","));
    return fmt::format("{:<12} {:<12} {:<18} {}\n", r.id, r.status.display(), r.layout, dists);
}

std::string holding_text(const Holding& h)
{
    return fmt::format("{:<24} {:<20} {}\n", h.source, h.version, h.dist);
}

void print_published(const std::vector<std::string>& dists)
{
    if (!dists.empty())
        log::info("published {}", join(dists, ", "));
}

// ---- groups --------------------------------------------------------------------

void define_source(Cli& cli)
{
    auto* g = cli.group("source", "archives to build against: add, check (fetch and verify the Release), list");
    auto spec = std::make_shared<SourceSpec>();
    auto ids = std::make_shared<std::vector<std::string>>();
    auto uri = std::make_shared<std::string>();
    auto* c = cli.command(g, "add", "add a source: archive URL, codename, origin and the keys its Release is signed with",
                          [spec, ids, uri](Context& ctx) {
                              spec->uris = {*uri};
                              for (const auto& i : *ids) {
                                  auto eq = i.find('=');
                                  if (eq == std::string::npos || eq == 0)
                                      throw fail(Exit::usage, "--identifier '{}' is not of the form FIELD=VALUE", i);
                                  spec->identifiers.emplace_back(i.substr(0, eq), i.substr(eq + 1));
                              }
                              std::cout << source_text(add_source(ctx, *spec));
                          });
    c->add_option("name", spec->name, "source name, e.g. debian-bookworm")->required()->check(name_of(names::source));
    c->add_option("--codename", spec->codename, "codename its Release must carry")
        ->required()
        ->check(name_of(names::release));
    c->add_option("--uri", *uri, "archive URL")->required();
    c->add_option("--key", spec->key_files, "file with the OpenPGP key(s) its Release is signed with (repeatable)")
        ->required();
    c->add_option("--origin", spec->origin, "Origin its Release must carry")->capture_default_str();
    c->add_option("--suite", spec->suite, "directory under dists/ (default: the codename)");
    c->add_option("--identifier", *ids, "another Release field to match, FIELD=VALUE (repeatable)");
    c->add_option("--codeversion", spec->codeversion, "the %CODEVERSION% of version rules (default: known or from the Release)");

    auto json = std::make_shared<bool>(false);
    c = cli.command(g, "ls", "list sources", [json](Context& ctx) {
        print_list<Source>(list_sources(ctx.db()), *json, source_line);
    });
    c->add_flag("--json", *json, "print JSON");
    auto name = std::make_shared<std::string>();
    auto sjson = std::make_shared<bool>(false);
    c = cli.command(g, "show", "show a source", [name, sjson](Context& ctx) {
        auto s = get_source(ctx.db(), *name);
        std::cout << (*sjson ? to_json(s).dump() : source_text(s));
    });
    c->add_option("name", *name, "source name")->required()->check(name_of(names::source));
    c->add_flag("--json", *sjson, "print JSON");
    c = cli.command(g, "check", "fetch the source's Release (InRelease or Release + Release.gpg) and verify it",
                    [name](Context& ctx) { std::cout << source_text(check_source(ctx, *name)); });
    c->add_option("name", *name, "source name")->required()->check(name_of(names::source));
    for (std::string action : {"activate", "deactivate", "remove"}) {
        c = cli.command(g, action, action == "remove" ? "remove a source no distribution uses" : action + " a source",
                        [name, action](Context& ctx) { std::cout << source_line(source_action(ctx, *name, action)); });
        c->add_option("name", *name, "source name")->required()->check(name_of(names::source));
    }
}

void define_layout(Cli& cli)
{
    auto* g = cli.group("layout", "suites and their rules: Default, Debian Developer, custom copies");
    auto json = std::make_shared<bool>(false);
    auto* c = cli.command(g, "ls", "list layouts with their suites", [json](Context& ctx) {
        print_list<Layout>(list_layouts(ctx.db()), *json, layout_text);
    });
    c->add_flag("--json", *json, "print JSON");
    auto name = std::make_shared<std::string>();
    c = cli.command(g, "show", "show a layout", [name, json](Context& ctx) {
        auto l = get_layout(ctx.db(), *name);
        std::cout << (*json ? to_json(l).dump() : layout_text(l));
    });
    c->add_option("name", *name, "layout name")->required()->check(name_of(names::layout));
    c->add_flag("--json", *json, "print JSON");
    auto from = std::make_shared<std::string>();
    c = cli.command(g, "add", "add a custom layout, empty or a copy of another", [name, from](Context& ctx) {
        std::cout << layout_text(add_layout(ctx.db(), *name, from->empty() ? std::nullopt : std::optional(*from)));
    });
    c->add_option("name", *name, "layout name")->required()->check(name_of(names::layout));
    c->add_option("--from", *from, "copy this layout")->check(name_of(names::layout));
    auto suite = std::make_shared<Suite>();
    auto migrates = std::make_shared<std::string>();
    c = cli.command(g, "suite", "add or change a suite of a custom layout no repository uses",
                    [name, suite, migrates](Context& ctx) {
                        Suite s = *suite;
                        if (!migrates->empty())
                            s.migrates_to = *migrates;
                        std::cout << layout_text(set_layout_suite(ctx.db(), *name, s));
                    });
    c->add_option("layout", *name, "layout name")->required()->check(name_of(names::layout));
    c->add_option("suite", suite->name, "suite name")->required()->check(name_of(names::suite));
    c->add_flag("--uploadable", suite->uploadable, "accepts uploads");
    c->add_flag("--experimental", suite->experimental, "experimental (version rule '+0', NotAutomatic)");
    c->add_option("--migrates-to", *migrates, "the suite packages migrate to")->check(name_of(names::suite));
    c->add_option("--rollbacks", suite->rollbacks, "previous versions kept (CODENAME-ID-SUITE-rollbackN)");
    c->add_flag("--not-automatic", suite->not_automatic, "publish NotAutomatic: yes");
    c->add_flag("--but-automatic-upgrades", suite->but_automatic_upgrades, "publish ButAutomaticUpgrades: yes");
    auto rule = std::make_shared<std::optional<std::string>>(), erule = std::make_shared<std::optional<std::string>>(),
         meta = std::make_shared<std::optional<std::string>>();
    c = cli.command(g, "rules", "set the version rules and meta distribution names of a custom layout",
                    [name, rule, erule, meta](Context& ctx) {
                        std::cout << layout_text(set_layout_rules(ctx.db(), *name, *rule, *erule, *meta));
                    });
    c->add_option("layout", *name, "layout name")->required()->check(name_of(names::layout));
    c->add_option("--version-rule", *rule, "regex a non-experimental version must match (%ID%, %CODEVERSION%; '' none)");
    c->add_option("--experimental-version-rule", *erule, "the same for experimental suites");
    c->add_option("--meta", *meta, "meta names, 'unstable=sid-unstable experimental=sid-experimental'");
}

void define_dist(Cli& cli)
{
    auto* g = cli.group("dist", "distributions: base source, extra sources, components, architectures, build options");
    auto d = std::make_shared<Distribution>();
    auto extra = std::make_shared<std::vector<std::string>>();
    auto archs = std::make_shared<std::vector<std::string>>();
    auto comps = std::make_shared<std::vector<std::string>>();
    auto* c = cli.command(g, "add", "add a distribution", [d, extra, archs, comps](Context& ctx) {
        Distribution x = *d;
        x.architectures = comma_list(*archs);
        if (!comps->empty())
            x.components = comma_list(*comps);
        if (x.arch_all.empty() && !x.architectures.empty())
            x.arch_all = x.architectures.front();
        for (const auto& e : *extra) {
            auto colon = e.rfind(':');
            ExtraSource es{e, 500};
            if (colon != std::string::npos) {
                auto p = parse_int(e.substr(colon + 1));
                if (!p)
                    throw fail(Exit::usage, "--extra '{}': the priority after ':' must be a number", e);
                es = {e.substr(0, colon), int(*p)};
            }
            x.extra_sources.push_back(es);
        }
        std::cout << dist_text(add_distribution(ctx.db(), x));
    });
    c->add_option("codename", d->codename, "codename, e.g. bookworm")->required()->check(name_of(names::codename));
    c->add_option("--source", d->base_source, "base source")->required()->check(name_of(names::source));
    c->add_option("--extra", *extra, "extra source with its APT priority, SOURCE[:PRIORITY] (repeatable; default 500)");
    c->add_option("--arch", *archs, "architectures (comma-separated or repeated)")->required();
    c->add_option("--arch-all", d->arch_all, "the architecture that builds Architecture: all (default: the first)")
        ->check(name_of(names::architecture));
    c->add_option("--component", *comps, "components (default: main)");
    c->add_option("--lintian-mode", d->options.lintian_mode, "disabled, ignore, errfail, warnfail")->capture_default_str();
    c->add_option("--autopkgtest-mode", d->options.autopkgtest_mode, "disabled, ignore, errfail, warnfail")
        ->capture_default_str();
    c->add_option("--deb-build-options", d->options.deb_build_options, "DEB_BUILD_OPTIONS for builds");
    c->add_option("--deb-build-profiles", d->options.deb_build_profiles, "DEB_BUILD_PROFILES for builds");
    c->add_option("--resolver", d->options.resolver,
                  "sbuild's build-dependency resolver when a build installs something: apt, aptitude, aspcud")
        ->capture_default_str();
    auto json = std::make_shared<bool>(false);
    c = cli.command(g, "ls", "list distributions", [json](Context& ctx) {
        print_list<Distribution>(list_distributions(ctx.db()), *json, dist_text);
    });
    c->add_flag("--json", *json, "print JSON");
    auto name = std::make_shared<std::string>();
    c = cli.command(g, "show", "show a distribution", [name, json](Context& ctx) {
        auto x = get_distribution(ctx.db(), *name);
        std::cout << (*json ? to_json(x).dump() : dist_text(x));
    });
    c->add_option("codename", *name, "codename")->required()->check(name_of(names::codename));
    c->add_flag("--json", *json, "print JSON");
}

void define_repository(Cli& cli)
{
    auto* g = cli.group("repository", "repositories: list, show, and the status actions prepare, activate, deactivate, remove");
    auto json = std::make_shared<bool>(false);
    auto* c = cli.command(g, "ls", "list repositories", [json](Context& ctx) {
        print_list<Repository>(list_repositories(ctx.db()), *json, repo_text);
    });
    c->add_flag("--json", *json, "print JSON");
    auto id = std::make_shared<std::string>();
    c = cli.command(g, "show", "show a repository and its distributions", [id, json](Context& ctx) {
        auto r = get_repository(ctx.db(), *id);
        if (*json) {
            Json j = to_json(r);
            Json dists = Json::array();
            for (const auto& d : repository_dists(ctx.db(), r.id))
                dists.push(d.name);
            j.set("published", dists);
            std::cout << j.dump();
            return;
        }
        std::cout << repo_text(r);
        for (const auto& d : repository_dists(ctx.db(), r.id))
            std::cout << "  " << d.name << "\n";
    });
    c->add_option("id", *id, "repository id")->required()->check(name_of(names::repository));
    c->add_flag("--json", *json, "print JSON");
    c = cli.command(g, "prepare", "create the repository's directory and publish all its distributions",
                    [id](Context& ctx) { std::cout << repo_text(prepare_repository(ctx, *id)); });
    c->add_option("id", *id, "repository id")->required()->check(name_of(names::repository));
    for (std::string action : {"activate", "deactivate", "remove"}) {
        c = cli.command(g, action,
                        action == "activate"     ? "accept uploads (after a passed check)"
                        : action == "deactivate" ? "stop accepting uploads"
                                                 : "delete the published data of a repository that holds no packages",
                        [id, action](Context& ctx) { std::cout << repo_text(repository_action(ctx, *id, action)); });
        c->add_option("id", *id, "repository id")->required()->check(name_of(names::repository));
    }
}

// ---- top level ----------------------------------------------------------------

void define_packages(Cli& cli)
{
    struct InstallArgs {
        std::vector<std::string> changes;
        std::string dist;
        bool no_publish = false, each = false;
    };
    auto in = std::make_shared<InstallArgs>();
    auto* c = cli.command("install", "install .changes (source and binaries, all or nothing) and publish", [in](Context& ctx) {
        InstallRequest req;
        for (const auto& p : in->changes)
            req.changes.emplace_back(p);
        req.dist = in->dist;
        req.publish = !in->no_publish;
        std::vector<InstallResult> results;
        if (in->each)
            results = install_each(ctx, req.changes, req.dist, req.publish);
        else
            results.push_back(install(ctx, req));
        for (const auto& r : results)
            std::cout << fmt::format("{} {} -> {}\n", r.source, r.version, r.dist.name);
        if (!results.empty())
            print_published(results.back().published);
    });
    c->add_option("changes", in->changes, "the .changes files of one source version")->required();
    c->add_option("--dist", in->dist, "target distribution CODENAME-ID-SUITE (default: the .changes' Distribution)")
        ->check(name_of(names::distribution));
    c->add_flag("--no-publish", in->no_publish, "only record it (publish later)");
    c->add_flag("--each", in->each, "each .changes is an upload of its own (imports); one publish at the end");

    struct MoveArgs {
        std::string source, dist, to;
        std::optional<std::string> version;
        bool no_publish = false;
    };
    auto mv = std::make_shared<MoveArgs>();
    c = cli.command("migrate", "copy a source's version to the suite its suite migrates to", [mv](Context& ctx) {
        auto r = migrate(ctx, mv->source, mv->dist, !mv->no_publish);
        std::cout << fmt::format("{} {}: {} -> {}\n", r.source, r.version, r.from, r.to);
        print_published(r.published);
    });
    c->add_option("source", mv->source, "source package")->required()->check(name_of(names::package));
    c->add_option("from", mv->dist, "distribution to migrate from, CODENAME-ID-SUITE")
        ->required()
        ->check(name_of(names::distribution));
    c->add_flag("--no-publish", mv->no_publish, "only record it (publish later)");
    c = cli.command("port", "rebuild a source for another distribution: a signed upload into incoming/", [mv](Context& ctx) {
        auto r = port(ctx, mv->source, mv->dist, mv->to);
        std::cout << fmt::format("{} {} from {}: uploaded {} for {} ({})\n", r.source, r.from_version, r.from,
                                 r.version, r.to, r.changes.filename().string());
    });
    c->add_option("source", mv->source, "source package")->required()->check(name_of(names::package));
    c->add_option("from", mv->dist, "distribution holding it, CODENAME-ID-SUITE")
        ->required()
        ->check(name_of(names::distribution));
    c->add_option("to", mv->to, "distribution to port it to, CODENAME-ID-SUITE")
        ->required()
        ->check(name_of(names::distribution));
    c = cli.command("remove", "take a source out of a distribution (suite or rollback)", [mv](Context& ctx) {
        auto r = remove(ctx, mv->source, mv->dist, mv->version, !mv->no_publish);
        std::cout << fmt::format("{} {}: removed from {}\n", r.source, r.version, r.from);
        print_published(r.published);
    });
    c->add_option("source", mv->source, "source package")->required()->check(name_of(names::package));
    c->add_option("dist", mv->dist, "distribution")->required()->check(name_of(names::distribution));
    c->add_option("--version", mv->version, "only if it holds this version");
    c->add_flag("--no-publish", mv->no_publish, "only record it (publish later)");

    struct PublishArgs {
        std::string id, dist;
        bool rebuild = false;
    };
    auto pa = std::make_shared<PublishArgs>();
    c = cli.command("publish", "publish what changed (all repositories, or one)", [pa](Context& ctx) {
        std::vector<std::string> ids;
        if (!pa->id.empty())
            ids.push_back(get_repository(ctx.db(), pa->id).id);
        else
            for (const auto& r : list_repositories(ctx.db()))
                if (r.status.status != Status::removed)
                    ids.push_back(r.id);
        for (const auto& id : ids) {
            RepositoryLock lock(ctx, id);
            auto dists = publish_repository(ctx, lock, pa->rebuild,
                                            pa->dist.empty() ? std::nullopt : std::optional(pa->dist));
            for (const auto& d : dists)
                std::cout << d << "\n";
        }
    });
    c->add_option("id", pa->id, "repository (default: all)")->check(name_of(names::repository));
    c->add_option("--dist", pa->dist, "only this distribution")->check(name_of(names::distribution));
    c->add_flag("--rebuild", pa->rebuild, "rebuild every index from the state database");

    auto mjson = std::make_shared<bool>(false);
    c = cli.command("maintain",
                    "daily upkeep (mbd-repo-maintain.timer): Valid-Until, by-hash and pool cleanup, retention",
                    [mjson](Context& ctx) {
                        auto r = maintain(ctx);
                        if (*mjson) {
                            std::cout << to_json(r).dump();
                            return;
                        }
                        for (const auto& d : r.published)
                            std::cout << d << "\n";
                    });
    c->add_flag("--json", *mjson, "print what was done as JSON");

    struct QueryArgs {
        std::string arg, repo, dist;
        bool json = false;
    };
    auto q = std::make_shared<QueryArgs>();
    c = cli.command("ls", "list what the distributions hold", [q](Context& ctx) {
        print_list<Holding>(list_holdings(ctx.db(), q->arg, q->dist), q->json, holding_text);
    });
    c->add_option("id", q->arg, "repository (default: all)")->check(name_of(names::repository));
    c->add_option("--dist", q->dist, "only this distribution")->check(name_of(names::distribution));
    c->add_flag("--json", q->json, "print JSON");
    c = cli.command("show", "show the versions of a source per distribution, rollbacks included", [q](Context& ctx) {
        print_list<Holding>(show_source(ctx.db(), q->arg, q->repo), q->json, holding_text);
    });
    c->add_option("source", q->arg, "source package")->required()->check(name_of(names::package));
    c->add_option("--repository", q->repo, "only this repository")->check(name_of(names::repository));
    c->add_flag("--json", q->json, "print JSON");
    c = cli.command("search", "find sources and binaries by name (shell pattern)", [q](Context& ctx) {
        print_list<Holding>(search(ctx.db(), q->arg, q->repo), q->json, holding_text);
    });
    c->add_option("pattern", q->arg, "name pattern, e.g. 'lib*'")->required();
    c->add_option("--repository", q->repo, "only this repository")->check(name_of(names::repository));
    c->add_flag("--json", q->json, "print JSON");
}

void define_setup(Cli& cli)
{
    auto o = std::make_shared<SetupOptions>();
    auto archs = std::make_shared<std::vector<std::string>>();
    auto no_check = std::make_shared<bool>(false);
    auto* c = cli.command("setup", "first-time setup: a Debian source, a distribution and an active repository",
                          [o, archs, no_check](Context& ctx) {
                              SetupOptions x = *o;
                              x.architectures = comma_list(*archs);
                              x.check_source = !*no_check;
                              auto r = setup(ctx, x);
                              std::cout << repo_text(r.repository);
                              std::cout << sources_list(ctx, r.repository.id, {});
                          });
    c->add_option("id", o->id, "repository id ([a-z0-9]+)")->required()->check(name_of(names::repository));
    c->add_option("--codename", o->codename, "Debian codename")->capture_default_str()->check(name_of(names::codename));
    c->add_option("--arch", *archs, "architectures (default: this machine's)");
    c->add_option("--layout", o->layout, "layout")->capture_default_str()->check(name_of(names::layout));
    c->add_option("--mirror", o->mirror, "Debian mirror (default: configuration key 'mirror')");
    c->add_option("--keyring", o->keyring, "keys the mirror's Release is signed with")->capture_default_str();
    c->add_flag("--no-check", *no_check, "do not fetch and verify the mirror's Release now");

    auto r = std::make_shared<Repository>();
    auto dists = std::make_shared<std::vector<std::string>>();
    c = cli.command("create", "create a repository and publish its (empty) distributions", [r, dists](Context& ctx) {
        Repository x = *r;
        if (x.origin.empty())
            x.origin = ctx.config().get("identity");
        for (const auto& d : *dists) {
            auto colon = d.find(':');
            RepositoryDist rd{d.substr(0, colon), {}};
            if (colon != std::string::npos)
                rd.architectures = comma_list({d.substr(colon + 1)});
            x.dists.push_back(rd);
        }
        std::cout << repo_text(create_and_prepare(ctx, x));
    });
    c->add_option("id", r->id, "repository id ([a-z0-9]+)")->required()->check(name_of(names::repository));
    c->add_option("--layout", r->layout, "layout")->default_val("Default")->check(name_of(names::layout));
    c->add_option("--dist", *dists, "distribution CODENAME[:ARCH,ARCH] (repeatable)")->required();
    c->add_option("--origin", r->origin, "Origin of its Release files (default: the identity)");
    c->add_option("--description", r->description, "description");
}

void define_output(Cli& cli)
{
    auto id = std::make_shared<std::string>();
    auto json = std::make_shared<bool>(false);
    auto* c = cli.command("check", "verify DB <-> pool <-> published indices <-> signatures; exit 12 on any problem",
                          [id, json](Context& ctx) {
                              std::vector<std::string> ids;
                              if (!id->empty())
                                  ids.push_back(*id);
                              else
                                  for (const auto& r : list_repositories(ctx.db()))
                                      if (r.status.status != Status::removed)
                                          ids.push_back(r.id);
                              Json all = Json::array();
                              size_t problems = 0;
                              for (const auto& i : ids) {
                                  auto rep = check_repository(ctx, i);
                                  problems += rep.problems.size();
                                  for (const auto& p : rep.problems)
                                      log::error("repository '{}': {}", i, p);
                                  if (*json)
                                      all.push(to_json(rep));
                                  else
                                      std::cout << fmt::format("{}: {} ({} pool files, {} distributions)\n", i,
                                                               rep.ok() ? "ok" : "FAILED", rep.pool_files, rep.dists);
                              }
                              if (*json)
                                  std::cout << all.dump();
                              if (problems)
                                  throw fail(Exit::check_failed, "{} problem{} found", problems, problems == 1 ? "" : "s");
                          });
    c->add_option("id", *id, "repository (default: all)")->check(name_of(names::repository));
    c->add_flag("--json", *json, "print JSON");

    auto sl = std::make_shared<SourcesListOptions>();
    auto codenames = std::make_shared<std::vector<std::string>>(), suites = std::make_shared<std::vector<std::string>>();
    auto no_src = std::make_shared<bool>(false);
    c = cli.command("sources-list", "print the apt sources of a repository (one-line or deb822)",
                    [id, sl, codenames, suites, no_src](Context& ctx) {
                        SourcesListOptions o = *sl;
                        o.codenames = comma_list(*codenames);
                        o.suites = comma_list(*suites);
                        o.sources = !*no_src;
                        std::cout << sources_list(ctx, *id, o);
                    });
    c->add_option("id", *id, "repository")->required()->check(name_of(names::repository));
    c->add_option("--codename", *codenames, "only these codenames");
    c->add_option("--suite", *suites, "only these suites");
    c->add_flag("--rollbacks", sl->rollbacks, "also the rollback distributions");
    c->add_flag("--deb822", sl->deb822, "a deb822 .sources file");
    c->add_flag("--no-src", *no_src, "no deb-src entries");
    c->add_option("--signed-by", sl->signed_by, "path of the key file (mbd-keygen export) on the user's machine");
    c->add_option("--url", sl->url, "URL of the repository (default: configuration key 'publish.url')");

    auto dp = std::make_shared<DputOptions>();
    c = cli.command("dput-conf", "print a dput.cf stanza for uploading to this instance",
                    [dp](Context& ctx) { std::cout << dput_conf(ctx, *dp); });
    c->add_option("--host", dp->host, "host to upload to (default: this one, method local)");
    c->add_option("--method", dp->method, "local, scp or sftp");
    c->add_option("--login", dp->login, "login on that host");
    c->add_option("--incoming", dp->incoming, "incoming directory on that host");
}

} // namespace

void define_cli(Cli& cli)
{
    define_setup(cli);
    define_packages(cli);
    define_output(cli);
    define_repository(cli);
    define_source(cli);
    define_layout(cli);
    define_dist(cli);
}

} // namespace mbd::repo
