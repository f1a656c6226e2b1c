// core/fault: fault injection for crash and error tests.
//
// MBD_FAULT=NAME:N makes the process kill itself (SIGKILL, like `kill -9`) at the Nth
// time it passes a fault point NAME. NAME is a point's full name or the part before a
// dot: MBD_FAULT=publish:3 stops at the third publish.* point passed, whichever it is.
// Tests use it to stop a writer at every step of an operation and check that what it
// leaves behind is valid and finished by the next run. Unset: a no-op.
//
// MBD_FAULT=NAME:N:ERRNO makes the Nth system call guarded by an error point NAME fail
// with ERRNO (a name such as EXDEV, or a number) instead of being made; N may be '*'
// (every time). For errors a test cannot cause for real (EXDEV, EMLINK...).
//
// The points, one at (at least) every step that changes state:
//   incoming.claim     an upload's .changes, then each of its files, moved out of incoming/
//   incoming.reject    a rejection: decided (marker), REASON written, recorded, moved
//   incoming.accept    an upload recorded as accepted, then moved to var/builds/upload-N/
//   incoming.request   a build request routed (spool written), before it is recorded
//   incoming.result    a build result recorded, before its files move to the upload
//   incoming.install   before an upload's install, and after it
//   build.start        a build recorded as running, before sbuild starts
//   build.finish       sbuild done, before the result is signed
//   build.deliver      each result file delivered, the .changes last; then recorded
//   install.pool       each file copied into the pool
//   install.commit     before the install's transaction commits
//   publish.by-hash    an index file linked under by-hash/
//   publish.index      an index file renamed to its canonical name
//   publish.release    the Release + Release.gpg pair swapped in, then InRelease renamed into place
//   publish.recorded   the publication recorded in the state database
//   publish.prune      a superseded by-hash file removed after its grace period
//   publish.gc         pool garbage forgotten, before / after each file is unlinked
//   snapshot.written   a snapshot's directory durable, before it is renamed into place
//
// The error points (inject()):
//   incoming.claim.mkdir     the claim directory made in var/spool/claimed/
//   incoming.claim.rename    the .changes, then each listed file, moved into the claim
//   incoming.reject.mkdir    var/rejected/ made
//   incoming.reject.open     the REASON file written into the claim
//   incoming.reject.rename   the claim moved to var/rejected/<time>-<name>/
//   incoming.accept.rename   an accepted claim moved to var/builds/upload-N/
#pragma once

#include <string_view>

namespace mbd::fault {

void point(std::string_view name);

// True (errno set) when the system call this error point guards is to fail:
// `if (fault::inject("x.rename") || ::rename(a, b) != 0) ... errno ...`
bool inject(std::string_view name);

} // namespace mbd::fault
