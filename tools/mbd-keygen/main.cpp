// mbd-keygen: manage the instance key, uploader keys and peer keys.
#include "core/entry.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "keys/instance.hpp"

#include <iostream>

using namespace mbd;

namespace {

struct InitOptions {
    std::string algo = "rsa4096";
    long long expire_days = 0;
    bool force = false;
};

struct ExportOptions {
    bool armor = false;
    bool binary = false;
    std::string output;
};

void define(Cli& cli)
{
    auto init = std::make_shared<InitOptions>();
    auto* c = cli.command("init", "create the instance key (RSA 4096, no passphrase, no expiry)", [init](Context& ctx) {
        auto algo = gpg::parse_algo(init->algo);
        auto key = keys::init_instance_key(ctx, *algo, init->expire_days * 86400, init->force);
        std::cout << keys::describe(key);
    });
    c->add_option("--algo", init->algo, "key algorithm")->check(CLI::IsMember({"rsa4096", "ed25519"}));
    c->add_option("--expire", init->expire_days, "days until the key expires; 0: never")->check(CLI::NonNegativeNumber);
    c->add_flag("--force", init->force, "replace an existing instance key");

    auto json = std::make_shared<bool>(false);
    c = cli.command("show", "show the instance key: fingerprint, algorithm, dates, user id, status", [json](Context& ctx) {
        auto key = keys::find_instance_key(ctx);
        if (!key)
            throw fail(Exit::not_found, "this instance has no key (run 'mbd-keygen init')");
        std::cout << (*json ? keys::to_json(*key).dump() : keys::describe(*key));
    });
    c->add_flag("--json", *json, "print JSON");

    auto exp = std::make_shared<ExportOptions>();
    c = cli.command("export", "export the public instance key (armored by default)", [exp](Context& ctx) {
        auto key = keys::require_instance_key(ctx);
        auto data = keys::instance_keyring(ctx.home()).export_key(key.info.fingerprint, !exp->binary);
        if (exp->output.empty())
            std::cout << data;
        else
            write_atomic(exp->output, data);
    });
    auto* armor = c->add_flag("--armor", exp->armor, "ASCII-armored output (the default)");
    c->add_flag("--binary", exp->binary, "binary OpenPGP output (for apt's .gpg keyrings)")->excludes(armor);
    c->add_option("--output", exp->output, "write to FILE instead of standard output")->type_name("FILE");
}

} // namespace

int main(int argc, char** argv)
{
    return run_tool(argc, argv, {"mbd-keygen", "manage the instance key, uploader keys and peer keys"}, define);
}
