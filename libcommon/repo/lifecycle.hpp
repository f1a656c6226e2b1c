// repo/lifecycle: a repository's status actions (the seed's prepare, check, activate,
// deactivate, remove), its full check, and the one-shot setup for first-time users.
//
//   prepare     create repositories/ID and publish every distribution (empty ones too)
//   check       DB <-> pool (sizes, SHA256; files the DB does not know) <-> published
//               indices <-> signatures (archive/verify.hpp); the outcome is recorded
//   activate    accept uploads (needs a passed check)
//   deactivate  stop accepting uploads
//   remove      delete the published data; refused while the repository holds packages
#pragma once

#include "core/json.hpp"
#include "db/context.hpp"
#include "model/edit.hpp"
#include "model/lock.hpp"
#include "model/model.hpp"

#include <string>
#include <vector>

namespace mbd::repo {

// Create the configuration and prepare it (needs the instance key to sign).
Repository create_and_prepare(Context& ctx, const Repository& r);
Repository prepare_repository(Context& ctx, std::string_view id);
Repository repository_action(Context& ctx, std::string_view id, std::string_view action); // activate|deactivate|remove

// Change a repository (model/edit.hpp): a codename added gets its suites and rollbacks
// (published by the next prepare); a codename removed is retired at once when it holds
// nothing, else it stays published, refusing uploads, until maintain retires it once
// publish.retire_grace has passed. With prepare, the repository is prepared (published) too.
struct RepositoryEditResult {
    Repository repository;
    std::vector<std::string> changes;
    std::vector<std::string> retired; // distributions removed now
};
RepositoryEditResult edit_repository(Context& ctx, std::string_view id, const RepositoryEdit& edit, bool prepare);
// Retire the repository's codenames whose grace has passed (maintain, holding the lock);
// returns the distributions removed.
std::vector<std::string> retire_due(Context& ctx, const RepositoryLock& lock);

struct CheckReport {
    std::string repository;
    std::vector<std::string> problems;
    long long pool_files = 0;
    long long dists = 0;
    long long snapshots = 0;
    bool ok() const { return problems.empty(); }
};
// Checks and records the result in the repository's status.
CheckReport check_repository(Context& ctx, std::string_view id);
Json to_json(const CheckReport& r);

struct SetupOptions {
    std::string id;
    std::vector<std::string> codenames;     // empty: bookworm
    std::vector<std::string> architectures; // empty: this machine's
    std::string layout = "Default";
    std::string mirror;                     // empty: configuration key 'mirror'
    std::string keyring = "/usr/share/keyrings/debian-archive-keyring.gpg";
    bool check_source = true;               // fetch and verify the mirror's Release
};
struct SetupResult {
    std::vector<Distribution> distributions; // one per codename
    Repository repository;
    std::vector<std::string> extra_sources;  // added for a new distribution, having passed their check
    std::vector<std::string> skipped;        // why a companion source was not added ("source 'x': ...")
};
// Per codename (each unless it exists): source debian-CODENAME and distribution CODENAME,
// which, when sources are checked, gets the codename's updates, security and backports
// sources as extra sources, each only after its check passed on the mirror (a source the
// mirror lacks is skipped, with the reason, never added); then repository ID serving
// every codename: created, prepared, checked, activated.
SetupResult setup(Context& ctx, const SetupOptions& options);

} // namespace mbd::repo
