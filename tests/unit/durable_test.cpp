// archive/durable: place_unsynced links a file into the pool only where no one else can
// change it afterwards, and copies otherwise; the target always ends with the content.
#include "archive/durable.hpp"
#include "core/fs.hpp"

#include <gtest/gtest.h>

#include <sys/stat.h>

using namespace mbd;

namespace {

ino_t inode_of(const std::filesystem::path& p)
{
    struct stat st{};
    EXPECT_EQ(::stat(p.c_str(), &st), 0);
    return st.st_ino;
}

} // namespace

TEST(Durable, PlaceLinksOnlyWhatOnlyThisUserCanChange)
{
    TempDir dir;
    auto from = dir.path() / "a.deb", to = dir.path() / "pool" / "a.deb";
    std::filesystem::create_directories(to.parent_path());
    write_atomic(from, "content");
    ::chmod(from.c_str(), 0644);
    EXPECT_TRUE(archive::place_unsynced(from, to, true));
    EXPECT_EQ(inode_of(from), inode_of(to));
    // A file left at the target (an install that did not commit) is replaced.
    std::filesystem::remove(to);
    write_atomic(to, "stale");
    EXPECT_TRUE(archive::place_unsynced(from, to, true));
    EXPECT_EQ(read_file(to), "content");
    // Not asked, group-writable, or unreadable by others: a copy of its own.
    for (auto [link, mode] : {std::pair{false, 0644}, std::pair{true, 0664}, std::pair{true, 0600}}) {
        std::filesystem::remove(to);
        ::chmod(from.c_str(), mode);
        EXPECT_FALSE(archive::place_unsynced(from, to, link)) << std::oct << mode;
        EXPECT_NE(inode_of(from), inode_of(to));
        EXPECT_EQ(read_file(to), "content");
        EXPECT_EQ(std::filesystem::status(to).permissions() & std::filesystem::perms::all,
                  std::filesystem::perms(0644));
    }
}
