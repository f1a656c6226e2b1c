// incoming/ as a queue: partial uploads wait, complete ones are claimed whole,
// rejections keep everything with a REASON.
#include "core/fs.hpp"
#include "db/context.hpp"
#include "upload/incoming.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <utime.h>

using namespace mbd;
using namespace mbd::upload;

namespace {

struct Instance {
    TempDir tmp;
    Context ctx;
    Instance() : ctx(load(tmp.path())) { ctx.home().ensure(); }
    static Config load(const fs::path& home)
    {
        Config::Sources s;
        s.read_environment = false;
        s.options = {"home=" + home.string()};
        return Config::load(s);
    }
    fs::path in(const std::string& n) const { return ctx.home().incoming() / n; }
};

std::string changes_listing(const std::string& file, const std::string& content)
{
    return "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n"
           "Format: 1.8\nDate: Wed, 25 Nov 2026 14:09:55 +0000\nSource: hello\nArchitecture: source\n"
           "Version: 1.0\nDistribution: bookworm-test-unstable\nMaintainer: T <t@example.org>\n"
           "Changes:\n hello (1.0) bookworm-test-unstable; urgency=low\nChecksums-Sha256:\n " +
           sha256_hex(content) + " " + std::to_string(content.size()) + " " + file + "\nFiles:\n " + md5_hex(content) +
           " " + std::to_string(content.size()) + " devel optional " + file +
           "\n-----BEGIN PGP SIGNATURE-----\n\nxx\n-----END PGP SIGNATURE-----\n";
}

void age(const fs::path& p, long long seconds)
{
    struct timespec times[2];
    times[0].tv_sec = times[1].tv_sec = time(nullptr) - seconds;
    times[0].tv_nsec = times[1].tv_nsec = 0;
    utimensat(AT_FDCWD, p.c_str(), times, AT_SYMLINK_NOFOLLOW);
}

} // namespace

TEST(Incoming, PartialUploadsWaitCompleteOnesAreClaimedWhole)
{
    Instance i;
    std::string dsc = "Format: 3.0 (native)\n";
    // the .changes is still being written: no signature end yet
    auto full = changes_listing("hello_1.0.dsc", dsc);
    write_atomic(i.in("hello_1.0_source.changes"), full.substr(0, full.size() / 2));
    constexpr long long settle = 60;
    auto p = scan_incoming(i.ctx.home(), time(nullptr), settle);
    ASSERT_EQ(p.size(), 1u);
    EXPECT_FALSE(p[0].complete);
    EXPECT_TRUE(p[0].settling);
    EXPECT_FALSE(p[0].malformed);
    // whole .changes, but the listed file is missing (waits for the timeout), then still short
    write_atomic(i.in("hello_1.0_source.changes"), full);
    p = scan_incoming(i.ctx.home(), time(nullptr), settle);
    EXPECT_EQ(p[0].missing, std::vector<std::string>{"hello_1.0.dsc"});
    EXPECT_FALSE(p[0].settling);
    write_atomic(i.in("hello_1.0.dsc"), dsc.substr(0, 3));
    p = scan_incoming(i.ctx.home(), time(nullptr), settle);
    EXPECT_FALSE(p[0].complete);
    EXPECT_TRUE(p[0].settling);
    write_atomic(i.in("hello_1.0.dsc"), dsc);
    p = scan_incoming(i.ctx.home(), time(nullptr), settle);
    ASSERT_TRUE(p[0].complete);

    auto c = claim(i.ctx.home(), p[0]);
    ASSERT_TRUE(c);
    EXPECT_FALSE(fs::exists(i.in("hello_1.0.dsc")));
    EXPECT_TRUE(fs::exists(c->dir / "hello_1.0.dsc"));
    EXPECT_TRUE(fs::exists(c->dir / "hello_1.0_source.changes"));
    EXPECT_FALSE(claim(i.ctx.home(), p[0])); // nothing left to claim twice
    verify_files(*c, {{"hello_1.0.dsc", dsc.size(), sha256_hex(dsc)}}, ".changes");

    auto left = leftover_claims(i.ctx.home());
    ASSERT_EQ(left.size(), 1u);
    EXPECT_EQ(left[0].changes, "hello_1.0_source.changes");
    EXPECT_EQ(left[0].files, std::vector<std::string>{"hello_1.0.dsc"});
}

