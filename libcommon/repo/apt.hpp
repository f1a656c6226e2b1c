// repo/apt: what users and builds need to reach our repositories: the apt sources
// lines (one-line or deb822 .sources), a dput.cf stanza, and the apt sources an
// sbuild build of a distribution must see (DESIGN.md "Builds").
#pragma once

#include "db/context.hpp"
#include "model/model.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace mbd::repo {

// The URL of a repository's root (publish.url + '/ID', or file://HOME/repositories/ID).
std::string repository_url(const Context& ctx, std::string_view repository);

struct SourcesListOptions {
    std::vector<std::string> codenames; // empty: all of the repository's
    std::vector<std::string> suites;    // empty: all of the layout's
    bool rollbacks = false;             // also the rollback distributions
    bool deb822 = true;                 // a deb822 .sources file; false: one-line entries
    bool sources = true;                // deb-src too
    std::string signed_by;              // key file path; empty: /etc/apt/keyrings/mbd-IDENTITY.asc
    std::string url;                    // empty: repository_url()
    std::string snapshot;               // only snapshots (repo/snapshots.hpp): DIST@NAME, or NAME for
                                        // every distribution's of that name (with the filters above)
};
std::string sources_list(Context& ctx, std::string_view repository, const SourcesListOptions& options);

// Make this machine (or the system under root) use the repository: write the instance key to
// ROOT/etc/apt/keyrings/mbd-IDENTITY.asc and the deb822 sources (Signed-By that file) to
// ROOT/etc/apt/sources.list.d/mbd-IDENTITY-REPOSITORY.sources (a snapshot's:
// mbd-IDENTITY-REPOSITORY-snapshot-NAME.sources, '@' and other characters apt does not take
// in such a name as '_'). Returns the two paths.
std::vector<std::filesystem::path> install_sources(Context& ctx, std::string_view repository,
                                                   SourcesListOptions options, const std::filesystem::path& root);

// The dput.cf stanza of this instance. Over ssh (scp, sftp) it names the gateway's
// account (access.host, access.login: the user the tools run as, access.port) and the keys
// that may upload through it (keys/access.hpp).
struct DputOptions {
    std::string host;   // empty: access.host; neither: this host (method local)
    std::string method; // local, scp, sftp; default local without a host, else scp
    std::string login;  // for scp/sftp; empty: access.login, else the current user
    std::string incoming; // empty: this instance's incoming/ (local), the gateway's /incoming (scp, sftp)
    bool keys = true;     // name the access keys that may upload (not on public pages)
};
std::string dput_conf(Context& ctx, const DputOptions& options);

// One apt source of a build environment.
struct AptSource {
    std::string uri;                      // archive root
    std::string suite;                    // dists/SUITE
    std::vector<std::string> components;
    std::string key;                      // armored public key(s) for Signed-By
    std::optional<int> priority;          // APT pin priority (Pin: release n=SUITE); nullopt: apt's default
    bool internal = false;                // one of this repository's distributions
    std::filesystem::path local_path;     // internal: the repository's directory on this host (to bind-mount)
};

// The apt sources a build for dist sees besides its chroot's (the base source, which the
// chroot is made from): the extra sources with their priorities, and this repository's
// internal suites at priority internal_priority
// (default 1; the 'internal-apt-priority' upload option): the suite itself and the
// suites it migrates to (transitively); for an experimental suite, also every
// non-experimental suite.
std::vector<AptSource> build_sources(Context& ctx, const DistRef& dist, int internal_priority = 1);

// The distribution's build settings, for the pipeline.
struct BuildTarget {
    std::vector<std::string> architectures; // this repository's for the codename
    std::string arch_all;                   // the one that builds Architecture: all
    BuildOptions options;
};
BuildTarget build_target(db::Db& db, const DistRef& dist);

} // namespace mbd::repo
