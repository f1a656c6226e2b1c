// mbd-repo's first steps: setup (the whole instance at once), create.
#include "cli.hpp"

#include "app/setup.hpp"
#include "core/names.hpp"
#include "repo/apt.hpp"
#include "repo/lifecycle.hpp"

#include <memory>

namespace mbd::repo {

void define_setup(Cli& cli)
{
    struct SetupArgs {
        app::SetupOptions options;
        std::vector<std::string> archs, uploaders;
        bool no_check = false, no_chroot = false;
    };
    auto su = std::make_shared<SetupArgs>();
    auto* c = cli.command("setup",
                          "an instance in one command: identity, instance key, sources (with the codenames' updates, "
                          "security and backports the mirror has), distributions, repository, chroots (created, "
                          "checked, activated), uploaders; each kept when it exists",
                          [su](Context& ctx) {
                              app::SetupOptions x = su->options;
                              x.repository.architectures = comma_list(su->archs);
                              x.repository.check_source = !su->no_check;
                              x.chroots = !su->no_check && !su->no_chroot;
                              x.uploaders.assign(su->uploaders.begin(), su->uploaders.end());
                              std::cout << app::next_steps(ctx, app::setup(ctx, x));
                          });
    auto& o = su->options.repository;
    c->add_option("id", o.id, "repository id ([a-z0-9]+)")->required()->check(name_of(names::repository));
    c->add_option("--codename", o.codenames, "Debian codename (repeatable; default: bookworm)")
        ->check(name_of(names::codename));
    c->add_option("--arch", su->archs, "architectures (default: this machine's)");
    c->add_option("--layout", o.layout, "layout")->capture_default_str()->check(name_of(names::layout));
    c->add_option("--mirror", o.mirror, "Debian mirror (default: configuration key 'mirror')");
    c->add_option("--keyring", o.keyring, "keys the mirror's Release is signed with")->capture_default_str();
    c->add_option("--identity", su->options.identity, "this instance's name (stored in etc/mbd.conf)")
        ->check(name_of(names::remote));
    c->add_option("--email", su->options.email, "the instance key's e-mail address, with a domain (stored in etc/mbd.conf)");
    c->add_option("--url", su->options.url,
                  "http(s) URL under which HOME/repositories is served: publish.url (stored in etc/mbd.conf)")
        ->type_name("URL");
    c->add_option("--uploader", su->uploaders, "a public key file to grant the repository (repeatable)")
        ->type_name("FILE");
    c->add_flag("--no-chroot", su->no_chroot, "make no chroots (mbd-chroot create, check, activate)");
    c->add_flag("--no-check", su->no_check, "do not contact the mirror: no source check, no chroots");

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
