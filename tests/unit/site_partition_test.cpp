#include "site/partition.hpp"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>

using mbd::site::parts_of;
using mbd::site::partition;

namespace {

std::vector<std::string> keys(const std::vector<mbd::site::Part>& parts)
{
    std::vector<std::string> out;
    for (const auto& p : parts)
        out.push_back(p.key);
    return out;
}

// The parts cover the names in order, none empty, each within size (or one name), each
// part's names start with its key.
void check(const std::vector<std::string>& names, const std::vector<mbd::site::Part>& parts, std::size_t size)
{
    std::size_t at = 0;
    for (const auto& p : parts) {
        EXPECT_EQ(p.begin, at);
        EXPECT_LT(p.begin, p.end);
        EXPECT_TRUE(p.end - p.begin <= size || p.end - p.begin == 1);
        for (auto i = p.begin; i < p.end; ++i) {
            EXPECT_TRUE(names[i].starts_with(p.key)) << names[i] << " on " << p.key;
            EXPECT_EQ(parts_of(names, parts, names[i]), std::vector<std::size_t>{std::size_t(&p - parts.data())});
        }
        at = p.end;
    }
    EXPECT_EQ(at, names.size());
}

} // namespace

TEST(SitePartition, AShortListIsOnePage)
{
    std::vector<std::string> names{"a", "b", "c"};
    auto parts = partition(names, 3);
    EXPECT_EQ(keys(parts), std::vector<std::string>{""});
    check(names, parts, 3);
    EXPECT_TRUE(partition({}, 3).empty());
}

TEST(SitePartition, LongerListsSplitByTheShortestPrefix)
{
    std::vector<std::string> names{"a", "ab", "abc", "abd", "b", "libc", "libd", "libe", "z"};
    auto parts = partition(names, 2);
    EXPECT_EQ(keys(parts), (std::vector<std::string>{"a", "ab", "abc", "abd", "b", "libc", "libd", "libe", "z"}));
    check(names, parts, 2);
    parts = partition(names, 3);
    EXPECT_EQ(keys(parts), (std::vector<std::string>{"a", "ab", "b", "l", "z"}));
    check(names, parts, 3);
    EXPECT_EQ(parts_of(names, parts, "abd"), std::vector<std::size_t>{1});
    // a name that is not there: the parts beside its place
    EXPECT_EQ(parts_of(names, parts, "abe"), (std::vector<std::size_t>{1, 2}));
    EXPECT_EQ(parts_of(names, parts, "aa"), (std::vector<std::size_t>{0, 1}));
    EXPECT_EQ(parts_of(names, parts, "0"), std::vector<std::size_t>{0});
    EXPECT_EQ(parts_of(names, parts, "zz"), std::vector<std::size_t>{4});
}

TEST(SitePartition, ANewNameChangesOnlyItsOwnPage)
{
    std::vector<std::string> names;
    for (int i = 0; i < 25000; ++i)
        names.push_back(fmt::format("p{:06}", i * 3)); // 334 to a page of size 500
    auto before = partition(names, 500);
    check(names, before, 500);
    EXPECT_GT(before.size(), 50u);
    auto with = names;
    with.insert(std::lower_bound(with.begin(), with.end(), "p012346"), "p012346");
    auto after = partition(with, 500);
    check(with, after, 500);
    ASSERT_EQ(keys(before), keys(after));
    auto changed = parts_of(with, after, "p012346").at(0);
    for (std::size_t i = 0; i < after.size(); ++i) {
        if (i == changed)
            continue;
        // the same names as before
        EXPECT_EQ(std::vector<std::string>(names.begin() + long(before[i].begin), names.begin() + long(before[i].end)),
                  std::vector<std::string>(with.begin() + long(after[i].begin), with.begin() + long(after[i].end)));
    }
}
