// repo/debdiff: devscripts' debdiff between two versions of a source the archive holds:
// the source packages (.dsc) by default, or the .deb files of one architecture (with its
// Architecture: all packages). The versions are given, or read from two distributions.
#pragma once

#include "db/context.hpp"

#include <string>
#include <vector>

namespace mbd::repo {

struct DebdiffRequest {
    std::string source;
    std::string repository;                 // empty: the one repository holding the source
    std::vector<std::string> versions;      // two versions, or none with two dists
    std::vector<std::string> dists;         // two distributions: the versions they hold
    std::string binary_arch;                // not empty: compare the .debs of this architecture
};
struct DebdiffResult {
    std::string from, to; // versions
    std::string output;   // what debdiff printed
    bool differ = false;  // debdiff's exit 1
};
// Error(Exit::not_found) for a version or source the archive does not hold,
// Error(Exit::external) when debdiff fails, Error(Exit::environment) without debdiff.
DebdiffResult debdiff(Context& ctx, const DebdiffRequest& request);

} // namespace mbd::repo
