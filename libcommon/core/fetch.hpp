// core/fetch: download one file with apt's own download code (apt-helper
// download-file: http://, https://, file://, apt's proxy settings and TLS checks), as
// model's source check, port-ext and import do.
#pragma once

#include "core/error.hpp"

#include <filesystem>
#include <optional>
#include <string>

namespace mbd {

// nullopt when url is at dest now; else why not: Error(Exit::not_found) for a file the
// server does not have, Exit::tempfail for the rest (timeout, refused), with apt's reason.
std::optional<Error> download(const std::string& url, const std::filesystem::path& dest, int timeout_seconds = 600);

} // namespace mbd
