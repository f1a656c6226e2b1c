// archive/dists: what one APT distribution of a repository publishes: its index files
// (per component: Sources; per architecture: Packages, debian-installer Packages,
// Contents-ARCH), their entries from the state database, and its Release fields.
// Shared by publishing (archive/publish.hpp) and verification (archive/verify.hpp).
#pragma once

#include "archive/index.hpp"
#include "model/model.hpp"

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace mbd::archive {

struct IndexSpec {
    std::string path; // relative to dists/NAME: 'main/binary-amd64/Packages'
    IndexKind kind;
    std::string component;
    std::string arch;     // "" for Sources
    std::string pkg_kind; // "deb" / "udeb" for Packages and Contents
};

struct DistPlan {
    repo::DistRef dist;
    std::string header;           // the Release fields but Date, Valid-Until and checksums
    std::vector<IndexSpec> indices;
    repo::IndexSet set;           // the forms of each index (indices has Contents only if set.contents)
};

// Every distribution of a repository with what it publishes, in layout order; a
// distribution without index set of its own has default_set (configuration key publish.indices).
std::vector<DistPlan> plan_dists(db::Db& db, std::string_view repository, const repo::IndexSet& default_set);
// The configuration's publish.indices; Error(Exit::config) when it is not a set.
repo::IndexSet default_index_set(const Context& ctx);
// The suffixes of the files of an index set writes: "" (uncompressed), ".gz", ".xz".
// (Release lists the uncompressed one, "", whether or not it is written.)
std::vector<std::string> index_forms(const repo::IndexSet& set);
// Every suffix an index file can have, whatever the set.
constexpr std::array<std::string_view, 3> all_index_forms{"", ".gz", ".xz"};

// Every entry of an index, read from the database.
std::vector<Entry> all_entries(db::Db& db, long long dist_id, const IndexSpec& spec);

// A distribution's index built in full from the database. Packages and Sources are read in
// key order, one stanza at a time, so only a batch of chunks is in memory; Contents, whose
// paths are not rows of their own, is sorted in memory.
BuiltIndex build_from_db(db::Db& db, long long dist_id, const IndexSpec& spec, const std::filesystem::path& dir,
                         const std::string& basename, const BuildOptions& options);

// The Release fields of the snapshot FULL_NAME (DIST@NAME) of plan's distribution: its own,
// with Suite and Codename FULL_NAME, NotAutomatic: yes (never ButAutomaticUpgrades: apt
// upgrades nothing from a snapshot by itself) and the snapshot named in the Description.
std::string snapshot_header(const DistPlan& plan, const std::string& full_name);

// The index files of a distribution whose Release fields are header (its Components and
// Architectures): what a snapshot publishes, whatever its distribution publishes now
// (Contents-ARCH with contents).
std::vector<IndexSpec> header_index_specs(const std::string& header, bool contents);

// Every entry of a snapshot's index, from its frozen membership (repo/snapshots.hpp).
std::vector<Entry> snapshot_entries(db::Db& db, long long snapshot_id, const IndexSpec& spec);

// Whether any distribution publishes Contents (its own index set, or publish.indices): if
// none does, an install does not read a package's paths (debian::DebPaths::skip).
bool contents_wanted(Context& ctx);
// The paths of the binaries of repository whose paths were not read at install, read now
// from their pool files under root (the repository's directory), before a publish writes
// Contents; the number read. A data member that cannot be read is warned of and leaves no
// Contents line.
size_t read_unread_paths(db::Db& db, std::string_view repository, const std::filesystem::path& root);
// A binary's paths as Contents lists them, one per line, but those a Contents line cannot
// hold (a control character, a trailing space).
std::string contents_text(const std::vector<std::string>& paths);

// 'section/name' as Contents lists a package.
std::string qualified_name(const std::string& section, const std::string& name);
// Entries for each path of a newline-separated list.
void add_contents(std::vector<Entry>& out, const std::string& paths, const std::string& qualified);

} // namespace mbd::archive
