// mbd-chroot: create, check and update build chroots.
#include "app/entry.hpp"
#include "chroot/chroot.hpp"
#include "core/error.hpp"
#include "core/names.hpp"
#include "core/strings.hpp"
#include "repo/chroot_source.hpp"

#include <iostream>

using namespace mbd;

namespace {

struct Args {
    std::string codename, arch, mirror, keyring, file;
    std::vector<std::string> command;
    bool json = false, all = false;
} args;

void target(CLI::App* sub, bool optional = false)
{
    auto* c = sub->add_option("codename", args.codename, "distribution codename, e.g. bookworm")
                  ->check(name_of(names::codename));
    auto* a = sub->add_option("arch", args.arch, "Debian architecture, e.g. amd64")->check(name_of(names::architecture));
    if (!optional) {
        c->required();
        a->required();
    }
}

void source_options(CLI::App* sub)
{
    sub->add_option("--mirror", args.mirror,
                    "archive URL (default: the base source of the codename's distribution, else configuration key "
                    "'mirror')")
        ->type_name("URL");
    sub->add_option("--keyring", args.keyring,
                    fmt::format("keyring the archive is signed with (default: the base source's keys, else {})",
                                chroot::default_keyring))
        ->type_name("FILE");
}

// check and update take CODENAME ARCH or --all.
void one_or_all(CLI::App* sub)
{
    target(sub, true);
    sub->add_flag("--all", args.all, "every chroot that is not removed");
}

bool want_all()
{
    if (args.all == !args.codename.empty() || (!args.all && args.arch.empty()))
        throw fail(Exit::usage, "give CODENAME and ARCH, or --all");
    return args.all;
}

// Chroots of a codename the repository model has a distribution of come from its base source.
void create(Context& ctx)
{
    chroot::create(ctx, args.codename, args.arch, {args.mirror, args.keyring}, repo::chroot_sources(ctx));
}

void import(Context& ctx)
{
    chroot::import_tarball(ctx, args.codename, args.arch, args.file, {args.mirror, args.keyring},
                           repo::chroot_sources(ctx));
}

void check(Context& ctx)
{
    auto sources = repo::chroot_sources(ctx);
    want_all() ? chroot::check_all(ctx, sources) : (void)chroot::check(ctx, args.codename, args.arch, sources);
}

void update(Context& ctx)
{
    auto sources = repo::chroot_sources(ctx);
    want_all() ? chroot::update_all(ctx, sources) : (void)chroot::update(ctx, args.codename, args.arch, sources);
}

void list(Context& ctx)
{
    auto all = chroot::list(ctx);
    if (!args.json) {
        std::cout << chroot::format_table(all, now_seconds());
        return;
    }
    Json out = Json::array();
    for (const auto& c : all)
        out.push(chroot::to_json(c));
    std::cout << out.dump();
}

void usable(Context& ctx)
{
    auto u = chroot::find_usable(ctx, args.codename, args.arch);
    Json sbuild_args = Json::array();
    for (const auto& a : u.sbuild_args) {
        sbuild_args.push(a);
        if (!args.json)
            std::cout << a << "\n";
    }
    if (args.json)
        std::cout << Json::object()
                         .set("tarball", u.tarball.string())
                         .set("sbuild_args", sbuild_args)
                         .set("sbuild_config", u.sbuild_config)
                         .dump();
}

} // namespace

int main(int argc, char** argv)
{
    return run_tool(argc, argv, {"mbd-chroot", "create, check and update build chroots"}, [](Cli& cli) {
        auto* c = cli.command("create", "bootstrap a build chroot (prepare): mmdebstrap --variant=buildd", create);
        target(c);
        source_options(c);
        c = cli.command("import", "take a chroot tarball made by mbd elsewhere (prepare)", import);
        target(c);
        c->add_option("tarball", args.file, "the .tar.zst to import")->required();
        source_options(c);
        one_or_all(cli.command("check", "check that a chroot unpacks, works and matches its source", check));
        one_or_all(cli.command("update", "apt-get update && dist-upgrade inside a chroot, then check it", update));
        target(cli.command("activate", "use a checked chroot for builds (or reactivate it when a check passes)",
                           [](Context& ctx) { chroot::activate(ctx, args.codename, args.arch); }));
        target(cli.command("deactivate", "stop using a chroot for builds",
                           [](Context& ctx) { chroot::deactivate(ctx, args.codename, args.arch); }));
        target(cli.command("remove", "delete a chroot's tarball (status removed)",
                           [](Context& ctx) { chroot::remove(ctx, args.codename, args.arch); }));
        cli.command("list", "list chroots: status, size, age, last check", list)
            ->add_flag("--json", args.json, "JSON output (stable schema)");
        c = cli.command("shell", "a throwaway session in a chroot: a login shell, or COMMAND",
                        [](Context& ctx) { chroot::shell(ctx, args.codename, args.arch, args.command); });
        target(c);
        c->add_option("command", args.command, "command and arguments to run instead of a shell (after --)");
        c = cli.command("usable", "print the sbuild options for building in an active, checked chroot", usable);
        target(c);
        c->add_flag("--json", args.json, "JSON output: tarball, sbuild_args, sbuild_config");
    });
}
