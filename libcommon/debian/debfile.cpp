#include "debian/debfile.hpp"

#include "core/error.hpp"
#include "core/strings.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <memory>

namespace mbd::debian {
namespace {

using ArchivePtr = std::unique_ptr<archive, decltype(&archive_read_free)>;

ArchivePtr new_reader()
{
    ArchivePtr a(archive_read_new(), archive_read_free);
    if (!a)
        throw Error("out of memory (libarchive)");
    return a;
}

// A tar member of the outer ar archive, read as a stream through the outer reader (its
// buffer one per thread: allocating and freeing 64 KiB per member made glibc consolidate
// its free lists each time).
struct Nested {
    archive* outer;
    char* buf;
    static constexpr size_t size = 1 << 16;
};

la_ssize_t nested_read(archive*, void* data, const void** out)
{
    auto* n = static_cast<Nested*>(data);
    la_ssize_t got = archive_read_data(n->outer, n->buf, Nested::size);
    *out = n->buf;
    return got;
}

std::string strip_dot(std::string_view p)
{
    if (starts_with(p, "./"))
        p.remove_prefix(2);
    else if (starts_with(p, "/"))
        p.remove_prefix(1);
    while (!p.empty() && p.back() == '/')
        p.remove_suffix(1);
    return std::string(p);
}

// The decompression filter the member's name asks for (dpkg names each: data.tar.xz),
// not all of libarchive's, which each look at every member's first bytes; a name of no
// known compression gets them all.
void support_filter_named(archive* a, std::string_view member)
{
    auto dot = member.rfind(".tar");
    std::string_view ext = dot == std::string_view::npos ? std::string_view() : member.substr(dot + 4);
    if (ext.empty())
        return; // (a plain tar: no filter)
    if (ext == ".gz")
        archive_read_support_filter_gzip(a);
    else if (ext == ".xz")
        archive_read_support_filter_xz(a);
    else if (ext == ".zst")
        archive_read_support_filter_zstd(a);
    else if (ext == ".bz2")
        archive_read_support_filter_bzip2(a);
    else if (ext == ".lzma")
        archive_read_support_filter_lzma(a);
    else
        archive_read_support_filter_all(a);
}

// Walk the tar member; for the control tarball return ./control, for data collect paths.
void read_tar(archive* outer, const std::string& what, const std::filesystem::path& file, bool control,
              std::string& control_text, std::vector<std::string>& paths)
{
    auto in = new_reader();
    support_filter_named(in.get(), what);
    archive_read_support_format_tar(in.get());
    thread_local std::unique_ptr<char[]> buf(new char[Nested::size]);
    Nested nested{outer, buf.get()};
    if (archive_read_open(in.get(), &nested, nullptr, nested_read, nullptr) != ARCHIVE_OK)
        throw fail(Exit::rejected, "'{}': cannot read member '{}': {}", file.filename().string(), what,
                   archive_error_string(in.get()) ? archive_error_string(in.get()) : "unknown error");
    archive_entry* e = nullptr;
    int r;
    while ((r = archive_read_next_header(in.get(), &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
        std::string name = strip_dot(archive_entry_pathname(e) ? archive_entry_pathname(e) : "");
        if (control) {
            if (name == "control" && archive_entry_filetype(e) == AE_IFREG) {
                la_int64_t size = archive_entry_size(e);
                if (size < 0 || size > (1 << 22))
                    throw fail(Exit::rejected, "'{}': control file too large", file.filename().string());
                control_text.resize(size_t(size));
                la_ssize_t got = archive_read_data(in.get(), control_text.data(), control_text.size());
                if (got != size)
                    throw fail(Exit::rejected, "'{}': truncated control file", file.filename().string());
            }
        } else if (!name.empty() && archive_entry_filetype(e) != AE_IFDIR) {
            paths.push_back(std::move(name));
        }
    }
    if (r != ARCHIVE_EOF)
        throw fail(Exit::rejected, "'{}': corrupt member '{}': {}", file.filename().string(), what,
                   archive_error_string(in.get()) ? archive_error_string(in.get()) : "unknown error");
}

} // namespace

namespace {

// The ar archive, opened by `open`, read to its end.
template <typename Open>
DebInfo read_deb_with(const std::filesystem::path& file, DebPaths want, Open open)
{
    auto outer = new_reader();
    archive_read_support_format_ar(outer.get());
    if (open(outer.get()) != ARCHIVE_OK)
        throw fail(Exit::rejected, "'{}' is not a Debian binary package: {}", file.filename().string(),
                   archive_error_string(outer.get()) ? archive_error_string(outer.get()) : "unknown error");
    std::string control_text, debian_binary;
    std::vector<std::string> paths;
    bool have_control = false, have_data = false;
    archive_entry* e = nullptr;
    int r;
    while ((r = archive_read_next_header(outer.get(), &e)) == ARCHIVE_OK) {
        std::string member = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
        if (member == "debian-binary") {
            char buf[64] = {};
            la_ssize_t n = archive_read_data(outer.get(), buf, sizeof buf - 1);
            debian_binary.assign(buf, n > 0 ? size_t(n) : 0);
        } else if (starts_with(member, "control.tar")) {
            read_tar(outer.get(), member, file, true, control_text, paths);
            have_control = true;
        } else if (starts_with(member, "data.tar")) {
            if (want == DebPaths::read)
                read_tar(outer.get(), member, file, false, control_text, paths);
            have_data = true;
        }
    }
    if (r != ARCHIVE_EOF)
        throw fail(Exit::rejected, "'{}' is not a Debian binary package: {}", file.filename().string(),
                   archive_error_string(outer.get()) ? archive_error_string(outer.get()) : "corrupt ar archive");
    if (!starts_with(debian_binary, "2."))
        throw fail(Exit::rejected, "'{}' is not a Debian binary package (format '{}')", file.filename().string(),
                   trim(debian_binary));
    if (!have_control || control_text.empty())
        throw fail(Exit::rejected, "'{}' has no control file", file.filename().string());
    if (!have_data)
        throw fail(Exit::rejected, "'{}' has no data member", file.filename().string());
    DebInfo info;
    info.control = deb822::parse_one(control_text, file.filename().string() + ":control",
                                     {.allow_comments = false, .require_utf8 = false});
    for (auto f : {"Package", "Version", "Architecture"})
        if (info.control.get(f).empty())
            throw fail(Exit::rejected, "'{}': control file has no '{}'", file.filename().string(), f);
    std::sort(paths.begin(), paths.end());
    paths.erase(std::unique(paths.begin(), paths.end()), paths.end());
    info.paths = std::move(paths);
    info.paths_read = want == DebPaths::read;
    return info;
}

} // namespace

DebInfo read_deb(const std::filesystem::path& file, DebPaths paths)
{
    return read_deb_with(file, paths, [&](archive* a) { return archive_read_open_filename(a, file.c_str(), 1 << 16); });
}

DebInfo read_deb(const std::filesystem::path& file, std::string_view bytes, DebPaths paths)
{
    return read_deb_with(file, paths, [&](archive* a) { return archive_read_open_memory(a, bytes.data(), bytes.size()); });
}

} // namespace mbd::debian
