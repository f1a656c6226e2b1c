// core/wake: hand-offs between passes that no timing can lose.
//
// The path units (systemd/README.md) start a pass when its directory changes. Under
// systemd 252 (Debian 12) a change that arrives while the pass's service runs is
// dropped: PathChanged= is not watched then, and not checked again when the service
// ends (systemd issue #5770). A pass cannot close that gap on its own: whatever it
// checks last, its exit comes after. So a tool that leaves work for another pass
// (mbd-incoming queues a build request, mbd-build delivers a result, a peer stores
// files in incoming/, something waits for a peer) also raises that pass's flag,
// var/spool/wake/PASS, once the work is in place; the pass lowers it before each
// scan. The units watch the flags with PathExists=, which systemd checks again when
// the service ends: a flag raised after a pass's last scan starts the next one.
// Uploads by dput or scp cannot raise it: mbd-incoming-wake.path does, for them.
#pragma once

#include "core/home.hpp"

#include <filesystem>

namespace mbd::wake {

enum class Pass { incoming, build, outgoing };

std::filesystem::path flag(const Home& home, Pass pass);

// Best effort: a flag that cannot be made is logged (debug 'wake'), never an error;
// the directory's change still starts the pass in all but the race above.
void raise(const Home& home, Pass pass) noexcept;

// Lower the flag before scanning; true if it was raised.
bool lower(const Home& home, Pass pass);

} // namespace mbd::wake
