// model/edit: changing and removing configuration after it was created (the seed's
// "edit every model, then prepare again"). Each function validates the whole result
// first, refuses what would break the archive with the reason and what to do instead,
// and records the change in the status model:
//
//   a source        flagged changed ('*') when its check had passed; `source check`
//                   clears it. Uploads to distributions using it wait for that check.
//   a distribution  the repositories serving it are flagged changed, with what changed;
//                   `repository prepare` publishes the new state and clears it.
//   a layout        custom layouts no repository uses: remove one, or one of its suites.
//   a repository    description, origin, codenames served (repo/lifecycle.hpp publishes
//                   and retires them): flagged changed until prepared.
#pragma once

#include "model/model.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mbd::repo {

struct SourceEdit {
    std::optional<std::string> origin, codename, suite, codeversion;
    std::optional<std::vector<std::string>> uris;  // the whole list, in order
    std::optional<Pairs> identifiers;              // the whole list
    std::vector<std::string> key_files;            // not empty: these keys replace the source's
};
// Returns the source and what changed (empty: nothing).
std::pair<Source, std::vector<std::string>> edit_source(Context& ctx, std::string_view name, const SourceEdit& edit);

struct DistEdit {
    std::optional<std::string> base_source, arch_all;
    std::vector<std::string> add_architectures, remove_architectures;
    std::optional<std::vector<std::string>> components;
    std::vector<ExtraSource> add_extra;    // added, or its priority changed
    std::vector<std::string> remove_extra;
    std::optional<std::string> lintian_mode, autopkgtest_mode, deb_build_options, deb_build_profiles, resolver;
    std::optional<std::string> indices; // "default": publish.indices
};
struct DistEditResult {
    Distribution distribution;
    std::vector<std::string> changes;      // "architectures: amd64 -> amd64 i386"
    std::vector<std::string> repositories; // flagged changed
};
// Refuses to remove an architecture a repository holds binaries of, or the one that builds
// Architecture: all; a component a repository holds packages in.
DistEditResult edit_distribution(db::Db& db, std::string_view codename, const DistEdit& edit);
// Refused while a repository serves it.
void remove_distribution(db::Db& db, std::string_view codename);

// A custom layout no repository uses; a suite of one (not one another suite migrates to).
void remove_layout(db::Db& db, std::string_view name);
Layout remove_layout_suite(db::Db& db, std::string_view layout, std::string_view suite);

// Why a distribution cannot take uploads because of one of its sources (base first), or nullopt.
std::optional<std::string> distribution_source_problem(db::Db& db, std::string_view codename);

struct RepositoryEdit {
    std::optional<std::string> description, origin;
    std::vector<RepositoryDist> add;  // codenames to serve (a codename being retired is kept again)
    std::vector<std::string> remove;  // codenames to stop serving
};
// The configuration part of a repository edit (repo/lifecycle.hpp's edit_repository
// publishes and retires): codenames removed are marked to retire after retire_after.
// Returns what changed; the repository is flagged changed when anything did.
std::vector<std::string> edit_repository_config(db::Db& db, std::string_view id, const RepositoryEdit& edit,
                                                long long retire_after);
// Forget a codename of a repository: the rows of its published distributions, what they
// hold (left to the pool's garbage collection) and their publish state. The caller holds
// the repository's lock, removes the distributions' directories and publishes. Returns
// their names.
std::vector<std::string> drop_repository_dist(db::Db& db, std::string_view id, std::string_view codename);
// How many sources a repository's distributions of a codename hold.
long long repository_dist_holdings(db::Db& db, std::string_view id, std::string_view codename);

} // namespace mbd::repo
