// repo/chroot_source: what the build chroots of a codename are made from when the
// repository model has a distribution of that codename — its base source — handed to
// the chroot layer (which does not read the model) as a plain chroot::Source.
#pragma once

#include "chroot/source.hpp"
#include "db/context.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace mbd::repo {

// The base source of the distribution of codename: its URIs in order, its suite, the
// distribution's components (those the source carries, once a check recorded them) and
// its keys, exported to chroot_keyring_path() (written again when they differ); nullopt
// when the model has no distribution of codename. Error(Exit::state) when the source has
// no keys.
std::optional<chroot::Source> chroot_source(Context& ctx, std::string_view codename);

// chroot_source() as the chroot layer's callback (chroot::create, check, update, ...).
chroot::SourceOf chroot_sources(Context& ctx);

// HOME/var/chroot-keyrings/SOURCE.gpg: a source's keys as a keyring file that
// mmdebstrap and apt read (the source's GnuPG home is private to the instance).
std::filesystem::path chroot_keyring_path(const Home& home, std::string_view source);

} // namespace mbd::repo
