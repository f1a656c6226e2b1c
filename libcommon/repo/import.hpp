// repo/import: move an existing Debian archive into a repository (what reprepro, aptly
// and mini-buildd publish: dists/ and pool/, in a local directory or at an http(s) or
// file URL).
//
// For each of its distributions:
//   1. InRelease (or Release with Release.gpg) is verified against the archive's keys
//      (--keyring), with apt's rule (one good signature by one of them);
//   2. it is mapped to a suite of the repository: by --map THEIRS=OURS, else by name:
//      mini-buildd's CODENAME-ID-SUITE and CODENAME-ID-SUITE-rollbackN (any ID) go to
//      the repository's CODENAME-SUITE; a rollback goes to its suite, whose rollbacks it
//      then fills in version order;
//   3. its Sources and Packages indices (of the repository's architectures) are fetched,
//      checked against Release's size and SHA256 and read; every path they name is
//      checked first (relative, inside the archive, no '..');
//   4. each source version with its binaries goes in through repo/packages'
//      import_packages (files checked against the indices' sizes and checksums, pool,
//      one transaction per batch); a version the suite or its rollbacks hold already is
//      left: a second import adds only what is new.
// A bad index or a bad package is reported and skipped, never fatal; what went in is
// published at the end.
#pragma once

#include "db/context.hpp"
#include "repo/packages.hpp"

#include <map>
#include <string>
#include <vector>

namespace mbd::repo {

struct ImportRequest {
    std::string source;                // a directory, or an http://, https:// or file:// URL
    std::string repository;            // ours
    std::vector<std::string> maps;     // THEIRS=OURS (OURS: a distribution of the repository)
    std::vector<std::string> dists;    // only these of theirs (a URL needs them: it lists no directory)
    std::vector<std::string> keyrings; // the archive's signing keys (armored or binary)
    bool progress = false;             // progress lines on stderr
};

struct ImportFailure {
    std::string what; // "hello 2.10-3", or an index "main/binary-amd64/Packages.xz"
    std::string why;
};

struct ImportDist {
    std::string from, to; // theirs; our suite (empty: not mapped)
    std::map<std::string, std::size_t> counts; // by outcome_name
    std::vector<ImportFailure> failures;
};

struct ImportReport {
    std::string source;
    std::vector<ImportDist> dists;
    std::vector<std::string> published;
    std::size_t failed() const; // failures (a distribution not mapped is one)
};

// Why a --map argument is not THEIRS=OURS with two distribution names, or nullopt.
std::optional<std::string> import_map_problem(std::string_view map);

// Error(Exit::usage) for bad arguments, Exit::not_found for an unknown repository, a
// missing keyring or an archive with no distribution. A distribution whose Release does
// not verify or cannot be fetched is a failure of that distribution in the report
// (nothing it lists is read), as is one no suite matches.
ImportReport import_archive(Context& ctx, const ImportRequest& request);

Json to_json(const ImportReport& r);

} // namespace mbd::repo
