#include "core/error.hpp"
#include "version/version.hpp"

#include <gtest/gtest.h>

using mbd::compare_versions;
using mbd::Version;

TEST(Version, PolicyEdgeCases)
{
    // Debian Policy 5.6.12 and deb-version(7): ~ sorts before anything, even the end.
    EXPECT_LT(compare_versions("1.0~rc1", "1.0"), 0);
    EXPECT_LT(compare_versions("1.0~~", "1.0~~a"), 0);
    EXPECT_LT(compare_versions("1.0~~a", "1.0~"), 0);
    EXPECT_LT(compare_versions("1.0~", "1.0"), 0);
    EXPECT_LT(compare_versions("1.0", "1.0a"), 0);
    EXPECT_LT(compare_versions("1.0a", "1.0+"), 0); // letters before non-letters
    EXPECT_LT(compare_versions("1.0+", "1.0.1"), 0);
    EXPECT_EQ(compare_versions("1.0", "1.00"), 0);
    EXPECT_EQ(compare_versions("0:1.0", "1.0"), 0);
    EXPECT_EQ(compare_versions("1.0", "1.0-0"), 0);
    EXPECT_LT(compare_versions("1.0-1", "1.0-1.1"), 0);
    EXPECT_GT(compare_versions("1:0.1", "2.0"), 0); // epoch wins
    EXPECT_LT(compare_versions("1.0-1~test12+1", "1.0-1"), 0);
    EXPECT_GT(compare_versions("1.0-1~test12+2", "1.0-1~test12+1"), 0);
    EXPECT_GT(compare_versions("1.2-3-4", "1.2-3"), 0); // upstream may contain hyphens
    EXPECT_GT(compare_versions("10", "9"), 0);
    EXPECT_EQ(compare_versions("1:2.0-1", "01:2.0-1"), 0);
}

TEST(Version, Parts)
{
    auto v = Version::parse("2:1.2-3-4");
    EXPECT_EQ(v.epoch(), 2u);
    EXPECT_EQ(v.upstream(), "1.2-3");
    EXPECT_EQ(v.revision(), "4");
    EXPECT_FALSE(v.native());
    EXPECT_EQ(v.without_epoch(), "1.2-3-4");
    EXPECT_TRUE(Version::parse("1.0").native());
}

TEST(Version, InvalidVersionsAreRejectedWithReason)
{
    struct Case {
        const char* text;
        const char* reason;
    } cases[] = {
        {"", "version string is empty"},
        {"1.0 2", "version string has embedded spaces"},
        {":1.0", "epoch in version is empty"},
        {"a:1.0", "epoch in version is empty"},
        {"1a:1.0", "epoch in version is not number"},
        {"-1:1.0", "epoch in version is negative"},
        {"1:-1", "version number is empty"},
        {"1:", "nothing after colon in version number"},
        {"1.0-", "revision number is empty"},
        {"-1", "version number is empty"},
        {"a1.0", "version number does not start with digit"},
        {"1.0_1", "invalid character in version number"},
        {"1.0-1_1", "invalid character in revision number"},
        {"1.0-1:1", "epoch in version is not number"},
        {"99999999999:1", "epoch in version is too big"},
    };
    for (const auto& c : cases) {
        auto why = Version::invalid_reason(c.text);
        ASSERT_TRUE(why.has_value()) << c.text;
        EXPECT_EQ(*why, c.reason) << c.text;
        try {
            Version::parse(c.text);
            ADD_FAILURE() << "accepted " << c.text;
        } catch (const mbd::Error& e) {
            EXPECT_EQ(e.code(), mbd::Exit::rejected);
            EXPECT_NE(std::string(e.what()).find(c.reason), std::string::npos);
        }
    }
}
