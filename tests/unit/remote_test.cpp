#include "core/error.hpp"
#include "remote/status.hpp"
#include "remote/transport.hpp"

#include <gtest/gtest.h>

using namespace mbd;
using namespace mbd::remote;

TEST(RemoteUrl, SshAndFileForms)
{
    auto u = parse_url("ssh://mbd@build.example.org:2222");
    EXPECT_EQ(u.kind, Url::Kind::ssh);
    EXPECT_EQ(u.user, "mbd");
    EXPECT_EQ(u.host, "build.example.org");
    EXPECT_EQ(u.port, 2222);
    u = parse_url("ssh://host/");
    EXPECT_EQ(u.host, "host");
    EXPECT_EQ(u.user, "");
    EXPECT_EQ(u.port, 0);
    u = parse_url("ssh://[::1]:22");
    EXPECT_EQ(u.host, "::1");
    EXPECT_EQ(u.port, 22);
    u = parse_url("file:///srv/mbd//b/");
    EXPECT_EQ(u.kind, Url::Kind::file);
    EXPECT_EQ(u.path, "/srv/mbd/b/");
}

TEST(RemoteUrl, RefusesWhatCouldBecomeAnOption)
{
    for (const char* bad : {"ssh://-oProxyCommand=x", "ssh://-l@host", "ssh://user@-host", "ssh://host:0",
                            "ssh://host:x", "ssh://host/path", "ssh://us er@host", "ssh://", "ssh://[::1",
                            "file://relative", "http://host", "host"}) {
        try {
            parse_url(bad);
            ADD_FAILURE() << bad;
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), Exit::usage) << bad;
        }
    }
}

TEST(RemoteStatus, RoundTrip)
{
    StatusDocument d;
    d.protocol = protocol_version;
    d.identity = "b";
    d.version = "0.1.0";
    d.fingerprint = std::string(40, 'A');
    d.date = 1800000000;
    d.capacity = 4;
    d.running = 1;
    d.queued = 2;
    d.chroots = {{"bookworm", "amd64", "active"}, {"trixie", "arm64", "prepared"}};
    d.remotes = {{std::string(40, 'B'), Status::prepared, CheckFlag::failed_reactivate, "ssh://mbd@a:22"}};
    d.public_key = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZ\n=abcd\n-----END PGP PUBLIC KEY BLOCK-----\n";
    auto p = StatusDocument::parse(d.to_text());
    EXPECT_EQ(p.to_text(), d.to_text());
    EXPECT_EQ(p.public_key, d.public_key);
    EXPECT_EQ(p.date, d.date);
    EXPECT_TRUE(p.has_active_chroot("bookworm", "amd64"));
    EXPECT_FALSE(p.has_active_chroot("trixie", "arm64"));
    ASSERT_TRUE(p.find_peer(std::string(40, 'b')));
    EXPECT_EQ(p.find_peer(std::string(40, 'B'))->flag, CheckFlag::failed_reactivate);
    EXPECT_EQ(p.find_peer(std::string(40, 'B'))->url, "ssh://mbd@a:22");
}

TEST(RemoteStatus, MalformedDocumentsAreRejected)
{
    const std::string fpr(40, 'F');
    std::string good = "Protocol: 1\nIdentity: b\nMbd-Version: 0.1\nFingerprint: " + fpr +
                       "\nDate: 2026-11-25T14:09:55Z\n"
                       "Capacity: 1\nRunning: 0\nQueued: 0\nChroots:\nRemotes:\nPublic-Key:\n key\n";
    EXPECT_NO_THROW(StatusDocument::parse(good));
    auto with = [&](std::string from, std::string to) {
        auto s = good;
        s.replace(s.find(from), from.size(), to);
        return s;
    };
    for (const auto& bad : {with("Queued: 0", "Queued: -1"), with("Date: 2026-11-25T14:09:55Z", "Date: yesterday"),
                            with("Chroots:\n", "Chroots:\n bookworm\n"), with("Remotes:\n", "Remotes:\n F active\n"),
                            with("Remotes:\n", "Remotes:\n F on none url\n"), with("Identity: b\n", ""),
                            with("Public-Key:\n key\n", ""), with("Fingerprint: " + fpr, "Fingerprint: F"),
                            // names that could become paths
                            with("Chroots:\n", "Chroots:\n ../../x amd64 active\n"),
                            with("Chroots:\n", "Chroots:\n bookworm ../x active\n"),
                            with("Remotes:\n", "Remotes:\n ../x active none url\n")}) {
        try {
            StatusDocument::parse(bad);
            ADD_FAILURE() << bad;
        } catch (const Error& e) {
            EXPECT_EQ(e.code(), Exit::rejected) << bad;
        }
    }
}

TEST(RemoteStatus, IsoTime)
{
    EXPECT_EQ(parse_iso_time("1970-01-01T00:00:00Z"), 0);
    EXPECT_EQ(parse_iso_time("2026-11-25T14:09:55Z"), 1795615795);
    EXPECT_FALSE(parse_iso_time("2026-11-25 14:09:55"));
    EXPECT_FALSE(parse_iso_time("2026-11-25T14:09:55Zjunk"));
}
