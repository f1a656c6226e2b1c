// app/selftest: prove an instance works end to end, as mini-buildd's test packages do.
// Three native source packages made here are uploaded through the real pipeline, signed
// by the instance key, to one suite of a repository (its experimental suite by default):
// mbd-selftest-all (Architecture: all: must be built and published), mbd-selftest-any (C,
// Architecture: any: must build on every architecture of the distribution) and
// mbd-selftest-fail (its build fails on purpose: the failure and its log are expected).
// It then waits for the units (or whoever runs the passes) and reports per package and
// architecture: accepted, built, published, fetched by apt from the published suite (apt
// checks the Release signature and the hashes), or the failure expected.
#pragma once

#include "core/json.hpp"
#include "db/context.hpp"

#include <string>
#include <vector>

namespace mbd::app {

struct SelftestOptions {
    std::string repository;
    std::string dist;        // empty: the repository's first codename, its experimental suite (else its first uploadable one)
    int timeout_seconds = 1800;
    bool wait = true;
    bool progress = false;   // a line on stderr whenever a package's state changes
};

struct SelftestPackage {
    std::string source, version;
    bool expect_failure = false;
    std::string state;                        // uploaded, rejected, queued, building, installed, failed, timeout
    std::vector<std::string> architectures;   // that built (or failed, for the failing one)
    std::vector<std::string> fetched;         // ARCH: apt fetched its binary from the published suite
    std::string log;                          // the failing build's log id, kept
    std::string problem;                      // why it did not behave as expected; empty: it did
};

struct SelftestReport {
    std::string dist;
    std::vector<SelftestPackage> packages;
    bool ok() const;
};

// Error(Exit::not_found) for an unknown repository or distribution, Exit::rejected for a
// suite that takes no uploads.
SelftestReport selftest(Context& ctx, const SelftestOptions& options);
Json to_json(const SelftestReport& r);

} // namespace mbd::app
