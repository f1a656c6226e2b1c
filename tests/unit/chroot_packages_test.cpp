// chroot/packages: a tarball's dpkg status, extracted once per tarball (by sha256).
#include "chroot/packages.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "core/process.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

using namespace mbd;
namespace fs = std::filesystem;

namespace {

struct Dir {
    fs::path path = fs::temp_directory_path() / ("mbd-chroot-packages-" + std::to_string(::getpid()));
    Dir() { fs::create_directories(path / "root/var/lib/dpkg"); }
    ~Dir() { fs::remove_all(path); }
};

// A zstd tarball like mmdebstrap's (members named ./...) of DIR/root.
fs::path tarball(const Dir& d)
{
    fs::path t = d.path / "chroot.tar.zst";
    run_checked({"tar", "--zstd", "-C", (d.path / "root").string(), "-cf", t.string(), "."});
    return t;
}

} // namespace

TEST(ChrootPackages, StatusExtractedOncePerTarball)
{
    Dir d;
    write_atomic(d.path / "root/var/lib/dpkg/status", "Package: a\nStatus: install ok installed\n");
    auto t = tarball(d);
    auto one = chroot::dpkg_admindir(t, "0123456789abcdef0000");
    EXPECT_EQ(one, d.path / "dpkg-0123456789abcdef");
    EXPECT_EQ(read_file(one / "status"), "Package: a\nStatus: install ok installed\n");
    // the same tarball: the copy is reused, not read again
    write_atomic(one / "status", "kept");
    EXPECT_EQ(read_file(chroot::dpkg_admindir(t, "0123456789abcdef0000") / "status"), "kept");
    // a new tarball: a new copy, the old one goes
    write_atomic(d.path / "root/var/lib/dpkg/status", "Package: b\n");
    t = tarball(d);
    auto two = chroot::dpkg_admindir(t, "fedcba98765432100000");
    EXPECT_EQ(read_file(two / "status"), "Package: b\n");
    EXPECT_FALSE(fs::exists(one));
}

TEST(ChrootPackages, NoStatusOrNoTarballIsAnError)
{
    Dir d;
    write_atomic(d.path / "root/etc-file", "x");
    fs::remove_all(d.path / "root/var");
    auto t = tarball(d);
    EXPECT_THROW(chroot::dpkg_admindir(t, "0123456789abcdef0000"), Error);
    EXPECT_THROW(chroot::dpkg_admindir(d.path / "missing.tar.zst", "0123456789abcdef0000"), Error);
    EXPECT_THROW(chroot::dpkg_admindir(t, ""), Error);
    for (const auto& e : fs::directory_iterator(d.path)) // nothing half made left behind
        EXPECT_EQ(e.path().filename().string().find("dpkg-"), std::string::npos) << e.path();
}
