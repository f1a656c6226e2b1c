// site/partition: long lists cut into pages by name, so that a change to one name
// rewrites one page. Each page is the names sharing the shortest prefix that keeps it
// within the page size ("" when all fit on one page), the way Debian's pool splits
// sources by their first letter (and lib* by four): a new name moves no other name to
// another page unless its page grows past the size and splits.
#pragma once

#include <cstddef>
#include <string>
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

} // namespace mbd::site
