// debian/debfile: a package dpkg-deb builds with each compression it offers reads the same;
// a member whose content is not what its name says is refused, as dpkg refuses it.
#include "core/error.hpp"
#include "core/fs.hpp"
#include "debian/debfile.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

using namespace mbd;

namespace {

// DIR/NAME.deb built by dpkg-deb -Z<compression> from a tree with one file.
fs::path build_deb(const fs::path& dir, const std::string& compression)
{
    fs::path root = dir / ("root-" + compression);
    fs::create_directories(root / "DEBIAN");
    fs::create_directories(root / "usr/share/tiny");
    write_atomic(root / "DEBIAN/control", "Package: tiny\nVersion: 1.0\nArchitecture: all\n"
                                          "Maintainer: T <t@example.org>\nDescription: tiny\n tiny.\n");
    write_atomic(root / "usr/share/tiny/file", "content\n");
    fs::path deb = dir / ("tiny-" + compression + ".deb");
    std::string cmd = "dpkg-deb --root-owner-group -Z" + compression + " --build '" + root.string() + "' '" +
                      deb.string() + "' >/dev/null 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    return deb;
}

} // namespace

TEST(DebFile, EveryCompressionDpkgOffersReads)
{
    TempDir dir;
    for (std::string z : {"gzip", "xz", "zstd", "none"}) {
        auto info = debian::read_deb(build_deb(dir.path(), z));
        EXPECT_EQ(info.control.get("Package"), "tiny") << z;
        EXPECT_EQ(info.paths, std::vector<std::string>{"usr/share/tiny/file"}) << z;
    }
}

TEST(DebFile, AMemberNotCompressedAsItsNameSaysIsRefused)
{
    TempDir dir;
    fs::path deb = build_deb(dir.path(), "xz");
    // the same members, control.tar.xz renamed control.tar.gz
    std::string cmd = "cd '" + dir.path().string() + "' && ar x '" + deb.string() +
                      "' && mv control.tar.xz control.tar.gz && ar rc bad.deb debian-binary control.tar.gz data.tar.xz";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    try {
        debian::read_deb(dir.path() / "bad.deb");
        FAIL() << "a control.tar.gz holding xz data was read";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Exit::rejected);
        EXPECT_NE(std::string(e.what()).find("control.tar.gz"), std::string::npos) << e.what();
    }
}
