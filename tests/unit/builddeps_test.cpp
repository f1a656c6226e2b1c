// Which builds need sbuild to install nothing: our composition of the relations
// sbuild would install, and the verdict of the reference (dpkg-checkbuilddeps)
// against a dpkg status we write.
#include "build/builddeps.hpp"
#include "core/fs.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

using namespace mbd;

namespace {

deb822::Paragraph dsc(const std::string& extra)
{
    return deb822::parse_one("Format: 3.0 (native)\nSource: p\nVersion: 1\n" + extra, "dsc");
}

build::Request request()
{
    build::Request r;
    r.architecture = "amd64";
    r.arch_any = true;
    r.arch_all = false;
    r.lintian_mode = "errfail";
    return r;
}

std::string pkg(const std::string& name, const std::string& version, const std::string& arch,
                const std::string& extra = "")
{
    return "Package: " + name + "\nStatus: install ok installed\nVersion: " + version + "\nArchitecture: " + arch +
           "\n" + extra + "\n";
}

class Installed : public ::testing::Test {
protected:
    void SetUp() override
    {
        dir_ = std::filesystem::temp_directory_path() / ("mbd-builddeps-" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir_);
        write_atomic(dir_ / "status", pkg("build-essential", "12.9", "amd64") + pkg("fakeroot", "1.31-1.2", "amd64") +
                                          pkg("lintian", "2.116.3", "all") + pkg("debhelper", "13.11.4", "all",
                                          "Provides: debhelper-compat (= 9), debhelper-compat (= 13)\n") +
                                          pkg("libc6-dev", "2.36-9", "amd64", "Multi-Arch: same\n") +
                                          pkg("make", "4.3-4.1", "amd64", "Multi-Arch: allowed\n") +
                                          pkg("python3", "3.11.2-1", "amd64", "Multi-Arch: allowed\n"));
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    bool check(const std::string& fields, build::Request r = request())
    {
        auto d = build::build_deps(r, dsc(fields));
        EXPECT_TRUE(d.has_value()) << fields;
        why_.clear();
        return d && build::installed(*d, r, dir_, why_);
    }

    std::filesystem::path dir_;
    std::string why_;
};

} // namespace

TEST(BuildDeps, WhatSbuildWouldInstallPerBuildKind)
{
    auto fields = dsc("Build-Depends: a,\n b (>= 1)\nBuild-Depends-Arch: c\nBuild-Depends-Indep: d\n"
                      "Build-Conflicts: x\nBuild-Conflicts-Arch: y\nBuild-Conflicts-Indep: z\n");
    auto r = request();
    auto any = build::build_deps(r, fields);
    ASSERT_TRUE(any);
    EXPECT_EQ(any->depends, "build-essential, fakeroot, lintian, a, b (>= 1), c");
    EXPECT_EQ(any->conflicts, "x, y");
    r.arch_any = false;
    r.arch_all = true;
    r.lintian_mode = "disabled";
    r.add_depends = "e (>= 2)";
    auto all = build::build_deps(r, fields);
    ASSERT_TRUE(all);
    EXPECT_EQ(all->depends, "build-essential, fakeroot, a, b (>= 1), d, e (>= 2)");
    EXPECT_EQ(all->conflicts, "x, z");
    r.arch_any = true;
    EXPECT_EQ(build::build_deps(r, fields)->depends, "build-essential, fakeroot, a, b (>= 1), c, d, e (>= 2)");
}

TEST(BuildDeps, AlternativesAreLeftToSbuildsResolver)
{
    EXPECT_FALSE(build::build_deps(request(), dsc("Build-Depends: a | b\n")));
    auto r = request();
    r.add_depends = "a | b";
    EXPECT_FALSE(build::build_deps(r, dsc("")));
}

TEST_F(Installed, NothingMoreThanTheChrootHas)
{
    EXPECT_TRUE(check("")) << why_;
    EXPECT_TRUE(check("Build-Depends: debhelper-compat (= 13), make, libc6-dev (>= 2.36)\n")) << why_;
    EXPECT_TRUE(check("Build-Depends: python3:any, make:native\n")) << why_;
    // restricted to another architecture, or to a profile this build does not have
    EXPECT_TRUE(check("Build-Depends: libfoo-dev [i386], libbar-dev <pkg.p.bar>\n")) << why_;
    // only arch:all builds need Build-Depends-Indep
    EXPECT_TRUE(check("Build-Depends-Indep: libfoo-doc\n")) << why_;
}

TEST_F(Installed, AnythingMissingOrConflictingNeedsTheResolver)
{
    EXPECT_FALSE(check("Build-Depends: libfoo-dev\n"));
    EXPECT_NE(why_.find("libfoo-dev"), std::string::npos) << why_;
    EXPECT_FALSE(check("Build-Depends: debhelper-compat (= 14)\n"));
    EXPECT_FALSE(check("Build-Depends: libc6-dev (>= 2.37)\n"));
    EXPECT_FALSE(check("Build-Conflicts: make\n"));
    EXPECT_FALSE(check("Build-Depends: libfoo-dev [amd64]\n"));
    auto all = request();
    all.arch_all = true;
    EXPECT_FALSE(check("Build-Depends-Indep: libfoo-doc\n", all));
    auto profiled = request();
    profiled.deb_build_profiles = "pkg.p.bar nocheck";
    EXPECT_FALSE(check("Build-Depends: libbar-dev <pkg.p.bar>\n", profiled));
    EXPECT_TRUE(check("Build-Depends: libbar-dev <!nocheck>\n", profiled)) << why_;
    // lintian must be in the chroot when it runs
    std::filesystem::path status = dir_ / "status";
    auto text = read_file(status);
    write_atomic(status, text.substr(0, text.find("Package: lintian")) + text.substr(text.find("Package: debhelper")));
    EXPECT_FALSE(check(""));
    auto quiet = request();
    quiet.lintian_mode = "disabled";
    EXPECT_TRUE(check("", quiet)) << why_;
}
