// core/fs: a file hashed and kept for parsing gives the digests the streamed hash gives,
// and the bytes only when small enough; make_new_dirs makes what is missing, says what it
// made, and refuses a file in the way.
#include "core/error.hpp"
#include "core/fs.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

using namespace mbd;

TEST(Fs, DigestKeepsTheBytesOfSmallFiles)
{
    TempDir dir;
    // empty, small, more than one read chunk (64 KiB), and past keep_max
    for (size_t size : {size_t(0), size_t(100), size_t(200000), size_t(300000)}) {
        std::string content(size, '\0');
        for (size_t i = 0; i < size; ++i)
            content[i] = char('a' + i * 7 % 26);
        auto path = dir.path() / ("f" + std::to_string(size));
        write_atomic(path, content);
        std::optional<std::string> bytes = "left from before";
        auto kept = digest_regular_file(path, 250000, bytes).value();
        auto streamed = digest_file(path);
        EXPECT_EQ(kept.size, size);
        EXPECT_EQ(kept.sha256, sha256_hex(content));
        EXPECT_EQ(kept.sha512, sha512_hex(content));
        EXPECT_EQ(kept.md5, md5_hex(content));
        EXPECT_EQ(kept.sha1, streamed.sha1);
        EXPECT_EQ(kept.sha256, streamed.sha256);
        if (size <= 250000) {
            ASSERT_TRUE(bytes.has_value());
            EXPECT_EQ(*bytes, content);
        } else {
            EXPECT_FALSE(bytes.has_value());
        }
    }
    // No regular file there: missing, a directory, a FIFO (not waited on for a writer).
    std::optional<std::string> bytes;
    EXPECT_FALSE(digest_regular_file(dir.path() / "missing", 100, bytes));
    EXPECT_FALSE(digest_regular_file(dir.path() / "missing" / "below", 100, bytes));
    EXPECT_FALSE(digest_regular_file(dir.path(), 100, bytes));
    ASSERT_EQ(::mkfifo((dir.path() / "fifo").c_str(), 0600), 0);
    EXPECT_FALSE(digest_regular_file(dir.path() / "fifo", 100, bytes));
}

TEST(Fs, MakeNewDirsSaysWhatItMade)
{
    TempDir dir;
    auto deep = dir.path() / "a" / "b" / "c";
    auto made = make_new_dirs(deep);
    ASSERT_EQ(made.size(), 3u);
    EXPECT_EQ(made[0], dir.path() / "a");
    EXPECT_EQ(made[2], deep);
    EXPECT_TRUE(std::filesystem::is_directory(deep));
    EXPECT_TRUE(make_new_dirs(deep).empty());
    EXPECT_EQ(make_new_dirs(deep / "d"), std::vector<std::filesystem::path>{deep / "d"});
    write_atomic(dir.path() / "file", "x");
    EXPECT_THROW(make_new_dirs(dir.path() / "file"), Error);
    EXPECT_THROW(make_new_dirs(dir.path() / "file" / "below"), Error);
}
