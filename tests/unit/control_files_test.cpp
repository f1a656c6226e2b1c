#include "core/error.hpp"
#include "core/names.hpp"
#include "debian/control_files.hpp"

#include <gtest/gtest.h>

using namespace mbd;

namespace {

const std::string changes_text = R"(Format: 1.8
Date: Wed, 25 Nov 2026 14:09:55 +0000
Source: hello
Binary: hello hello-doc
Architecture: source amd64 all
Version: 1.0-1~test12+1
Distribution: bookworm-test-unstable
Urgency: medium
Maintainer: Tester <t@example.org>
Changed-By: Tester <t@example.org>
Description:
 hello - says hello
Changes:
 hello (1.0-1~test12+1) bookworm-test-unstable; urgency=medium
 .
   * Initial release.
   * MINI_BUILDD_OPTION: lintian-mode=ignore
Checksums-Sha1:
 0123456789abcdef0123456789abcdef01234567 812 hello_1.0-1~test12+1.dsc
 1123456789abcdef0123456789abcdef01234567 1500 hello_1.0.orig.tar.gz
Checksums-Sha256:
 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef 812 hello_1.0-1~test12+1.dsc
 1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef 1500 hello_1.0.orig.tar.gz
Files:
 0123456789abcdef0123456789abcdef 812 devel optional hello_1.0-1~test12+1.dsc
 1123456789abcdef0123456789abcdef 1500 devel optional hello_1.0.orig.tar.gz
)";

std::string replace(std::string s, const std::string& from, const std::string& to)
{
    auto pos = s.find(from);
    EXPECT_NE(pos, std::string::npos) << from;
    return s.replace(pos, from.size(), to);
}

std::string changes_rejection(const std::string& text)
{
    try {
        debian::Changes::parse(text, "x.changes");
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Exit::rejected);
        return e.what();
    }
    return "accepted";
}

} // namespace

TEST(Changes, Parses)
{
    auto c = debian::Changes::parse(changes_text, "x.changes");
    EXPECT_EQ(c.source, "hello");
    EXPECT_EQ(c.version.str(), "1.0-1~test12+1");
    EXPECT_EQ(c.distributions, std::vector<std::string>{"bookworm-test-unstable"});
    EXPECT_EQ(c.architectures, (std::vector<std::string>{"source", "amd64", "all"}));
    EXPECT_EQ(c.binaries, (std::vector<std::string>{"hello", "hello-doc"}));
    EXPECT_TRUE(c.has_source());
    EXPECT_TRUE(c.has_binaries());
    ASSERT_EQ(c.files.size(), 2u);
    EXPECT_EQ(c.files[0].size, 812u);
    EXPECT_EQ(c.files[0].section, "devel");
    EXPECT_EQ(c.files[1].sha256.substr(0, 4), "1123");
    EXPECT_EQ(c.dsc()->name, "hello_1.0-1~test12+1.dsc");
    EXPECT_NE(c.changes_text.find("* MINI_BUILDD_OPTION: lintian-mode=ignore\n"), std::string::npos);
    EXPECT_NE(c.changes_text.find("\n\n"), std::string::npos); // " ." is an empty line
}

TEST(Changes, Rejections)
{
    EXPECT_EQ(changes_rejection(replace(changes_text, "Source: hello\n", "")),
              "x.changes: missing mandatory field 'Source'");
    auto no256 = changes_text.substr(0, changes_text.find("Checksums-Sha256:")) +
                 changes_text.substr(changes_text.find("Files:"));
    EXPECT_EQ(changes_rejection(no256), "x.changes: missing mandatory field 'Checksums-Sha256'");
    EXPECT_EQ(changes_rejection(replace(changes_text, "1500 hello_1.0.orig.tar.gz\nFiles", "1501 hello_1.0.orig.tar.gz\nFiles")),
              "x.changes: sizes of 'hello_1.0.orig.tar.gz' in Files and Checksums-Sha256 disagree");
    EXPECT_EQ(changes_rejection(replace(changes_text, "devel optional hello_1.0.orig.tar.gz", "devel optional ../evil")),
              "x.changes: file name '../evil' contains '/'");
    EXPECT_EQ(changes_rejection(replace(changes_text, "Version: 1.0-1~test12+1", "Version: x1.0")),
              "x.changes: invalid version 'x1.0': version number does not start with digit");
    EXPECT_EQ(changes_rejection(replace(changes_text, "Source: hello", "Source: Hello_World")),
              "x.changes: invalid source package name 'Hello_World'");
    EXPECT_EQ(changes_rejection(replace(changes_text, " 1500 devel optional", " 15x0 devel optional")),
              "x.changes: malformed line in Files: '1123456789abcdef0123456789abcdef 15x0 devel optional hello_1.0.orig.tar.gz'");
    EXPECT_EQ(changes_rejection(""), "x.changes: no fields (empty document)");
}

TEST(Changes, FileNames)
{
    EXPECT_FALSE(names::problem(names::file, "hello_1.0-1~test12+1_amd64.deb"));
    EXPECT_TRUE(names::problem(names::file, ".."));
    EXPECT_TRUE(names::problem(names::file, "a/b"));
    EXPECT_TRUE(names::problem(names::file, "-rf"));
    EXPECT_TRUE(names::problem(names::file, ".hidden"));
    EXPECT_TRUE(names::problem(names::file, "new\nline"));
    EXPECT_TRUE(names::problem(names::file, "sp ace"));
    EXPECT_TRUE(names::problem(names::file, ""));
}

TEST(Dsc, ParsesClearsignedAndPlain)
{
    std::string dsc = "Format: 3.0 (native)\nSource: hello\nBinary: hello, hello-doc\nArchitecture: any all\n"
                      "Version: 1.0\nMaintainer: T <t@example.org>\nChecksums-Sha256:\n"
                      " 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef 100 hello_1.0.tar.xz\n"
                      "Files:\n 0123456789abcdef0123456789abcdef 100 hello_1.0.tar.xz\n";
    auto d = debian::Dsc::parse(dsc, "hello_1.0.dsc");
    EXPECT_EQ(d.binaries, (std::vector<std::string>{"hello", "hello-doc"}));
    EXPECT_EQ(d.files.at(0).name, "hello_1.0.tar.xz");
    std::string signed_dsc = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\n" + dsc +
                             "-----BEGIN PGP SIGNATURE-----\n\nabc\n-----END PGP SIGNATURE-----\n";
    auto d2 = debian::Dsc::parse(signed_dsc, "hello_1.0.dsc");
    EXPECT_EQ(d2.fields.to_string(), dsc);
    EXPECT_THROW(debian::Dsc::parse(signed_dsc + "Extra: unsigned\n", "x.dsc"), Error);
    EXPECT_THROW(debian::Dsc::parse("Extra: 1\n" + signed_dsc, "x.dsc"), Error);
}

TEST(Dsc, SourceFormatsAcceptedAreThoseDpkgSourceUnpacksFromTheFilesAlone)
{
    for (auto f : {"1.0", "3.0 (native)", "3.0 (quilt)"})
        EXPECT_FALSE(debian::unaccepted_source_format(f)) << f;
    for (auto f : {"3.0 (bogus)", "3.0 (git)", "3.0 (bzr)", "3.0 (custom)", "2.0", "3.0", "3.0  (quilt)", ""})
        EXPECT_TRUE(debian::unaccepted_source_format(f)) << f;
    EXPECT_EQ(*debian::unaccepted_source_format("3.0 (bogus)"),
              "source format '3.0 (bogus)' is not accepted (only 1.0, 3.0 (native) and 3.0 (quilt))");
}
