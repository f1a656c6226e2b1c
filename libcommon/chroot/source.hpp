// chroot/source: the archive a chroot is bootstrapped from and must keep matching.
//
// Until the repository domain's sources (archive URL + keys, mbd-repo) exist, a
// chroot carries its own minimal definition: a mirror, components and a keyring,
// stored in its row of the chroots table. resolve_source() is the one place that
// decides a new chroot's source; point it at the repository's sources later.
//
// Inside the chroot, the keyring is copied to keyring_inside() and apt's only
// source is sources_line(): "deb [signed-by=KEYRING] MIRROR CODENAME COMPONENTS".
// `mbd-chroot check` compares both with the source.
#pragma once

#include "core/config.hpp"

#include <filesystem>
#include <string>
#include <string_view>

namespace mbd::chroot {

inline constexpr std::string_view default_keyring = "/usr/share/keyrings/debian-archive-keyring.gpg";

struct Source {
    std::string mirror;               // archive URL: "http://deb.debian.org/debian"
    std::string components = "main";  // space-separated
    std::filesystem::path keyring;    // OpenPGP keyring (binary, or armored when named *.asc)
};

// The source of a new chroot: mirror (empty: configuration key 'mirror') and
// keyring (empty: default_keyring). Error(Exit::not_found) for an unknown codename
// or an unreadable keyring, Error(Exit::usage) for a malformed mirror URL.
Source resolve_source(const Config& config, std::string_view codename, std::string mirror,
                      std::filesystem::path keyring);

std::string keyring_inside(const Source& source); // "/etc/apt/keyrings/mbd-source.gpg"
std::string sources_line(const Source& source, std::string_view codename);

} // namespace mbd::chroot
