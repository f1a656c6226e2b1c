// debian/debfile: what mbd reads from a binary package (.deb/.udeb) with libarchive:
// the control paragraph (ar member control.tar.{gz,xz,zst,...}, file ./control) and
// the paths it ships (data.tar.*, for Contents-ARCH). Read once at install time; the paths
// only when a distribution publishes Contents (else at the first publish that does).
#pragma once

#include "deb822/deb822.hpp"

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace mbd::debian {

struct DebInfo {
    deb822::Paragraph control;
    std::vector<std::string> paths; // files and links, without './', sorted; no directories
    bool paths_read = true;         // false: the data member was only found, not read (DebPaths::skip)
};

// Whether the data member's tar is read for its paths, or only its presence checked (it
// is most of the reading: a compressed tar to walk).
enum class DebPaths { read, skip };

// Error(Exit::rejected) naming the file when it is not a well-formed Debian binary package.
DebInfo read_deb(const std::filesystem::path& file, DebPaths paths = DebPaths::read);
// The same for its bytes, read already (file: for messages).
DebInfo read_deb(const std::filesystem::path& file, std::string_view bytes, DebPaths paths = DebPaths::read);

} // namespace mbd::debian
