#include "site/partition.hpp"

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

} // namespace mbd::site
