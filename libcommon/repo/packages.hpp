// repo/packages: the package index of the repositories (the state database is its
// source of truth; dists/ is derived from it by archive/publish.hpp).
//
// A source package version (with its binaries of every architecture) is installed
// once per repository into the pool (pool/COMPONENT/PREFIX/SOURCE/FILE) and is held
// by distributions: each distribution holds at most one version per source name.
// Installing a newer version into CODENAME-ID-SUITE moves the previous one to
// ...-rollback0, shifting older ones up to the layout's rollback count; beyond it
// they are dropped, and their pool files once nothing references them (after
// publish.pool_grace seconds). Migrating copies the version of a suite into the suite
// it migrates to, with the same shifting there. Every change is one database
// transaction, recorded in the events table (INSTALLED, MIGRATED, REMOVED), under the
// repository's lock; the distributions it touches are published right after.
#pragma once

#include "core/json.hpp"
#include "db/context.hpp"
#include "debian/control_files.hpp"
#include "model/lock.hpp"
#include "model/model.hpp"

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mbd::repo {

// ---- checks for uploads (the pipeline calls these before building) --------------

// Why `version` breaks the layout's version rule for this distribution
// ('~ID CODEVERSION +[1-9]', or '+0' for experimental suites), or nullopt.
std::optional<std::string> version_rule_violation(db::Db& db, const DistRef& dist, std::string_view version);

// Why source/version cannot go into dist because of what the repository holds: the
// distribution holds the same or a newer version, or another distribution of the
// repository holds this version already. nullopt when it can.
std::optional<std::string> version_conflict(db::Db& db, const DistRef& dist, std::string_view source,
                                            std::string_view version);

// Everything an upload to dist must pass, in order: it is a suite (not a rollback),
// the repository is active (unless admin), the suite is uploadable, the version rule,
// version_conflict. nullopt: accepted.
std::optional<std::string> upload_rejection(db::Db& db, const DistRef& dist, std::string_view source,
                                            std::string_view version, bool admin = false);

// The layout suite of a distribution.
Suite suite_of(db::Db& db, const DistRef& dist);

// ---- install ----------------------------------------------------------------------

struct InstallRequest {
    // One or more .changes of one source and version (e.g. the source upload and the
    // build results of each architecture); installed together or not at all. Their
    // signatures are not checked here (mbd-incoming does that).
    std::vector<std::filesystem::path> changes;
    std::string dist; // CODENAME-ID-SUITE or a meta name; empty: the .changes' Distribution
    bool publish = true;
    // Hard-link the files into the pool where that is safe (archive::place_unsynced):
    // for files nothing will change in place afterwards.
    bool link = false;
    // Run inside the install's transaction (the caller's own record of it), so both
    // happen or neither does.
    std::function<void(db::Db&)> also;
};

struct InstallResult {
    DistRef dist;
    std::string source, version;
    std::vector<std::string> pool_files; // paths relative to the repository, new and reused
    std::vector<std::string> binaries;   // "name_version_arch"
    std::vector<std::string> published;  // distributions published
};

// Error(Exit::rejected) with the reason for a bad upload (sizes, checksums, version),
// Error(Exit::exists) when a pool file of that name exists with other content.
InstallResult install(Context& ctx, const InstallRequest& request);

// Each .changes as an install of its own (one repository), then one publish: for
// imports. Stops at the first failure (what went in before it stays, and is published).
// installed(result) is called for each upload once its batch is committed (results are
// not kept: an import of an archive holds only a batch); returns the distributions
// published.
std::vector<std::string> install_each(Context& ctx, const std::vector<std::filesystem::path>& changes,
                                      const std::string& dist, bool publish, bool link,
                                      const std::function<void(const InstallResult&)>& installed);

// ---- import (repo/import reads the other archive) ------------------------------------

// One source version of another archive as its verified indices describe it: the .dsc,
// the files it lists and the binaries built from it, each with the size and checksums the
// indices give (section and priority too), and where each file is now.
struct ImportPackage {
    std::string source, version;
    std::vector<debian::FileEntry> files;
    std::map<std::string, std::filesystem::path> at; // by file name
};

enum class ImportOutcome {
    installed, // new to the repository, installed into the suite
    placed,    // the repository had this version: the suite holds it now (as a migration does)
    held,      // the suite or one of its rollbacks holds it already (nothing done)
    older,     // older than what the suite holds (nothing done)
    failed,    // why says why; nothing of it went in
};
std::string_view outcome_name(ImportOutcome o); // "installed", "placed", ...

struct ImportPackageResult {
    ImportOutcome outcome = ImportOutcome::failed;
    std::string why;
};

// Bring packages of another archive into a suite of the locked repository, oldest version
// of a source first, so that the suite ends with the newest and its rollbacks with those
// before it. New versions are installed as uploads are (files checked, pool, one
// transaction per batch, durable before the commit) but without the rules for uploads
// (version rule, uploadable suites, an active repository): the archive exists already.
// A failure is that package's (result failed), never the others'. progress(done) is
// called as packages are decided. Nothing is published here.
std::vector<ImportPackageResult> import_packages(Context& ctx, const RepositoryLock& lock, const DistRef& suite,
                                                 const std::vector<ImportPackage>& packages,
                                                 const std::function<void(std::size_t)>& progress = {});

// ---- migrate, remove ----------------------------------------------------------------

struct ChangeResult {
    std::string source, version, from, to; // to: empty for remove
    std::vector<std::string> published;
};

// Copy the version `from` holds into the suite it migrates to (e.g. unstable -> testing).
ChangeResult migrate(Context& ctx, std::string_view source, std::string_view from_dist, bool publish = true);

// Take a source out of a distribution (a suite or a rollback); version: only if it is this one.
ChangeResult remove(Context& ctx, std::string_view source, std::string_view dist,
                    const std::optional<std::string>& version, bool publish = true);

// Publish what changed in a repository, then drop what nothing references any more.
std::vector<std::string> publish_repository(Context& ctx, const RepositoryLock& lock, bool rebuild = false,
                                            const std::optional<std::string>& dist = std::nullopt);

// Publish every repository holding changes that are not published yet, or files of
// an install killed before its commit (what a writer killed before its publish left).
std::vector<std::string> publish_unfinished(Context& ctx);

// ---- queries (no lock) ----------------------------------------------------------

struct Holding {
    std::string dist;  // distribution name
    std::string source, version, component;
    long long since = 0;
    std::vector<std::string> binaries; // "name_version_arch"
};

// What distributions hold: a repository (all when empty), optionally one distribution;
// with first and last, only the sources named first..last (inclusive).
std::vector<Holding> list_holdings(db::Db& db, std::string_view repository, std::string_view dist,
                                   std::string_view first = {}, std::string_view last = {});
// The names of the sources a distribution holds (every distribution when empty), sorted, once each.
std::vector<std::string> source_names(db::Db& db, std::string_view dist);
// The sources of a distribution (every distribution when empty) named in [low, high): how
// many, the first and the last name (one indexed range query, no list).
struct SourceRange {
    std::size_t count = 0;
    std::string first, last;
};
SourceRange source_range(db::Db& db, std::string_view dist, std::string_view low, std::string_view high);
// Every distribution holding a source, in layout order, rollbacks included.
std::vector<Holding> show_source(db::Db& db, std::string_view source, std::string_view repository);
// Sources and binaries whose name matches a shell pattern ('*' '?' '[...]').
std::vector<Holding> search(db::Db& db, std::string_view pattern, std::string_view repository);
Json to_json(const Holding& h);

// Where a source's files lie in a repository: pool/COMPONENT/PREFIX/SOURCE (PREFIX: its
// first letter, or its first four for lib*), as in Debian's archive.
std::string pool_directory(std::string_view component, std::string_view source);

} // namespace mbd::repo
