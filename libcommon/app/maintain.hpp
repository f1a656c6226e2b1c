// app/maintain: what `mbd-repo maintain` does (mbd-repo-maintain.timer, daily). Each
// step is safe to repeat and to run beside the passes:
//   - every repository that is not removed, under its lock: retire the codenames removed
//     from it more than publish.retire_grace seconds ago, publish what is due (a
//     Release whose Valid-Until is more than half spent is signed again, so keep
//     publish.valid_until at two days or more with a daily timer), drop the pool files
//     nothing references once publish.pool_grace has passed, and remove the by-hash
//     files its current Release files do not name once they were superseded more than
//     publish.byhash_grace seconds ago (a publish only cleans the directories it writes);
//     before the publish, remove the unnamed snapshots its suites' snapshot.keep does not
//     keep (repo/snapshots.hpp), so their pool files go with it;
//   - var/builds/: the directories of uploads (installed or failed) and of builds
//     (ended) that finished more than retention.builds seconds ago; their records stay;
//   - var/rejected/: rejected uploads and requests older than retention.rejected seconds.
// A retention of 0 keeps everything. It is the app layer's: it asks the repository,
// upload and build domains, each for its own part.
#pragma once

#include "core/json.hpp"
#include "db/context.hpp"

#include <string>
#include <vector>

namespace mbd::app {

struct MaintainReport {
    std::vector<std::string> published; // distributions published (Valid-Until refreshed, or changes)
    std::vector<std::string> retired;   // distributions of codenames removed from a repository, after the grace
    std::vector<std::string> keyrings;  // "DIST VERSION": keyring packages uploaded for a changed key
    std::string switched;               // a key rotation's switch came due: the new instance key
    std::vector<std::string> snapshots; // unnamed snapshots snapshot.keep does not keep (DIST@NAME), removed
    long long by_hash = 0;              // by-hash files removed
    long long builds = 0;               // build and upload directories removed
    long long rejected = 0;             // rejected uploads removed
};

MaintainReport maintain(Context& ctx);
Json to_json(const MaintainReport& r);

} // namespace mbd::app
