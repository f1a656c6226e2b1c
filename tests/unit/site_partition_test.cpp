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

TEST(SitePartition, AKeptCutFindsTheOnePageANameBelongsOn)
{
    using mbd::site::page_of;
    using mbd::site::page_range;
    std::vector<std::string> names{"a", "ab", "abc", "abd", "b", "libc", "libd", "libe", "z"};
    auto cut = mbd::site::make_cut(names, partition(names, 3), 3); // a ab b l z
    ASSERT_EQ(cut.pages.size(), 5u);
    EXPECT_EQ(cut.pages[1], (mbd::site::Page{"ab", "ab", "abd", 3}));
    EXPECT_EQ(page_of(cut, "abe"), 1u);
    EXPECT_EQ(page_of(cut, "a"), 0u);
    EXPECT_EQ(page_of(cut, "aa"), std::nullopt); // "a" is the page of "a" alone: "aa" needs a page
    EXPECT_EQ(page_of(cut, "c"), std::nullopt);
    EXPECT_EQ(page_of(cut, "liba"), 3u);
    // the names a page may hold, checked against every name that sorts between them
    EXPECT_EQ(page_range(cut, 0), (std::pair<std::string, std::string>{"a", "a+"}));
    EXPECT_EQ(page_range(cut, 3), (std::pair<std::string, std::string>{"l", "l\x7f"}));
    for (std::size_t i = 0; i < cut.pages.size(); ++i)
        for (const auto& n : names) {
            auto [low, high] = page_range(cut, i);
            EXPECT_EQ(n >= low && n < high, page_of(cut, n) == i) << n << " on " << cut.pages[i].key;
        }
    auto one = mbd::site::make_cut(names, partition(names, 100), 100);
    EXPECT_EQ(page_of(one, "anything"), 0u);
    EXPECT_EQ(page_range(one, 0), (std::pair<std::string, std::string>{"", "\x7f"}));
}

TEST(SitePartition, CutsAreKeptAsTextAndAnythingMalformedIsDropped)
{
    std::vector<std::string> names{"a", "ab", "abc", "abd", "b"};
    std::map<std::string, mbd::site::Cut> cuts{{"search", mbd::site::make_cut(names, partition(names, 3), 3)},
                                               {"repository/x/d", mbd::site::make_cut(names, partition(names, 9), 9)}};
    auto text = mbd::site::format_cuts(cuts);
    EXPECT_NE(text.find("repository/x/d 9 - a b 5\n"), std::string::npos) << text;
    EXPECT_EQ(mbd::site::parse_cuts(text), cuts);
    for (std::string bad : {"search 3 ../x a b 1\n", "search 3 a a b\n", "search x a a b 1\n", "search 3 a a/b b 1\n",
                            "search 3 a a b 1\nsearch 4 b b b 1\n"})
        EXPECT_TRUE(mbd::site::parse_cuts(bad).empty()) << bad;
}
