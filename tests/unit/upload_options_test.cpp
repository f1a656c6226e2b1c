#include "core/error.hpp"
#include "upload/options.hpp"

#include <gtest/gtest.h>

using namespace mbd;
using upload::Options;
using upload::QaMode;

namespace {

// As debian::Changes::changes_text gives it: " ." lines are empty, entries indented.
const char* two_entries = "hello (1.1-1~test12+1) bookworm-test-unstable; urgency=medium\n"
                          "\n"
                          "  * Fix things.\n"
                          "  * MINI_BUILDD_OPTION: lintian-mode=ignore\n"
                          "  * MINI_BUILDD_OPTION: lintian-mode[i386]=disabled\n"
                          "  * MINI_BUILDD_OPTION: auto-ports=bullseye-test-unstable,trixie-test-unstable\n"
                          "  * MINI_BUILDD_OPTION: internal-apt-priority=500\n"
                          "  * MINI_BUILDD_OPTION: deb-build-options=nocheck parallel=2\n"
                          "\n"
                          " -- T <t@example.org>  Wed, 25 Nov 2026 14:09:55 +0000\n"
                          "\n"
                          "hello (1.0-1~test12+1) bookworm-test-unstable; urgency=medium\n"
                          "\n"
                          "  * MINI_BUILDD_OPTION: piuparts-mode=errfail\n";

std::string rejection(const std::string& entry_lines)
{
    try {
        Options::parse("p (1.0) d; urgency=low\n\n" + entry_lines);
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Exit::rejected);
        return e.what();
    }
    return "accepted";
}

} // namespace

TEST(UploadOptions, OnlyTheTopEntryCounts)
{
    auto o = Options::parse(two_entries);
    EXPECT_EQ(o.lintian_mode("amd64"), QaMode::ignore);
    EXPECT_EQ(o.lintian_mode("i386"), QaMode::disabled);
    EXPECT_FALSE(o.piuparts_mode("amd64")); // from the older entry: ignored
    EXPECT_EQ(o.auto_ports(), (std::vector<std::string>{"bullseye-test-unstable", "trixie-test-unstable"}));
    EXPECT_EQ(o.internal_apt_priority("amd64"), 500);
    EXPECT_EQ(o.get("deb-build-options"), "nocheck parallel=2");
    EXPECT_EQ(o.lines().size(), 5u);
}

TEST(UploadOptions, OldFormsAreUnderstood)
{
    auto o = Options::parse("p (1.0) d; urgency=low\n\n  * MINI_BUILDD_OPTION: ignore-lintian=true\n"
                            "  * MINI_BUILDD_OPTION: run-lintian[armel]=false\n");
    EXPECT_EQ(o.lintian_mode("amd64"), QaMode::ignore);
    EXPECT_EQ(o.lintian_mode("armel"), QaMode::disabled);
}

TEST(UploadOptions, Rejections)
{
    EXPECT_EQ(rejection("  * MINI_BUILDD_OPTION: frobnicate=1\n"), "unknown upload option 'frobnicate'");
    EXPECT_EQ(rejection("  * MINI_BUILDD_OPTION: lintian-mode=ignore\n  * MINI_BUILDD_OPTION: lintian-mode=errfail\n"),
              "upload option 'lintian-mode' given twice");
    EXPECT_EQ(rejection("  * MINI_BUILDD_OPTION: lintian-mode=sometimes\n"),
              "upload option 'lintian-mode' wants disabled, ignore, errfail or warnfail, not 'sometimes'");
    EXPECT_EQ(rejection("  * MINI_BUILDD_OPTION: internal-apt-priority=high\n"),
              "upload option 'internal-apt-priority' wants an integer, not 'high'");
    EXPECT_EQ(rejection("  * MINI_BUILDD_OPTION: lintian-mode\n"),
              "upload option 'lintian-mode' is not of the form key=value");
    EXPECT_EQ(rejection("  * MINI_BUILDD_OPTION: ignore-lintian=maybe\n"),
              "upload option 'ignore-lintian' wants true or false, not 'maybe'");
    EXPECT_EQ(rejection("  * MINI_BUILDD_OPTION: lintian-mode[AMD 64]=ignore\n"),
              "upload option 'lintian-mode': invalid architecture 'AMD 64' (lowercase letters, digits and '-')");
    EXPECT_EQ(rejection("  * MINI_BUILDD_OPTION: auto-ports=a/b\n"),
              "upload option 'auto-ports': invalid distribution 'a/b' (CODENAME-ID-SUITE: lowercase letters and digits "
              "joined by '-')");
    EXPECT_EQ(rejection("  * just text mentioning MINI_BUILDD_OPTION: x=y in passing\n"), "accepted");
}
