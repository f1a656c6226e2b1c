#include "site/partition.hpp"

#include "core/names.hpp"
#include "core/strings.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace mbd::site {
namespace {

// names[begin, end) all start with prefix (of length depth).
void split(const std::vector<std::string>& names, std::size_t begin, std::size_t end, const std::string& prefix,
           std::size_t size, std::vector<Part>& out)
{
    if (end - begin <= size) {
        out.push_back({prefix, begin, end});
        return;
    }
    std::size_t depth = prefix.size(), i = begin;
    if (names[i].size() == depth) // the name that is the prefix itself sorts first: a page of its own
        out.push_back({prefix, i, i + 1}), ++i;
    while (i < end) {
        char c = names[i][depth];
        std::size_t j = i + 1;
        while (j < end && names[j][depth] == c)
            ++j;
        split(names, i, j, prefix + c, size, out);
        i = j;
    }
}

} // namespace

std::vector<Part> partition(const std::vector<std::string>& names, std::size_t size)
{
    std::vector<Part> out;
    if (!names.empty())
        split(names, 0, names.size(), "", std::max<std::size_t>(size, 1), out);
    return out;
}

std::vector<std::size_t> parts_of(const std::vector<std::string>& names, const std::vector<Part>& parts,
                                  const std::string& name)
{
    auto at = std::size_t(std::lower_bound(names.begin(), names.end(), name) - names.begin());
    auto holding = [&parts](std::size_t index) {
        auto part = std::upper_bound(parts.begin(), parts.end(), index,
                                     [](std::size_t i, const Part& p) { return i < p.begin; });
        return std::size_t(part - parts.begin()) - 1;
    };
    std::vector<std::size_t> out;
    if (at > 0 && (at == names.size() || names[at] != name))
        out.push_back(holding(at - 1));
    if (at < names.size() && (out.empty() || holding(at) != out.back()))
        out.push_back(holding(at));
    return out;
}

namespace {

// Other pages' keys start with page's key: it holds the one name that is its key.
bool own_page(const Cut& cut, std::size_t page)
{
    const auto& key = cut.pages[page].key;
    return std::any_of(cut.pages.begin(), cut.pages.end(),
                       [&key](const Page& p) { return p.key.size() > key.size() && p.key.starts_with(key); });
}

// What a key may be: "" or the start of a source name.
bool key_name(std::string_view key)
{
    return key.empty() || !names::problem(names::source, key).has_value();
}

} // namespace

Cut make_cut(const std::vector<std::string>& names, const std::vector<Part>& parts, std::size_t size)
{
    Cut cut{size, {}};
    for (const auto& p : parts)
        cut.pages.push_back({p.key, names[p.begin], names[p.end - 1], p.end - p.begin});
    return cut;
}

std::optional<std::size_t> page_of(const Cut& cut, const std::string& name)
{
    for (std::size_t i = 0; i < cut.pages.size(); ++i) {
        const auto& key = cut.pages[i].key;
        if (name == key || (name.starts_with(key) && !own_page(cut, i)))
            return i;
    }
    return std::nullopt;
}

std::pair<std::string, std::string> page_range(const Cut& cut, std::size_t page)
{
    // Names are made of characters from '+' (the least) to 'z' (names::source): a page of
    // its key alone ends before the key's longer names (key + "+"), any other page before
    // the first name that does not start with its key (key + DEL).
    const auto& key = cut.pages.at(page).key;
    return {key, key + (own_page(cut, page) ? "+" : "\x7f")};
}

std::string format_cuts(const std::map<std::string, Cut>& cuts)
{
    std::string out;
    for (const auto& [list, cut] : cuts)
        for (const auto& p : cut.pages)
            out += fmt::format("{} {} {} {} {} {}\n", list, cut.size, p.key.empty() ? "-" : p.key, p.first, p.last,
                               p.count);
    return out;
}

std::map<std::string, Cut> parse_cuts(std::string_view text)
{
    std::map<std::string, Cut> out;
    for (auto line : mbd::split(text, '\n')) {
        if (line.empty())
            continue;
        auto words = split_ws(line);
        if (words.size() != 6)
            return {};
        auto size = parse_uint(words[1]);
        auto count = parse_uint(words[5]);
        std::string key(words[2] == "-" ? "" : words[2]);
        if (!size || !count || !key_name(key) || names::problem(names::source, words[3]) ||
            names::problem(names::source, words[4]))
            return {};
        auto& cut = out[std::string(words[0])];
        if (!cut.pages.empty() && cut.size != *size)
            return {};
        cut.size = *size;
        cut.pages.push_back({key, std::string(words[3]), std::string(words[4]), *count});
    }
    return out;
}

} // namespace mbd::site
