// What a build sees of the host (build/queue.hpp source_binds): for this instance's
// own requests, its own repositories named by their apt sources; for a peer's, no
// host path at all, only http and https URLs.
#include "build/queue.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"

#include <gtest/gtest.h>

using namespace mbd;

namespace {

struct Fixture {
    TempDir tmp;
    Home home{tmp.path() / "home"};
    Fixture() { make_dirs(home.repositories() / "test"), make_dirs(home.gnupg()); }

    build::Request request(std::vector<std::string> sources) const
    {
        build::Request r;
        r.id = "1-amd64";
        r.apt_sources = std::move(sources);
        return r;
    }
    std::string repo() const { return (home.repositories() / "test").string(); }
};

Exit refusal(const Fixture& f, const std::string& source, bool own)
{
    try {
        build::source_binds(f.home, f.request({source}), own);
    } catch (const Error& e) {
        return e.code();
    }
    return Exit::ok;
}

} // namespace

TEST(SourceBinds, OwnRequestSeesItsOwnRepositoriesOnly)
{
    Fixture f;
    auto binds = build::source_binds(
        f.home,
        f.request({"deb [signed-by=/etc/k.asc] http://deb.debian.org/debian bookworm main",
                   "deb file://" + f.repo() + " bookworm-test-unstable main",
                   "deb [ trusted=no ] file://" + f.repo() + "/ bookworm-test-testing main"}),
        true);
    ASSERT_EQ(binds.size(), 1u);
    EXPECT_EQ(binds[0].directory, f.home.repositories() / "test");
    EXPECT_EQ(binds[0].mountpoint, f.repo());

    for (const auto& s : {"deb file://" + f.home.root.string() + " x main",
                          "deb file://" + f.repo() + "/../../gnupg x main",
                          "deb file://" + f.home.repositories().string() + "/nothere x main",
                          "deb file://" + f.home.repositories().string() + " x main", std::string("deb file:///etc x main"),
                          "deb file:" + f.repo() + " x main", std::string("deb"), std::string("rm -rf /")})
        EXPECT_EQ(refusal(f, s, true), Exit::not_allowed) << s;
}

TEST(SourceBinds, PeerRequestSeesNothingOfTheHost)
{
    Fixture f;
    EXPECT_TRUE(build::source_binds(f.home,
                                    f.request({"deb http://b.example.org/mbd/test bookworm-test-unstable main",
                                               "deb [signed-by=/x] https://deb.debian.org/debian bookworm main"}),
                                    false)
                    .empty());
    for (const auto& s : {std::string("deb file:///var/lib/mbd bookworm main"), "deb file://" + f.repo() + " x main",
                          std::string("deb [trusted=yes] file:/var/lib/mbd x main"),
                          std::string("deb copy:///var/lib/mbd x main"), std::string("deb mirror+file:/etc/m x main"),
                          std::string("deb [arch=amd64 file:///x main")})
        EXPECT_EQ(refusal(f, s, false), Exit::not_allowed) << s;
}
