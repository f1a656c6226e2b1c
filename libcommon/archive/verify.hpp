// archive/verify: checks what is published against the state database, the way apt
// would see it and more: InRelease and Release.gpg verify with the instance key and
// say the same; the Release fields are the expected ones, its Date is not in the
// future and its Valid-Until not past; it lists exactly the expected index files, each
// with the size, SHA256 and SHA512 of the file, its by-hash copies present; each
// uncompressed index is what the database holds (rebuilt in memory and compared) and
// its .gz and .xz decompress to it; nothing the database changed is unpublished.
#pragma once

#include "db/context.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace mbd::archive {

// Every problem found, one sentence each (empty: none). Call under the repository's lock.
std::vector<std::string> verify_published(Context& ctx, std::string_view repository);

// The same for the repository's snapshots (dists/DIST@NAME/, repo/snapshots.hpp): the
// signatures, the Release fields recorded when it was made (and no Valid-Until), the
// index files it lists, and their content against its frozen membership.
std::vector<std::string> verify_snapshots(Context& ctx, std::string_view repository);

} // namespace mbd::archive
