// mbd-repo's configuration model: source, layout, dist, repository.
#include "cli.hpp"

#include "chroot/chroot.hpp"
#include "chroot/host.hpp"
#include "core/error.hpp"
#include "core/names.hpp"
#include "core/strings.hpp"
#include "db/db.hpp"
#include "core/log.hpp"
#include "model/edit.hpp"
#include "repo/lifecycle.hpp"

#include <memory>

namespace mbd::repo {
namespace {

// The options of the commands that name one thing and may print JSON (show, ls, actions).
struct NameArgs {
    std::string name;
    bool json = false;
};

// --identifier FIELD=VALUE
Pairs parse_identifiers(const std::vector<std::string>& args)
{
    Pairs out;
    for (const auto& i : args) {
        auto eq = i.find('=');
        if (eq == std::string::npos || eq == 0)
            throw fail(Exit::usage, "--identifier '{}' is not of the form FIELD=VALUE", i);
        out.emplace_back(i.substr(0, eq), i.substr(eq + 1));
    }
    return out;
}

// --extra SOURCE[:PRIORITY]
ExtraSource parse_extra(const std::string& e)
{
    auto colon = e.rfind(':');
    if (colon == std::string::npos)
        return {e, 500};
    auto p = parse_int(e.substr(colon + 1));
    if (!p)
        throw fail(Exit::usage, "--extra '{}': the priority after ':' must be a number", e);
    return {e.substr(0, colon), int(*p)};
}

// What an edit changed, and what to run next.
void print_changes(const std::vector<std::string>& changes, std::string_view next)
{
    if (changes.empty()) {
        std::cout << "nothing changed\n";
        return;
    }
    for (const auto& c : changes)
        std::cout << "changed: " << c << "\n";
    if (!next.empty())
        log::notice("{}", next);
}

// An architecture added to a distribution builds where a chroot for it is: say how to get one.
void say_chroot_for(Context& ctx, const std::string& codename, const std::string& arch)
{
    for (const auto& c : chroot::list(ctx))
        if (c.codename == codename && c.arch == arch)
            return;
    try {
        chroot::require_runnable_arch(arch);
        log::notice("no chroot {}/{} yet: its builds wait until 'mbd-chroot create {} {}' (this host can run it)",
                    codename, arch, codename, arch);
    } catch (const Error& e) {
        log::notice("no chroot {}/{}: its builds wait for a peer that has one (mbd-remote); this host cannot make "
                    "it: {}",
                    codename, arch, e.what());
    }
}

} // namespace

void define_source(Cli& cli)
{
    auto* g = cli.group("source", "archives to build against: add, check (fetch and verify the Release), list");
    struct AddArgs {
        SourceSpec spec;
        std::vector<std::string> uris, identifiers;
    };
    auto add = std::make_shared<AddArgs>();
    auto* c = cli.command(g, "add", "add a source: archive URL, codename, origin and the keys its Release is signed with",
                          [add](Context& ctx) {
                              SourceSpec spec = add->spec;
                              spec.uris = add->uris;
                              spec.identifiers = parse_identifiers(add->identifiers);
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

    struct SetArgs {
        std::string name;
        SourceEdit edit;
        std::vector<std::string> uris, identifiers;
        bool no_identifiers = false;
    };
    auto set = std::make_shared<SetArgs>();
    c = cli.command(g, "set",
                    "change a source (URLs, keys, origin, codename, suite, identifiers); a checked source is flagged "
                    "changed until checked again",
                    [set](Context& ctx) {
                        SourceEdit e = set->edit;
                        if (!set->uris.empty())
                            e.uris = set->uris;
                        if (!set->identifiers.empty() || set->no_identifiers)
                            e.identifiers = parse_identifiers(set->identifiers);
                        auto [source, changes] = edit_source(ctx, set->name, e);
                        print_changes(changes, fmt::format("source '{}' changed: run 'mbd-repo source check {}' "
                                                           "(distributions using it take no uploads until then)",
                                                           source.name, source.name));
                        std::cout << source_text(source);
                    });
    c->add_option("name", set->name, "source name")->required()->check(name_of(names::source));
    c->add_option("--uri", set->uris, "archive URLs, in the order to try them (repeatable; replaces the list)");
    c->add_option("--key", set->edit.key_files, "file with the OpenPGP key(s) its Release is signed with "
                                                "(repeatable; replaces the keys)");
    c->add_option("--origin", set->edit.origin, "Origin its Release must carry");
    c->add_option("--codename", set->edit.codename, "codename its Release must carry")->check(name_of(names::release));
    c->add_option("--suite", set->edit.suite, "directory under dists/");
    c->add_option("--identifier", set->identifiers, "another Release field to match, FIELD=VALUE (repeatable; "
                                                    "replaces the list)");
    c->add_flag("--no-identifiers", set->no_identifiers, "match no other Release field");
    c->add_option("--codeversion", set->edit.codeversion, "the %CODEVERSION% of version rules");
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
    c->add_flag("--build-keyring", su->suite.build_keyring, "the repository's keyring package goes here (mbd-repo keyring)");

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

    auto rm = std::make_shared<NameArgs>();
    c = cli.command(g, "remove", "remove a custom layout no repository uses", [rm](Context& ctx) {
        remove_layout(ctx.db(), rm->name);
        std::cout << "removed layout " << rm->name << "\n";
    });
    c->add_option("name", rm->name, "layout name")->required()->check(name_of(names::layout));

    struct RemoveSuiteArgs {
        std::string layout, suite;
    };
    auto rs = std::make_shared<RemoveSuiteArgs>();
    c = cli.command(g, "remove-suite", "remove a suite of a custom layout no repository uses", [rs](Context& ctx) {
        std::cout << layout_text(remove_layout_suite(ctx.db(), rs->layout, rs->suite));
    });
    c->add_option("layout", rs->layout, "layout name")->required()->check(name_of(names::layout));
    c->add_option("suite", rs->suite, "suite name")->required()->check(name_of(names::suite));
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
        for (const auto& e : add->extra)
            x.extra_sources.push_back(parse_extra(e));
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
    c->add_option("--indices", d.indices,
                  "index files published: any of uncompressed, gz, xz, contents, by-hash, with one of the first "
                  "three (default: configuration key publish.indices)");

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

    struct SetArgs {
        std::string codename;
        DistEdit edit;
        std::vector<std::string> add_archs, remove_archs, comps, extra;
    };
    auto set = std::make_shared<SetArgs>();
    c = cli.command(g, "set",
                    "change a distribution; the repositories serving it are flagged changed until prepared again",
                    [set](Context& ctx) {
                        DistEdit e = set->edit;
                        e.add_architectures = comma_list(set->add_archs);
                        e.remove_architectures = comma_list(set->remove_archs);
                        if (!set->comps.empty())
                            e.components = comma_list(set->comps);
                        for (const auto& x : set->extra)
                            e.add_extra.push_back(parse_extra(x));
                        auto r = edit_distribution(ctx.db(), set->codename, e);
                        std::string next;
                        for (const auto& id : r.repositories)
                            next += fmt::format("{}mbd-repo repository prepare {}", next.empty() ? "" : "; ", id);
                        print_changes(r.changes, next.empty() ? "" : "publish the change: " + next);
                        std::cout << dist_text(r.distribution);
                        if (!r.changes.empty())
                            for (const auto& a : e.add_architectures)
                                say_chroot_for(ctx, r.distribution.codename, a);
                    });
    auto& e = set->edit;
    c->add_option("codename", set->codename, "codename")->required()->check(name_of(names::codename));
    c->add_option("--source", e.base_source, "base source")->check(name_of(names::source));
    c->add_option("--add-arch", set->add_archs, "add architectures (comma-separated or repeated)");
    c->add_option("--remove-arch", set->remove_archs, "remove architectures no repository holds binaries of");
    c->add_option("--arch-all", e.arch_all, "the architecture that builds Architecture: all")
        ->check(name_of(names::architecture));
    c->add_option("--component", set->comps, "components (replace the list; one that holds packages cannot go)");
    c->add_option("--extra", set->extra, "add an extra source, or change its priority, SOURCE[:PRIORITY] (repeatable)");
    c->add_option("--remove-extra", e.remove_extra, "remove an extra source (repeatable)");
    c->add_option("--lintian-mode", e.lintian_mode, "disabled, ignore, errfail, warnfail");
    c->add_option("--autopkgtest-mode", e.autopkgtest_mode, "disabled, ignore, errfail, warnfail");
    c->add_option("--deb-build-options", e.deb_build_options, "DEB_BUILD_OPTIONS for builds");
    c->add_option("--deb-build-profiles", e.deb_build_profiles, "DEB_BUILD_PROFILES for builds");
    c->add_option("--resolver", e.resolver, "sbuild's build-dependency resolver: apt, aptitude, aspcud");
    c->add_option("--indices", e.indices,
                  "index files published: any of uncompressed, gz, xz, contents, by-hash, with one of the first "
                  "three; 'default': configuration key publish.indices (takes effect at the next publish)");

    auto rm = std::make_shared<NameArgs>();
    c = cli.command(g, "remove", "remove a distribution no repository serves", [rm](Context& ctx) {
        remove_distribution(ctx.db(), rm->name);
        std::cout << "removed distribution " << rm->name << "\n";
    });
    c->add_option("codename", rm->name, "codename")->required()->check(name_of(names::codename));
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

    struct SetArgs {
        std::string id;
        RepositoryEdit edit;
        std::vector<std::string> add;
        bool prepare = false;
    };
    auto set = std::make_shared<SetArgs>();
    c = cli.command(g, "set",
                    "change a repository: description, origin, codenames served (flagged changed until prepared)",
                    [set](Context& ctx) {
                        RepositoryEdit e = set->edit;
                        for (const auto& a : set->add) {
                            auto colon = a.find(':');
                            RepositoryDist rd{a.substr(0, colon), {}, 0};
                            if (colon != std::string::npos)
                                rd.architectures = comma_list({a.substr(colon + 1)});
                            names::check(names::codename, rd.codename);
                            e.add.push_back(rd);
                        }
                        auto r = edit_repository(ctx, set->id, e, set->prepare);
                        if (!r.retired.empty())
                            std::cout << fmt::format("retired: {} distributions ({} ... {})\n", r.retired.size(),
                                                     r.retired.front(), r.retired.back());
                        print_changes(r.changes, set->prepare || r.changes.empty()
                                                     ? ""
                                                     : fmt::format("publish the change: mbd-repo repository prepare {}",
                                                                   set->id));
                        std::cout << repo_text(r.repository);
                    });
    c->add_option("id", set->id, "repository id")->required()->check(name_of(names::repository));
    c->add_option("--description", set->edit.description, "description (its Release's Description)");
    c->add_option("--origin", set->edit.origin, "its Release's Origin");
    c->add_option("--add-dist", set->add, "serve another codename, CODENAME[:ARCH,...] (repeatable)");
    c->add_option("--remove-dist", set->edit.remove,
                  "stop serving a codename: retired at once when it holds nothing, else after publish.retire_grace "
                  "(repeatable)")
        ->check(name_of(names::codename));
    c->add_flag("--prepare", set->prepare, "prepare (publish) the repository right away");
}

} // namespace mbd::repo
