// chroot/source: what a chroot's apt source line says, how a chroot's source differs from
// its distribution's base source, and the keys of a keyring file.
#include "chroot/source.hpp"
#include "core/error.hpp"
#include "core/process.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

using namespace mbd;
namespace fs = std::filesystem;

namespace {

chroot::Source vendor()
{
    chroot::Source s;
    s.uris = {"http://127.0.0.1:9/", "http://archive.example.org/vendor"};
    s.mirror = "http://archive.example.org/vendor";
    s.suite = "vendorx";
    s.components = "main";
    s.keyring = "/h/var/chroot-keyrings/vendorx.gpg";
    s.keys = "0123456789ABCDEF0123456789ABCDEF01234567";
    s.base_source = "vendorx";
    return s;
}

} // namespace

TEST(ChrootSource, SourcesLineNamesTheUriThatWorkedAndTheSuite)
{
    auto s = vendor();
    EXPECT_EQ(chroot::sources_line(s, "vendorx"),
              "deb [signed-by=/etc/apt/keyrings/mbd-source.gpg] http://archive.example.org/vendor vendorx main");
    s.suite = "stable";
    EXPECT_EQ(chroot::sources_line(s, "vendorx"),
              "deb [signed-by=/etc/apt/keyrings/mbd-source.gpg] http://archive.example.org/vendor stable main");
    s.suite.clear(); // (a chroot from before suites were recorded: its codename)
    s.keyring = "/tmp/k.asc";
    EXPECT_EQ(chroot::sources_line(s, "bookworm"),
              "deb [signed-by=/etc/apt/keyrings/mbd-source.asc] http://archive.example.org/vendor bookworm main");
}

TEST(ChrootSource, DifferencesAreTheUriSetSuiteComponentsAndKeys)
{
    auto made = vendor();
    auto want = vendor();
    EXPECT_EQ(chroot::differences(made, want, "vendorx"), "");
    // the order of the URIs, a trailing slash, the URI that worked, the keyring's path and
    // the source's name are no difference
    want.uris = {"http://archive.example.org/vendor/", "http://127.0.0.1:9"};
    want.mirror = "http://127.0.0.1:9/";
    want.keyring = "/elsewhere.gpg";
    want.base_source = "renamed";
    EXPECT_EQ(chroot::differences(made, want, "vendorx"), "");
    // a suite that is the codename is the codename
    made.suite = "";
    EXPECT_EQ(chroot::differences(made, want, "vendorx"), "");

    want = vendor();
    want.uris = {"http://archive.example.org/vendor"};
    want.suite = "vendorx-updates";
    want.components = "main contrib";
    want.keys = "0123456789ABCDEF0123456789ABCDEF01234567 FEDCBA9876543210FEDCBA9876543210FEDCBA98";
    EXPECT_EQ(chroot::differences(vendor(), want, "vendorx"),
              "URIs 'http://127.0.0.1:9/ http://archive.example.org/vendor', now 'http://archive.example.org/vendor'; "
              "suite 'vendorx', now 'vendorx-updates'; components 'main', now 'main contrib'; "
              "keys 89ABCDEF01234567, now 89ABCDEF01234567 76543210FEDCBA98");
}

TEST(ChrootSource, DescribeSaysWhereItCameFrom)
{
    EXPECT_EQ(chroot::describe(vendor(), "vendorx"),
              "source 'vendorx' (http://127.0.0.1:9/ http://archive.example.org/vendor, suite vendorx)");
    chroot::Source mirror;
    mirror.uris = {"http://deb.debian.org/debian"};
    mirror.mirror = "http://deb.debian.org/debian";
    mirror.keyring = chroot::default_keyring;
    EXPECT_EQ(chroot::describe(mirror, "bookworm"),
              "mirror 'http://deb.debian.org/debian' (keyring '/usr/share/keyrings/debian-archive-keyring.gpg')");
}

TEST(ChrootSource, KeyringKeysAreThePrimaryFingerprintsSorted)
{
    fs::path home_dir = fs::temp_directory_path() / ("mbd-chroot-source-" + std::to_string(::getpid()));
    Home home{home_dir};
    fs::path fixtures = fs::path(MBD_SOURCE_DIR) / "tests/fixtures/keys";
    std::string peer = chroot::keyring_keys(home, fixtures / "peer.asc");
    std::string stranger = chroot::keyring_keys(home, fixtures / "stranger.asc");
    EXPECT_EQ(peer.size(), 40u);
    EXPECT_EQ(stranger.size(), 40u);
    // both in one armored file, and as one binary keyring: the same two keys, in order
    fs::create_directories(home_dir);
    run_checked({"sh", "-c",
                 "cat '" + (fixtures / "stranger.asc").string() + "' '" + (fixtures / "peer.asc").string() + "' > '" +
                     (home_dir / "both.asc").string() + "'"});
    std::string both = peer < stranger ? peer + " " + stranger : stranger + " " + peer;
    EXPECT_EQ(chroot::keyring_keys(home, home_dir / "both.asc"), both);
    run_checked({"sh", "-c",
                 "gpg --dearmor < '" + (home_dir / "both.asc").string() + "' > '" + (home_dir / "both.gpg").string() +
                     "'"});
    EXPECT_EQ(chroot::keyring_keys(home, home_dir / "both.gpg"), both);
    EXPECT_THROW(chroot::keyring_keys(home, home_dir / "missing.gpg"), Error);
    fs::remove_all(home_dir);
}
