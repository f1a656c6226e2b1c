// mbd-keygen: manage the instance key and the uploaders' keys.
#include "access/gateway.hpp"
#include "app/entry.hpp"
#include "app/rotate.hpp"
#include "core/json.hpp"
#include "core/strings.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/log.hpp"
#include "core/names.hpp"
#include "core/process.hpp"
#include "keys/access.hpp"
#include "keys/instance.hpp"
#include "keys/uploaders.hpp"
#include "keys/verify.hpp"
#include "model/model.hpp"

#include <fmt/format.h>

#include <iostream>

using namespace mbd;

namespace {

// Uploaders are granted repositories of the repository model (the keys domain asks, the model answers).
keys::RepositoryExists repository_exists(Context& ctx)
{
    return [&ctx](std::string_view id) { return repo::repository_exists(ctx.db(), id); };
}

struct Options {
    std::string algo = "rsa4096";
    long long expire_days = 0;
    long long overlap_days = 30;
    bool force = false, armor = false, binary = false, json = false;
    std::string output, file, key;
    std::vector<std::string> repos;
    std::string name, role;
    std::vector<std::string> uploaders;
};

void instance_commands(Cli& cli, const std::shared_ptr<Options>& o)
{
    auto* c = cli.command("init", "create the instance key (RSA 4096, no passphrase, no expiry)", [o](Context& ctx) {
        std::cout << keys::describe(keys::init_instance_key(ctx, *gpg::parse_algo(o->algo), o->expire_days * 86400,
                                                            o->force));
    });
    c->add_option("--algo", o->algo, "key algorithm")->check(CLI::IsMember({"rsa4096", "ed25519"}));
    c->add_option("--expire", o->expire_days, "days until the key expires; 0: never")->check(CLI::NonNegativeNumber);
    c->add_flag("--force", o->force, "replace an existing instance key (the old one is kept in gnupg/retired/)");

    c = cli.command("show", "show the instance key: fingerprint, algorithm, dates, user id, status", [o](Context& ctx) {
        auto key = keys::find_instance_key(ctx);
        if (!key)
            throw fail(Exit::not_found, "this instance has no key (run 'mbd-keygen init')");
        auto next = keys::next_instance_key(ctx.db());
        if (o->json) {
            auto j = keys::to_json(*key);
            j.set("next", next ? Json::object()
                                     .set("fingerprint", next->info.fingerprint)
                                     .set("switch_at", json_time(next->switch_at))
                               : Json());
            std::cout << j.dump();
        } else {
            std::cout << keys::describe(*key);
            if (next)
                std::cout << fmt::format("next key:    {} (signs beside it; takes over on {})\n",
                                         next->info.fingerprint, iso_time(next->switch_at));
        }
    });
    c->add_flag("--json", o->json, "print JSON");

    c = cli.command("export", "export the public instance key (armored by default)", [o](Context& ctx) {
        auto key = keys::find_instance_key(ctx);
        if (!key)
            throw fail(Exit::not_found, "this instance has no key (run 'mbd-keygen init')");
        auto data = keys::instance_keyring(ctx.home()).export_key(key->info.fingerprint, !o->binary);
        if (o->output.empty())
            std::cout << data;
        else
            write_atomic(o->output, data);
    });
    auto* armor = c->add_flag("--armor", o->armor, "ASCII-armored output (the default)");
    c->add_flag("--binary", o->binary, "binary OpenPGP output (for apt's .gpg keyrings)")->excludes(armor);
    c->add_option("--output", o->output, "write to FILE instead of standard output")->type_name("FILE");

    c = cli.command("rotate",
                    "key rotation: a next key signs the archives and joins the keyring packages now, "
                    "and replaces the instance key after the overlap",
                    [o](Context& ctx) {
                        auto r = app::rotate(ctx, *gpg::parse_algo(o->algo), o->expire_days * 86400,
                                             o->overlap_days * 86400);
                        if (o->json) {
                            std::cout << app::to_json(r).dump();
                            return;
                        }
                        std::cout << fmt::format("next key {} signs beside {} until {} (then: mbd-repo maintain, "
                                                 "or mbd-keygen switch)\n",
                                                 r.to, r.from, iso_time(r.switch_at));
                        for (const auto& k : r.keyrings)
                            std::cout << fmt::format("{}: keyring package {} uploaded\n", k.dist, k.version);
                        std::cout << fmt::format("{} distributions signed by both keys\n", r.published.size());
                    });
    c->add_option("--algo", o->algo, "key algorithm")->check(CLI::IsMember({"rsa4096", "ed25519"}));
    c->add_option("--expire", o->expire_days, "days until the next key expires; 0: never")->check(CLI::NonNegativeNumber);
    c->add_option("--overlap", o->overlap_days, "days both keys sign before the switch (default 30)")
        ->check(CLI::NonNegativeNumber);
    c->add_flag("--json", o->json, "print JSON");

    c = cli.command("switch", "end a key rotation now: the next key becomes the instance key and alone signs the archives",
                    [o](Context& ctx) {
                        auto r = app::switch_key(ctx);
                        if (o->json) {
                            std::cout << app::to_json(r).dump();
                            return;
                        }
                        std::cout << fmt::format("{} is the instance key; {} is retired (gnupg/retired/)\n", r.to,
                                                 r.from);
                        std::cout << fmt::format("{} distributions signed by it alone\n", r.published.size());
                    });
    c->add_flag("--json", o->json, "print JSON");

    cli.command("check", "check that the instance key can sign and matches its record; record the outcome",
                [](Context& ctx) { std::cout << keys::describe(keys::check_instance_key(ctx)); });
    cli.command("activate", "sign with the instance key (after a successful check)",
                [](Context& ctx) { std::cout << keys::describe(keys::activate_instance_key(ctx)); });
    cli.command("deactivate", "stop signing with the instance key",
                [](Context& ctx) { std::cout << keys::describe(keys::deactivate_instance_key(ctx)); });
    cli.command("remove", "remove the inactive instance key (its secret key is kept in gnupg/retired/)",
                [](Context& ctx) {
                    auto file = keys::remove_instance_key(ctx);
                    log::notice("removed the instance key; its secret key is kept in '{}'", file.string());
                });
    c = cli.command("expire", "set the instance key's expiry to DAYS from now (0: never), then check it",
                    [o](Context& ctx) {
                        std::cout << keys::describe(keys::set_instance_key_expiry(ctx, o->expire_days * 86400));
                    });
    c->add_option("DAYS", o->expire_days, "days from now; 0: never")->required()->check(CLI::NonNegativeNumber);
}

void uploader_commands(Cli& cli, const std::shared_ptr<Options>& o)
{
    auto* up = cli.group("uploader", "uploader keys and the repositories each may upload to");
    auto repos = [o](CLI::App* c, bool required) {
        auto* opt = c->add_option("--repo", o->repos, "repository id (repeatable)")
                        ->type_name("ID")
                        ->check(name_of(names::repository));
        opt->required(required)->allow_extra_args(false);
    };
    auto key = [o](CLI::App* c) { c->add_option("KEY", o->key, "the key's full fingerprint")->required(); };
    auto print = [](const keys::Uploader& u) { std::cout << keys::describe(std::vector{u}); };

    auto* c = cli.command(up, "add", "import a public key (FILE, or - for standard input) and grant repositories",
                          [o, print](Context& ctx) { print(keys::add_uploader(ctx, read_input(o->file), o->repos, repository_exists(ctx))); });
    c->add_option("FILE", o->file, "armored or binary public key; - reads standard input")->required();
    repos(c, false);

    c = cli.command(up, "list", "list uploaders: fingerprint, state, repositories, user id", [o](Context& ctx) {
        auto all = keys::list_uploaders(ctx);
        std::cout << (o->json ? keys::to_json(all).dump() : keys::describe(all));
    });
    c->add_flag("--json", o->json, "print JSON");

    c = cli.command(up, "grant", "allow an uploader to upload to repositories",
                    [o, print](Context& ctx) { print(keys::grant_uploader(ctx, o->key, o->repos, repository_exists(ctx))); });
    key(c);
    repos(c, true);
    c = cli.command(up, "revoke", "no longer allow an uploader to upload to repositories",
                    [o, print](Context& ctx) { print(keys::revoke_uploader(ctx, o->key, o->repos)); });
    key(c);
    repos(c, true);
    c = cli.command(up, "remove", "forget an uploader: its key and all its grants",
                    [o](Context& ctx) { keys::remove_uploader(ctx, o->key); });
    key(c);

    c = cli.command(up, "verify", "check a clearsigned file as an upload to a repository; print the signer",
                    [o](Context& ctx) {
                        std::cout << keys::verify_upload(ctx, read_input(o->file), o->repos.front()).fingerprint
                                  << "\n";
                    });
    c->add_option("FILE", o->file, "clearsigned file (.changes); - reads standard input")->required();
    c->add_option("--repo", o->repos, "repository id")
        ->type_name("ID")
        ->required()
        ->expected(1)
        ->check(name_of(names::repository));
}

keys::Role role_of(const std::string& name) { return *keys::parse_role(name); }

// access: the ssh keys of people and machines on other hosts, and what their role lets them
// run through the gateway (mbd-remote gateway); every change writes authorized_keys again.
void access_commands(Cli& cli, const std::shared_ptr<Options>& o)
{
    auto* g = cli.group("access", "ssh keys that reach this instance from other machines, each with a role");
    auto written = [](Context& ctx) {
        keys::write_authorized_keys(ctx, program_directory() / "mbd-remote");
        std::cout << fmt::format("wrote {}\n", keys::authorized_keys_file(ctx).string());
    };
    auto name = [o](CLI::App* c) {
        c->add_option("NAME", o->name, "the access key's name")->required()->check(name_of(names::remote));
    };
    auto role = [o](CLI::App* c, bool required) {
        c->add_option("--role", o->role, "reader, uploader or admin (see 'access commands')")
            ->required(required)
            ->check(CLI::IsMember({"reader", "uploader", "admin"}));
    };
    auto print = [](const keys::AccessKey& k) { std::cout << keys::describe(std::vector{k}); };

    auto* c = cli.command(g, "add", "add an ssh public key (FILE, or - for standard input) with a role",
                          [o, print, written](Context& ctx) {
                              print(keys::add_access(ctx, o->name, role_of(o->role), read_input(o->file), o->uploaders));
                              written(ctx);
                          });
    name(c);
    c->add_option("FILE", o->file, "an OpenSSH public key file (id_ed25519.pub); - reads standard input")->required();
    role(c, true);
    c->add_option("--uploader", o->uploaders,
                  "fingerprint of an uploader key whose uploads are this key's own: it may retry and cancel their "
                  "builds (repeatable)")
        ->type_name("FINGERPRINT");

    c = cli.command(g, "list", "list access keys: name, role, ssh fingerprint, own uploaders", [o](Context& ctx) {
        auto all = keys::list_access(ctx);
        std::cout << (o->json ? keys::to_json(all).dump() : keys::describe(all));
    });
    c->add_flag("--json", o->json, "print JSON");

    c = cli.command(g, "role", "give an access key another role", [o, print, written](Context& ctx) {
        print(keys::set_access_role(ctx, o->name, role_of(o->role)));
        written(ctx);
    });
    name(c);
    c->add_option("ROLE", o->role, "reader, uploader or admin")->required()->check(CLI::IsMember({"reader", "uploader", "admin"}));

    c = cli.command(g, "remove", "forget an access key: it is refused from now on", [o, written](Context& ctx) {
        keys::remove_access(ctx, o->name);
        written(ctx);
    });
    name(c);

    c = cli.command(g, "write", "write the access keys' block of authorized_keys again (access.authorized_keys)",
                    [written](Context& ctx) { written(ctx); });

    c = cli.command(g, "commands", "what the gateway runs, and for which role", [o](Context&) {
        std::cout << access::describe_commands(o->role.empty() ? std::nullopt : keys::parse_role(o->role));
    });
    role(c, false);
}

} // namespace

int main(int argc, char** argv)
{
    return run_tool(argc, argv, {"mbd-keygen", "manage the instance key and the uploaders' keys"}, [](Cli& cli) {
        auto o = std::make_shared<Options>();
        instance_commands(cli, o);
        uploader_commands(cli, o);
        access_commands(cli, o);
    });
}
