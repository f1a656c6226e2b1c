// build/sbuild: one unprivileged build with sbuild --chroot-mode=unshare on an
// mmdebstrap tarball, configured through a generated sbuild config file
// (SBUILD_CONFIG): where to unpack, what to bind-mount (our own repositories,
// so builds see what we published), lintian policy, build environment.
#pragma once

#include "build/builddeps.hpp"
#include "build/request.hpp"

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace mbd::build {

struct BindMount {
    std::filesystem::path directory; // on the host
    std::string mountpoint;          // inside the chroot (absolute)
};

struct SbuildJob {
    Request request;
    std::filesystem::path dir;     // holds the source files; sbuild output goes to dir/"out"
    std::filesystem::path tarball; // the chroot
    std::vector<BindMount> binds;
    std::string user;              // run sbuild as this user when we are root; empty: as we are
    std::filesystem::path unpack_dir; // where sbuild unpacks the chroot ("" = sbuild's default)
    int parallel = 0;              // DEB_BUILD_OPTIONS parallel=N unless the request says otherwise
    int timeout_seconds = 0;
    bool upgrade = false;          // dist-upgrade the session (a stale chroot); else chroots are kept current
    std::filesystem::path dpkg_admindir; // what the chroot has installed (chroot/packages.hpp); empty: unknown
    std::string apt_proxy;         // apt.proxy (chroot/proxy.hpp): the session's apt downloads through it; "": none
    // How the build dependencies get in (build/builddeps.hpp; run_sbuild() decides):
    bool preinstalled = false;     // every one is in the chroot: nothing is installed
    std::optional<BuildDeps> own_deps; // mbd installs these in a session setup command (apt-get
                                   // satisfy) and sbuild's resolver is off; else (neither) sbuild's resolver
    std::function<void(int pid)> started; // sbuild's process group, for cancel
};

struct SbuildOutcome {
    std::string status;              // sbuild's "Status:": successful, attempted, given-back, failed, ...
    std::string reason;              // why it failed, one line: ours when it ended early, else from the log (build/failure.hpp)
    int exit_code = 0;
    double seconds = 0;
    std::filesystem::path log;       // the build log (regular file), may be empty if sbuild never started
    std::filesystem::path changes;   // sbuild's .changes when successful
    bool successful() const { return status == "successful"; }
};

// The sbuild command line and config file for a job (exposed for tests and `mbd-build show`).
std::vector<std::string> sbuild_command(const SbuildJob& job, const std::filesystem::path& config_file);
std::string sbuild_config(const SbuildJob& job);
// The session setup script that installs job.own_deps (run as root in sbuild's session,
// from the job directory mounted at /mbd-build): the job's apt/ tree copied into /etc/apt,
// apt-get update, apt-get satisfy. Empty without own_deps.
std::string build_deps_script(const SbuildJob& job);

SbuildOutcome run_sbuild(const SbuildJob& job);

} // namespace mbd::build
