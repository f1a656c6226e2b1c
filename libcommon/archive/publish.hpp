// archive/publish: writes a repository's APT distributions (dists/NAME/) from the
// state database. Per distribution and component: Sources, and per architecture
// Packages, debian-installer Packages (udebs) and Contents-ARCH, each uncompressed,
// .gz and .xz (archive/index.hpp), each also under by-hash/SHA256/ and by-hash/SHA512/;
// a Release with SHA256 and SHA512 of every file, InRelease and Release.gpg signed by
// the instance key.
//
// Order on disk: index files by-hash first, canonical names next, then (after syncfs)
// Release and Release.gpg together (they are links through dists/NAME/.release, swapped
// to a new directory holding both by one rename), InRelease last; then the state
// database records what was published. A writer killed anywhere leaves the previous
// InRelease with every file it names (by-hash), and a Release + Release.gpg pair that
// belong together; the next publish redoes the work. Superseded by-hash files and pair
// directories stay for publish.byhash_grace seconds.
//
// A distribution is republished only when what it holds changed (the dist_journal
// since its last publish), its Release fields changed, its InRelease is missing, or its
// Valid-Until is more than half spent; then only the indices the changes touch are
// rebuilt, chunk by chunk. Nothing changed: nothing is written.
#pragma once

#include "db/context.hpp"
#include "model/lock.hpp"
#include "model/model.hpp"

#include <optional>
#include <string>
#include <vector>

namespace mbd::archive {

struct PublishOptions {
    bool rebuild = false;            // build every index in full, ignoring the previous state
    std::optional<std::string> dist; // only this distribution (its name)
    bool resign = false;             // a new Release for every distribution (the signing keys changed)
};

struct PublishReport {
    std::vector<std::string> dists;  // distributions (re)published
    long long indices_built = 0;     // index files rebuilt (in full or in part)
    long long chunks_built = 0;      // chunks compressed
};

// The caller holds the repository's lock.
PublishReport publish(Context& ctx, const repo::RepositoryLock& lock, const PublishOptions& options = {});

// A snapshot (repo/snapshots.hpp) of a distribution, published as dists/FULL_NAME/: the
// distribution's index files as last published (the caller publishes it first: an
// unpublished change is an Error(Exit::state)) hard-linked there with their by-hash
// names (no copies: the same inodes), and a Release of its own with header's fields
// (snapshot_header) and no Valid-Until (a snapshot is never signed again), its
// InRelease and Release.gpg. Written into a temporary directory, made durable, renamed
// into place whole (one that is there is replaced: the database does not know it).
// Returns the Release's SHA-256. The caller holds the repository's lock.
// Every snapshot of the repository signed again by the archive signers of now (a key
// rotation): its Release stays; Release.gpg and InRelease are replaced, each by a rename.
std::vector<std::string> resign_snapshots(Context& ctx, const repo::RepositoryLock& lock);

std::string publish_snapshot(Context& ctx, const repo::RepositoryLock& lock, const repo::DistRef& dist,
                             const std::string& full_name, const std::string& header);

// When each published distribution was last published (unix seconds) and how long that
// publish took (milliseconds, from its plan to its record; every distribution it published
// shares it).
struct PublishTime {
    std::string dist;
    long long published = 0, took_ms = 0;
};
std::vector<PublishTime> publish_times(db::Db& db);

// The journal (dist_journal: what a distribution's members changed since its last publish)
// is read into memory by the next publish while it is short against the indices published:
// at most `floor_rows` (publish.journal_rows) or an eighth of the stanzas published. Past
// that the publish builds the distribution in full from the database, and an install may
// say so with a marker row (source_id 0): the additions after it are not journaled, as that
// publish does not read them (removals still are: a source removed is not collected before
// the publish that drops it from the indices).
//
// How many more rows a distribution's journal takes before that point (0 or less: past it; a
// distribution never published: 0, its first publish builds in full).
long long journal_room(db::Db& db, long long dist_id, long long floor_rows);
// publish.journal_rows (Error(Exit::config) outside 0 .. 100,000,000).
long long journal_floor(const Context& ctx);
bool full_build_marked(db::Db& db, long long dist_id);
void mark_full_build(db::Db& db, long long dist_id);

// The directory a repository is published in ($MBD_HOME/repositories/ID).
std::filesystem::path repository_dir(const Context& ctx, std::string_view id);

} // namespace mbd::archive
