// chroot/mmdebstrap: the mmdebstrap runs behind every chroot action.
//
// Always unshare mode (unprivileged; as root it needs no subuid range and runs
// in a private mount namespace, so its mounts never reach the caller's), the
// rootfs in the unpack directory (TMPDIR), zstd tarballs (chosen by measurement,
// see bench/chroot-compression). Two shapes:
//   bootstrap: --variant=buildd from a Source (its mirror: the URI tried now; its
//              suite) into a new tarball (create);
//   reuse:     --variant=custom, an existing tarball fed on stdin to a setup hook
//              that unpacks it, then customize hooks; the result goes to a new
//              tarball (update) or nowhere (check, shell).
// Both write the Source into the chroot the same way (chroot/source.hpp).
// A tarball keeps its apt lists (--skip=cleanup/apt/lists): each build's
// `apt-get update` then only checks InRelease instead of fetching ~9 MB of
// Packages (bench/build-speed).
#pragma once

#include "chroot/source.hpp"
#include "core/error.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace mbd::chroot {

struct Where {
    std::filesystem::path unpack_dir; // TMPDIR for mmdebstrap: world-writable
    std::filesystem::path log;        // output goes here; empty: to our stdout/stderr
    bool session = false;             // shell: --quiet, and our stdout is fd 3 of the hooks
                                      // (mmdebstrap sends a hook's stdout to stderr)
    std::string proxy;                // http_proxy of mmdebstrap's apt and its hooks' (apt.proxy); "": none
};

// Bootstrap codename/arch from source into target (a path ending in .tar.zst),
// with the packages of include (chroot.include) installed too.
// Error(Exit::external) with the reason from the log when mmdebstrap fails.
void bootstrap(const Source& source, const std::string& codename, const std::string& arch,
               const std::vector<std::string>& include, const std::filesystem::path& target, const Where& where);

// Unpack tarball, write the source into it again if rewrite_source, run the
// customize hooks (shell commands with "$1" the chroot, or mmdebstrap's special
// hooks such as "download IN OUT") and write the result to target ("/dev/null":
// nothing). Returns mmdebstrap's exit status.
int reuse(const std::filesystem::path& tarball, const Source& source, bool rewrite_source, const std::string& codename,
          const std::string& arch, const std::vector<std::string>& hooks, const std::filesystem::path& target,
          const Where& where);

// The lines of a log that say why mmdebstrap failed (its first error lines).
std::string failure_reason(const std::filesystem::path& log);
// Error(Exit::external, or Exit::no_space when the disk filled up): what failed,
// why (from the log, if any) and where the log is.
Error failure(const std::string& what, const Where& where);

} // namespace mbd::chroot
