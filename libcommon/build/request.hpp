// build/request: the build request and build result documents.
//
// A build request is a deb822 paragraph signed by the requesting instance's
// key, one per source upload and architecture, placed in var/spool/build/
// (or sent to a peer) together with the source files it lists. A build result
// is the .changes sbuild wrote (or, for a failed build, one we write with just
// the log), extended with the Mbd-* fields below and signed by the builder;
// it travels back through the requester's incoming/ with its files.
#pragma once

#include "deb822/deb822.hpp"

#include <optional>
#include <string>
#include <vector>

namespace mbd::build {

struct SourceFile {
    std::string name;
    unsigned long long size = 0;
    std::string sha256;
};

struct Request {
    std::string id;           // unique per requester: "<upload>-<arch>", e.g. "17-amd64"
    std::string source, version;
    std::string distribution; // CODENAME-ID-SUITE
    std::string codename;
    std::string architecture;
    bool arch_all = false;    // also build Architecture: all packages
    bool arch_any = true;     // build architecture-specific packages (false: an arch-all-only build)
    std::string requester;    // fingerprint of the instance that wants the result
    std::string lintian_mode = "errfail"; // disabled|ignore|errfail|warnfail
    std::string autopkgtest_mode = "disabled"; // the same modes; run by sbuild after the build
    std::string deb_build_options, deb_build_profiles, add_depends;
    std::string resolver = "apt"; // sbuild --build-dep-resolver (repo::valid_resolver), unless nothing is installed
    // Extra apt sources the build must see (one-line format), and the armored
    // keys they are signed with.
    std::vector<std::string> apt_sources;
    std::string apt_keys;        // armored, one or more keys
    std::string apt_preferences; // apt_preferences(5) for their priorities
    std::vector<SourceFile> files; // .dsc first

    std::string to_text() const;                  // unsigned deb822 paragraph
    static Request parse(const deb822::Paragraph& p); // Error(Exit::rejected) when malformed
    const SourceFile& dsc() const;
};

// Result fields added to the builder's .changes.
inline constexpr std::string_view result_id_field = "Mbd-Build-Id";
inline constexpr std::string_view result_status_field = "Mbd-Build-Status"; // successful|failed|given-back
inline constexpr std::string_view result_builder_field = "Mbd-Builder";     // builder key fingerprint
inline constexpr std::string_view result_log_field = "Mbd-Build-Log";       // name of the log among the files
inline constexpr std::string_view result_reason_field = "Mbd-Build-Reason"; // why, for a build that ended early
inline constexpr std::string_view result_seconds_field = "Mbd-Build-Seconds";

// File name of a result's .changes: SOURCE_VERSION_ARCH.mbd-result.changes
std::string result_changes_name(const Request& r);

} // namespace mbd::build
