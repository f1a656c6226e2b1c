// debian/control_files: the .changes and .dsc models on top of deb822
// (Debian Policy 5.4, 5.5): identity, architectures, the files they list with
// sizes and checksums, and the changelog text. Parsing checks structure only
// (mandatory fields, well-formed file lines, plain file names, checksum lists
// that agree); whether the files exist and match is the caller's job.
// Every problem is an Error(Exit::rejected) with a reason a packager understands.
#pragma once

#include "deb822/deb822.hpp"
#include "version/version.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mbd::debian {

struct FileEntry {
    std::string name;
    unsigned long long size = 0;
    std::string sha256;
    std::string sha1;    // may be empty
    std::string md5;     // from Files
    std::string section; // .changes only
    std::string priority;
};

// The longest line a .changes or .dsc may have (dpkg writes far shorter ones).
inline constexpr size_t max_line_length = 64 << 10;

// File names listed (names::file) and package names (names::package) are checked
// against core/names.hpp.

// The source formats an upload may have: those dpkg-source unpacks from the files a
// .dsc lists alone ("1.0", "3.0 (native)", "3.0 (quilt)"; Debian's archive takes no
// others). "3.0 (git)" and "3.0 (bzr)" need git or bzr in the build chroot and a
// repository bundle instead of tarballs; "3.0 (custom)" only builds; 2.0 is gone.
// Why a format is not accepted, or nullopt.
std::optional<std::string> unaccepted_source_format(std::string_view format);

struct Changes {
    deb822::Paragraph fields;
    std::string format;
    std::string source;
    std::optional<std::string> source_version; // "Source: foo (1.2-1)"
    Version version;
    std::vector<std::string> distributions;
    std::vector<std::string> architectures;
    std::vector<std::string> binaries;
    std::string maintainer, changed_by, urgency, date;
    std::string changes_text; // the Changes: field, one changelog line per line
    std::vector<FileEntry> files;

    bool has_source() const;
    bool has_binaries() const; // any architecture besides "source"
    const FileEntry* find_file(std::string_view name) const;
    const FileEntry* dsc() const; // the .dsc among the files, if any

    // text is the signed content (no OpenPGP armor).
    static Changes parse(std::string_view text, std::string_view name = "changes");
};

struct Dsc {
    deb822::Paragraph fields;
    std::string format;
    std::string source;
    Version version;
    std::vector<std::string> binaries;
    std::vector<std::string> architectures;
    std::string maintainer;
    std::vector<FileEntry> files;

    static Dsc parse(std::string_view text, std::string_view name = "dsc");
};

// The files a .dsc-style paragraph lists (Files: md5 size name, with Checksums-Sha256
// mandatory and Checksums-Sha1 optional), merged by name and cross-checked, every name
// a plain file name: a .dsc, or a stanza of an archive's Sources index.
std::vector<FileEntry> listed_files(const deb822::Paragraph& p, std::string_view doc);

// The content of a clearsigned document WITHOUT checking the signature, for
// documents whose integrity is established otherwise (a .dsc listed with its
// SHA256 in a verified .changes). Unsigned text is returned as is. Text outside
// the signed part is an Error(Exit::rejected).
std::string unwrap_clearsigned_unverified(std::string_view text, std::string_view name);

} // namespace mbd::debian
