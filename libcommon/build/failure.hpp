// build/failure: why a build failed, in one line, from its sbuild log — what events,
// `mbd-build list`, the upload's record and mails say instead of a bare "failed":
//   lintian: E: no-copyright-file, …               (lintian's verdict failed the build)
//   dependency installation failed: … Depends: x but it is not installable
//   build failed: <the failing command's last lines, joined by " | ">
//   sbuild stage 'fetch-src' failed: <sbuild's last E: line>
// The stage comes from the log's summary (Fail-Stage:, Lintian:), the words from the
// section of the log that stage wrote.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mbd::build {

// The line a build's own dependency installation (build/sbuild.hpp, own_deps) starts with
// in its session setup command: a failed setup command after it is a dependency failure.
constexpr std::string_view own_deps_marker = "mbd: build dependencies: ";

// Empty when the log says nothing about a failure (no summary, nothing failed).
std::string failure_reason(std::string_view log);

// The distinct lintian tags of a log's lintian run, errors first: "E: no-copyright-file",
// "W: ...", "I: ..." (empty without a lintian run).
std::vector<std::string> lintian_tags(std::string_view log);

} // namespace mbd::build
