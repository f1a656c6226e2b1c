#include "chroot/packages.hpp"

#include "core/error.hpp"
#include "core/fs.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <memory>
#include <unistd.h>

namespace mbd::chroot {
namespace fs = std::filesystem;
namespace {

// The content of MEMBER (e.g. "var/lib/dpkg/status") of a (compressed) tarball.
std::string read_member(const fs::path& tarball, std::string_view member)
{
    std::unique_ptr<archive, decltype(&archive_read_free)> a(archive_read_new(), archive_read_free);
    if (!a)
        throw Error("out of memory (libarchive)");
    archive_read_support_filter_all(a.get());
    archive_read_support_format_tar(a.get());
    auto error = [&](std::string_view what) {
        const char* why = archive_error_string(a.get());
        return fail(Exit::check_failed, "cannot read '{}' from chroot tarball '{}': {}: {}", member, tarball.string(),
                    what, why ? why : "unknown error");
    };
    if (archive_read_open_filename(a.get(), tarball.c_str(), 1 << 20) != ARCHIVE_OK)
        throw error("open");
    archive_entry* e = nullptr;
    int r;
    while ((r = archive_read_next_header(a.get(), &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
        std::string_view name = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
        if (name.starts_with("./"))
            name.remove_prefix(2);
        if (name != member || archive_entry_filetype(e) != AE_IFREG)
            continue;
        std::string text(size_t(archive_entry_size(e)), '\0');
        for (size_t got = 0; got < text.size();) { // archive_read_data may return less than asked
            la_ssize_t n = archive_read_data(a.get(), text.data() + got, text.size() - got);
            if (n <= 0)
                throw error("data");
            got += size_t(n);
        }
        return text;
    }
    if (r != ARCHIVE_EOF)
        throw error("header");
    throw fail(Exit::check_failed, "chroot tarball '{}' has no '{}'", tarball.string(), member);
}

} // namespace

fs::path dpkg_admindir(const fs::path& tarball, const std::string& sha256)
{
    if (sha256.size() < 16)
        throw fail(Exit::check_failed, "chroot tarball '{}' has no recorded sha256 (run 'mbd-chroot check')",
                   tarball.string());
    const std::string name = "dpkg-" + sha256.substr(0, 16);
    fs::path dir = tarball.parent_path() / name;
    std::error_code ec;
    if (fs::is_regular_file(dir / "status", ec))
        return dir;
    // made under a temporary name and renamed: readers see a whole status or none
    std::string status = read_member(tarball, "var/lib/dpkg/status");
    fs::path tmp = tarball.parent_path() / fmt::format(".{}.{}", name, ::getpid());
    fs::remove_all(tmp, ec);
    make_dirs(tmp);
    write_atomic(tmp / "status", status);
    if (::rename(tmp.c_str(), dir.c_str()) != 0) {
        fs::remove_all(tmp, ec); // another build made it meanwhile
        if (!fs::is_regular_file(dir / "status", ec))
            throw sys_error(fmt::format("cannot make '{}'", dir.string()));
    }
    for (const auto& entry : fs::directory_iterator(tarball.parent_path(), ec)) {
        auto n = entry.path().filename().string();
        if (n.starts_with("dpkg-") && n != name)
            fs::remove_all(entry.path(), ec); // an older tarball's
    }
    return dir;
}

} // namespace mbd::chroot
