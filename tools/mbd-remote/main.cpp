// mbd-remote: connect peer instances and exchange build requests.
#include "access/gateway.hpp"
#include "app/entry.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "core/names.hpp"
#include "core/process.hpp"
#include "keys/instance.hpp"
#include "remote/outgoing.hpp"
#include "remote/remotes.hpp"
#include "remote/routing.hpp"
#include "remote/serve.hpp"
#include "remote/status.hpp"

#include <cstdlib>
#include <iostream>

using namespace mbd;

namespace {

struct Options {
    std::string name, url, fingerprint;
    std::vector<std::string> verbs;
    bool json = false;
};

std::string me(Context& ctx)
{
    auto key = keys::find_instance_key(ctx);
    return key ? key->info.fingerprint : std::string();
}

void print(Context& ctx, const remote::Remote& r) { std::cout << remote::describe(r, me(ctx)); }

void print_all(Context& ctx, const std::vector<remote::Remote>& all, bool json)
{
    if (!json) {
        std::cout << remote::describe(all);
        return;
    }
    Json out = Json::array();
    for (const auto& r : all)
        out.push(remote::to_json(r, me(ctx)));
    std::cout << out.dump();
}

void remote_commands(Cli& cli, const std::shared_ptr<Options>& o)
{
    auto name = [o](CLI::App* c) {
        c->add_option("NAME", o->name, "the remote's name")->required()->check(name_of(names::remote));
    };

    auto* c = cli.command("add", "add a peer instance: fetch its status, pin or trust its key, check it",
                          [o](Context& ctx) {
                              std::optional<std::string> pinned;
                              if (!o->fingerprint.empty())
                                  pinned = o->fingerprint;
                              print(ctx, remote::add_remote(ctx, o->name, o->url, pinned));
                          });
    name(c);
    c->add_option("URL", o->url, "ssh://[user@]host[:port] or file:///path/to/its/home")->required();
    c->add_option("--fingerprint", o->fingerprint, "the key the peer must have (40 hex digits); without it, "
                                                   "its key is trusted on first use")
        ->type_name("FPR");

    c = cli.command("list", "list remotes: name, status, load, fingerprint, URL, chroots",
                    [o](Context& ctx) { print_all(ctx, remote::list_remotes(ctx), o->json); });
    c->add_flag("--json", o->json, "print JSON");

    c = cli.command("show", "show a remote and what its last status document said", [o](Context& ctx) {
        auto r = remote::get_remote(ctx, o->name);
        if (o->json)
            std::cout << remote::to_json(r, me(ctx)).dump();
        else
            print(ctx, r);
    });
    name(c);
    c->add_flag("--json", o->json, "print JSON");

    c = cli.command("check", "fetch and verify the status of a remote (of all without NAME); record the outcome",
                    [o](Context& ctx) {
                        if (!o->name.empty())
                            return print(ctx, remote::check_remote(ctx, o->name));
                        auto report = remote::check_all_remotes(ctx);
                        print_all(ctx, report.remotes, o->json);
                        if (report.failed)
                            throw fail(report.first_code, "{} of {} remotes failed their check", report.failed,
                                       report.remotes.size());
                    });
    c->add_option("NAME", o->name, "the remote's name; all remotes when omitted")->check(name_of(names::remote));
    c->add_flag("--json", o->json, "print JSON (all remotes)");

    name(cli.command("activate", "check a remote, then activate it (or set auto-reactivate 'A' when the check fails)",
                     [o](Context& ctx) { print(ctx, remote::activate_remote(ctx, o->name)); }));
    name(cli.command("deactivate", "stop exchanging builds with a remote",
                     [o](Context& ctx) { print(ctx, remote::deactivate_remote(ctx, o->name)); }));
    name(cli.command("remove", "forget an inactive remote and its key",
                     [o](Context& ctx) { remote::remove_remote(ctx, o->name); }));
}

} // namespace

int main(int argc, char** argv)
{
    return run_tool(argc, argv, {"mbd-remote", "connect peer instances and exchange build requests"}, [](Cli& cli) {
        auto o = std::make_shared<Options>();
        remote_commands(cli, o);

        cli.command("run", "one pass: send what waits in var/spool/outgoing/, re-route, route waiting requests",
                    [](Context& ctx) {
                        auto r = remote::run_pass(ctx);
                        std::cout << fmt::format("sent {}, failed {}, re-routed {}, waiting {}\n", r.sent, r.failed,
                                                 r.rerouted, r.waiting);
                        if (r.failed)
                            throw fail(Exit::tempfail, "{} items could not be sent; they are retried later", r.failed);
                    });

        auto* c = cli.command("routes", "where each build request of ours went, and why", [o](Context& ctx) {
            auto all = remote::list_routes(ctx);
            if (!o->json)
                return void(std::cout << remote::describe(all));
            Json out = Json::array();
            for (const auto& r : all)
                out.push(remote::to_json(r));
            std::cout << out.dump();
        });
        c->add_flag("--json", o->json, "print JSON");

        cli.command("status", "print this instance's signed status document (what peers read)",
                    [](Context& ctx) { std::cout << remote::publish_status(ctx); });

        c = cli.command("serve", "the peers' forced ssh command: serve one request (status, put)",
                        [o](Context& ctx) { std::cout << remote::serve(ctx, o->verbs) << std::flush; });
        c->add_option("VERB", o->verbs, "status | put (SSH_ORIGINAL_COMMAND, when set, is used instead)");

        c = cli.command("gateway",
                        "the forced ssh command of access keys (mbd-keygen access): run the call "
                        "SSH_ORIGINAL_COMMAND asks for, as the key's role allows",
                        [o](Context& ctx) {
                            const char* original = std::getenv("SSH_ORIGINAL_COMMAND");
                            int status = access::serve(ctx, o->name,
                                                       original ? std::optional<std::string>(original) : std::nullopt,
                                                       program_directory());
                            if (status != 0)
                                throw ExitWith{status};
                        });
        c->add_option("--key", o->name, "the access key the call came with")->required()->check(name_of(names::remote));
    });
}
