#include "core/config.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

using namespace mbd;

namespace {

Config load(std::vector<std::string> options, std::vector<std::pair<std::string, std::string>> flags = {})
{
    Config::Sources s;
    s.options = std::move(options);
    s.flags = std::move(flags);
    s.read_environment = false;
    return Config::load(s);
}

} // namespace

TEST(Config, PrecedenceFileOptionFlag)
{
    TempDir home;
    make_dirs(home.path() / "etc");
    write_atomic(home.path() / "etc/mbd.conf", "# comment\nbuild.jobs = 7\nidentity = fromfile\nemail=a@b\n");
    auto c = load({"home=" + home.path().string(), "identity=fromoption"}, {{"email", "flag@x"}});
    EXPECT_EQ(c.get("build.jobs"), "7");
    EXPECT_EQ(c.entry("build.jobs").origin, Origin::file);
    EXPECT_NE(c.entry("build.jobs").where.find("mbd.conf:2"), std::string::npos);
    EXPECT_EQ(c.get("identity"), "fromoption");
    EXPECT_EQ(c.get("email"), "flag@x");
    EXPECT_EQ(c.entry("email").origin, Origin::flag);
    EXPECT_EQ(c.get_int("build.jobs"), 7);
    EXPECT_NE(c.show().find("build.jobs"), std::string::npos);
}

TEST(Config, UnknownKeysAndBadValuesAreErrors)
{
    auto code = [](auto f) {
        try {
            f();
        } catch (const Error& e) {
            return e.code();
        }
        return Exit::ok;
    };
    EXPECT_EQ(code([] { load({"nope=1"}); }), Exit::config);
    EXPECT_EQ(code([] { load({"build.jobs=many"}); }), Exit::config);
    EXPECT_EQ(code([] { load({"home=relative/path"}); }), Exit::config);
    EXPECT_EQ(code([] { load({"no-equals-sign"}); }), Exit::usage);
    TempDir home;
    make_dirs(home.path() / "etc");
    write_atomic(home.path() / "etc/mbd.conf", "bogus = 1\n");
    EXPECT_EQ(code([&] { load({"home=" + home.path().string()}); }), Exit::config);
    write_atomic(home.path() / "etc/mbd.conf", "home = /elsewhere\n");
    EXPECT_EQ(code([&] { load({"home=" + home.path().string()}); }), Exit::config);
}

TEST(Config, EnvironmentNames)
{
    EXPECT_EQ(Config::env_name("build.jobs"), "MBD_BUILD_JOBS");
    EXPECT_EQ(Config::env_name("publish.byhash_grace"), "MBD_PUBLISH_BYHASH_GRACE");
}

TEST(Config, EmailNeedsADomain)
{
    EXPECT_FALSE(email_problem("mbd@build.example.org"));
    for (const char* bad : {"mbd@vm", "mbd", "@example.org", "mbd@host.localdomain", "a b@example.org", "mbd@.org",
                            "mbd@example."})
        EXPECT_TRUE(email_problem(bad)) << bad;
}

TEST(Config, PublishUrlIsHttpWithAHost)
{
    for (const char* good : {"http://mbd.example.org/repositories", "https://mbd.example.org:8443/r/",
                             "http://127.0.0.1:8080", "http://[::1]/repositories"})
        EXPECT_FALSE(url_problem(good)) << good;
    for (const char* bad : {"", "http://", "https://", "http:///repositories", "ftp://mbd.example.org/", "HTTP://x.org",
                            "file:///var/lib/mbd/repositories", "mbd.example.org/repositories",
                            "http://mbd.example.org/a b", "http://mbd.example.org/\"x\"", "http://mbd.example.org/'x'",
                            "http://mbd.example.org/<x>", "http://mbd.example.org/\tx", "http://mbd.example.org/x\n",
                            "http://mbd.example.org/a\\b", " http://mbd.example.org/"})
        EXPECT_TRUE(url_problem(bad)) << bad;
}

TEST(Config, StoreReplacesTheKeysLineAndKeepsTheRest)
{
    TempDir home;
    auto file = home.path() / "mbd.conf";
    store_config(file, "identity", "box");
    EXPECT_EQ(read_file(file), "identity = box\n");
    write_atomic(file, "# mine\nbuild.jobs = 3\nidentity=old\n\n# end\nidentity = older\n");
    store_config(file, "identity", "new");
    store_config(file, "email", "mbd@new.example.org");
    EXPECT_EQ(read_file(file), "# mine\nbuild.jobs = 3\nidentity = new\n\n# end\nemail = mbd@new.example.org\n");
    auto code = [&](auto f) {
        try {
            f();
        } catch (const Error& e) {
            return e.code();
        }
        return Exit::ok;
    };
    EXPECT_EQ(code([&] { store_config(file, "email", "mbd@vm"); }), Exit::config);
    EXPECT_EQ(code([&] { store_config(file, "publish.url", "ftp://mbd.example.org/"); }), Exit::config);
    EXPECT_EQ(code([&] { store_config(file, "identity", "../x"); }), Exit::config);
    EXPECT_EQ(code([&] { store_config(file, "home", "/x"); }), Exit::config);
    EXPECT_EQ(code([&] { store_config(file, "nope", "1"); }), Exit::config);
    auto c = load({"home=" + home.path().string(), "identity=ok-1"});
    EXPECT_EQ(c.get("identity"), "ok-1");
}
