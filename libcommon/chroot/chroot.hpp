// chroot: build chroots, one per codename and architecture (mbd-chroot).
//
// A chroot is an `mmdebstrap --variant=buildd` tarball, zstd-compressed, for
// `sbuild --chroot-mode=unshare` (backend "unshare"), with the packages of
// chroot.include (lintian, fakeroot, debhelper: installed once here instead of in
// every build session) and its apt lists (each build's apt-get update then only
// checks them; bench/build-speed), kept as
//   $MBD_HOME/var/chroots/CODENAME/ARCH/CODENAME-ARCH.tar.zst
// with a row in the chroots table: its source (chroot/source.hpp), the tarball's
// size, mtime and sha256, and the seed's model status (core/status.hpp).
//
//   create (prepare)   bootstrap; written under a temporary name and renamed when
//                      complete, so a killed create leaves nothing that looks usable
//   import             take a tarball made by mbd elsewhere instead (like create)
//   check              the tarball exists, has its recorded sha256, unpacks, dpkg
//                      and apt work, and its sources.list and keyring match the
//                      source; a failed check of an active chroot takes it out of
//                      service until a check passes (flag failed-reactivate, 'A')
//   activate/deactivate  usable for builds, or not
//   update             apt-get update && dist-upgrade inside, install what chroot.include
//                      lists (create installs it too), atomic replace, check
//   remove             delete the tarball; the row stays (status removed, source kept)
// Every action that writes holds the chroot's lock (var/lock/chroot-CODENAME-ARCH.lock);
// host prerequisites are checked first (chroot/host.hpp), with what to fix.
//
// For builds (mbd-build):
//   chroot::Usable u = chroot::find_usable(ctx, "bookworm", "amd64");
//   write u.sbuild_config to a file, set SBUILD_CONFIG to it (it puts sbuild's
//   unpack directory on chroot.unpack_dir, a tmpfs by default: ~30% faster), and run
//   sbuild <u.sbuild_args...> --dist=DIST ... PKG.dsc
// as an unprivileged user that has subuid/subgid ranges (never root: check with
// chroot::require_unshare_ready(), chroot/host.hpp) and can read the tarball
// (0644 in 0755 directories; sbuild reads it as that user). find_usable errors:
// Exit::not_found (no such chroot, or removed), Exit::tempfail (not active, e.g.
// waiting to be reactivated by a passing check), Exit::check_failed (tarball
// missing, or changed since its last successful check).
#pragma once

#include "chroot/source.hpp"
#include "core/json.hpp"
#include "core/status.hpp"
#include "db/context.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace mbd::chroot {

inline constexpr std::string_view backend_unshare = "unshare";

struct Chroot {
    std::string codename, arch;
    std::string backend{backend_unshare};
    Source source;
    std::filesystem::path tarball;
    std::uintmax_t size = 0;   // the tarball as last written or checked
    long long mtime_ns = 0;
    std::string sha256;
    long long created = 0;     // unix seconds of the last bootstrap (create)
    long long updated = 0;     // ... of the last create, update or import
    ModelStatus status;
    std::string check_message; // why the last check failed

    std::string name() const { return codename + "/" + arch; }
};

// The source options of create/import. Empty: the base source of the codename's
// distribution (source_of), else the chroot's current source, else the defaults of
// chroot::resolve_source() (chroot/source.hpp).
struct SourceOptions {
    std::string mirror;
    std::filesystem::path keyring;
};

std::filesystem::path tarball_path(const Home& home, const std::string& codename, const std::string& arch);

// create and update try the source's URIs in order: a URI mmdebstrap fails with is
// passed over (a warning says why) for the next; the chroot records the one that worked.
// source_of: what the chroots of a codename are made from when the model has a
// distribution of it (repo::chroot_sources()).
Chroot create(Context& ctx, const std::string& codename, const std::string& arch, const SourceOptions& options,
              const SourceOf& source_of);
Chroot import_tarball(Context& ctx, const std::string& codename, const std::string& arch,
                      const std::filesystem::path& file, const SourceOptions& options, const SourceOf& source_of);
// Records the result; throws Error(Exit::check_failed) with the reason when it fails,
// e.g. when the chroot was made from something else than source_of(codename) is now.
Chroot check(Context& ctx, const std::string& codename, const std::string& arch, const SourceOf& source_of);
// Updates from source_of(codename) when there is one (else from the chroot's own source).
Chroot update(Context& ctx, const std::string& codename, const std::string& arch, const SourceOf& source_of);
Chroot activate(Context& ctx, const std::string& codename, const std::string& arch);
Chroot deactivate(Context& ctx, const std::string& codename, const std::string& arch);
Chroot remove(Context& ctx, const std::string& codename, const std::string& arch);

// check or update every chroot that is not removed; one failing does not stop
// the others. Throws the last failure's code with a count when any failed.
void check_all(Context& ctx, const SourceOf& source_of);
void update_all(Context& ctx, const SourceOf& source_of);

std::vector<Chroot> list(Context& ctx);
// Stable --json schema: codename, arch, backend, status, flag, display, tarball,
// size, sha256, created, updated, last_check, check_message, mirror, components, keyring,
// uris, suite, keys, base_source (chroot/source.hpp's Source).
Json to_json(const Chroot& chroot);
// A table for people: codename, arch, backend, status, size, age, last check.
std::string format_table(const std::vector<Chroot>& chroots, long long now);

// A throwaway session in the chroot (nothing is kept): an interactive login
// shell when command is empty (needs a terminal), else the command, whose
// output is ours; Error(Exit::external) when it fails.
void shell(Context& ctx, const std::string& codename, const std::string& arch, const std::vector<std::string>& command);

struct Usable {
    std::filesystem::path tarball;
    std::vector<std::string> sbuild_args; // --chroot-mode=unshare --chroot=TARBALL --arch=ARCH
    std::string sbuild_config;            // Perl for an SBUILD_CONFIG file
    bool stale = false;                   // not updated for chroot.max_age: builds must upgrade it
    std::string sha256;                   // the tarball's, as last checked
};
Usable find_usable(Context& ctx, const std::string& codename, const std::string& arch);
// What a usable chroot has installed, as a dpkg admin directory (chroot/packages.hpp),
// made on first use; empty, with a warning, when it cannot be made (builds then let
// sbuild install every build dependency).
std::filesystem::path installed_packages(const Usable& usable);

} // namespace mbd::chroot
