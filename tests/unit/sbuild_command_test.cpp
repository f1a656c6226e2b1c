// The sbuild command line and config mbd-build generates: a build that installs
// nothing (build/builddeps.hpp) runs without resolver, apt-get update and extra
// sources; any other keeps them all.
#include "build/sbuild.hpp"
#include "core/error.hpp"
#include "deb822/deb822.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <unistd.h>

using namespace mbd;

namespace {

build::SbuildJob job(bool preinstalled, bool upgrade = false)
{
    build::SbuildJob j;
    j.request.id = "1-amd64";
    j.request.source = "tiny";
    j.request.version = "1.0";
    j.request.distribution = "bookworm-test-unstable";
    j.request.architecture = "amd64";
    j.request.apt_sources = {"deb file:///srv/repo bookworm-test-unstable main"};
    j.request.apt_preferences = "Package: *\nPin: release n=bookworm-test-unstable\nPin-Priority: 1\n";
    j.request.files = {{"tiny_1.0.dsc", 1, ""}};
    j.dir = "/job";
    j.tarball = "/chroots/bookworm-amd64.tar.zst";
    j.binds = {{"/srv/repo", "/srv/repo"}};
    j.upgrade = upgrade;
    j.preinstalled = preinstalled;
    return j;
}

bool has(const std::vector<std::string>& cmd, const std::string& arg)
{
    return std::find(cmd.begin(), cmd.end(), arg) != cmd.end();
}

bool has_prefix(const std::vector<std::string>& cmd, const std::string& prefix)
{
    return std::any_of(cmd.begin(), cmd.end(), [&](const std::string& a) { return a.rfind(prefix, 0) == 0; });
}

} // namespace

TEST(SbuildCommand, NothingToInstallNoResolverNoUpdateNoExtraSources)
{
    auto j = job(true);
    auto cmd = build::sbuild_command(j, "/job/sbuild.conf");
    EXPECT_TRUE(has(cmd, "--build-dep-resolver=null"));
    EXPECT_TRUE(has(cmd, "--no-apt-update"));
    EXPECT_TRUE(has(cmd, "--run-lintian"));
    EXPECT_FALSE(has_prefix(cmd, "--extra-repository"));
    auto conf = build::sbuild_config(j);
    EXPECT_EQ(conf.find("unshare_bind_mounts"), std::string::npos) << conf;
    EXPECT_EQ(conf.find("apt-preferences"), std::string::npos) << conf;
    EXPECT_NE(conf.find("sbuild installs nothing"), std::string::npos) << conf;
}

TEST(SbuildCommand, SomethingToInstallGoesThroughTheResolverWithEverySource)
{
    auto j = job(false);
    auto cmd = build::sbuild_command(j, "/job/sbuild.conf");
    EXPECT_TRUE(has(cmd, "--build-dep-resolver=apt"));
    EXPECT_FALSE(has(cmd, "--no-apt-update"));
    EXPECT_TRUE(has(cmd, "--extra-repository=deb file:///srv/repo bookworm-test-unstable main"));
    EXPECT_TRUE(has(cmd, "--no-apt-distupgrade"));
    auto conf = build::sbuild_config(j);
    EXPECT_NE(conf.find("unshare_bind_mounts"), std::string::npos) << conf;
    EXPECT_NE(conf.find("/mbd-build/apt-preferences"), std::string::npos) << conf;
    EXPECT_EQ(conf.find("sbuild installs nothing"), std::string::npos) << conf;
    // a stale chroot is upgraded in the session
    EXPECT_TRUE(has(build::sbuild_command(job(false, true), "/job/sbuild.conf"), "--apt-distupgrade"));
}

TEST(SbuildCommand, TheDistributionsResolverWhenSomethingIsInstalled)
{
    auto j = job(false);
    j.request.resolver = "aspcud";
    EXPECT_TRUE(has(build::sbuild_command(j, "/job/sbuild.conf"), "--build-dep-resolver=aspcud"));
    j.preinstalled = true; // nothing to install: no resolver at all
    auto cmd = build::sbuild_command(j, "/job/sbuild.conf");
    EXPECT_TRUE(has(cmd, "--build-dep-resolver=null"));
    EXPECT_FALSE(has(cmd, "--build-dep-resolver=aspcud"));
}

TEST(SbuildCommand, TheResolverTravelsInTheBuildRequest)
{
    auto r = job(false).request;
    r.codename = "bookworm";
    r.files = {{"tiny_1.0.dsc", 1, std::string(64, 'a')}};
    r.requester = std::string(40, 'A');
    r.lintian_mode = "errfail";
    r.resolver = "aptitude";
    EXPECT_EQ(build::Request::parse(deb822::parse_one(r.to_text())).resolver, "aptitude");
    // a request without the field (an older peer's) uses apt; an unknown resolver is rejected
    auto text = r.to_text();
    auto without = text;
    without.erase(without.find("Resolver: aptitude\n"), std::string("Resolver: aptitude\n").size());
    EXPECT_EQ(build::Request::parse(deb822::parse_one(without)).resolver, "apt");
    auto bad = text;
    bad.replace(bad.find("aptitude"), 8, "../x");
    try {
        build::Request::parse(deb822::parse_one(bad));
        ADD_FAILURE() << "an invalid resolver was accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), Exit::rejected);
    }
}

TEST(SbuildCommand, WhatTheBuildSeesOfTheHostIsReadOnly)
{
    auto j = job(false);
    j.request.autopkgtest_mode = "errfail";
    auto cmd = build::sbuild_command(j, "/job/sbuild.conf");
    // the repository goes to the testbed too; the job's own directory (apt preferences) to sbuild's session only
    EXPECT_TRUE(has(cmd, "--autopkgtest-opt=/srv/repo"));
    EXPECT_FALSE(has(cmd, "--autopkgtest-opt=/job"));
    EXPECT_NE(build::sbuild_config(j).find("mountpoint => '/mbd-build'"), std::string::npos);
    if (::geteuid() == 0) {
        // as root: sbuild runs in a mount namespace of its own where /srv/repo is mounted read-only
        auto sbuild = std::find(cmd.begin(), cmd.end(), "sbuild");
        ASSERT_NE(sbuild, cmd.end());
        EXPECT_EQ(cmd.front(), "unshare");
        EXPECT_NE(std::find(cmd.begin(), sbuild, "/srv/repo"), sbuild);
        EXPECT_TRUE(std::any_of(cmd.begin(), sbuild, [](const std::string& a) {
            return a.find("mount --bind -o ro") != std::string::npos;
        }));
    }
    // a build that installs nothing and runs no autopkgtest mounts nothing
    EXPECT_NE(build::sbuild_command(job(true), "/job/sbuild.conf").front(), "unshare");
}
