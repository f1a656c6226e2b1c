#include "build/sbuild.hpp"

#include "build/builddeps.hpp"
#include "build/failure.hpp"
#include "chroot/proxy.hpp"
#include "debian/control_files.hpp"

#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/log.hpp"
#include "core/process.hpp"
#include "core/strings.hpp"
#include "version/version.hpp"

#include <chrono>
#include <grp.h>
#include <pwd.h>
#include <sys/statvfs.h>
#include <unistd.h>

namespace mbd::build {
namespace {

std::string perl_quote(std::string_view s)
{
    std::string out = "'";
    for (char c : s) {
        if (c == '\'' || c == '\\')
            out += '\\';
        out += c;
    }
    return out + "'";
}

std::string deb_build_options(const SbuildJob& job)
{
    std::string opts = job.request.deb_build_options;
    if (job.parallel > 0 && opts.find("parallel=") == std::string::npos)
        opts += (opts.empty() ? "" : " ") + fmt::format("parallel={}", job.parallel);
    return opts;
}

// "Status: successful" from the log's summary.
std::string status_from_log(const fs::path& log)
{
    std::string text;
    try {
        text = read_file(log);
    } catch (const Error&) {
        return {};
    }
    std::string status;
    for (auto line : split(text, '\n', false))
        if (line.starts_with("Status: "))
            status = std::string(trim(line.substr(8)));
    return status;
}

// Why sbuild failed, from its log (or from what it printed when it never wrote one).
std::string why_failed(const fs::path& log, int exit_code)
{
    std::string text;
    try {
        text = read_file(log);
    } catch (const Error&) {
    }
    if (auto reason = failure_reason(text); !reason.empty())
        return reason;
    std::string last;
    for (auto line : split(text, '\n'))
        if (!line.empty())
            last = line;
    return fmt::format("sbuild exited {}{}", exit_code, last.empty() ? "" : ": " + last);
}

// The session's apt pins, proxy and (for own_deps) extra sources and their keys, under the
// job's apt/ as under /etc/apt; the script that installs own_deps, in the job directory.
constexpr std::string_view preferences_file = "preferences.d/mbd.pref";
constexpr std::string_view proxy_file = "apt.conf.d/90mbd-proxy";
constexpr std::string_view sources_file = "sources.list.d/mbd-extra.list";
constexpr std::string_view deps_script = "install-build-deps";
std::string extra_key_file(size_t k)
{
    return fmt::format("trusted.gpg.d/mbd-extra-{}.asc", k);
}

// Armored key blocks, one per key file (sbuild takes one key per --extra-repository-key).
std::vector<std::string> key_blocks(const std::string& armored)
{
    constexpr std::string_view end = "-----END PGP PUBLIC KEY BLOCK-----";
    std::vector<std::string> out;
    size_t pos = 0;
    while (true) {
        auto at = armored.find(end, pos);
        if (at == std::string::npos)
            break;
        auto start = armored.find("-----BEGIN PGP PUBLIC KEY BLOCK-----", pos);
        if (start == std::string::npos || start > at)
            break;
        out.push_back(armored.substr(start, at + end.size() - start) + "\n");
        pos = at + end.size();
    }
    return out;
}

// sbuild runs autopkgtest on the host after the build: as the build user, in a
// throwaway unshare testbed from the same tarball, with the build's own apt
// sources, keys and pins (so tests install what the build installed).
std::vector<std::string> autopkgtest_args(const SbuildJob& job)
{
    const auto& r = job.request;
    std::vector<std::string> a = {"--run-autopkgtest", "--autopkgtest-root-arg="};
    auto opt = [&](const std::string& o) { a.push_back("--autopkgtest-opt=" + o); };
    for (size_t k = 0; k < key_blocks(r.apt_keys).size(); ++k)
        opt(fmt::format("--copy={}:/etc/apt/trusted.gpg.d/mbd-{}.asc", (job.dir / fmt::format("apt-key-{}.asc", k)).string(), k));
    if (!r.apt_preferences.empty())
        opt(fmt::format("--copy={}:/etc/apt/{}", (job.dir / "apt" / preferences_file).string(), preferences_file));
    if (!job.apt_proxy.empty())
        opt(fmt::format("--copy={}:/etc/apt/{}", (job.dir / "apt" / proxy_file).string(), proxy_file));
    for (const auto& s : r.apt_sources)
        opt("--add-apt-source=" + s);
    opt("--setup-commands=apt-get update"); // buildd tarballs come without package lists
    for (const auto& o : {std::string("--"), std::string("unshare"), "--tarball=" + job.tarball.string(),
                          "--arch=" + r.architecture})
        opt(o);
    if (!job.unpack_dir.empty())
        opt("--prefix=" + (job.unpack_dir / "mbd-autopkgtest.").string());
    for (const auto& b : job.binds) {
        opt("--bind");
        opt(b.directory.string());
        opt(b.mountpoint);
    }
    return a;
}

// Whether the session gets the job's apt/ tree (pins, proxy, sources): only one that installs something.
bool apt_tree(const SbuildJob& job)
{
    return !job.preinstalled && (job.own_deps || !job.request.apt_preferences.empty() || !job.apt_proxy.empty());
}

// Whether sbuild's own resolver installs the build dependencies (with its apt-get update and
// the extra sources): neither nothing to install nor installed by our setup command.
bool sbuild_resolves(const SbuildJob& job)
{
    return !job.preinstalled && !job.own_deps;
}

// What sbuild's session sees of the host: the job's binds (read-only), and the job's own
// directory as /mbd-build for its apt/ tree (copied in by a setup command).
std::vector<BindMount> session_binds(const SbuildJob& job)
{
    if (job.preinstalled)
        return {};
    auto binds = job.binds;
    if (apt_tree(job))
        binds.push_back({job.dir, "/mbd-build"});
    return binds;
}

// The host directories a build mounts (its binds, in sbuild's session or autopkgtest's testbed).
std::vector<fs::path> read_only_dirs(const SbuildJob& job)
{
    std::vector<fs::path> dirs;
    if (!job.preinstalled || job.request.autopkgtest_mode != "disabled")
        for (const auto& b : job.binds)
            dirs.push_back(b.directory);
    return dirs;
}

// How the build dependencies of JOB get in (build/builddeps.hpp): sets job.preinstalled when
// the chroot has them all, else job.own_deps when mbd can install them itself (no
// alternatives, sbuild's apt resolver chosen, the chroot not stale); else neither: sbuild's
// resolver installs them.
void decide_deps(SbuildJob& job)
{
    job.preinstalled = false;
    job.own_deps.reset();
    if (job.upgrade) // a stale chroot: sbuild upgrades the session, then its resolver installs
        return;
    const auto& r = job.request;
    std::optional<BuildDeps> deps;
    try {
        auto dsc = debian::Dsc::parse(read_file(job.dir / r.dsc().name), r.dsc().name);
        deps = build_deps(r, dsc.fields);
    } catch (const Error& e) {
        log::warning("{}: cannot read the build dependencies: {}", r.id, e.what());
        return;
    }
    if (!deps) {
        log::debug("build", "{}: sbuild's resolver installs the build dependencies: one has alternatives", r.id);
        return;
    }
    std::string why = "the chroot's dpkg status is unknown";
    if (!job.dpkg_admindir.empty() && installed(*deps, r, job.dpkg_admindir, why)) {
        job.preinstalled = true;
        return;
    }
    log::debug("build", "{}: build dependencies to install: {}", r.id, why);
    if (r.resolver == "apt")
        job.own_deps = std::move(deps);
}

bool require_success(std::string_view mode)
{
    return mode == "errfail" || mode == "warnfail";
}

} // namespace

std::string sbuild_config(const SbuildJob& job)
{
    std::string c = "# generated by mbd-build for one build\n";
    c += fmt::format("$log_dir = {};\n", perl_quote((job.dir / "out").string()));
    if (!job.unpack_dir.empty())
        c += fmt::format("$unshare_tmpdir_template = {};\n",
                         perl_quote((job.unpack_dir / "mbd-sbuild.XXXXXXXXXX").string()));
    // a build that installs nothing needs none of the extra apt sources (nor their binds and pins)
    auto binds = session_binds(job);
    if (!binds.empty()) {
        c += "$unshare_bind_mounts = [\n";
        for (const auto& b : binds)
            c += fmt::format("  {{ directory => {}, mountpoint => {} }},\n", perl_quote(b.directory.string()),
                             perl_quote(b.mountpoint));
        c += "];\n";
    }
    std::vector<std::string> setup; // run in the session before the build (the log shows them)
    // the apt tree (pins, proxy, sources) and the build dependencies, in one command (each
    // costs sbuild a process tree in the session)
    if (job.own_deps)
        setup.push_back(fmt::format("['sh', '/mbd-build/{}']", deps_script));
    else if (apt_tree(job))
        setup.push_back("['cp', '-r', '/mbd-build/apt/.', '/etc/apt/']");
    if (job.preinstalled)
        // sbuild runs these through /bin/sh: words only
        setup.push_back("['echo', 'mbd: the chroot has every build dependency installed, checked with "
                        "dpkg-checkbuilddeps, so sbuild installs nothing']");
    if (!setup.empty())
        c += fmt::format("$external_commands = {{ 'chroot-setup-commands' => [ {} ] }};\n", fmt::join(setup, ", "));
    if (require_success(job.request.lintian_mode))
        c += "$lintian_require_success = 1;\n";
    if (require_success(job.request.autopkgtest_mode))
        c += "$autopkgtest_require_success = 1;\n";
    auto opts = deb_build_options(job);
    if (!opts.empty())
        c += fmt::format("$build_environment = {{ 'DEB_BUILD_OPTIONS' => {} }};\n", perl_quote(opts));
    c += "1;\n";
    return c;
}

std::vector<std::string> sbuild_command(const SbuildJob& job, const fs::path& config_file)
{
    const auto& r = job.request;
    std::vector<std::string> cmd;
    auto read_only = read_only_dirs(job);
    if (!read_only.empty() && ::geteuid() == 0) {
        // a mount namespace of the build's own where what it sees of the host is mounted
        // read-only: the user namespaces of sbuild and autopkgtest cannot make it writable
        cmd = {"unshare", "--mount", "--propagation", "private", "--", "sh", "-ec",
               "while [ \"$1\" != -- ]; do mount --bind -o ro \"$1\" \"$1\"; shift; done; shift; exec \"$@\"", "sh"};
        for (const auto& d : read_only)
            cmd.push_back(d.string());
        cmd.push_back("--");
    }
    if (!job.user.empty() && ::geteuid() == 0) {
        // never build as root: drop to the build user for sbuild and everything it starts
        struct passwd* pw = ::getpwnam(job.user.c_str());
        if (!pw)
            throw fail(Exit::environment, "build user '{}' does not exist (create it with useradd, with a subuid range)",
                       job.user);
        cmd.insert(cmd.end(), {"setpriv", fmt::format("--reuid={}", pw->pw_uid), fmt::format("--regid={}", pw->pw_gid),
                               "--init-groups", "env", fmt::format("HOME={}", pw->pw_dir),
                               fmt::format("USER={}", job.user), fmt::format("LOGNAME={}", job.user)});
    } else {
        cmd.push_back("env");
    }
    cmd.push_back("SBUILD_CONFIG=" + config_file.string());
    cmd.insert(cmd.end(), {"sbuild", "--chroot-mode=unshare", "--chroot=" + job.tarball.string(),
                           "--dist=" + r.distribution, "--arch=" + r.architecture, "--build-dir=" + (job.dir / "out").string(),
                           "--no-source", r.arch_all ? "--arch-all" : "--no-arch-all",
                           r.arch_any ? "--arch-any" : "--no-arch-any", "--bd-uninstallable-explainer=apt"});
    // chroots are kept current by `mbd-chroot update`, not per build; a stale one is upgraded in the session
    cmd.insert(cmd.end(), {"--no-apt-upgrade", job.upgrade ? "--apt-distupgrade" : "--no-apt-distupgrade"});
    // nothing to install, or installed by our setup command (which updates the package lists
    // and has the extra sources): no resolver, no package lists, no extra sources (below)
    bool resolver = sbuild_resolves(job);
    if (!resolver)
        cmd.insert(cmd.end(), {"--build-dep-resolver=null", "--no-apt-update"});
    else
        cmd.push_back("--build-dep-resolver=" + r.resolver);
    if (r.lintian_mode == "disabled") {
        cmd.push_back("--no-run-lintian");
    } else {
        cmd.push_back("--run-lintian");
        // our distributions are not Debian's (CODENAME-ID-SUITE): lintian must not hold that against us
        cmd.push_back("--lintian-opt=--suppress-tags=bad-distribution-in-changes-file");
        if (r.lintian_mode == "warnfail")
            cmd.push_back("--lintian-opt=--fail-on=error,warning");
        else
            cmd.push_back("--lintian-opt=--fail-on=error");
    }
    if (r.autopkgtest_mode == "disabled") {
        cmd.push_back("--no-run-autopkgtest");
    } else {
        auto a = autopkgtest_args(job);
        cmd.insert(cmd.end(), a.begin(), a.end());
    }
    for (const auto& s : resolver ? r.apt_sources : std::vector<std::string>{})
        cmd.push_back("--extra-repository=" + s);
    for (size_t k = 0; resolver && k < key_blocks(r.apt_keys).size(); ++k)
        cmd.push_back("--extra-repository-key=" + (job.dir / fmt::format("apt-key-{}.asc", k)).string());
    if (!r.deb_build_profiles.empty())
        cmd.push_back("--profiles=" + r.deb_build_profiles);
    if (!r.add_depends.empty())
        cmd.push_back("--add-depends=" + r.add_depends);
    cmd.push_back((job.dir / r.dsc().name).string());
    return cmd;
}

std::string build_deps_script(const SbuildJob& job)
{
    if (!job.own_deps)
        return {};
    const auto& d = *job.own_deps;
    // sbuild's resolver sets these in its apt.conf, which does not exist yet when setup commands run
    std::vector<std::string> satisfy = {"apt-get", "-q", "-y", "--no-install-recommends", "-o", "Acquire::Languages=none"};
    if (auto profiles = build_profiles(job.request); !profiles.empty())
        satisfy.insert(satisfy.end(), {"-o", "APT::Build-Profiles=" + profiles});
    satisfy.insert(satisfy.end(), {"satisfy", d.depends});
    if (!d.conflicts.empty())
        satisfy.push_back("Conflicts: " + d.conflicts);
    std::string s = "# generated by mbd-build: the build dependencies, installed as sbuild's apt resolver\n"
                    "# would install them, in one apt-get run (sbuild's resolver is off)\n"
                    "set -e\n"
                    "cp -r /mbd-build/apt/. /etc/apt/\n";
    s += "echo " + shell_quote(std::string(own_deps_marker) + d.depends) + "\n";
    if (!d.conflicts.empty())
        s += "echo " + shell_quote("mbd: build conflicts: " + d.conflicts) + "\n";
    s += "export DEBIAN_FRONTEND=noninteractive\n"
         "apt-get -q -o Acquire::Languages=none update\n";
    s += shell_join(satisfy) + "\n";
    return s;
}

SbuildOutcome run_sbuild(const SbuildJob& job)
{
    require_program("sbuild", "sbuild");
    if (job.request.autopkgtest_mode != "disabled")
        require_program("autopkgtest", "autopkgtest");
    const auto& r = job.request;
    fs::path out = job.dir / "out";
    make_dirs(out);
    fs::path config = job.dir / "sbuild.conf";
    auto blocks = key_blocks(r.apt_keys);
    for (size_t k = 0; k < blocks.size(); ++k)
        write_atomic(job.dir / fmt::format("apt-key-{}.asc", k), blocks[k]);
    SbuildJob effective = job;
    decide_deps(effective);
    if (sbuild_resolves(effective) && r.resolver == "aptitude") // sbuild looks for it outside the chroot too
        require_program("aptitude", "aptitude");
    // what goes into the session's /etc/apt (copied in by a setup command) and autopkgtest's
    // (anew: a retry may install differently)
    fs::remove_all(job.dir / "apt");
    auto put = [&](const fs::path& file, std::string_view text) { // FILE: under the apt tree
        make_dirs((job.dir / "apt" / file).parent_path());
        write_atomic(job.dir / "apt" / file, text);
    };
    if (effective.own_deps) {
        make_dirs(job.dir / "apt");
        if (!r.apt_sources.empty())
            put(sources_file, join(r.apt_sources, "\n") + "\n");
        for (size_t k = 0; k < blocks.size(); ++k)
            put(extra_key_file(k), blocks[k]);
        write_atomic(job.dir / deps_script, build_deps_script(effective));
    }
    if (!r.apt_preferences.empty())
        put(preferences_file, r.apt_preferences);
    if (!job.apt_proxy.empty())
        put(proxy_file, chroot::apt_proxy_conf(job.apt_proxy));
    if (::geteuid() != 0)
        // unprivileged, we cannot mount: what a build sees must be read-only already (the
        // shipped mbd-build.service mounts HOME/repositories read-only)
        for (const auto& d : read_only_dirs(effective)) {
            struct statvfs st{};
            if (::statvfs(d.c_str(), &st) != 0 || !(st.f_flag & ST_RDONLY))
                throw fail(Exit::environment,
                           "'{}' is not read-only here and an unprivileged mbd-build cannot mount it so: run "
                           "mbd-build as root with 'build.user' set, or with that directory read-only "
                           "(mbd-build.service does so)",
                           d.string());
        }
    write_atomic(config, sbuild_config(effective));
    if (!job.user.empty() && ::geteuid() == 0) {
        struct passwd* pw = ::getpwnam(job.user.c_str());
        if (!pw)
            throw fail(Exit::environment, "build user '{}' does not exist", job.user);
        // sbuild runs autopkgtest from there; without it the run "passes" without testing anything
        if (job.request.autopkgtest_mode != "disabled" && !fs::is_directory(pw->pw_dir))
            throw fail(Exit::environment, "build user '{}' has no home directory '{}' (autopkgtest runs there)",
                       job.user, pw->pw_dir);
        for (const auto& p : fs::recursive_directory_iterator(job.dir))
            if (::lchown(p.path().c_str(), pw->pw_uid, pw->pw_gid) != 0)
                throw sys_error(fmt::format("cannot hand '{}' to the build user", p.path().string()));
        if (::chown(job.dir.c_str(), pw->pw_uid, pw->pw_gid) != 0)
            throw sys_error(fmt::format("cannot hand '{}' to the build user", job.dir.string()));
    }
    auto cmd = sbuild_command(effective, config);
    // kept beside the log: how this build ran, to rerun it by hand (bench/build-phases)
    write_atomic(job.dir / "sbuild.command", shell_join(cmd) + "\n");
    log::debug("build", "{}: sbuild for {} {} on {}{}", r.id, r.source, r.version, r.architecture,
               effective.preinstalled ? " (build dependencies all in the chroot)"
               : effective.own_deps   ? " (build dependencies installed by apt-get satisfy)"
                                      : "");
    auto start = std::chrono::steady_clock::now();
    RunOptions opts;
    opts.cwd = job.dir;
    opts.output_file = job.dir / "sbuild.out";
    opts.timeout_seconds = job.timeout_seconds;
    opts.started = job.started;
    auto res = run(cmd, opts);
    SbuildOutcome o;
    o.exit_code = res.status;
    o.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    std::string stem = fmt::format("{}_{}_{}", r.source, Version::parse(r.version).without_epoch(), r.architecture);
    std::error_code ec;
    // sbuild leaves "<stem>-<timestamp>.build" and a symlink "<stem>.build" to it in the log dir
    fs::path link = out / (stem + ".build");
    if (fs::is_symlink(link, ec)) {
        fs::path target = fs::read_symlink(link, ec);
        o.log = target.is_absolute() ? target : out / target;
    } else if (fs::is_regular_file(link, ec)) {
        o.log = link;
    }
    o.status = o.log.empty() ? std::string() : status_from_log(o.log);
    if (o.log.empty())
        o.log = job.dir / "sbuild.out"; // sbuild never got to its log: keep what it printed
    if (res.timed_out)
        o.status = "timeout";
    else if (o.status.empty())
        o.status = res.status == 0 ? "successful" : "failed";
    if (o.status == "successful" && res.status != 0)
        o.status = "failed"; // e.g. lintian failure with $lintian_require_success
    fs::path changes = out / (stem + ".changes");
    if (!fs::is_regular_file(changes, ec)) // only Architecture: all binaries: dpkg names it _all.changes
        changes = out / fmt::format("{}_{}_all.changes", r.source, Version::parse(r.version).without_epoch());
    if (o.successful() && fs::is_regular_file(changes, ec))
        o.changes = changes;
    else if (o.successful())
        o.status = "failed";
    if (!o.successful())
        o.reason = res.timed_out ? fmt::format("timed out after {} s (build.timeout)", job.timeout_seconds)
                                 : why_failed(o.log, res.status);
    log::debug("build", "{}: sbuild exit {}, status {}, {:.2f} s", r.id, o.exit_code, o.status, o.seconds);
    return o;
}

} // namespace mbd::build
