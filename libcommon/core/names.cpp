#include "core/names.hpp"

#include <algorithm>

namespace mbd::names {
namespace {

bool lower_or_digit(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// first and then rest characters, length 1..max
bool made_of(std::string_view s, size_t max, bool (*first)(char), bool (*rest)(char))
{
    return !s.empty() && s.size() <= max && first(s.front()) && std::all_of(s.begin() + 1, s.end(), rest);
}

bool word(std::string_view s) { return made_of(s, 64, lower_or_digit, lower_or_digit); }

bool dist_name(std::string_view s)
{
    // words of [a-z0-9] joined by single '-'
    return made_of(s, 200, lower_or_digit, [](char c) { return lower_or_digit(c) || c == '-'; }) &&
           s.back() != '-' && s.find("--") == std::string_view::npos;
}

bool plain(std::string_view s)
{
    return made_of(s, 100, lower_or_digit,
                   [](char c) { return lower_or_digit(c) || c == '-' || c == '.' || c == '+' || c == '_'; });
}

bool layout_name(std::string_view s)
{
    return !s.empty() && s.size() <= 64 && s.find_first_of("\n\t'\"/") == std::string_view::npos;
}

bool arch(std::string_view s) { return made_of(s, 64, lower_or_digit, [](char c) { return lower_or_digit(c) || c == '-'; }); }

bool package_name(std::string_view s)
{
    return s.size() >= 2 &&
           made_of(s, 200, lower_or_digit, [](char c) { return lower_or_digit(c) || c == '+' || c == '-' || c == '.'; });
}

bool remote_name(std::string_view s) { return arch(s); }

bool id(std::string_view s)
{
    return made_of(s, 100, lower_or_digit,
                   [](char c) { return lower_or_digit(c) || c == '.' || c == '+' || c == '~' || c == '-'; }) &&
           s.find("..") == std::string_view::npos;
}

bool snapshot_name(std::string_view s) { return s.size() <= 64 && id(s); }

bool ref(std::string_view s)
{
    if (s.size() > 17 && s[16] == '-' && std::all_of(s.begin(), s.begin() + 16, hex))
        return id(s.substr(17));
    return id(s);
}

bool fpr(std::string_view s) { return s.size() == 40 && std::all_of(s.begin(), s.end(), hex); }

std::string quoted(std::string_view s)
{
    std::string q;
    for (unsigned char c : s.substr(0, 80))
        q += (c < 0x20 || c == 0x7f) ? '?' : char(c);
    return q;
}

std::optional<std::string> file_reason(std::string_view name)
{
    if (name.empty())
        return std::string("empty file name");
    if (name.find('/') != std::string_view::npos)
        return fmt::format("file name '{}' contains '/'", quoted(name));
    if (name.find("..") != std::string_view::npos)
        return fmt::format("file name '{}' contains '..'", quoted(name));
    if (name.front() == '-' || name.front() == '.')
        return fmt::format("file name '{}' starts with '{}'", quoted(name), name.front());
    for (char c : name) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '+' ||
                  c == '~' || c == '_' || c == '-';
        if (!ok)
            return fmt::format("file name '{}' contains a character other than letters, digits and .+~_-",
                               quoted(name));
    }
    if (name == "REASON")
        return std::string("file name 'REASON' is reserved");
    return std::nullopt;
}

bool file_name(std::string_view s) { return !file_reason(s); }

constexpr std::string_view word_grammar = "lowercase letters and digits";
constexpr std::string_view plain_grammar = "lowercase letters, digits and .+-_";

} // namespace

const Kind repository{"repository id", word_grammar, word};
const Kind codename{"codename", word_grammar, word};
const Kind suite{"suite name", word_grammar, word};
const Kind distribution{"distribution", "CODENAME-ID-SUITE: lowercase letters and digits joined by '-'", dist_name};
const Kind source{"source name", plain_grammar, plain};
const Kind release{"codename", plain_grammar, plain};
const Kind component{"component", plain_grammar, plain};
const Kind layout{"layout name", "at most 64 characters, no tab, newline, quote or '/'", layout_name};
const Kind architecture{"architecture", "lowercase letters, digits and '-'", arch};
const Kind package{"package name", "lowercase letters, digits and +-., at least two", package_name};
const Kind remote{"remote name", "[a-z0-9][a-z0-9-]*, at most 64 characters", remote_name};
const Kind build_id{"build id", "lowercase letters, digits and .+~-, no '..'", id};
const Kind snapshot{"snapshot name", "lowercase letters, digits and .+~-, at most 64, no '..'", snapshot_name};
const Kind build_ref{"build id", "ID or KEY, see 'mbd-build list'", ref};
const Kind fingerprint{"fingerprint", "40 hex digits", fpr};
const Kind file{"file name", "letters, digits and .+~_-", file_name, file_reason};

std::optional<std::string> problem(const Kind& kind, std::string_view value)
{
    if (kind.valid(value))
        return std::nullopt;
    if (kind.reason)
        return kind.reason(value);
    return fmt::format("invalid {} '{}' ({})", kind.what, quoted(value), kind.grammar);
}

void check(const Kind& kind, std::string_view value, Exit code)
{
    if (auto why = problem(kind, value))
        throw Error(code, *why);
}

} // namespace mbd::names
