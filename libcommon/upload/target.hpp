// upload/target: what mbd-incoming needs to know about the distribution an
// upload names, and how it installs what was built: a narrow view of the
// repo domain (libcommon/repo, libcommon/archive), so the pipeline does not
// depend on the configuration model's details.
#pragma once

#include "db/context.hpp"

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace mbd::upload {

struct Target {
    std::string name;       // CODENAME-ID-SUITE, as resolved (meta names resolved)
    std::string repository; // repository id
    std::string codename;
    std::string suite;
    std::vector<std::string> architectures; // what the repository builds for this codename
    std::string arch_all;                   // the one of them that builds Architecture: all
    std::string lintian_mode;               // the distribution's defaults
    std::string autopkgtest_mode;
    std::string deb_build_options, deb_build_profiles;
    std::string resolver;                   // sbuild's build-dependency resolver
    int internal_apt_priority = 1;
};

// Resolve a distribution an uploader named: it exists (Exit::rejected naming the
// known ones otherwise) and its suite is uploadable.
Target resolve_upload_target(Context& ctx, std::string_view distribution);

// The layout's version rule, newer than what the distribution holds, and the
// same version in no distribution of the repository. Error(Exit::rejected).
void check_upload_version(Context& ctx, const Target& target, std::string_view source, std::string_view version);

// The apt sources a build for target must see beyond the chroot's own base
// (extra sources, this repository's internal suites at the given priority),
// one-line format, and the armored keys they are signed with.
struct BuildSources {
    std::vector<std::string> lines;
    std::string keys;        // armored, concatenated
    std::string preferences; // apt_preferences(5) pins for the sources with a priority
};
BuildSources build_sources(Context& ctx, const Target& target, int internal_apt_priority);

// Install the upload (its .changes, with the source files beside it) and the
// binaries listed by each result .changes (files beside them) into target, all
// in one transaction, then publish. Records INSTALLED. `also` runs inside that
// transaction (the pipeline's own record of the install).
void install_built(Context& ctx, const Target& target, const std::filesystem::path& upload_changes,
                   const std::vector<std::filesystem::path>& result_changes,
                   const std::function<void(db::Db&)>& also);

// Publish what a writer killed before its publish left unpublished.
void publish_unfinished(Context& ctx);

} // namespace mbd::upload