TEST(Incoming, WhatStoppedChangingIsDecidedWithoutWaitingForTheTimeout)
{
    Instance i;
    constexpr long long settle = 2;
    std::string dsc = "Format: 3.0 (native)\n";
    auto full = changes_listing("hello_1.0.dsc", dsc);
    auto scan_one = [&](const std::string& changes) {
        auto p = scan_incoming(i.ctx.home(), time(nullptr), settle);
        for (auto& x : p)
            if (x.changes == changes)
                return x;
        ADD_FAILURE() << changes << " not seen";
        return Pending{};
    };
    // empty, cut inside the signature, cut before it: malformed once settled
    write_atomic(i.in("empty.changes"), "");
    write_atomic(i.in("cut.changes"), full.substr(0, full.size() - 10));
    write_atomic(i.in("body.changes"), full.substr(0, full.find("Files:")));
    for (auto n : {"empty.changes", "cut.changes", "body.changes"}) {
        EXPECT_TRUE(scan_one(n).settling) << n;
        age(i.in(n), settle + 2);
    }
    auto e = scan_one("empty.changes");
    ASSERT_TRUE(e.malformed);
    EXPECT_EQ(e.malformed->code, Exit::rejected);
    EXPECT_EQ(e.malformed->reason, "'empty.changes' is empty");
    auto c = scan_one("cut.changes");
    ASSERT_TRUE(c.malformed);
    EXPECT_EQ(c.malformed->code, Exit::bad_signature);
    EXPECT_EQ(c.malformed->reason, "'cut.changes' is cut short: its signature block does not end");
    EXPECT_EQ(c.files, std::vector<std::string>{"hello_1.0.dsc"}); // (they go with it)
    auto b = scan_one("body.changes");
    ASSERT_TRUE(b.malformed);
    EXPECT_EQ(b.malformed->code, Exit::bad_signature);
    EXPECT_EQ(b.malformed->reason, "'body.changes' is cut short: it ends before its signature");
    for (auto n : {"empty.changes", "cut.changes", "body.changes"})
        fs::remove(i.in(n));
    // a time far in the future is no write in flight: waiting for it to pass would hold the pass
    write_atomic(i.in("future.changes"), full.substr(0, full.size() - 10));
    age(i.in("future.changes"), -3600);
    EXPECT_TRUE(scan_one("future.changes").malformed);
    fs::remove(i.in("future.changes"));

    // a listed file shorter than listed: growing while it changes, then complete (of the wrong size)
    write_atomic(i.in("hello_1.0_source.changes"), full);
    write_atomic(i.in("hello_1.0.dsc"), dsc.substr(0, 3));
    auto p = scan_one("hello_1.0_source.changes");
    EXPECT_TRUE(p.settling);
    EXPECT_FALSE(p.complete);
    age(i.in("hello_1.0.dsc"), settle + 2);
    EXPECT_TRUE(scan_one("hello_1.0_source.changes").settling); // the .changes itself is new
    age(i.in("hello_1.0_source.changes"), settle + 2);
    p = scan_one("hello_1.0_source.changes");
    EXPECT_FALSE(p.settling);
    EXPECT_TRUE(p.complete);
    EXPECT_EQ(p.short_files, std::vector<std::string>{"hello_1.0.dsc"});
    // an absent one waits for the timeout, however old the rest
    fs::remove(i.in("hello_1.0.dsc"));
    p = scan_one("hello_1.0_source.changes");
    EXPECT_FALSE(p.settling);
    EXPECT_FALSE(p.complete);
    EXPECT_FALSE(p.malformed);

    // a name longer than the file system allows cannot be waited for
    std::string long_name(300, 'a');
    write_atomic(i.in("long.changes"), changes_listing(long_name, dsc));
    age(i.in("long.changes"), settle + 2);
    auto l = scan_one("long.changes");
    ASSERT_TRUE(l.malformed);
    EXPECT_NE(l.malformed->reason.find("is too long for the file system"), std::string::npos) << l.malformed->reason;
}

TEST(Incoming, VerifyFilesNamesWhatIsWrong)
{
    Instance i;
    Claim c{i.tmp.path() / "c", "x.changes", {}, {}};
    make_dirs(c.dir);
    write_atomic(c.dir / "a", "hello");
    auto why = [&](ListedFile f) {
        try {
            verify_files(c, {f}, ".changes");
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), Exit::rejected);
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    const std::string sha1_hello = "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d";
    EXPECT_EQ(why({"a", 5, sha256_hex("hello"), sha1_hello, md5_hex("hello")}), "accepted");
    EXPECT_EQ(why({"a", 6, sha256_hex("hello")}), "size differs: listed 6, found 5 ('a' in the .changes)");
    EXPECT_EQ(why({"a", 5, sha256_hex("hellO")}), "checksum mismatch: SHA256 of 'a' does not match the .changes");
    EXPECT_EQ(why({"a", 5, sha256_hex("hello"), sha1_hello, md5_hex("hellO")}),
              "checksum mismatch: MD5 of 'a' does not match the .changes");
    EXPECT_EQ(why({"a", 5, sha256_hex("hello"), std::string(40, '0'), md5_hex("hello")}),
              "checksum mismatch: SHA1 of 'a' does not match the .changes");
    EXPECT_EQ(why({"b", 5, sha256_hex("hello")}), "listed file 'b' is missing");
    fs::create_symlink("a", c.dir / "l");
    EXPECT_EQ(why({"l", 5, sha256_hex("hello")}), "listed file 'l' is a symbolic link");
}

TEST(Incoming, RejectKeepsEverythingWithAReason)
{
    Instance i;
    write_atomic(i.in("evil.changes"), "garbage");
    fs::create_symlink("/etc/passwd", i.in("link.changes"));
    auto p = scan_incoming(i.ctx.home(), time(nullptr), 2);
    ASSERT_EQ(p.size(), 2u);
    for (const auto& x : p)
        ASSERT_TRUE(x.malformed) << x.changes;
    auto c = claim(i.ctx.home(), p[0]);
    ASSERT_TRUE(c);
    auto dir = reject(i.ctx, *c, *p[0].malformed);
    EXPECT_TRUE(fs::exists(dir / p[0].changes));
    auto reason = read_file(dir / "REASON");
    EXPECT_NE(reason.find("Code: 7 rejected"), std::string::npos) << reason;
    EXPECT_FALSE(fs::exists(c->dir));

    // orphans: only old ones, never files a .changes lists
    write_atomic(i.in("stray.deb"), "x");
    write_atomic(i.in("fresh.deb"), "x");
    age(i.in("stray.deb"), 7200);
    auto o = orphans(i.ctx.home(), scan_incoming(i.ctx.home(), time(nullptr), 2), time(nullptr), 3600);
    EXPECT_EQ(o, std::vector<std::string>{"stray.deb"});
    auto d2 = reject_loose(i.ctx, o, "orphans", {Exit::rejected, "no .changes lists it"});
    EXPECT_TRUE(fs::exists(d2 / "stray.deb"));
    EXPECT_TRUE(fs::exists(i.in("fresh.deb")));
}
