// model/model: the configuration model of mbd-repo (after mini-buildd), stored in the
// state database (schema domain "repo"):
//
//   Source        an archive (URLs + codename + origin) and the keys its Release is
//                 signed with; `check` fetches and verifies that Release.
//   Layout        suites and their options (uploadable, experimental, migrates to,
//                 rollbacks), the version rule, meta distribution names. "Default"
//                 and "Debian Developer" exist out of the box and cannot be changed.
//   Distribution  a base source + extra sources (with an APT priority), components,
//                 architectures (one builds Architecture: all), build options.
//   Repository    identity ([a-z0-9]+), layout, distributions; it publishes one APT
//                 distribution CODENAME-ID-SUITE per codename and suite, plus
//                 CODENAME-ID-SUITE-rollbackN for the layout's rollback count.
//
// Sources and repositories carry the seed's status model (core/status.hpp).
// Every function takes the state database; writers open their own transaction.
#pragma once

#include "core/json.hpp"
#include "core/status.hpp"
#include "db/context.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mbd::db {
class Db;
}

namespace mbd::repo {

using Pairs = std::vector<std::pair<std::string, std::string>>;
// "K=V" items joined by sep (identifiers are stored one per line, meta names space-separated).
std::string format_pairs(const Pairs& p, std::string_view sep);

// ---- sources ----------------------------------------------------------------

struct Source {
    std::string name;       // 'debian-bookworm'
    std::string origin;     // 'Debian'
    std::string codename;   // 'bookworm'
    std::string suite;      // fetched from dists/SUITE; usually the codename
    std::vector<std::string> uris;
    Pairs identifiers;      // extra Release fields that must match ('Label=Debian')
    std::string codeversion; // '12' for bookworm: the %CODEVERSION% of version rules
    // recorded by check from the Release:
    std::vector<std::string> components, architectures;
    std::string release_date;
    ModelStatus status;
    std::string check_message; // why the last check failed
    std::string uri_used;      // the URL the last passing check read; tried first
};

struct SourceSpec {
    std::string name, origin = "Debian", codename, suite, codeversion;
    std::vector<std::string> uris;
    Pairs identifiers;
    std::vector<std::string> key_files; // armored or binary OpenPGP keys (keyrings) to trust
};

// The GnuPG home holding the keys a source's Release must be signed with.
std::filesystem::path source_keyring_dir(const Home& home, std::string_view source);

Source add_source(Context& ctx, const SourceSpec& spec);
std::vector<Source> list_sources(db::Db& db);
Source get_source(db::Db& db, std::string_view name); // Error(Exit::not_found)
// Fetch dists/SUITE/InRelease (else Release + Release.gpg) with apt-helper, verify it
// against the source's keys, match Origin/Codename/identifiers, record what it lists.
// Records the outcome in the status; throws the failure after recording it.
Source check_source(Context& ctx, std::string_view name);
Source source_action(Context& ctx, std::string_view name, std::string_view action); // activate|deactivate|remove
// The archive URLs in the order to try them: the one the last check read first, then the others.
std::vector<std::string> uris_in_order(const Source& s);
// Why a distribution using the source cannot take uploads now, or nullopt: the source was
// deactivated, its last check failed, or it was changed and not checked since. (A source
// that was never checked, as `setup --no-check` leaves it, is used as it is.)
std::optional<std::string> source_problem(const Source& s);

// The seed's activate/deactivate on a status (what: "source 'x'" for the message).
ModelStatus status_action(const ModelStatus& st, std::string_view action, std::string_view what);
// The source's keys, armored (for Signed-By in build environments).
std::string source_keys_armored(const Home& home, std::string_view source);
Json to_json(const Source& s);

// The conventional %CODEVERSION% of a Debian/Ubuntu codename ('12' for bookworm), or "".
std::string known_codeversion(std::string_view codename);

// ---- layouts ----------------------------------------------------------------

struct Suite {
    std::string name;
    bool uploadable = false;
    bool experimental = false;
    std::optional<std::string> migrates_to;
    int rollbacks = 0;
    bool not_automatic = false;
    bool but_automatic_upgrades = false;
    bool build_keyring = false; // the repository's keyring package goes here (repo/keyring)
};

struct Layout {
    std::string name;
    bool builtin = false;
    std::optional<std::string> version_rule;              // regex with %ID% and %CODEVERSION%
    std::optional<std::string> experimental_version_rule;
    Pairs meta;                                           // ('unstable', 'sid-unstable')
    std::string description;
    std::vector<Suite> suites;                            // in order

