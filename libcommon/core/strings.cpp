#include "core/strings.hpp"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <fmt/format.h>

namespace mbd {

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view trim(std::string_view s)
{
    while (!s.empty() && is_ws(s.front()))
        s.remove_prefix(1);
    return trim_right(s);
}

std::string_view trim_right(std::string_view s)
{
    while (!s.empty() && is_ws(s.back()))
        s.remove_suffix(1);
    return s;
}

std::vector<std::string_view> split_ws(std::string_view s)
{
    std::vector<std::string_view> out;
    size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && is_ws(s[i]))
            ++i;
        size_t j = i;
        while (j < s.size() && !is_ws(s[j]))
            ++j;
        if (j > i)
            out.push_back(s.substr(i, j - i));
        i = j;
    }
    return out;
}

std::vector<std::string_view> split(std::string_view s, char sep, bool trim_items)
{
    std::vector<std::string_view> out;
    while (true) {
        auto pos = s.find(sep);
        auto item = s.substr(0, pos);
        out.push_back(trim_items ? trim(item) : item);
        if (pos == std::string_view::npos)
            break;
        s.remove_prefix(pos + 1);
    }
    return out;
}

std::string lower(std::string_view s)
{
    std::string out(s);
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z')
            c = char(c - 'A' + 'a');
    return out;
}

bool iequals(std::string_view a, std::string_view b)
{
    if (a.size() != b.size())
        return false;
    for (size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z')
            x = char(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = char(y - 'A' + 'a');
        if (x != y)
            return false;
    }
    return true;
}

std::optional<long long> parse_int(std::string_view s)
{
    long long v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || s.empty())
        return std::nullopt;
    return v;
}

std::optional<unsigned long long> parse_uint(std::string_view s)
{
    unsigned long long v = 0;
    if (s.empty() || s.front() == '-' || s.front() == '+')
        return std::nullopt;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size())
        return std::nullopt;
    return v;
}

std::optional<bool> parse_bool(std::string_view s)
{
    auto l = lower(s);
    if (l == "1" || l == "true" || l == "yes" || l == "on")
        return true;
    if (l == "0" || l == "false" || l == "no" || l == "off")
        return false;
    return std::nullopt;
}

std::string printable(std::string_view s, size_t max)
{
    std::string out;
    for (char c : s.substr(0, max))
        out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c);
    if (s.size() > max)
        out += "...";
    return out;
}

std::string shell_quote(std::string_view s)
{
    bool plain = !s.empty();
    for (char c : s)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || std::string_view("@%_-+=:,./").find(c) != std::string_view::npos))
            plain = false;
    if (plain)
        return std::string(s);
    std::string out = "'";
    for (char c : s) {
        if (c == '\'')
            out += "'\\''";
        else
            out += c;
    }
    return out + "'";
}

std::string shell_join(const std::vector<std::string>& argv)
{
    std::string s;
    for (const auto& a : argv)
        s += (s.empty() ? "" : " ") + shell_quote(a);
    return s;
}

bool valid_utf8(std::string_view s)
{
    size_t i = 0, n = s.size();
    while (i < n) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            ++i;
            continue;
        }
        size_t len;
        unsigned cp;
        if ((c & 0xE0) == 0xC0) {
            len = 2;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + len > n)
            return false;
        for (size_t k = 1; k < len; ++k) {
            auto cc = static_cast<unsigned char>(s[i + k]);
            if ((cc & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (cc & 0x3F);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

std::string iso_time(long long t)
{
    std::time_t tt = t;
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string rfc2822_time(long long t)
{
    static const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::time_t tt = t;
    std::tm tm{};
    gmtime_r(&tt, &tm);
    return fmt::format("{}, {:02} {} {} {:02}:{:02}:{:02} +0000", days[tm.tm_wday], tm.tm_mday,
                       months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string join(const std::vector<std::string>& items, std::string_view sep)
{
    std::string out;
    for (const auto& s : items) {
        if (!out.empty())
            out += sep;
        out += s;
    }
    return out;
}

std::optional<long long> parse_rfc2822_time(std::string_view text)
{
    // strptime's %a/%b read English names in the C locale mbd runs in
    std::string t(text);
    std::tm tm{};
    const char* end = ::strptime(t.c_str(), "%a, %d %b %Y %H:%M:%S", &tm);
    if (!end)
        return std::nullopt;
    std::string_view zone = trim(end);
    if (zone != "+0000" && zone != "UTC" && zone != "GMT" && zone != "Z")
        return std::nullopt;
    return static_cast<long long>(::timegm(&tm));
}

long long now_seconds() { return static_cast<long long>(std::time(nullptr)); }

std::string hex_encode(const unsigned char* bytes, size_t n)
{
    static constexpr std::string_view digits = "0123456789abcdef";
    std::string out(n * 2, '0');
    for (size_t i = 0; i < n; ++i) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    return out;
}

std::string one_line(std::string_view text, std::string_view prefix, const std::vector<std::string_view>& skip)
{
    std::string out;
    for (auto line : split(text, '\n')) {
        std::string l(trim(line));
        if (l.starts_with(prefix))
            l = std::string(trim(std::string_view(l).substr(prefix.size())));
        if (l.empty() || std::any_of(skip.begin(), skip.end(), [&l](auto s) { return l.starts_with(s); }))
            continue;
        out += (out.empty() ? "" : out.ends_with(':') ? " " : "; ") + l;
    }
    return out;
}

} // namespace mbd
