#include "chroot/host.hpp"
#include "chroot/mmdebstrap.hpp"
#include "core/fs.hpp"

#include <gtest/gtest.h>

using namespace mbd;
using namespace mbd::chroot;

TEST(ChrootHost, ParseSubidsSkipsCommentsAndMalformedLines)
{
    auto r = parse_subids("# comment\nalice:100000:65536\n\nbroken line\n1001:165536:65536\nbob:x:1\n");
    ASSERT_EQ(r.size(), 2u);
    EXPECT_EQ(r[0].owner, "alice");
    EXPECT_EQ(r[0].start, 100000u);
    EXPECT_EQ(r[0].count, 65536u);
    EXPECT_EQ(r[1].owner, "1001");
}

TEST(ChrootHost, SubidRangeByNameOrUid)
{
    std::string both = "alice:100000:65536\n";
    EXPECT_FALSE(subid_problem("alice", 1000, both, both));
    std::string by_uid = "1000:100000:65536\n";
    EXPECT_FALSE(subid_problem("alice", 1000, by_uid, by_uid));
}

TEST(ChrootHost, MissingRangeSaysExactlyWhatToAdd)
{
    auto p = subid_problem("mbd", 998, "", "");
    ASSERT_TRUE(p);
    EXPECT_NE(p->find("'/etc/subuid' and '/etc/subgid'"), std::string::npos) << *p;
    EXPECT_NE(p->find("usermod --add-subuids 100000-165535 --add-subgids 100000-165535 mbd"), std::string::npos) << *p;
    EXPECT_NE(p->find("'mbd:100000:65536'"), std::string::npos) << *p;
}

TEST(ChrootHost, SuggestedRangeFollowsEveryExistingRange)
{
    auto p = subid_problem("mbd", 998, "alice:100000:65536\nbob:300000:65536\n", "carol:165536:65536\n");
    ASSERT_TRUE(p);
    EXPECT_NE(p->find("--add-subuids 365536-431071 --add-subgids 365536-431071"), std::string::npos) << *p;
}

TEST(ChrootHost, OnlyTheMissingFileIsNamed)
{
    auto p = subid_problem("mbd", 998, "mbd:100000:65536\n", "");
    ASSERT_TRUE(p);
    EXPECT_EQ(p->find("/etc/subuid"), std::string::npos) << *p;
    EXPECT_NE(p->find("usermod --add-subgids 165536-231071 mbd"), std::string::npos) << *p;
}

TEST(ChrootHost, TooSmallRangeIsMissing)
{
    EXPECT_TRUE(subid_problem("mbd", 998, "mbd:100000:1000\n", "mbd:100000:65536\n"));
}

TEST(ChrootHost, QemuNames)
{
    EXPECT_EQ(qemu_name("arm64"), "aarch64");
    EXPECT_EQ(qemu_name("armhf"), "arm");
    EXPECT_EQ(qemu_name("ppc64el"), "ppc64le");
    EXPECT_EQ(qemu_name("hurd-i386"), "");
}

TEST(ChrootHost, HumanSize)
{
    EXPECT_EQ(human_size(1000), "1 KiB");
    EXPECT_EQ(human_size(144076460), "137 MiB");
    EXPECT_EQ(human_size(3ULL << 30), "3.0 GiB");
}

TEST(ChrootMmdebstrap, FailureReasonPrefersOurCheckStepsThenErrors)
{
    TempDir dir;
    auto log = dir.path() / "log";
    write_atomic(log, "I: running --customize-hook in shell: sh -c 'fail() { echo \"mbd-check: $*\"; }'\n"
                      "mbd-check: 'dpkg --audit' reports: broken\n"
                      "E: setup failed: E: command failed: chroot ...\n");
    EXPECT_EQ(failure_reason(log), "'dpkg --audit' reports: broken");
    write_atomic(log, "Get:1 http://x bookworm InRelease\nReading package lists...\n"
                      "E: Failed to fetch http://x/InRelease  404\n"
                      "E: Some index files failed to download.\n"
                      "E: Third error line\n"
                      "E: command failed: chroot \"$1\" apt-get update\n"
                      "E: mmdebstrap failed to run\n");
    EXPECT_EQ(failure_reason(log),
              "E: Failed to fetch http://x/InRelease  404; E: Some index files failed to download.");
    write_atomic(log, "I: using /tmp as tempdir\ntar: This does not look like a tar archive\n"
                      "E: setup hook failed\n");
    EXPECT_EQ(failure_reason(log), "tar: This does not look like a tar archive");
    EXPECT_EQ(failure_reason(dir.path() / "none"), "no log");
}

TEST(ChrootMmdebstrap, FailureOfAFullDiskIsNoSpace)
{
    TempDir dir;
    Where where;
    where.log = dir.path() / "log";
    write_atomic(where.log, "tar: ./usr/lib/x: Cannot write: No space left on device\nE: mmdebstrap failed to run\n");
    Error e = failure("update failed", where);
    EXPECT_EQ(e.code(), Exit::no_space);
    EXPECT_STREQ(e.what(), ("update failed: tar: ./usr/lib/x: Cannot write: No space left on device (log: '" +
                            where.log.string() + "')")
                               .c_str());
    write_atomic(where.log, "E: Failed to fetch http://x/InRelease\n");
    EXPECT_EQ(failure("update failed", where).code(), Exit::external);
    EXPECT_EQ(failure("create failed", Where{}).code(), Exit::external);
}
