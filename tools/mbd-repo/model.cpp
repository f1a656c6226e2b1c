// mbd-repo's configuration model: source, layout, dist, repository.
#include "cli.hpp"

#include "core/error.hpp"
#include "core/names.hpp"
#include "core/strings.hpp"
#include "db/db.hpp"
#include "repo/lifecycle.hpp"

#include <memory>

namespace mbd::repo {
namespace {

// The options of the commands that name one thing and may print JSON (show, ls, actions).
struct NameArgs {
    std::string name;
    bool json = false;
};

} // namespace

void define_source(Cli& cli)
{
    auto* g = cli.group("source", "archives to build against: add, check (fetch and verify the Release), list");
    struct AddArgs {
        SourceSpec spec;
        std::vector<std::string> uris;
        std::vector<std::string> identifiers;
    };
    auto add = std::make_shared<AddArgs>();
    auto* c = cli.command(g, "add", "add a source: archive URL, codename, origin and the keys its Release is signed with",
                          [add](Context& ctx) {
                              SourceSpec spec = add->spec;
                              spec.uris = add->uris;
                              for (const auto& i : add->identifiers) {
                                  auto eq = i.find('=');
                                  if (eq == std::string::npos || eq == 0)
                                      throw fail(Exit::usage, "--identifier '{}' is not of the form FIELD=VALUE", i);
                                  spec.identifiers.emplace_back(i.substr(0, eq), i.substr(eq + 1));
                              }
                              std::cout << source_text(add_source(ctx, spec));
                          });
    c->add_option("name", add->spec.name, "source name, e.g. debian-bookworm")->required()->check(name_of(names::source));
    c->add_option("--codename", add->spec.codename, "codename its Release must carry")
        ->required()
        ->check(name_of(names::release));
    c->add_option("--uri", add->uris, "archive URL (repeatable: tried in order when one fails)")->required();
    c->add_option("--key", add->spec.key_files, "file with the OpenPGP key(s) its Release is signed with (repeatable)")
        ->required();
    c->add_option("--origin", add->spec.origin, "Origin its Release must carry")->capture_default_str();
    c->add_option("--suite", add->spec.suite, "directory under dists/ (default: the codename)");
    c->add_option("--identifier", add->identifiers, "another Release field to match, FIELD=VALUE (repeatable)");
    c->add_option("--codeversion", add->spec.codeversion,
                  "the %CODEVERSION% of version rules (default: known or from the Release)");

    auto ls = std::make_shared<NameArgs>();
    c = cli.command(g, "ls", "list sources",
                    [ls](Context& ctx) { print_list<Source>(list_sources(ctx.db()), ls->json, source_line); });
    c->add_flag("--json", ls->json, "print JSON");

    auto show = std::make_shared<NameArgs>();
    c = cli.command(g, "show", "show a source", [show](Context& ctx) {
        auto s = get_source(ctx.db(), show->name);
        std::cout << (show->json ? to_json(s).dump() : source_text(s));
    });
    c->add_option("name", show->name, "source name")->required()->check(name_of(names::source));
    c->add_flag("--json", show->json, "print JSON");

    auto check = std::make_shared<NameArgs>();
    c = cli.command(g, "check", "fetch the source's Release (InRelease or Release + Release.gpg) and verify it",
                    [check](Context& ctx) { std::cout << source_text(check_source(ctx, check->name)); });
    c->add_option("name", check->name, "source name")->required()->check(name_of(names::source));

    for (std::string action : {"activate", "deactivate", "remove"}) {
        auto a = std::make_shared<NameArgs>();
        c = cli.command(g, action, action == "remove" ? "remove a source no distribution uses" : action + " a source",
                        [a, action](Context& ctx) { std::cout << source_line(source_action(ctx, a->name, action)); });
        c->add_option("name", a->name, "source name")->required()->check(name_of(names::source));
    }
}

void define_layout(Cli& cli)
{
    auto* g = cli.group("layout", "suites and their rules: Default, Debian Developer, custom copies");
    auto ls = std::make_shared<NameArgs>();
    auto* c = cli.command(g, "ls", "list layouts with their suites",
                          [ls](Context& ctx) { print_list<Layout>(list_layouts(ctx.db()), ls->json, layout_text); });
    c->add_flag("--json", ls->json, "print JSON");

    auto show = std::make_shared<NameArgs>();
    c = cli.command(g, "show", "show a layout", [show](Context& ctx) {
        auto l = get_layout(ctx.db(), show->name);
        std::cout << (show->json ? to_json(l).dump() : layout_text(l));
    });
    c->add_option("name", show->name, "layout name")->required()->check(name_of(names::layout));
    c->add_flag("--json", show->json, "print JSON");

    struct AddArgs {
        std::string name, from;
    };
    auto add = std::make_shared<AddArgs>();
    c = cli.command(g, "add", "add a custom layout, empty or a copy of another", [add](Context& ctx) {
        std::cout << layout_text(
            add_layout(ctx.db(), add->name, add->from.empty() ? std::nullopt : std::optional(add->from)));
    });
    c->add_option("name", add->name, "layout name")->required()->check(name_of(names::layout));
    c->add_option("--from", add->from, "copy this layout")->check(name_of(names::layout));

    struct SuiteArgs {
        std::string layout;
        Suite suite;
        std::string migrates_to;
    };
    auto su = std::make_shared<SuiteArgs>();
    c = cli.command(g, "suite", "add or change a suite of a custom layout no repository uses", [su](Context& ctx) {
        Suite s = su->suite;
        if (!su->migrates_to.empty())
            s.migrates_to = su->migrates_to;
        std::cout << layout_text(set_layout_suite(ctx.db(), su->layout, s));
    });
    c->add_option("layout", su->layout, "layout name")->required()->check(name_of(names::layout));
    c->add_option("suite", su->suite.name, "suite name")->required()->check(name_of(names::suite));
    c->add_flag("--uploadable", su->suite.uploadable, "accepts uploads");
    c->add_flag("--experimental", su->suite.experimental, "experimental (version rule '+0', NotAutomatic)");
    c->add_option("--migrates-to", su->migrates_to, "the suite packages migrate to")->check(name_of(names::suite));
    c->add_option("--rollbacks", su->suite.rollbacks, "previous versions kept (CODENAME-ID-SUITE-rollbackN)");
    c->add_flag("--not-automatic", su->suite.not_automatic, "publish NotAutomatic: yes");
    c->add_flag("--but-automatic-upgrades", su->suite.but_automatic_upgrades, "publish ButAutomaticUpgrades: yes");

    struct RulesArgs {
        std::string layout;
        std::optional<std::string> rule, experimental_rule, meta;
    };
    auto ru = std::make_shared<RulesArgs>();
    c = cli.command(g, "rules", "set the version rules and meta distribution names of a custom layout", [ru](Context& ctx) {
        std::cout << layout_text(set_layout_rules(ctx.db(), ru->layout, ru->rule, ru->experimental_rule, ru->meta));
    });
    c->add_option("layout", ru->layout, "layout name")->required()->check(name_of(names::layout));
    c->add_option("--version-rule", ru->rule, "regex a non-experimental version must match (%ID%, %CODEVERSION%; '' none)");
    c->add_option("--experimental-version-rule", ru->experimental_rule, "the same for experimental suites");
    c->add_option("--meta", ru->meta, "meta names, 'unstable=sid-unstable experimental=sid-experimental'");
}

void define_dist(Cli& cli)
{
    auto* g = cli.group("dist", "distributions: base source, extra sources, components, architectures, build options");
    struct AddArgs {
        Distribution dist;
        std::vector<std::string> extra, archs, comps;
    };
    auto add = std::make_shared<AddArgs>();
    auto* c = cli.command(g, "add", "add a distribution", [add](Context& ctx) {
        Distribution x = add->dist;
        x.architectures = comma_list(add->archs);
        if (!add->comps.empty())
            x.components = comma_list(add->comps);
        if (x.arch_all.empty() && !x.architectures.empty())
            x.arch_all = x.architectures.front();
        for (const auto& e : add->extra) {
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
    auto& d = add->dist;
    c->add_option("codename", d.codename, "codename, e.g. bookworm")->required()->check(name_of(names::codename));
    c->add_option("--source", d.base_source, "base source")->required()->check(name_of(names::source));
    c->add_option("--extra", add->extra, "extra source with its APT priority, SOURCE[:PRIORITY] (repeatable; default 500)");
    c->add_option("--arch", add->archs, "architectures (comma-separated or repeated)")->required();
    c->add_option("--arch-all", d.arch_all, "the architecture that builds Architecture: all (default: the first)")
        ->check(name_of(names::architecture));
    c->add_option("--component", add->comps, "components (default: main)");
    c->add_option("--lintian-mode", d.options.lintian_mode, "disabled, ignore, errfail, warnfail")->capture_default_str();
    c->add_option("--autopkgtest-mode", d.options.autopkgtest_mode, "disabled, ignore, errfail, warnfail")
        ->capture_default_str();
    c->add_option("--deb-build-options", d.options.deb_build_options, "DEB_BUILD_OPTIONS for builds");
    c->add_option("--deb-build-profiles", d.options.deb_build_profiles, "DEB_BUILD_PROFILES for builds");
    c->add_option("--resolver", d.options.resolver,
                  "sbuild's build-dependency resolver when a build installs something: apt, aptitude, aspcud")
        ->capture_default_str();

    auto ls = std::make_shared<NameArgs>();
    c = cli.command(g, "ls", "list distributions",
                    [ls](Context& ctx) { print_list<Distribution>(list_distributions(ctx.db()), ls->json, dist_text); });
    c->add_flag("--json", ls->json, "print JSON");

    auto show = std::make_shared<NameArgs>();
    c = cli.command(g, "show", "show a distribution", [show](Context& ctx) {
        auto x = get_distribution(ctx.db(), show->name);
        std::cout << (show->json ? to_json(x).dump() : dist_text(x));
    });
    c->add_option("codename", show->name, "codename")->required()->check(name_of(names::codename));
    c->add_flag("--json", show->json, "print JSON");
}

void define_repository(Cli& cli)
{
    auto* g = cli.group("repository", "repositories: list, show, and the status actions prepare, activate, deactivate, remove");
    auto ls = std::make_shared<NameArgs>();
    auto* c = cli.command(g, "ls", "list repositories",
                          [ls](Context& ctx) { print_list<Repository>(list_repositories(ctx.db()), ls->json, repo_text); });
    c->add_flag("--json", ls->json, "print JSON");

    auto show = std::make_shared<NameArgs>();
    c = cli.command(g, "show", "show a repository and its distributions", [show](Context& ctx) {
        auto r = get_repository(ctx.db(), show->name);
        if (show->json) {
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
    c->add_option("id", show->name, "repository id")->required()->check(name_of(names::repository));
    c->add_flag("--json", show->json, "print JSON");

    auto prepare = std::make_shared<NameArgs>();
    c = cli.command(g, "prepare", "create the repository's directory and publish all its distributions",
                    [prepare](Context& ctx) { std::cout << repo_text(prepare_repository(ctx, prepare->name)); });
    c->add_option("id", prepare->name, "repository id")->required()->check(name_of(names::repository));

    for (std::string action : {"activate", "deactivate", "remove"}) {
        auto a = std::make_shared<NameArgs>();
        c = cli.command(g, action,
                        action == "activate"     ? "accept uploads (after a passed check)"
                        : action == "deactivate" ? "stop accepting uploads"
                                                 : "delete the published data of a repository that holds no packages",
                        [a, action](Context& ctx) { std::cout << repo_text(repository_action(ctx, a->name, action)); });
        c->add_option("id", a->name, "repository id")->required()->check(name_of(names::repository));
    }
}

} // namespace mbd::repo
