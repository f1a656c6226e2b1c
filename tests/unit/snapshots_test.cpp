// repo/snapshots: the retention policy (snapshot.keep) and which snapshots it keeps.
#include "core/error.hpp"
#include "repo/snapshots.hpp"

#include <gtest/gtest.h>

using namespace mbd;
using namespace mbd::repo;

namespace {

constexpr long long day = 86400;
// 2026-01-15 12:00:00 UTC, a Thursday
constexpr long long jan15 = 1768478400;

} // namespace

TEST(SnapshotKeep, ParsesEverySuiteThenOneSuite)
{
    auto p = keep_policy("daily=7 weekly=4 monthly=12 stable:daily=30 stable:monthly=0", "stable");
    EXPECT_EQ(p.daily, 30);
    EXPECT_EQ(p.weekly, 4);
    EXPECT_EQ(p.monthly, 0);
    auto q = keep_policy("stable:daily=30 daily=7", "unstable");
    EXPECT_EQ(q.daily, 7);
    EXPECT_EQ(q.weekly, 0);
    EXPECT_FALSE(keep_policy("", "stable").any());
    EXPECT_TRUE(keep_policy("testing:weekly=1", "testing").any());
    EXPECT_FALSE(keep_policy("testing:weekly=1", "stable").any());
}

TEST(SnapshotKeep, RejectsMalformedValues)
{
    for (const char* v : {"daily", "daily=x", "hourly=3", ":daily=3", "daily=-1", "stable:weekly"}) {
        try {
            keep_policy(v, "stable");
            ADD_FAILURE() << v;
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), Exit::config) << v;
        }
    }
}

TEST(SnapshotKeep, NoPolicyKeepsEverything)
{
    auto keep = kept_by({}, {jan15, jan15 - day, jan15 - 400 * day});
    EXPECT_EQ(keep, (std::vector<bool>{true, true, true}));
}

TEST(SnapshotKeep, NewestOfEachDayWeekAndMonth)
{
    // Jan 15, Jan 15 earlier, Jan 14, Jan 13, Jan 6 (the week before), Dec 10, Nov 3
    std::vector<long long> t{jan15, jan15 - 3600, jan15 - day, jan15 - 2 * day, jan15 - 9 * day, jan15 - 36 * day,
                             jan15 - 73 * day};
    EXPECT_EQ(kept_by({2, 0, 0}, t), (std::vector<bool>{true, false, true, false, false, false, false}));
    EXPECT_EQ(kept_by({0, 2, 0}, t), (std::vector<bool>{true, false, false, false, true, false, false}));
    EXPECT_EQ(kept_by({0, 0, 2}, t), (std::vector<bool>{true, false, false, false, false, true, false}));
    EXPECT_EQ(kept_by({2, 2, 2}, t), (std::vector<bool>{true, false, true, false, true, true, false}));
    EXPECT_EQ(kept_by({100, 0, 0}, t), (std::vector<bool>{true, false, true, true, true, true, true}));
}
