// repo/keyring: a repository's keyring package, ID-archive-keyring, as mini-buildd makes it.
//
// A source package this instance generates (3.0 (native), Architecture: all, built by
// dpkg alone: no build dependency) ships the instance key as the binary keyring
// /usr/share/keyrings/ID-archive-keyring.gpg and, not enabled, the deb822 apt sources of the
// repository's suites of its codename (Signed-By that file) under
// /usr/share/doc/ID-archive-keyring/examples/. It is signed by the instance key and put
// into incoming/ for each distribution whose layout suite has build_keyring set (the
// built-in layouts: unstable), so the pipeline builds, installs and publishes it like any
// upload, and it migrates with the rest. Its version is a serial with the target's
// version suffix (1~test12+1, 2~test12+1, ...). A distribution whose keyring package
// already ships the current instance key (its description names the fingerprint) is left
// alone unless forced; mbd-repo maintain makes a new one where the key changed.
#pragma once

#include "db/context.hpp"

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace mbd::repo {

struct KeyringUpload {
    std::string dist;    // the target distribution
    std::string version; // the version uploaded, or the one held when up to date
    std::filesystem::path changes; // in incoming/; empty: up to date, nothing uploaded
};

// The keyring package's name for a repository.
std::string keyring_package(std::string_view repository);

// For each distribution of the repository (every repository when empty) whose suite
// builds the keyring: upload a new keyring package unless it holds one with the current
// key (or force). Error(Exit::not_found) for an unknown repository, Exit::state when no
// suite of its layout builds the keyring.
std::vector<KeyringUpload> upload_keyrings(Context& ctx, std::string_view repository, bool force);

// What maintain does: upload_keyrings for the distributions that hold a keyring package
// of another key (none for a repository that never had one).
std::vector<KeyringUpload> refresh_keyrings(Context& ctx);

} // namespace mbd::repo
