// build/result: turn sbuild's outcome into a signed build result and deliver
// it (files first, the .changes last, each by atomic rename) to the
// requester's incoming/.
#pragma once

#include "build/request.hpp"
#include "build/sbuild.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace mbd::build {

struct ResultDocument {
    std::string changes_name;                 // SOURCE_VERSION_ARCH.mbd-result.changes
    std::string text;                         // unsigned .changes text with the Mbd-* fields
    std::vector<std::filesystem::path> files; // every file it lists (build log included)
};

// status: sbuild's status ("successful", "attempted", "given-back", ...).
ResultDocument make_result(const Request& request, const SbuildOutcome& outcome, const std::string& builder,
                           const std::string& maintainer);

// Copy files then write the signed .changes into dir (normally incoming/).
void deliver(const ResultDocument& result, const std::string& signed_text, const std::filesystem::path& dir);

} // namespace mbd::build
