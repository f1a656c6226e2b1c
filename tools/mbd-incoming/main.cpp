// mbd-incoming: accept or reject uploads waiting in incoming/.
#include "app/entry.hpp"
#include "core/error.hpp"
#include "core/names.hpp"
#include "core/strings.hpp"
#include "core/log.hpp"
#include "events/events.hpp"
#include "events/subscriptions.hpp"
#include "core/wake.hpp"
#include "upload/process.hpp"
#include "upload/receive.hpp"

#include <cstdlib>
#include <iostream>
#include <unistd.h>

using namespace mbd;

namespace {

struct Args {
    bool json = false;
    EventFilter filter;
    std::string status;
    int limit = 50;
    Subscription subscription;
    std::vector<std::string> events;
} args;

void subscription_options(CLI::App* c, bool with_events)
{
    c->add_option("address", args.subscription.address, "mail address")->required();
    c->add_option("--source", args.subscription.source, "only this source package (default: every one)")
        ->check(name_of(names::package));
    c->add_option("--repository", args.subscription.repository, "only this repository (default: every one)")
        ->check(name_of(names::repository));
    if (with_events)
        c->add_option("--events", args.events,
                      "event types, comma-separated (default: INSTALLED,FAILED,REJECTED; also BUILT, BUILDING, "
                      "MIGRATED, REMOVED, ...)");
}

} // namespace

int main(int argc, char** argv)
{
    return run_tool(argc, argv, {"mbd-incoming", "accept or reject uploads waiting in incoming/"}, [](Cli& cli) {
        cli.command("run", "one pass over incoming/ (what mbd-incoming.service runs); exit 7 if it rejected anything",
                    [](Context& ctx) {
                        auto r = upload::run_incoming_pass(ctx);
                        std::cout << fmt::format("accepted {}, results {}, installed {}, failed {}, rejected {}, "
                                                 "waiting {}\n",
                                                 r.uploads, r.results, r.installed, r.failed, r.rejected, r.waiting);
                        if (r.rejected)
                            throw Error(Exit::rejected, fmt::format("rejected {} upload(s): see 'mbd-incoming events "
                                                                    "--type REJECTED'",
                                                                    r.rejected));
                    });

        cli.command("receive",
                    "the forced ssh command of an upload-only key: store one upload session (SFTP or scp) into "
                    "incoming/; exit 11 for anything else",
                    [](Context& ctx) {
                        const char* command = std::getenv("SSH_ORIGINAL_COMMAND");
                        auto protocol = command ? upload::upload_protocol(command) : std::nullopt;
                        if (!protocol)
                            throw fail(Exit::not_allowed, "{}: this key may only upload files into incoming/ with sftp "
                                                          "or scp",
                                       command ? fmt::format("'{}' is not an upload", printable(command, 200))
                                               : std::string("no command (SSH_ORIGINAL_COMMAND is not set)"));
                        upload::receive_session(ctx, *protocol, command);
                    });

        auto* c = cli.command("events", "the event log, newest first", [](Context& ctx) {
            auto events = list_events(ctx.db(), args.filter);
            if (args.json) {
                Json all = Json::array();
                for (const auto& e : events)
                    all.push(to_json(e));
                std::cout << all.dump();
                return;
            }
            for (const auto& e : events)
                std::cout << iso_time(e.time) << " " << describe(e) << (e.detail.empty() ? "" : " [" + e.detail + "]")
                          << "\n";
        });
        c->add_flag("--json", args.json, "print JSON");
        c->add_option("--type", args.filter.type, "only events of this type (REJECTED, INSTALLED, ...)");
        c->add_option("--source", args.filter.source, "only events of this source package")
            ->check(name_of(names::package));
        c->add_option("--dist", args.filter.distribution, "only events of this distribution")
            ->check(name_of(names::distribution));
        c->add_option("--limit", args.filter.limit, "at most this many (0: all)")->check(CLI::NonNegativeNumber);

        c = cli.command("uploads", "accepted uploads and the state of their builds, newest first", [](Context& ctx) {
            auto uploads = upload::list_uploads(ctx, args.status, args.limit);
            if (args.json) {
                Json all = Json::array();
                for (const auto& u : uploads)
                    all.push(upload::to_json(u));
                std::cout << all.dump();
                return;
            }
            for (const auto& u : uploads) {
                std::cout << fmt::format("{:>5} {} {} {} {}{}\n", u.id, u.source, u.version, u.distribution, u.status,
                                         u.message.empty() ? "" : ": " + u.message);
                for (const auto& b : u.builds)
                    std::cout << fmt::format("        {} {} {}{}\n", b.id, b.status,
                                             b.seconds > 0 ? fmt::format("{:.0f} s", b.seconds) : "",
                                             b.message.empty() ? "" : " " + b.message);
            }
        });
        c->add_flag("--json", args.json, "print JSON");
        c->add_option("--status", args.status, "only uploads in this state (building, installed, failed)");
        c->add_option("--limit", args.limit, "at most this many (0: all)")->check(CLI::NonNegativeNumber);

        c = cli.command("subscribe",
                        "mail an address about events (of a source, a repository, or all) through notify.sendmail; "
                        "again: change its event types",
                        [](Context& ctx) {
                            Subscription s = args.subscription;
                            for (const auto& e : args.events)
                                for (auto w : split(e, ','))
                                    if (!trim(w).empty())
                                        s.events.emplace_back(trim(w));
                            s = subscribe(ctx.db(), s);
                            std::cout << fmt::format("{} gets {}{}{}\n", s.address, join(s.events, ","),
                                                     s.source.empty() ? "" : " of source " + s.source,
                                                     s.repository.empty() ? "" : " in repository " + s.repository);
                            if (ctx.config().get("notify.sendmail").empty())
                                log::warning("notify.sendmail is not set: no mail goes out until it is");
                        });
        subscription_options(c, true);
        c = cli.command("unsubscribe", "stop mailing an address (the subscription with these --source/--repository)",
                        [](Context& ctx) {
                            const auto& s = args.subscription;
                            unsubscribe(ctx.db(), s.address, s.source, s.repository);
                        });
        subscription_options(c, false);
        c = cli.command("subscriptions", "who is mailed about what, and the mails waiting for sendmail", [](Context& ctx) {
            auto all = list_subscriptions(ctx.db());
            if (args.json) {
                Json a = Json::array();
                for (const auto& s : all)
                    a.push(to_json(s));
                std::cout << Json::object().set("subscriptions", a).set("waiting", mails_waiting(ctx.db())).dump();
                return;
            }
            for (const auto& s : all)
                std::cout << fmt::format("{:<32} {:<20} {:<12} {}\n", s.address, s.source.empty() ? "*" : s.source,
                                         s.repository.empty() ? "*" : s.repository, join(s.events, ","));
            if (auto n = mails_waiting(ctx.db()))
                std::cout << fmt::format("{} mail(s) waiting for sendmail (tried again by every command)\n", n);
        });
        c->add_flag("--json", args.json, "print JSON");
    });
}
