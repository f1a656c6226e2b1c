// app/setup: an instance in one command (`mbd-repo setup`), the whole first-time path
// of mbd(7) in order, each step kept when it is done already (so it can be run again
// after a failure, or to add what is missing):
//   1. identity, e-mail and the URL the repositories are served under (publish.url),
//      when given: stored in HOME/etc/mbd.conf;
//   2. the instance key (made unless there is one; it needs an e-mail with a domain);
//   3. per codename source debian-CODENAME (with the updates, security and backports
//      sources that pass their check) and distribution CODENAME; repository ID (repo::setup);
//   4. a chroot per architecture of each distribution, from its base source: created,
//      checked, activated;
//   5. uploader keys from files, granted the repository.
// Each step says what it did (log notices); the result says what to do next.
#pragma once

#include "db/context.hpp"
#include "repo/lifecycle.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace mbd::app {

struct SetupOptions {
    repo::SetupOptions repository;
    std::string identity, email;                // empty: keep the configuration's
    std::string url;                            // publish.url; empty: keep the configuration's
    bool chroots = true;                        // create, check and activate the chroots
    std::vector<std::filesystem::path> uploaders; // public key files to grant the repository
};

struct SetupResult {
    repo::SetupResult repository;
    std::vector<std::string> uploaders; // fingerprints
};

SetupResult setup(Context& ctx, const SetupOptions& options);

// What to do next: the dput stanza, the apt sources of the first uploadable suite, the
// commands that follow an upload.
std::string next_steps(Context& ctx, const SetupResult& result);

} // namespace mbd::app
