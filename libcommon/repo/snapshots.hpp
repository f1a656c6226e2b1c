// repo/snapshots: a distribution frozen as a team shipped it (issue 23). A snapshot
// copies what a distribution holds (its sources and their binaries, as rows, in one
// transaction) and is published once, as the APT distribution DIST@NAME
// (dists/DIST@NAME/, archive::publish_snapshot): the distribution's index files
// hard-linked, a Release of its own, NotAutomatic, without Valid-Until. Nothing changes
// it afterwards: install, migrate and remove change distributions only, and the pool
// files a snapshot names stay as long as it does (pool GC counts it as a holder).
//
// A snapshot made without a name is named by its UTC time (YYYYMMDD-HHMMSS) and is
// what the retention policy (configuration key snapshot.keep, per suite) expires in
// `mbd-repo maintain`; a named one stays until `snapshot remove`.
#pragma once

#include "core/json.hpp"
#include "db/context.hpp"
#include "model/lock.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mbd::repo {

struct Snapshot {
    std::string repository, dist, codename, suite, name;
    bool named = false;
    long long created = 0;
    long long sources = 0, binaries = 0;
    std::string full_name() const { return dist + "@" + name; }
};

// Snapshot distribution dist (its name or a meta name) as NAME (default: the UTC time).
// Error(Exit::usage) for a bad name, Error(Exit::not_found) for an unknown
// distribution, Error(Exit::exists) when dist has a snapshot of that name.
Snapshot create_snapshot(Context& ctx, std::string_view dist, const std::optional<std::string>& name);

// Every snapshot of a repository (all when empty), optionally of one distribution, by full name.
std::vector<Snapshot> list_snapshots(db::Db& db, std::string_view repository = {}, std::string_view dist = {});

// The snapshot DIST@NAME: Error(Exit::usage) when it is not such a name, Error(Exit::not_found) when none.
Snapshot find_snapshot(db::Db& db, std::string_view full_name);

// Remove the snapshot DIST@NAME: its rows, then its directory; its pool files go with the
// next publish (this one) once nothing else holds them, after publish.pool_grace.
Snapshot remove_snapshot(Context& ctx, std::string_view full_name);

// The retention of one suite's unnamed snapshots: the newest snapshot of each of the
// last `daily` days, `weekly` ISO weeks and `monthly` months (UTC) that have one.
// None set: every snapshot is kept.
struct KeepPolicy {
    int daily = 0, weekly = 0, monthly = 0;
    bool any() const { return daily > 0 || weekly > 0 || monthly > 0; }
};
// The policy of a suite in the value of snapshot.keep: 'daily=7 weekly=4 monthly=12' for
// every suite, 'stable:monthly=24' for one (which overrides the first for that kind).
// Error(Exit::config) when the value is malformed.
KeepPolicy keep_policy(std::string_view value, std::string_view suite);
// Which of the snapshots made at these times (unix seconds, newest first) a policy keeps.
std::vector<bool> kept_by(const KeepPolicy& policy, const std::vector<long long>& created_newest_first);

// maintain: remove the repository's unnamed snapshots its suites' policies do not keep,
// and snapshot directories the database does not know (a remove killed half-way).
// Returns the full names removed. The caller holds the lock and publishes after it (GC).
std::vector<std::string> expire_snapshots(Context& ctx, const RepositoryLock& lock);

Json to_json(const Snapshot& s);

} // namespace mbd::repo
