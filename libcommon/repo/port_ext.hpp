// repo/port_ext: port a source from another archive (mini-buildd's "port_ext").
//
// The .dsc at an http(s):// or file:// URL and every file it lists (fetched from beside
// it with apt's own download code) are verified by devscripts' dscverify against the
// Debian keyrings (debian-keyring) or the keyrings the admin names: the signature and
// every size and checksum. A source that does not verify is refused with dscverify's
// reason (Exit::bad_signature), a REJECTED event is recorded and nothing reaches
// incoming/. One that does becomes, for each target distribution, an upload signed by
// the instance key with the version port_version_external gives, through the tail
// every port shares (repo/port.hpp, upload_port).
#pragma once

#include "db/context.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace mbd::repo {

struct PortExtRequest {
    std::string url;                 // of the .dsc: http://, https:// or file://
    std::vector<std::string> dists;  // targets, one upload each
    std::vector<std::string> keyrings; // empty: the Debian keyrings
};

struct PortExtUpload {
    std::string to, version;
    std::filesystem::path changes; // in incoming/
};

struct PortExtResult {
    std::string source, from_version, signer; // signer: whom dscverify found (may be empty)
    std::vector<PortExtUpload> uploads;
};

// The keyrings dscverify uses when none are named (those of debian-keyring that exist).
std::vector<std::filesystem::path> default_port_keyrings();

// The problem with a URL as port_ext takes it, or nullopt: the scheme, and a last path
// segment that is a Debian source file name (SOURCE_VERSION.dsc). Nothing is touched.
std::optional<std::string> port_ext_url_problem(std::string_view url);

PortExtResult port_ext(Context& ctx, const PortExtRequest& request);

} // namespace mbd::repo
