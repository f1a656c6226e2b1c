// repo/mirror: push the published archive (HOME/repositories/, or one repository's
// directory) to a downstream mirror with rsync, the way Debian's ftpsync syncs a mirror,
// so that an apt client reading the downstream during the push never finds a file an
// index names missing or changed:
//
//   1. the marker TARGET/Archive-Update-in-Progress-IDENTITY (downstream mirrors that
//      sync from TARGET wait while it is there);
//   2. stage 1: everything but the files that name other files (InRelease, Release,
//      Release.gpg, the .release link, the canonical Packages*, Sources*, Contents-*):
//      pool files, by-hash files and new Release pair directories arrive first, while the
//      target still serves the previous publication; nothing is deleted;
//   3. stage 2, holding the pushed repositories' locks (so it copies one publication):
//      everything, symbolic links as links, with --delete; changed files are renamed
//      into place together at its end, deletions after them (see mirror.cpp);
//   4. the trace file TARGET/project/trace/IDENTITY (dates, mbd version, what was
//      pushed), and the marker removed.
// Each step is one rsync run (core/process, no shell). A failed step stops the push
// with Error(Exit::external) and rsync's last lines; the marker then stays.
#pragma once

#include "db/context.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mbd::repo {

struct MirrorOptions {
    std::string target;     // a local directory, HOST:PATH, HOST::MODULE/PATH or rsync://HOST/MODULE/PATH
    std::string repository; // empty: every repository (HOME/repositories/)
};

struct MirrorStage {
    long long files = 0;  // regular files rsync transferred
    long long bytes = 0;  // bytes it sent
    double seconds = 0;
};

struct MirrorReport {
    std::string target;
    std::vector<std::string> repositories; // pushed
    std::vector<std::string> dists;        // their distributions, ID/NAME
    MirrorStage stage1, stage2;
    std::string marker, trace;             // relative to the target
};

// Why TARGET cannot be a push target, after "target" (empty, starts with '-', has whitespace or a control
// character, a remote one names no path); nullopt when it can.
std::optional<std::string> mirror_target_problem(std::string_view target);

// Error(Exit::usage) for a bad target (also a local one that is, holds or lies in the
// pushed directory), Exit::not_found for a repository that is not published,
// Exit::environment without rsync, Exit::external when rsync fails.
MirrorReport mirror_push(Context& ctx, const MirrorOptions& options);

} // namespace mbd::repo
