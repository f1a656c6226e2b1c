// build/failure: the one-line reason of a failed build, from sbuild logs shaped as sbuild
// writes them (sections, the lintian subsubsection, the summary).
#include "build/failure.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace mbd::build;

namespace {

std::string section(const std::string& title)
{
    std::string bar = "+" + std::string(78, '-') + "+\n";
    return "\n" + bar + "| " + title + std::string(76 - title.size(), ' ') + " |\n" + bar + "\n";
}

std::string summary(const std::string& fields) { return section("Summary") + fields; }

} // namespace

TEST(BuildFailure, LintianErrorsNameTheirTags)
{
    std::string log = section("Build") + "dpkg-deb: building package 'x'\n" + section("Post Build") +
                      "\nlintian\n-------\n\nE: x: no-copyright-file\nE: x source: some-tag extra words\n"
                      "W: x: a-warning\nE: x: no-copyright-file\nE: Lintian run failed (runtime error)\n" +
                      summary("Fail-Stage: post-build\nLintian: error\nStatus: failed\n");
    EXPECT_EQ(failure_reason(log), "lintian: E: no-copyright-file, some-tag");
}

TEST(BuildFailure, LintianWarningsUnderWarnfail)
{
    std::string log = section("Post Build") + "\nlintian\n-------\n\nW: x: a-warning\n" +
                      summary("Fail-Stage: post-build\nLintian: fail\nStatus: failed\n");
    EXPECT_EQ(failure_reason(log), "lintian: W: a-warning");
}

TEST(BuildFailure, UnmetBuildDependencies)
{
    std::string log = section("Install package build dependencies") +
                      "Some packages could not be installed.\nThe following packages have unmet dependencies:\n"
                      " sbuild-build-depends-main-dummy : Depends: nothere but it is not installable\n"
                      "E: Unable to correct problems, you have held broken packages.\napt-get failed.\n"
                      "E: Package installation failed\n" +
                      summary("Fail-Stage: install-deps\nStatus: given-back\n");
    EXPECT_EQ(failure_reason(log), "dependency installation failed: sbuild-build-depends-main-dummy : Depends: "
                                   "nothere but it is not installable");
}

TEST(BuildFailure, UnmetBuildDependenciesOfOurOwnInstallation)
{
    // build/sbuild.hpp own_deps: apt-get satisfy in the session's setup command
    std::string log = section("Chroot Setup Commands") + "\nsh /mbd-build/install-build-deps\n" +
                      "--------------------------------\n\n" + std::string(own_deps_marker) +
                      "build-essential, fakeroot, lintian, mbdt-not-anywhere\n"
                      "Some packages could not be installed.\nThe following packages have unmet dependencies:\n"
                      " satisfy:command-line : Depends: mbdt-not-anywhere but it is not installable\n"
                      "E: Unable to correct problems, you have held broken packages.\n\n"
                      "E: Command 'sh /mbd-build/install-build-deps' failed to run.\n" +
                      summary("Fail-Stage: run-chroot-setup-commands\nStatus: failed\n");
    EXPECT_EQ(failure_reason(log), "dependency installation failed: Depends: mbdt-not-anywhere but it is not installable");
    // no line of apt's about a relation (the mirror unreachable): its errors
    log = section("Chroot Setup Commands") + std::string(own_deps_marker) + "build-essential\n"
          "E: Failed to fetch http://deb.example.org/x.deb  Could not resolve 'deb.example.org'\n" +
          summary("Fail-Stage: run-chroot-setup-commands\nStatus: failed\n");
    EXPECT_EQ(failure_reason(log), "dependency installation failed: E: Failed to fetch http://deb.example.org/x.deb  "
                                   "Could not resolve 'deb.example.org'");
    // another setup command that failed is sbuild's stage
    log = section("Chroot Setup Commands") + "cp: cannot stat '/mbd-build/apt/.'\n"
          "E: Command 'cp -r /mbd-build/apt/. /etc/apt/' failed to run.\n" +
          summary("Fail-Stage: run-chroot-setup-commands\nStatus: failed\n");
    EXPECT_EQ(failure_reason(log), "sbuild stage 'run-chroot-setup-commands' failed: Command 'cp -r /mbd-build/apt/. "
                                   "/etc/apt/' failed to run.");
}

TEST(BuildFailure, AFailedBuildShowsTheCommandsLastLines)
{
    std::string log = section("Build") + "debian/rules build\nthis build fails on purpose\n"
                      "make: *** [debian/rules:5: build] Error 1\n"
                      "dpkg-buildpackage: error: debian/rules build subprocess returned exit status 2\n"
                      "--------------------------------------------------------------------------------\n"
                      "Build finished at 2026-12-05T10:00:00Z\n\nFinished\n--------\n\n"
                      "E: Build failure (dpkg-buildpackage died)\n" +
                      summary("Fail-Stage: build\nStatus: attempted\n");
    EXPECT_EQ(failure_reason(log), "build failed: this build fails on purpose | make: *** [debian/rules:5: build] "
                                   "Error 1 | dpkg-buildpackage: error: debian/rules build subprocess returned "
                                   "exit status 2");
}

TEST(BuildFailure, OtherStagesAndNoFailure)
{
    EXPECT_EQ(failure_reason(section("Fetch source files") + "E: Could not find x.dsc\n" +
                             summary("Fail-Stage: fetch-src\nStatus: failed\n")),
              "sbuild stage 'fetch-src' failed: Could not find x.dsc");
    EXPECT_EQ(failure_reason(section("Post Build") + "autopkgtest [10:00:00]: @@@@@@ summary\n"
                                                     "command1             FAIL non-zero exit status 1\n" +
                             summary("Autopkgtest: fail\nFail-Stage: post-build\nStatus: failed\n")),
              "autopkgtest failed: command1             FAIL non-zero exit status 1");
    EXPECT_EQ(failure_reason(summary("Lintian: pass\nStatus: successful\n")), "");
    EXPECT_EQ(failure_reason("no sections at all\n"), "");
    EXPECT_EQ(failure_reason(""), "");
}

TEST(BuildFailure, LongReasonsAreCut)
{
    std::string log = section("Install package build dependencies");
    for (int i = 0; i < 20; ++i)
        log += " dummy : Depends: package-with-a-rather-long-name-" + std::to_string(i) + " but it is not installable\n";
    log += summary("Fail-Stage: install-deps\nStatus: given-back\n");
    auto reason = failure_reason(log);
    EXPECT_LE(reason.size(), 404u);
    EXPECT_EQ(reason.substr(reason.size() - 3), "…");
}

TEST(BuildFailure, LintianTagsOfAnyBuildErrorsFirst)
{
    std::string log = section("Post Build") +
                      "\nlintian\n-------\n\nI: x: an-info\nW: x: a-warning extra\nE: x source: an-error\n"
                      "W: x: a-warning again\nE: Lintian run failed (runtime error)\n" +
                      section("Summary") + "Lintian: warn\nStatus: successful\n";
    EXPECT_EQ(lintian_tags(log), (std::vector<std::string>{"E: an-error", "W: a-warning", "I: an-info"}));
    EXPECT_TRUE(lintian_tags(section("Build") + "E: not lintian: tag\n").empty());
}
