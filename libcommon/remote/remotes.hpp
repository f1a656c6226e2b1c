// remote/remotes: peer instances (the seed manual's "Remotes"), named here,
// identified by their instance key's fingerprint, reached by a URL
// (remote/transport.hpp).
//
//   add       fetch the peer's status document; pin its key (--fingerprint:
//             a mismatch stores nothing) or trust it on first use with a loud
//             notice; the key goes to the "remotes" trust set, inactive
//             (keys/peers.hpp). The remote is prepared and checked at once.
//   check     fetch and verify a fresh status document (signed by the pinned
//             key, same protocol); it passes when the peer lists this instance
//             among its remotes. The outcome goes into the check flag
//             (core/status.hpp): an active remote that fails is set to
//             auto-reactivate 'A', and comes back with the first check that passes.
//   activate  check, then activate; a remote that does not know us yet is set
//             to 'A' (the seed's three-step interconnect) and the call fails
//   deactivate, remove (only an inactive remote; its key is forgotten)
// Only an active remote's key verifies build requests and results
// (keys/verify.hpp); only an active remote that lists us as active gets our
// build requests (remote/routing.hpp). Every change republishes our status.
#pragma once

#include "core/error.hpp"
#include "core/json.hpp"
#include "core/status.hpp"
#include "db/context.hpp"
#include "remote/status.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mbd::remote {

struct Remote {
    std::string name, url, fingerprint;
    ModelStatus status;
    long long added = 0;
    std::string message;                 // outcome of the last check
    std::optional<StatusDocument> peer;  // its last verified status document
    long long status_fetched = 0;        // when we fetched it
    long long status_seq = 0;            // routing sequence number then (remote/routing.hpp)
};

// fingerprint: nullopt trusts on first use. Errors: the name or key is known
// (exists), the URL is bad (usage), the peer is unreachable (tempfail), its
// key is not the pinned one or its document is not signed by the key it
// carries (bad_signature), it speaks another protocol (check_failed).
Remote add_remote(Context& ctx, const std::string& name, const std::string& url,
                  const std::optional<std::string>& fingerprint);

std::vector<Remote> list_remotes(Context& ctx);
Remote get_remote(Context& ctx, const std::string& name); // Error(Exit::not_found)
std::optional<Remote> find_remote_by_fingerprint(Context& ctx, std::string_view fingerprint);

// Record the outcome, then throw when the check failed.
Remote check_remote(Context& ctx, const std::string& name);
// Check every remote, reporting each failure on stderr.
struct CheckAllReport {
    std::vector<Remote> remotes; // as they are after the checks
    int failed = 0;
    Exit first_code = Exit::ok;  // of the first failure that is not tempfail, else tempfail
};
CheckAllReport check_all_remotes(Context& ctx);
Remote activate_remote(Context& ctx, const std::string& name);
Remote deactivate_remote(Context& ctx, const std::string& name);
void remove_remote(Context& ctx, const std::string& name);

// Why this remote gets no builds now; nullopt when it may get some.
std::optional<std::string> unusable_reason(const Remote& remote, std::string_view our_fingerprint, long long now,
                                           long long max_age);

// `show`: "field: value" lines. `list`: one line per remote. JSON: an object
// per remote {name, url, fingerprint, status, check_flag, display, last_check,
// message, added, peer: null | {identity, version, protocol, date, fetched,
// capacity, running, queued, chroots: [{codename, architecture, status}],
// knows_us: null | {status, check_flag, url}}}.
std::string describe(const Remote& remote, std::string_view our_fingerprint);
std::string describe(const std::vector<Remote>& remotes);
Json to_json(const Remote& remote, std::string_view our_fingerprint);

} // namespace mbd::remote