    const Suite* suite(std::string_view name) const;
};

std::vector<Layout> list_layouts(db::Db& db);
Layout get_layout(db::Db& db, std::string_view name);
// A new custom layout, empty or a copy of another one.
Layout add_layout(db::Db& db, std::string_view name, std::optional<std::string> copy_of);
// Add or change a suite of a custom layout that no repository uses.
Layout set_layout_suite(db::Db& db, std::string_view layout, const Suite& suite);
// Change the version rules / meta names of a custom layout no repository uses.
Layout set_layout_rules(db::Db& db, std::string_view layout, std::optional<std::string> rule,
                        std::optional<std::string> experimental_rule, std::optional<std::string> meta);
Json to_json(const Layout& l);

// ---- distributions ----------------------------------------------------------

// Build options for the pipeline (sbuild). Modes: disabled|ignore|errfail|warnfail.
// (No piuparts mode: piuparts needs root, mbd builds without it.)
struct BuildOptions {
    std::string lintian_mode = "errfail";
    std::string autopkgtest_mode = "disabled";
    std::string deb_build_options;  // DEB_BUILD_OPTIONS
    std::string deb_build_profiles; // DEB_BUILD_PROFILES
    std::string resolver = "apt";   // sbuild --build-dep-resolver, for builds that install something
};
bool valid_check_mode(std::string_view mode);
// sbuild's build-dependency resolvers mbd offers: apt, aptitude, aspcud.
bool valid_resolver(std::string_view resolver);

// Which index files a distribution publishes: the uncompressed ones, .gz, .xz, Contents-ARCH,
// and whether its Release announces by-hash (the by-hash copies exist either way: publishing
// reads them). Release lists the uncompressed files' sizes and hashes whether or not they are
// written, as Debian's archive does. Written as words: "gz xz contents by-hash" (Debian's
// set, the default), "uncompressed gz" (reprepro's cheapest, aptly's), at least one of
// uncompressed, gz and xz.
struct IndexSet {
    bool gz = true, xz = true, contents = true, by_hash = true;
    bool uncompressed = false;
    bool operator==(const IndexSet&) const = default;
};
// Words, space- or comma-separated; Error(Exit::usage) naming one that is not a form, or
// when none of uncompressed, gz and xz is among them (apt would have nothing to read).
IndexSet parse_index_set(std::string_view words);
std::string index_set_text(const IndexSet& set);

struct ExtraSource {
    std::string source;
    int priority = 500;
};

struct Distribution {
    std::string codename;
    std::string base_source;
    std::vector<ExtraSource> extra_sources;
    std::vector<std::string> components{"main"};
    std::vector<std::string> architectures;
    std::string arch_all; // builds Architecture: all
    BuildOptions options;
    std::optional<std::string> indices; // its IndexSet's words; unset: configuration key publish.indices
};

// Validates (sources exist, arch_all among architectures, names) and stores.
Distribution add_distribution(db::Db& db, const Distribution& d);
// Error(Exit::usage) naming what is wrong with a distribution's fields (not its sources).
void validate(const Distribution& d);
std::vector<Distribution> list_distributions(db::Db& db);
Distribution get_distribution(db::Db& db, std::string_view codename);
Json to_json(const Distribution& d);

// ---- repositories -----------------------------------------------------------

struct RepositoryDist {
    std::string codename;
    std::vector<std::string> architectures; // empty: all of the distribution's
    long long retire_after = 0;             // removed from the repository: maintain retires it after this
};

struct Repository {
    std::string id;
    std::string layout;
    std::string origin;
    std::string description;
    long long created = 0;
    ModelStatus status;
    std::string changes; // what changed since it was last prepared ('; '-separated)
    std::vector<RepositoryDist> dists;

    const RepositoryDist* dist(std::string_view codename) const;
};

// Creates the configuration and the rows of its published distributions (status removed);
// the caller prepares it (publishes). Error(Exit::exists) when the id is taken.
Repository create_repository(db::Db& db, const Repository& r);
std::vector<Repository> list_repositories(db::Db& db);
Repository get_repository(db::Db& db, std::string_view id);
bool repository_exists(db::Db& db, std::string_view id);
void store_repository_status(db::Db& db, std::string_view id, const ModelStatus& s);
// Flag a repository changed ('*') with what changed, until it is prepared again.
void mark_repository_changed(db::Db& db, std::string_view id, std::string_view what);
Json to_json(const Repository& r);

// The architectures a repository publishes for one of its codenames.
std::vector<std::string> repository_architectures(const Repository& r, const Distribution& d);

// ---- published distributions ------------------------------------------------

// One APT distribution of a repository: CODENAME-ID-SUITE[-rollbackN].
struct DistRef {
    long long id = 0;
    std::string repository, codename, suite;
    int rollback = 0; // 0: the suite itself; N: CODENAME-ID-SUITE-rollback(N-1)
    std::string name;
    bool is_rollback() const { return rollback > 0; }
};

std::string dist_name(std::string_view codename, std::string_view repository, std::string_view suite, int rollback);
// Every published distribution of a repository, suites in layout order, rollbacks after.
std::vector<DistRef> repository_dists(db::Db& db, std::string_view repository);
// 'bookworm-test-unstable', 'bookworm-test-unstable-rollback2', or a meta name of a
// layout ('unstable' -> 'sid-ID-unstable' for the one repository using that layout with
// that codename). Error(Exit::not_found) with the reason otherwise.
DistRef find_dist(db::Db& db, std::string_view name);
// The main distribution (rollback 0) of a repository, codename and suite.
DistRef find_suite_dist(db::Db& db, std::string_view repository, std::string_view codename, std::string_view suite);

} // namespace mbd::repo
