// chroot/packages: what a chroot tarball has installed, for builds that need
// nothing more (build/builddeps.hpp). The tarball's ./var/lib/dpkg/status is
// extracted once per tarball, next to it, as a dpkg admin directory
//   var/chroots/CODENAME/ARCH/dpkg-<first 16 of the tarball's sha256>/status
// that `dpkg-checkbuilddeps --admindir=` reads. A new tarball (update, import,
// create) has a new sha256, so a stale copy is never read; older copies are
// removed when a new one is made.
#pragma once

#include <filesystem>
#include <string>

namespace mbd::chroot {

// The admin directory for TARBALL (whose sha256 is SHA256), made when missing.
// Error when the tarball cannot be read or has no dpkg status.
std::filesystem::path dpkg_admindir(const std::filesystem::path& tarball, const std::string& sha256);

} // namespace mbd::chroot
