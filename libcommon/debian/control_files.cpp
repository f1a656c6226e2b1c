#include "debian/control_files.hpp"

#include "core/error.hpp"
#include "core/names.hpp"
#include "core/strings.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace mbd::debian {
namespace {

bool is_hex(std::string_view s, size_t len)
{
    if (s.size() != len)
        return false;
    return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

void require(const deb822::Paragraph& p, std::string_view doc, std::initializer_list<std::string_view> names)
{
    for (auto n : names)
        if (!p.has(n))
            throw fail(Exit::rejected, "{}: missing mandatory field '{}'", doc, n);
}

std::vector<std::string> words(std::string_view s)
{
    std::vector<std::string> out;
    for (auto w : split_ws(s))
        out.emplace_back(w);
    return out;
}

// Files (md5 size [section priority] name) + Checksums-Sha256/Sha1 (hash size name),
// merged by name and cross-checked.
std::vector<FileEntry> parse_files(const deb822::Paragraph& p, std::string_view doc, bool with_section)
{
    std::vector<FileEntry> files;
    std::map<std::string, size_t> index;
    size_t want = with_section ? 5 : 3;
    for (const auto& line : p.lines("Files")) {
        auto w = split_ws(line);
        if (w.empty())
            continue;
        if (w.size() != want)
            throw fail(Exit::rejected, "{}: malformed line in Files: '{}'", doc, line);
        FileEntry f;
        f.md5 = std::string(w[0]);
        auto size = parse_uint(w[1]);
        if (!is_hex(f.md5, 32) || !size)
            throw fail(Exit::rejected, "{}: malformed line in Files: '{}'", doc, line);
        f.size = *size;
        if (with_section) {
            f.section = std::string(w[2]);
            f.priority = std::string(w[3]);
        }
        f.name = std::string(w.back());
        if (auto why = names::problem(names::file, f.name))
            throw fail(Exit::rejected, "{}: {}", doc, *why);
        if (index.count(f.name))
            throw fail(Exit::rejected, "{}: file '{}' is listed twice in Files", doc, f.name);
        index[f.name] = files.size();
        files.push_back(std::move(f));
    }
    if (files.empty())
        throw fail(Exit::rejected, "{}: the Files field lists no files", doc);

    auto checksums = [&](std::string_view field, size_t hexlen, std::string FileEntry::*member, bool mandatory) {
        if (!p.has(field)) {
            if (mandatory)
                throw fail(Exit::rejected, "{}: missing mandatory field '{}'", doc, field);
            return;
        }
        std::map<std::string, bool> seen;
        for (const auto& line : p.lines(field)) {
            auto w = split_ws(line);
            if (w.empty())
                continue;
            auto size = w.size() == 3 ? parse_uint(w[1]) : std::nullopt;
            if (!size || !is_hex(w[0], hexlen))
                throw fail(Exit::rejected, "{}: malformed line in {}: '{}'", doc, field, line);
            std::string name(w[2]);
            auto it = index.find(name);
            if (it == index.end())
                throw fail(Exit::rejected, "{}: '{}' is listed in {} but not in Files", doc, name, field);
            if (seen[name])
                throw fail(Exit::rejected, "{}: file '{}' is listed twice in {}", doc, name, field);
            seen[name] = true;
            FileEntry& f = files[it->second];
            if (f.size != *size)
                throw fail(Exit::rejected, "{}: sizes of '{}' in Files and {} disagree", doc, name, field);
            f.*member = std::string(w[0]);
        }
        for (const auto& f : files)
            if (!seen[f.name])
                throw fail(Exit::rejected, "{}: '{}' is listed in Files but not in {}", doc, f.name, field);
    };
    checksums("Checksums-Sha256", 64, &FileEntry::sha256, true);
    checksums("Checksums-Sha1", 40, &FileEntry::sha1, false);
    return files;
}

} // namespace

std::vector<FileEntry> listed_files(const deb822::Paragraph& p, std::string_view doc)
{
    return parse_files(p, doc, false);
}

namespace {

Version parse_version(const deb822::Paragraph& p, std::string_view doc)
{
    auto text = p.get("Version");
    if (auto why = Version::invalid_reason(text))
        throw fail(Exit::rejected, "{}: invalid version '{}': {}", doc, text, *why);
    return Version::parse(text);
}

} // namespace

std::optional<std::string> unaccepted_source_format(std::string_view format)
{
    static constexpr std::string_view accepted[] = {"1.0", "3.0 (native)", "3.0 (quilt)"};
    if (std::find(std::begin(accepted), std::end(accepted), format) != std::end(accepted))
        return std::nullopt;
    std::string shown;
    for (unsigned char c : format.substr(0, 80))
        shown += (c < 0x20 || c == 0x7f) ? '?' : char(c);
    return fmt::format("source format '{}' is not accepted (only 1.0, 3.0 (native) and 3.0 (quilt))", shown);
}

bool Changes::has_source() const
{
    return std::find(architectures.begin(), architectures.end(), "source") != architectures.end();
}

bool Changes::has_binaries() const
{
    return std::any_of(architectures.begin(), architectures.end(), [](const std::string& a) { return a != "source"; });
}

const FileEntry* Changes::find_file(std::string_view n) const
{
    for (const auto& f : files)
        if (f.name == n)
            return &f;
    return nullptr;
}

const FileEntry* Changes::dsc() const
{
    for (const auto& f : files)
        if (ends_with(f.name, ".dsc"))
            return &f;
    return nullptr;
}

Changes Changes::parse(std::string_view text, std::string_view name)
{
    Changes c;
    c.fields = deb822::parse_one(text, name, {.allow_comments = false, .max_line_length = max_line_length});
    const auto& p = c.fields;
    require(p, name, {"Format", "Date", "Source", "Architecture", "Version", "Distribution", "Maintainer", "Changes",
                      "Files"});
    c.format = p.get("Format");
    std::string source_field = p.get("Source");
    auto src = split_ws(source_field);
    if (src.empty() || !names::package.valid(src[0]))
        throw fail(Exit::rejected, "{}: invalid source package name '{}'", name, p.get("Source"));
    c.source = std::string(src[0]);
    if (src.size() == 2 && src[1].size() > 2 && src[1].front() == '(' && src[1].back() == ')')
        c.source_version = std::string(src[1].substr(1, src[1].size() - 2));
    else if (src.size() != 1)
        throw fail(Exit::rejected, "{}: invalid Source field '{}'", name, p.get("Source"));
    c.version = parse_version(p, name);
    c.distributions = words(p.get("Distribution"));
    if (c.distributions.empty())
        throw fail(Exit::rejected, "{}: empty Distribution field", name);
    c.architectures = words(p.get("Architecture"));
    if (c.architectures.empty())
        throw fail(Exit::rejected, "{}: empty Architecture field", name);
    c.binaries = words(p.folded("Binary"));
    c.maintainer = p.get("Maintainer");
    c.changed_by = p.get("Changed-By");
    c.urgency = p.get("Urgency");
    c.date = p.get("Date");
    std::string text_lines;
    for (const auto& l : p.lines("Changes"))
        text_lines += l + "\n";
    c.changes_text = text_lines;
    c.files = parse_files(p, name, true);
    return c;
}

Dsc Dsc::parse(std::string_view text, std::string_view name)
{
    Dsc d;
    d.fields = deb822::parse_one(unwrap_clearsigned_unverified(text, name), name,
                                 {.allow_comments = false, .max_line_length = max_line_length});
    const auto& p = d.fields;
    require(p, name, {"Format", "Source", "Version", "Maintainer", "Architecture", "Files"});
    d.format = p.get("Format");
    d.source = p.get("Source");
    if (!names::package.valid(d.source))
        throw fail(Exit::rejected, "{}: invalid source package name '{}'", name, d.source);
    d.version = parse_version(p, name);
    std::string binary = p.folded("Binary");
    for (auto b : split(binary, ','))
        if (!b.empty())
            d.binaries.emplace_back(b);
    d.architectures = words(p.get("Architecture"));
    d.maintainer = p.get("Maintainer");
    d.files = parse_files(p, name, false);
    return d;
}

std::string unwrap_clearsigned_unverified(std::string_view text, std::string_view name)
{
    constexpr std::string_view begin = "-----BEGIN PGP SIGNED MESSAGE-----";
    constexpr std::string_view sig = "-----BEGIN PGP SIGNATURE-----";
    constexpr std::string_view end = "-----END PGP SIGNATURE-----";
    std::string_view t = text;
    if (!starts_with(t, begin)) {
        if (t.find(begin) != std::string_view::npos)
            throw fail(Exit::rejected, "{}: text before the signed part", name);
        return std::string(text);
    }
    // Armor headers ("Hash: SHA256") end at the first empty line.
    auto body = t.find("\n\n");
    auto sig_at = t.find(std::string("\n") + std::string(sig));
    if (body == std::string_view::npos || sig_at == std::string_view::npos || sig_at < body)
        throw fail(Exit::rejected, "{}: malformed clearsigned document", name);
    auto end_at = t.find(end, sig_at);
    if (end_at == std::string_view::npos)
        throw fail(Exit::rejected, "{}: malformed clearsigned document (no end of signature)", name);
    if (!trim(t.substr(end_at + end.size())).empty())
        throw fail(Exit::rejected, "{}: text after the signature", name);
    std::string out;
    for (auto line : split(t.substr(body + 2, sig_at - body - 1), '\n', false)) {
        if (starts_with(line, "- "))
            line.remove_prefix(2);
        out += line;
        out += '\n';
    }
    if (!out.empty())
        out.pop_back(); // the newline before the signature belongs to the armor
    return out;
}

} // namespace mbd::debian
