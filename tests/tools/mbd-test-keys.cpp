// mbd-test-keys: a test-only driver (never installed) for the parts of
// libcommon/keys that no mbd command exposes yet: signing arbitrary text with
// the instance key, and the peer-key API the remote domain will use. An admin
// command that signs arbitrary text with the instance key would be a signing
// oracle for documents peers trust (build requests and results), so this
// stays out of mbd-keygen.
#include "app/entry.hpp"
#include "core/fs.hpp"
#include "keys/instance.hpp"
#include "keys/peers.hpp"
#include "keys/verify.hpp"

#include <iostream>

using namespace mbd;

int main(int argc, char** argv)
{
    return run_tool(argc, argv, {"mbd-test-keys", "test driver for libcommon/keys"}, [](Cli& cli) {
        auto file = std::make_shared<std::string>();
        auto fpr = std::make_shared<std::string>();
        auto with_file = [&](CLI::App* c) { c->add_option("FILE", *file)->required(); };
        auto with_fpr = [&](CLI::App* c) { c->add_option("KEY", *fpr)->required(); };
        with_file(cli.command("clearsign", "clearsign FILE with the instance key",
                              [file](Context& ctx) { std::cout << keys::clearsign(ctx, read_file(*file)); }));
        with_file(cli.command("detach-sign", "armored detached signature of FILE by the instance key",
                              [file](Context& ctx) { std::cout << keys::detach_sign(ctx, read_file(*file)); }));
        with_file(cli.command("verify-build", "verify FILE as a build request/result; print the signer", [file](Context& ctx) {
            std::cout << keys::verify_from_instance_or_remote(ctx, read_file(*file)).fingerprint << "\n";
        }));
        auto* peer = cli.group("peer", "peers' keys");
        with_file(cli.command(peer, "add", "import a peer's key", [file](Context& ctx) {
            std::cout << keys::to_json(keys::add_peer_key(ctx, read_file(*file))).dump();
        }));
        with_fpr(cli.command(peer, "activate", "trust a peer's key", [fpr](Context& ctx) {
            std::cout << keys::to_json(keys::set_peer_key_active(ctx, *fpr, true)).dump();
        }));
        with_fpr(cli.command(peer, "deactivate", "stop trusting a peer's key", [fpr](Context& ctx) {
            std::cout << keys::to_json(keys::set_peer_key_active(ctx, *fpr, false)).dump();
        }));
        with_fpr(cli.command(peer, "remove", "forget a peer's key",
                             [fpr](Context& ctx) { keys::remove_peer_key(ctx, *fpr); }));
        cli.command(peer, "list", "list peers' keys (JSON)", [](Context& ctx) {
            Json all = Json::array();
            for (const auto& k : keys::list_peer_keys(ctx))
                all.push(keys::to_json(k));
            std::cout << all.dump();
        });
    });
}
