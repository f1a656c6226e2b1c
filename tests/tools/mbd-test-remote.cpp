// mbd-test-remote: a test-only driver (never installed) for the parts of
// libcommon/remote that the pipeline calls and no mbd command exposes:
// routing a new build request, the delivery route of a result, and the
// check of a result's builder.
#include "app/entry.hpp"
#include "core/fs.hpp"
#include "deb822/deb822.hpp"
#include "keys/instance.hpp"
#include "remote/routing.hpp"

#include <iostream>

using namespace mbd;

int main(int argc, char** argv)
{
    return run_tool(argc, argv, {"mbd-test-remote", "test driver for libcommon/remote"}, [](Cli& cli) {
        auto a = std::make_shared<std::string>();
        auto b = std::make_shared<std::string>();
        auto* c = cli.command("route", "route a signed build request of ours whose files are in DIR", [a, b](Context& ctx) {
            auto signed_text = read_file(*a);
            auto v = keys::instance_keyring(ctx.home()).verify_clearsigned(signed_text);
            auto request = build::Request::parse(deb822::parse_one(v.content, *a));
            auto route = remote::route_request(ctx, request, signed_text, *b);
            std::cout << (route.builder.empty() ? "waiting" : route.builder) << "\n";
        });
        c->add_option("FILE", *a)->required();
        c->add_option("DIR", *b)->required();
        c = cli.command("delivery-route", "print where a result for REQUESTER goes", [a](Context& ctx) {
            std::cout << remote::delivery_route(ctx, *a).string() << "\n";
        });
        c->add_option("REQUESTER", *a)->required();
        c = cli.command("accept-result", "check a result of request ID signed by SIGNER", [a, b](Context& ctx) {
            auto r = remote::accept_result(ctx, *a, *b);
            static const char* names[] = {"current", "duplicate", "late", "unexpected"};
            std::cout << names[int(r.verdict)] << ": " << r.message << "\n";
        });
        c->add_option("ID", *a)->required();
        c->add_option("SIGNER", *b)->required();
    });
}
