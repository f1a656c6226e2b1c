// core/strings: small string helpers shared by every domain.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mbd {

std::string_view trim(std::string_view s);
std::string_view trim_right(std::string_view s);
inline bool starts_with(std::string_view s, std::string_view p) { return s.starts_with(p); }
inline bool ends_with(std::string_view s, std::string_view p) { return s.ends_with(p); }

// Split on runs of spaces/tabs/newlines; no empty items.
std::vector<std::string_view> split_ws(std::string_view s);
// Split on a separator; keeps empty items; items are trimmed if trim_items.
std::vector<std::string_view> split(std::string_view s, char sep, bool trim_items = true);

// The items with sep between them.
std::string join(const std::vector<std::string>& items, std::string_view sep);
// The lines of a program's complaint as one line ("a; b"), without the program's own
// prefix ("E:") and without the lines that start with one of skip.
std::string one_line(std::string_view text, std::string_view prefix, const std::vector<std::string_view>& skip = {});

std::string lower(std::string_view s);

// Lower-case hex of bytes (digests).
std::string hex_encode(const unsigned char* bytes, size_t n);
bool iequals(std::string_view a, std::string_view b);

std::optional<long long> parse_int(std::string_view s);
std::optional<unsigned long long> parse_uint(std::string_view s);
std::optional<bool> parse_bool(std::string_view s);

// Quote for a shell command line (for messages and generated scripts).
std::string shell_quote(std::string_view s);
// A whole command line: each word shell_quote()d, joined by spaces.
std::string shell_join(const std::vector<std::string>& argv);

// What someone else sent, fit for a message: control characters as '?', at most
// max bytes (then "...").
std::string printable(std::string_view s, size_t max);

// True for UTF-8 without overlong forms, surrogates or code points past U+10FFFF.
bool valid_utf8(std::string_view s);

// "2026-11-25T14:09:55Z"
std::string iso_time(long long unix_seconds);
// RFC 2822 date as used in Release/.changes: "Wed, 25 Nov 2026 14:09:55 +0000"
std::string rfc2822_time(long long unix_seconds);
// The inverse for Release files: UTC only ("+0000", "UTC", "GMT" or "Z"); nullopt otherwise.
std::optional<long long> parse_rfc2822_time(std::string_view text);
long long now_seconds();

} // namespace mbd
