// repo/: the look-ups the pipeline (mbd-incoming, mbd-build) relies on: distribution
// names, upload checks with their reasons, build targets and the apt sources of a build.
#include "core/config.hpp"
#include "core/error.hpp"
#include "core/fs.hpp"
#include "db/context.hpp"
#include "db/db.hpp"
#include "gpg/gpg.hpp"
#include "keys/instance.hpp"
#include "model/model.hpp"
#include "repo/apt.hpp"
#include "repo/packages.hpp"

#include <gtest/gtest.h>

using namespace mbd;
using namespace mbd::repo;

namespace {

class Pipeline : public ::testing::Test {
protected:
    TempDir home;
    std::optional<Context> ctx;

    void SetUp() override
    {
        Config::Sources s;
        s.read_environment = false;
        s.flags = {{"home", home.path().string()}};
        ctx.emplace(Config::load(s));
        keys::init_instance_key(*ctx, gpg::Algo::ed25519, 0, false);
        // a source key: any public key will do here
        auto key = keys::instance_keyring(ctx->home()).export_key(keys::require_instance_key(*ctx).info.fingerprint, true);
        write_atomic(home.path() / "key.asc", key);
        for (auto [name, codename] : {std::pair{"debian-bookworm", "bookworm"}, {"bpo", "bookworm-backports"}}) {
            SourceSpec spec;
            spec.name = name;
            spec.codename = codename;
            spec.uris = {"http://deb.example.org/debian"};
            spec.key_files = {home.path() / "key.asc"};
            add_source(*ctx, spec);
        }
        Distribution d;
        d.codename = "bookworm";
        d.base_source = "debian-bookworm";
        d.extra_sources = {{"bpo", 100}};
        d.architectures = {"amd64", "i386"};
        d.arch_all = "amd64";
        d.options.lintian_mode = "errfail";
        add_distribution(ctx->db(), d);
        Repository r;
        r.id = "test";
        r.layout = "Default";
        r.origin = "Test";
        r.dists = {{"bookworm", {}}};
        create_repository(ctx->db(), r);
        db::Transaction tx(ctx->db()); // as `repository prepare` leaves it (without publishing)
        store_repository_status(ctx->db(), "test", ModelStatus{}.after_prepare());
        tx.commit();
    }
    void TearDown() override
    {
        ctx.reset();
        for (auto dir : {home.path() / "gnupg", home.path() / "gnupg/sources/debian-bookworm", home.path() / "gnupg/sources/bpo"})
            std::system(("gpgconf --homedir '" + dir.string() + "' --kill all 2>/dev/null").c_str());
    }
};

TEST_F(Pipeline, DistributionNamesAndSuites)
{
    auto& db = ctx->db();
    auto d = find_dist(db, "bookworm-test-unstable");
    EXPECT_EQ(d.suite, "unstable");
    EXPECT_FALSE(d.is_rollback());
    EXPECT_TRUE(suite_of(db, d).uploadable);
    auto rb = find_dist(db, "bookworm-test-stable-rollback5");
    EXPECT_EQ(rb.rollback, 6);
    EXPECT_FALSE(suite_of(db, find_dist(db, "bookworm-test-stable")).uploadable);
    EXPECT_THROW(find_dist(db, "bookworm-test-stable-rollback6"), Error);
    EXPECT_THROW(find_dist(db, "unstable"), Error); // no Debian Developer repository
}

TEST_F(Pipeline, UploadChecksSayWhy)
{
    auto& db = ctx->db();
    auto unstable = find_dist(db, "bookworm-test-unstable");
    auto experimental = find_dist(db, "bookworm-test-experimental");
    EXPECT_EQ(version_rule_violation(db, unstable, "1.0-1~test12+1"), std::nullopt);
    EXPECT_EQ(version_rule_violation(db, experimental, "1.0-1~test12+0"), std::nullopt);
    EXPECT_NE(version_rule_violation(db, unstable, "1.0-1~test12+0"), std::nullopt);
    EXPECT_NE(version_rule_violation(db, unstable, "1.0-1"), std::nullopt);
    // the repository is prepared, not active: uploads wait for activation, admins do not
    auto why = upload_rejection(db, unstable, "hello", "1.0-1~test12+1");
    ASSERT_TRUE(why.has_value());
    EXPECT_NE(why->find("not active"), std::string::npos);
    EXPECT_EQ(upload_rejection(db, unstable, "hello", "1.0-1~test12+1", true), std::nullopt);
    why = upload_rejection(db, find_dist(db, "bookworm-test-testing"), "hello", "1.0-1~test12+1", true);
    ASSERT_TRUE(why.has_value());
    EXPECT_NE(why->find("not uploadable"), std::string::npos);
    why = upload_rejection(db, find_dist(db, "bookworm-test-unstable-rollback0"), "hello", "1.0-1~test12+1", true);
    ASSERT_TRUE(why.has_value());
    EXPECT_NE(why->find("rollback"), std::string::npos);
    EXPECT_EQ(version_conflict(db, unstable, "hello", "1.0-1~test12+1"), std::nullopt);
}

TEST_F(Pipeline, BuildTargetAndAptSources)
{
    auto& db = ctx->db();
    auto target = build_target(db, find_dist(db, "bookworm-test-unstable"));
    EXPECT_EQ(target.architectures, (std::vector<std::string>{"amd64", "i386"}));
    EXPECT_EQ(target.arch_all, "amd64");
    EXPECT_EQ(target.options.lintian_mode, "errfail");

    auto names = [](const std::vector<AptSource>& sources) {
        std::vector<std::string> out;
        for (const auto& s : sources)
            out.push_back(s.suite + (s.priority ? "@" + std::to_string(*s.priority) : ""));
        return out;
    };
    auto unstable = build_sources(*ctx, find_dist(db, "bookworm-test-unstable"));
    // the base source ("bookworm") is not among them: the chroot is made from it
    EXPECT_EQ(names(unstable), (std::vector<std::string>{"bookworm-backports@100", "bookworm-test-unstable@1",
                                                         "bookworm-test-testing@1", "bookworm-test-stable@1"}));
    EXPECT_FALSE(unstable[0].internal);
    EXPECT_TRUE(unstable[1].internal);
    EXPECT_NE(unstable[1].key.find("BEGIN PGP PUBLIC KEY BLOCK"), std::string::npos);
    EXPECT_EQ(unstable[1].local_path, home.path() / "repositories/test");
    EXPECT_EQ(unstable[1].uri, "file://" + (home.path() / "repositories/test").string());
    // experimental builds see every non-experimental suite; the priority can be chosen
    auto experimental = build_sources(*ctx, find_dist(db, "bookworm-test-experimental"), 500);
    EXPECT_EQ(names(experimental),
              (std::vector<std::string>{"bookworm-backports@100", "bookworm-test-experimental@500",
                                        "bookworm-test-stable@500", "bookworm-test-hotfix@500",
                                        "bookworm-test-testing@500", "bookworm-test-unstable@500"}));
}

} // namespace
