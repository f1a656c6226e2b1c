// chroot/source: the archive a chroot is bootstrapped from and must keep matching.
//
// A chroot's source is one of (the first that applies):
//   - the --mirror/--keyring options of create and import;
//   - the base source of the repository model's distribution of that codename (its
//     URIs in order, its suite, the distribution's components, its keys): the layer
//     that reads the model resolves it and hands it here as a plain Source through a
//     SourceOf callback (repo/chroot_source.hpp), so this layer stays model-free;
//   - the chroot's own recorded source, and for a new one the configuration key
//     'mirror' with default_keyring (the codename must then be known to distro-info-data).
// It is stored in the chroot's row of the chroots table.
//
// Several URIs are tried in order (create and update fall back to the next when
// mmdebstrap fails with one); mirror records the one that worked. Inside the chroot,
// the keyring is copied to keyring_inside() and apt's only source is sources_line():
// "deb [signed-by=KEYRING] MIRROR SUITE COMPONENTS". `mbd-chroot check` compares both
// with the source, and the source with what its distribution's base source is now
// (differences()).
#pragma once

#include "core/config.hpp"
#include "core/home.hpp"

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mbd::chroot {

inline constexpr std::string_view default_keyring = "/usr/share/keyrings/debian-archive-keyring.gpg";

struct Source {
    std::vector<std::string> uris;    // archive URLs, tried in order: "http://deb.debian.org/debian"
    std::string mirror;               // the one of uris the chroot was made or last updated from
    std::string suite;                // directory under dists/; empty: the codename
    std::string components = "main";  // space-separated
    std::filesystem::path keyring;    // OpenPGP keyring (binary, or armored when named *.asc)
    std::string keys;                 // primary fingerprints of the keyring's keys, sorted, space-separated
    std::string base_source;          // the model's source it was taken from; empty: --mirror or 'mirror'

    std::string suite_or(std::string_view codename) const { return suite.empty() ? std::string(codename) : suite; }
};

// The source a chroot of a codename is made from when the repository model has a
// distribution of that codename (its base source), else nullopt. Set by a layer that
// reads the model (repo::chroot_sources()); an empty function: never.
using SourceOf = std::function<std::optional<Source>(const std::string& codename)>;

// A source from options or configuration: mirror (empty: configuration key 'mirror') and
// keyring (empty: default_keyring). Error(Exit::not_found) for an unreadable keyring,
// Error(Exit::usage) for a malformed mirror URL. (Such a source's codename must be one
// distro-info-data knows: chroot/host.hpp's require_known_codename().)
Source resolve_source(const Home& home, const Config& config, std::string mirror, std::filesystem::path keyring);

// The sorted primary fingerprints of the keys in a keyring file (binary or armored),
// space-separated. Error when it cannot be read.
std::string keyring_keys(const Home& home, const std::filesystem::path& keyring);

// How the source a chroot was made from differs from want (URI set, suite, components,
// keys): "" when it does not.
std::string differences(const Source& made, const Source& want, std::string_view codename);
// "source 'debian-bookworm' (http://a http://b, suite bookworm, main, keys 0123ABCD…)"
// or "mirror 'http://...' (keyring '/usr/share/...')": for messages.
std::string describe(const Source& source, std::string_view codename);

std::string keyring_inside(const Source& source); // "/etc/apt/keyrings/mbd-source.gpg"
std::string sources_line(const Source& source, std::string_view codename);

} // namespace mbd::chroot
