// The sbuild command line and config mbd-build generates: a build that installs
// nothing (build/builddeps.hpp) runs without resolver, apt-get update and extra
// sources; any other keeps them all.
#include "build/sbuild.hpp"
#include "chroot/proxy.hpp"
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
    EXPECT_EQ(conf.find("/mbd-build/apt"), std::string::npos) << conf;
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
    EXPECT_NE(conf.find("['cp', '-r', '/mbd-build/apt/.', '/etc/apt/']"), std::string::npos) << conf;
    EXPECT_EQ(conf.find("sbuild installs nothing"), std::string::npos) << conf;
    // a stale chroot is upgraded in the session
    EXPECT_TRUE(has(build::sbuild_command(job(false, true), "/job/sbuild.conf"), "--apt-distupgrade"));
}

TEST(SbuildCommand, OurOwnInstallationInOneSetupCommandWithoutResolverUpdateOrExtraSources)
{
    auto j = job(false);
    j.own_deps = build::BuildDeps{"build-essential, fakeroot, lintian, bc (>= 1.0) [amd64] <!nocheck>", "jq, x'y"};
    j.request.deb_build_profiles = "nocheck nodoc";
    auto cmd = build::sbuild_command(j, "/job/sbuild.conf");
    EXPECT_TRUE(has(cmd, "--build-dep-resolver=null"));
    EXPECT_TRUE(has(cmd, "--no-apt-update"));
    EXPECT_FALSE(has_prefix(cmd, "--extra-repository")); // the apt tree has them
    EXPECT_TRUE(has(cmd, "--no-apt-distupgrade"));
    auto conf = build::sbuild_config(j);
    EXPECT_NE(conf.find("mountpoint => '/mbd-build'"), std::string::npos) << conf;
    EXPECT_NE(conf.find("mountpoint => '/srv/repo'"), std::string::npos) << conf;
    EXPECT_NE(conf.find("'chroot-setup-commands' => [ ['sh', '/mbd-build/install-build-deps'] ]"), std::string::npos)
        << conf;
    auto script = build::build_deps_script(j);
    // the apt tree first, then one update, then one satisfy of every relation, quoted for sh
    auto cp = script.find("cp -r /mbd-build/apt/. /etc/apt/\n");
    auto update = script.find("apt-get -q -o Acquire::Languages=none update\n");
    auto satisfy = script.find("apt-get -q -y --no-install-recommends -o Acquire::Languages=none -o "
                               "APT::Build-Profiles=nocheck,nodoc satisfy 'build-essential, fakeroot, lintian, bc "
                               "(>= 1.0) [amd64] <!nocheck>' 'Conflicts: jq, x'\\''y'\n");
    ASSERT_NE(cp, std::string::npos) << script;
    ASSERT_NE(update, std::string::npos) << script;
    ASSERT_NE(satisfy, std::string::npos) << script;
    EXPECT_LT(cp, update);
    EXPECT_LT(update, satisfy);
    EXPECT_NE(script.find("set -e\n"), std::string::npos);
    EXPECT_NE(script.find("export DEBIAN_FRONTEND=noninteractive\n"), std::string::npos);
    EXPECT_NE(script.find("echo 'mbd: build dependencies: build-essential"), std::string::npos) << script;
    EXPECT_EQ(build::build_deps_script(job(false)), "");
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

TEST(SbuildCommand, TheAptProxyReachesTheSessionOnlyWhenItInstallsSomething)
{
    auto j = job(false);
    j.request.apt_preferences.clear();
    j.apt_proxy = "http://127.0.0.1:3142/";
    auto conf = build::sbuild_config(j);
    // the job directory is mounted for the proxy's apt.conf, copied in before apt-get update
    EXPECT_NE(conf.find("mountpoint => '/mbd-build'"), std::string::npos) << conf;
    EXPECT_NE(conf.find("['cp', '-r', '/mbd-build/apt/.', '/etc/apt/']"), std::string::npos) << conf;
    j.request.autopkgtest_mode = "errfail"; // autopkgtest's testbed installs through it too
    EXPECT_TRUE(has(build::sbuild_command(j, "/job/sbuild.conf"),
                    "--autopkgtest-opt=--copy=/job/apt/apt.conf.d/90mbd-proxy:/etc/apt/apt.conf.d/90mbd-proxy"));
    j.preinstalled = true; // nothing to fetch: no proxy, no mount
    conf = build::sbuild_config(j);
    EXPECT_EQ(conf.find("/mbd-build/apt"), std::string::npos) << conf;
    EXPECT_EQ(conf.find("/mbd-build"), std::string::npos) << conf;
}

TEST(SbuildCommand, ParallelFromTheConfigUnlessTheUploadSetsIt)
{
    auto j = job(false);
    j.parallel = 2;
    EXPECT_NE(build::sbuild_config(j).find("'DEB_BUILD_OPTIONS' => 'parallel=2'"), std::string::npos);
    j.request.deb_build_options = "nocheck parallel=1";
    auto conf = build::sbuild_config(j);
    EXPECT_NE(conf.find("'DEB_BUILD_OPTIONS' => 'nocheck parallel=1'"), std::string::npos) << conf;
    j.request.deb_build_options.clear();
    j.parallel = 0;
    EXPECT_EQ(build::sbuild_config(j).find("DEB_BUILD_OPTIONS"), std::string::npos);
}

TEST(AptProxy, OnlyAnHttpUrlOfAHostAndPort)
{
    for (std::string ok : {"", "http://127.0.0.1:3142/", "http://cache.example.org:3142", "http://[::1]:3142/",
                           "http://proxy"})
        EXPECT_NO_THROW(chroot::require_proxy_url(ok)) << ok;
    for (std::string bad : {"https://127.0.0.1:3142/", "ftp://h/", "http://", "http://h;rm -rf /",
                            "http://h:3142/path", "http://h\"; Acquire::x \"y", "http://h:123456", "127.0.0.1:3142"}) {
        try {
            chroot::require_proxy_url(bad);
            ADD_FAILURE() << "accepted " << bad;
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), Exit::config) << bad;
        }
    }
    auto conf = chroot::apt_proxy_conf("http://127.0.0.1:3142/");
    EXPECT_NE(conf.find("Acquire::http::Proxy \"http://127.0.0.1:3142/\";"), std::string::npos) << conf;
    EXPECT_NE(conf.find("Acquire::http::Proxy::localhost \"DIRECT\";"), std::string::npos) << conf;
}
