// chroot/host: what this machine must provide before a chroot can be made or
// used, checked locally (no network) so that every missing piece is reported
// with what to install or add:
//   - a known codename (distro-info-data) and architecture (dpkg-architecture -L);
//   - a way to run the architecture: natively (amd64, i386 on amd64: arch-test -n)
//     or through a qemu-user handler registered in binfmt_misc;
//   - for a non-root user, subordinate uid/gid ranges (/etc/subuid, /etc/subgid),
//     newuidmap/newgidmap and unprivileged user namespaces (unshare mode);
//   - a world-writable unpack directory, and free space.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace mbd::chroot {

// dpkg --print-architecture of this machine.
const std::string& host_arch();

// Error(Exit::not_found) unless distro-info-data knows the codename (Debian or Ubuntu).
void require_known_codename(std::string_view codename);
// Error(Exit::not_found) unless dpkg-architecture -L lists the architecture.
void require_known_arch(std::string_view arch);

// qemu-user's name for a Debian architecture ("arm64" -> "aarch64"); empty if none.
std::string qemu_name(std::string_view arch);
// Error(Exit::environment) unless binaries of arch run here, natively or through
// a qemu-user binfmt_misc handler under binfmt_dir; says what to install or mount.
void require_runnable_arch(std::string_view arch,
                           const std::filesystem::path& binfmt_dir = "/proc/sys/fs/binfmt_misc");

// One line of /etc/subuid or /etc/subgid: "owner:start:count" (owner: name or uid).
struct SubidRange {
    std::string owner;
    unsigned long long start = 0, count = 0;
};
std::vector<SubidRange> parse_subids(std::string_view content);
// What is missing for user (name, uid) given the two files' contents: nullopt when
// both hold a range of at least 65536 ids; otherwise a message naming the exact
// line and usermod command to add (a range after every range already given).
std::optional<std::string> subid_problem(std::string_view user, uid_t uid, std::string_view subuid,
                                         std::string_view subgid);

// Why user (a build user, when the tools run as root and drop to it) cannot reach each
// of paths: the first directory on the way that it may not enter (x for it as owner,
// group member or other), with its mode and owner, and what to change; nullopt when it
// can reach them all, or when there is no such user (the build that drops to it says so).
std::optional<std::string> unreachable_for(std::string_view user, const std::vector<std::filesystem::path>& paths);

// Everything unshare mode needs for the current user (nothing more for root):
// Error(Exit::environment) saying what to add or install.
void require_unshare_ready();

// The directory chroots are unpacked in (configuration key chroot.unpack_dir):
// Error(Exit::environment) unless it exists and, for a non-root user, is
// world-writable (the unshared user writes there); Error(Exit::no_space) unless
// it has bytes free.
void require_unpack_dir(const std::filesystem::path& dir, std::uintmax_t bytes);

// Error(Exit::no_space) unless dir's file system has at least bytes free.
void require_free_space(const std::filesystem::path& dir, std::uintmax_t bytes, std::string_view purpose);

// "12 KiB", "137 MiB", "1.2 GiB"
std::string human_size(std::uintmax_t bytes);

} // namespace mbd::chroot
