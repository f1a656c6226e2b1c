// remote/routing: which builder builds each of our build requests, and where
// build results go.
//
// A builder is this instance (when it has an active chroot for the request's
// codename/arch) or an active remote that has one, has activated us, and
// whose status is fresh (remote.status_max_age). Its load is
// (running + queued) / capacity: for this instance from the build spool, for a
// remote from its last status document plus the requests we routed to it since.
// The lowest load wins; equal loads go to the builder that was given a request
// least recently, so they alternate. A request no builder can take waits in
// var/spool/waiting/ until `mbd-remote run` finds one.
//
// Where a request is, on disk (KEY is build::request_key):
//   local      var/spool/build/KEY/ (build::enqueue)
//   outgoing   var/spool/outgoing/REMOTE/KEY/ {source files, KEY.mbd-request}
//   sent       var/spool/sent/KEY/ (kept until its result arrives, to re-route it)
//   waiting    var/spool/waiting/KEY/ (same files)
// and in the routes table, with every decision as a ROUTED event.
#pragma once

#include "build/queue.hpp"
#include "build/request.hpp"
#include "core/json.hpp"
#include "db/context.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace mbd::remote {

inline constexpr std::string_view request_suffix = ".mbd-request";
inline constexpr std::string_view result_suffix = ".mbd-result.changes";

std::filesystem::path waiting_dir(const Home& home);
std::filesystem::path sent_dir(const Home& home);

struct Route {
    std::string id, source, version, distribution, codename, architecture;
    std::string builder;     // "local", a remote's name, "" while waiting
    std::string fingerprint; // the builder's key
    std::string state;       // waiting, local, outgoing, sent, returned
    std::string previous;    // keys of builders it was routed away from, space-separated
    std::string message;     // why it went there
    long long seq = 0, routed = 0, sent = 0, returned = 0;
};

// Route a new build request of ours (signed_request signed by our instance
// key; its files in source_dir, which is left untouched). Calling it again
// for a request already routed re-creates what is missing where it was
// routed (after a crash) and never routes it twice.
Route route_request(Context& ctx, const build::Request& request, const std::string& signed_request,
                    const std::filesystem::path& source_dir);

// Route again a request whose files are in item (moved from there), never to
// a builder whose key is in exclude. Without another builder it stays where
// it is (returns false), unless to_waiting: then it goes to var/spool/waiting/.
// Nothing happens (false) when its route changed since the caller read it
// (seen), e.g. its result came meanwhile.
bool reroute(Context& ctx, const Route& seen, const std::filesystem::path& item,
             const std::vector<std::string>& exclude, const std::string& why, bool to_waiting);

// Move an item to where its route says it is (finishes a move a crash cut short).
void settle_item(Context& ctx, const Route& route, const std::filesystem::path& item);

// build::Delivery::route: results for this instance go to our incoming/;
// results for a peer to a new item var/spool/outgoing/REMOTE/result-.../
// (for a key no remote has: outgoing/unknown-FINGERPRINT/, sent once a
// remote with that key exists). Throws only when the directory cannot be made.
std::filesystem::path delivery_route(Context& ctx, const std::string& requester);

// For mbd-incoming, before installing a result of one of our requests signed
// by signer: only the builder the request was routed to may deliver it, once.
enum class ResultVerdict {
    current,    // install it (the route is now "returned")
    duplicate,  // that builder's result was accepted already: keep, do not install
    late,       // from a builder the request was re-routed away from: keep, do not install
    unexpected, // from a key that was never given this request: reject
};
struct ResultCheck {
    ResultVerdict verdict;
    std::string message;
};
ResultCheck accept_result(Context& ctx, const std::string& request_id, const std::string& signer);

// Wake mbd-remote.path: var/spool/outgoing/ changes, and its flag (core/wake.hpp) is raised.
void notify_outgoing(const Home& home);

// How mbd-build delivers results: delivery_route, then a wake for mbd-incoming (our
// own results) or notify_outgoing (a peer's).
build::Delivery result_delivery();

std::vector<Route> list_routes(Context& ctx);
std::optional<Route> find_route(Context& ctx, const std::string& id);
// One line per route: ID STATE BUILDER SOURCE VERSION CODENAME/ARCH MESSAGE.
std::string describe(const std::vector<Route>& routes);
// {id, source, version, distribution, codename, architecture, builder,
//  fingerprint, state, previous: [...], message, routed, sent, returned}
Json to_json(const Route& route);

} // namespace mbd::remote
