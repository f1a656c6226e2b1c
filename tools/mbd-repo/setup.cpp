// mbd-repo's first steps: setup (source, distribution and repository at once), create.
#include "cli.hpp"

#include "core/names.hpp"
#include "repo/apt.hpp"
#include "repo/lifecycle.hpp"

#include <memory>

namespace mbd::repo {

void define_setup(Cli& cli)
{
    struct SetupArgs {
        SetupOptions options;
        std::vector<std::string> archs;
        bool no_check = false;
    };
    auto su = std::make_shared<SetupArgs>();
    auto* c = cli.command("setup", "first-time setup: a Debian source, a distribution and an active repository",
                          [su](Context& ctx) {
                              SetupOptions x = su->options;
                              x.architectures = comma_list(su->archs);
                              x.check_source = !su->no_check;
                              auto r = setup(ctx, x);
                              std::cout << repo_text(r.repository);
                              std::cout << sources_list(ctx, r.repository.id, {});
                          });
    auto& o = su->options;
    c->add_option("id", o.id, "repository id ([a-z0-9]+)")->required()->check(name_of(names::repository));
    c->add_option("--codename", o.codename, "Debian codename")->capture_default_str()->check(name_of(names::codename));
    c->add_option("--arch", su->archs, "architectures (default: this machine's)");
    c->add_option("--layout", o.layout, "layout")->capture_default_str()->check(name_of(names::layout));
    c->add_option("--mirror", o.mirror, "Debian mirror (default: configuration key 'mirror')");
    c->add_option("--keyring", o.keyring, "keys the mirror's Release is signed with")->capture_default_str();
    c->add_flag("--no-check", su->no_check, "do not fetch and verify the mirror's Release now");

    struct CreateArgs {
        Repository repository;
        std::vector<std::string> dists;
    };
    auto cr = std::make_shared<CreateArgs>();
    c = cli.command("create", "create a repository and publish its (empty) distributions", [cr](Context& ctx) {
        Repository x = cr->repository;
        if (x.origin.empty())
            x.origin = ctx.config().get("identity");
        for (const auto& d : cr->dists) {
            auto colon = d.find(':');
            RepositoryDist rd{d.substr(0, colon), {}};
            if (colon != std::string::npos)
                rd.architectures = comma_list({d.substr(colon + 1)});
            x.dists.push_back(rd);
        }
        std::cout << repo_text(create_and_prepare(ctx, x));
    });
    auto& r = cr->repository;
    c->add_option("id", r.id, "repository id ([a-z0-9]+)")->required()->check(name_of(names::repository));
    c->add_option("--layout", r.layout, "layout")->default_val("Default")->check(name_of(names::layout));
    c->add_option("--dist", cr->dists, "distribution CODENAME[:ARCH,ARCH] (repeatable)")->required();
    c->add_option("--origin", r.origin, "Origin of its Release files (default: the identity)");
    c->add_option("--description", r.description, "description");
}

} // namespace mbd::repo
