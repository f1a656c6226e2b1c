// site/partition: long lists cut into pages by name, so that a change to one name
// rewrites one page. Each page is the names sharing the shortest prefix that keeps it
// within the page size ("" when all fit on one page), the way Debian's pool splits
// sources by their first letter (and lib* by four): a new name moves no other name to
// another page unless its page grows past the size and splits.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mbd::site {

struct Part {
    std::string key;           // the prefix its names share; "" for the one page of a short list
    std::size_t begin = 0;     // names[begin, end) are on it
    std::size_t end = 0;
};

// names: sorted, distinct. size: at least 1. The parts in the names' order, covering them
// all, none empty; a part holds more than size names only if they are one name.
std::vector<Part> partition(const std::vector<std::string>& names, std::size_t size);

// The part of parts (made from names) that holds name; for a name that is not there (one just
// removed), the one or two parts beside the place it would have.
std::vector<std::size_t> parts_of(const std::vector<std::string>& names, const std::vector<Part>& parts,
                                  const std::string& name);

// A cut kept between updates (HOME/var/site.cuts), so that an update counts only the pages
// its changes touch instead of reading every name: each page's key, first and last name and
// how many names it holds.
struct Page {
    std::string key, first, last;
    std::size_t count = 0;
    bool operator==(const Page&) const = default;
};
struct Cut {
    std::size_t size = 0; // the page size it was made for
    std::vector<Page> pages;
    bool operator==(const Cut&) const = default;
};

Cut make_cut(const std::vector<std::string>& names, const std::vector<Part>& parts, std::size_t size);

// The page of cut that a name (there or not, of the package name grammar) belongs on:
// the page whose key starts it, unless that page is a name's own page (its key is a prefix
// of other pages' keys: it holds that name alone). nullopt: no page may hold it (its place
// needs a new page).
std::optional<std::size_t> page_of(const Cut& cut, const std::string& name);

// The names page may hold: [low, high).
std::pair<std::string, std::string> page_range(const Cut& cut, std::size_t page);

// The cuts of lists by list name, one line per page ("LIST SIZE KEY FIRST LAST COUNT",
// "-" for the empty key). parse_cuts: anything malformed gives no cuts (they are made again).
std::string format_cuts(const std::map<std::string, Cut>& cuts);
std::map<std::string, Cut> parse_cuts(std::string_view text);

} // namespace mbd::site
