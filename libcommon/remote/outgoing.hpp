// remote/outgoing: one `mbd-remote run` pass over what waits for peers.
//
// var/spool/outgoing/PEER/ITEM/ holds one document (KEY.mbd-request, or a
// *.mbd-result.changes written last by mbd-build) and the files it lists; an
// item without its document is still being written and is left alone. A pass:
//   1. publishes our status document (var/status.asc);
//   2. re-routes requests a remote took but did not answer within
//      remote.result_timeout (their copy is in var/spool/sent/);
//   3. routes what waits in var/spool/waiting/ when a builder is there now;
//   4. sends every item that is due: its files, then its document, into the
//      peer's incoming/. A sent request moves to var/spool/sent/, a sent
//      result is removed. A failure is retried after remote.retry seconds,
//      doubling up to remote.retry_max; a request its remote has not taken
//      within remote.reroute_timeout, or whose remote is no longer active,
//      goes to another builder (or waits). Results are never re-routed: they
//      wait for their requester, and for a key no remote has, until one does.
// Passes are serialised by var/lock/remote-run.lock. An instance without a key
// has nothing to do.
#pragma once

#include "db/context.hpp"

namespace mbd::remote {

struct RunReport {
    int sent = 0, failed = 0, rerouted = 0, waiting = 0;
};

RunReport run_pass(Context& ctx);

} // namespace mbd::remote
