// build/builddeps: what a build needs installed, and does it need anything? When the
// chroot (chroot/packages.hpp) already has every build dependency installed and no
// build conflict, sbuild's apt resolver would build, index and install a dummy package
// that changes nothing (5-10 s per build, twice with lintian); sbuild then runs with
// --build-dep-resolver=null, no apt-get update and none of the extra apt sources
// (nothing is installed from them) instead: the same installed packages, a fresh
// unpacked chroot as always. When something is missing, the same relations go to one
// apt-get satisfy in the session (build/sbuild.hpp, own_deps) instead of the resolver's
// dummy-package rounds.
//
// What sbuild installs: Build-Depends (+ -Arch for arch-specific, + -Indep for
// Architecture: all builds), build-essential and fakeroot (sbuild adds them),
// lintian when it runs, the request's add-depends; conflicts likewise. The check
// is dpkg-checkbuilddeps against the chroot's dpkg status (the reference
// implementation of Debian's relation syntax: versions, arch qualifiers and
// restrictions, build profiles). A relation with alternatives always goes through
// sbuild's resolver: its apt resolver uses only the first alternative, and we do
// not second-guess which one it would pick.
#pragma once

#include "build/request.hpp"
#include "deb822/deb822.hpp"

#include <filesystem>
#include <optional>
#include <string>

namespace mbd::build {

struct BuildDeps {
    std::string depends;   // one relation list: "build-essential, fakeroot, debhelper-compat (= 13), ..."
    std::string conflicts; // may be empty
};

// What sbuild would install for request R whose .dsc has fields DSC; nullopt when
// a relation has alternatives (then only sbuild's resolver decides).
std::optional<BuildDeps> build_deps(const Request& r, const deb822::Paragraph& dsc);

// Whether DEPS are all installed (and no conflict is) in the dpkg database ADMINDIR,
// for a native build on R's architecture with R's build profiles; WHY says what is
// missing when not.
bool installed(const BuildDeps& deps, const Request& r, const std::filesystem::path& admindir, std::string& why);

// R's build profiles comma-separated, as dpkg-checkbuilddeps -P and APT::Build-Profiles take them.
std::string build_profiles(const Request& r);

} // namespace mbd::build
