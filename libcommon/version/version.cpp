#include "version/version.hpp"

#include "core/error.hpp"

#include <cctype>
#include <cstring>

namespace mbd {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// dpkg's order(): '~' first, then end of string and digits, letters, then other characters.
int order(int c)
{
    if (is_digit(char(c)))
        return 0;
    if (is_alpha(char(c)))
        return c;
    if (c == '~')
        return -1;
    if (c)
        return c + 256;
    return 0;
}

struct Parsed {
    std::string upstream, revision;
    unsigned long epoch = 0;
    bool has_revision = false;
};

// Mirrors dpkg's parseversion() (lib/dpkg/parsehelp.c); returns an error text or "".
std::string parse_into(std::string_view text, Parsed& out)
{
    // dpkg trims leading/trailing spaces, then refuses embedded ones
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
        text.remove_prefix(1);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
        text.remove_suffix(1);
    if (text.empty())
        return "version string is empty";
    for (char c : text)
        if (std::isspace(static_cast<unsigned char>(c)))
            return "version string has embedded spaces";

    auto colon = text.find(':');
    if (colon != std::string_view::npos) {
        // like dpkg: strtol() semantics (optional sign, digits, must end at the colon)
        auto e = text.substr(0, colon);
        size_t k = 0;
        bool negative = false;
        if (k < e.size() && (e[k] == '+' || e[k] == '-'))
            negative = e[k++] == '-';
        size_t digits_start = k;
        unsigned long epoch = 0;
        bool too_big = false;
        while (k < e.size() && is_digit(e[k])) {
            epoch = epoch * 10 + unsigned(e[k++] - '0');
            if (epoch > 2147483647UL)
                too_big = true, epoch = 2147483648UL;
        }
        if (k == digits_start)
            return "epoch in version is empty";
        if (k != e.size())
            return "epoch in version is not number";
        if (negative && epoch != 0)
            return "epoch in version is negative";
        if (too_big)
            return "epoch in version is too big";
        out.epoch = epoch;
        text.remove_prefix(colon + 1);
        if (text.empty())
            return "nothing after colon in version number";
    }
    auto hyphen = text.rfind('-');
    if (hyphen != std::string_view::npos) {
        out.revision = std::string(text.substr(hyphen + 1));
        out.has_revision = true;
        if (out.revision.empty())
            return "revision number is empty";
        text = text.substr(0, hyphen);
    }
    out.upstream = std::string(text);
    if (out.upstream.empty())
        return "version number is empty";
    if (!is_digit(out.upstream.front()))
        return "version number does not start with digit";
    for (char c : out.upstream)
        if (!is_digit(c) && !is_alpha(c) && !std::strchr(".-+~:", c))
            return "invalid character in version number";
    for (char c : out.revision)
        if (!is_digit(c) && !is_alpha(c) && !std::strchr(".+~", c))
            return "invalid character in revision number";
    return {};
}

} // namespace

int compare_part(std::string_view a, std::string_view b)
{
    size_t i = 0, j = 0;
    auto at = [](std::string_view s, size_t k) -> int { return k < s.size() ? static_cast<unsigned char>(s[k]) : 0; };
    while (i < a.size() || j < b.size()) {
        int first_diff = 0;
        while ((i < a.size() && !is_digit(a[i])) || (j < b.size() && !is_digit(b[j]))) {
            int ac = order(at(a, i));
            int bc = order(at(b, j));
            if (ac != bc)
                return ac - bc;
            ++i;
            ++j;
        }
        while (i < a.size() && a[i] == '0')
            ++i;
        while (j < b.size() && b[j] == '0')
            ++j;
        while (i < a.size() && j < b.size() && is_digit(a[i]) && is_digit(b[j])) {
            if (!first_diff)
                first_diff = a[i] - b[j];
            ++i;
            ++j;
        }
        if (i < a.size() && is_digit(a[i]))
            return 1;
        if (j < b.size() && is_digit(b[j]))
            return -1;
        if (first_diff)
            return first_diff;
    }
    return 0;
}

std::optional<std::string> Version::invalid_reason(std::string_view text)
{
    Parsed p;
    std::string err = parse_into(text, p);
    if (err.empty())
        return std::nullopt;
    return err;
}

Version Version::parse(std::string_view text)
{
    Parsed p;
    std::string err = parse_into(text, p);
    if (!err.empty())
        throw fail(Exit::rejected, "invalid version '{}': {}", text, err);
    Version v;
    v.text_ = std::string(text);
    v.upstream_ = std::move(p.upstream);
    v.revision_ = std::move(p.revision);
    v.epoch_ = p.epoch;
    v.has_revision_ = p.has_revision;
    return v;
}

std::string Version::without_epoch() const
{
    auto colon = text_.find(':');
    return colon == std::string::npos ? text_ : text_.substr(colon + 1);
}

int compare(const Version& a, const Version& b)
{
    if (a.epoch_ != b.epoch_)
        return a.epoch_ < b.epoch_ ? -1 : 1;
    int r = compare_part(a.upstream_, b.upstream_);
    if (r)
        return r;
    return compare_part(a.revision_, b.revision_);
}

int compare_versions(std::string_view a, std::string_view b) { return compare(Version::parse(a), Version::parse(b)); }

} // namespace mbd
