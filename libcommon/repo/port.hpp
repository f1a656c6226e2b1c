// repo/port: rebuild a source for another distribution (mini-buildd's "port").
//
// The source as a distribution holds it is unpacked, given a changelog entry
// with the version the target's rule wants (~ID12+N becomes ~ID11+N for a
// port from bookworm to bullseye; +0 for an experimental target) and the
// target distribution, packed again, signed by the instance key and put into
// incoming/ like any upload: mbd-incoming accepts uploads signed by this
// instance, builds them for the target and installs them there. The upload
// option auto-ports=DIST,... does this after an install.
#pragma once

#include "db/context.hpp"
#include "model/model.hpp"

#include <filesystem>
#include <string>
#include <string_view>

namespace mbd::repo {

struct PortResult {
    std::string source, from_version, version, from, to;
    std::filesystem::path changes; // in incoming/
};

PortResult port(Context& ctx, std::string_view source, std::string_view from_dist, std::string_view to_dist);

// Pack the source tree (tree, in the directory work: dpkg-buildpackage -S), sign the
// .changes with the instance key and put it, its files first, into incoming/; the incoming
// pass is woken. Returns the .changes' path in incoming/.
std::filesystem::path upload_source_tree(Context& ctx, const std::filesystem::path& work,
                                         const std::filesystem::path& tree, std::string_view source,
                                         std::string_view version);
// The distribution of that name, if a port may go there: Error(Exit::not_found) for none,
// Error(Exit::rejected) for a rollback or a suite that takes no uploads.
DistRef port_target(Context& ctx, std::string_view to_dist);

// The version a port of version from one distribution to another gets.
std::string port_version(Context& ctx, std::string_view version, std::string_view from_dist, std::string_view to_dist);
// The version a port of a version from outside this instance gets: one that ends in
// ~<to's id><to's codeversion>+N keeps N (another instance with this id), any other gets
// that suffix with +1; +0 for an experimental target, as port_version does.
std::string port_version_external(Context& ctx, std::string_view version, std::string_view to_dist);

// The part of a port every port shares (port, port_ext): the source whose .dsc is dsc
// (the files it lists beside it, already checked) is unpacked, given a changelog entry
// "Automatic port of SOURCE FROM_VERSION from ORIGIN." with version and distribution
// to, packed again with dpkg-buildpackage -S, signed by the instance key and put into
// incoming/ (files first, the .changes last), and a PORTING event is recorded.
// Returns the .changes in incoming/.
struct PortUpload {
    std::string source, from_version, version, to;
    std::string origin; // where it comes from: a distribution, a URL
};
std::filesystem::path upload_port(Context& ctx, const std::filesystem::path& dsc, const PortUpload& port);

} // namespace mbd::repo
