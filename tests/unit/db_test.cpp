#include "core/error.hpp"
#include "core/fs.hpp"
#include "db/db.hpp"
#include "db/schema.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

using namespace mbd;

namespace {

Exit code_of(const std::function<void()>& f)
{
    try {
        f();
    } catch (const Error& e) {
        return e.code();
    }
    return Exit::ok;
}

} // namespace

TEST(Db, OpensInWalModeWithForeignKeys)
{
    TempDir dir;
    auto db = db::Db::open(dir.path() / "config.sqlite");
    EXPECT_EQ(db.scalar_text("PRAGMA journal_mode"), "wal");
    EXPECT_EQ(db.scalar_int("PRAGMA foreign_keys"), 1);
    EXPECT_EQ(db.scalar_int("SELECT version FROM schema_version WHERE domain = 'core'"), 3);
}

TEST(Db, MigratesForwardStepByStep)
{
    TempDir dir;
    auto path = dir.path() / "x.sqlite";
    std::vector<db::SchemaDomain> v1 = {{"a", {"CREATE TABLE t (x INTEGER)"}}};
    std::vector<db::SchemaDomain> v2 = {{"a", {"CREATE TABLE t (x INTEGER)", "ALTER TABLE t ADD COLUMN y TEXT"}},
                                        {"b", {"CREATE TABLE u (id INTEGER PRIMARY KEY)"}}};
    {
        auto db = db::Db::open_raw(path);
        db::migrate(db, v1);
        db.run("INSERT INTO t(x) VALUES (?)", 42);
    }
    {
        auto db = db::Db::open_raw(path);
        db::migrate(db, v2);
        EXPECT_EQ(db.scalar_int("SELECT x FROM t"), 42);
        db.run("UPDATE t SET y = ?", "kept");
        EXPECT_EQ(db.scalar_int("SELECT version FROM schema_version WHERE domain = 'a'"), 2);
        EXPECT_EQ(db.scalar_int("SELECT version FROM schema_version WHERE domain = 'b'"), 1);
        db::migrate(db, v2); // idempotent
    }
    {
        // An older mbd refuses a newer database, clearly.
        auto db = db::Db::open_raw(path);
        EXPECT_EQ(code_of([&] { db::migrate(db, v1); }), Exit::state);
        try {
            db::migrate(db, v1);
        } catch (const Error& e) {
            EXPECT_NE(std::string(e.what()).find("newer"), std::string::npos) << e.what();
        }
    }
}

TEST(Db, FailedMigrationLeavesNothingHalfDone)
{
    TempDir dir;
    auto path = dir.path() / "x.sqlite";
    std::vector<db::SchemaDomain> bad = {{"a", {"CREATE TABLE t (x INTEGER)", "THIS IS NOT SQL"}}};
    auto db = db::Db::open_raw(path);
    EXPECT_EQ(code_of([&] { db::migrate(db, bad); }), Exit::state);
    EXPECT_FALSE(db.scalar_int("SELECT 1 FROM sqlite_master WHERE name = 't'").has_value());
}

TEST(Db, TransactionsRollBackUnlessCommitted)
{
    TempDir dir;
    auto db = db::Db::open(dir.path() / "config.sqlite");
    {
        db::Transaction tx(db);
        db.run("INSERT INTO meta(key, value) VALUES ('a', '1')");
    }
    EXPECT_FALSE(db.scalar_text("SELECT value FROM meta WHERE key = 'a'").has_value());
    {
        db::Transaction tx(db);
        db.run("INSERT INTO meta(key, value) VALUES ('a', '1')");
        tx.commit();
    }
    EXPECT_EQ(db.scalar_text("SELECT value FROM meta WHERE key = 'a'"), "1");
    EXPECT_EQ(code_of([&] { db.run("INSERT INTO meta(key, value) VALUES ('a', '2')"); }), Exit::exists);
}

TEST(Db, NotADatabaseIsAStateError)
{
    TempDir dir;
    auto path = dir.path() / "config.sqlite";
    write_atomic(path, std::string(4096, 'x'));
    EXPECT_EQ(code_of([&] { db::Db::open(path); }), Exit::state);
}

// Prepared statements are reused: bindings of one use do not leak into the next, the same
// statement can be open twice at once, a half-read one holds no lock, and a statement
// outliving its connection's move or close is still finalized cleanly.
TEST(Db, ReusedStatementsStartClean)
{
    TempDir dir;
    auto db = db::Db::open(dir.path() / "config.sqlite");
    const char* insert = "INSERT INTO meta(key, value) VALUES (?, ?)";
    for (int i = 0; i < 3; ++i)
        db.run(insert, "k" + std::to_string(i), std::to_string(i));
    const char* get = "SELECT value FROM meta WHERE key = ?";
    EXPECT_EQ(db.scalar_text(get, "k1"), "1");
    EXPECT_EQ(db.scalar_text(get, "k2"), "2");
    // No binding: NULL, not the last use's value.
    EXPECT_FALSE(db.scalar_text(get).has_value());
    {
        auto outer = db.query("SELECT key FROM meta WHERE key LIKE 'k%' ORDER BY key");
        ASSERT_TRUE(outer.step());
        auto inner = db.query("SELECT key FROM meta WHERE key LIKE 'k%' ORDER BY key");
        ASSERT_TRUE(inner.step());
        ASSERT_TRUE(inner.step());
        EXPECT_EQ(inner.text(0), "k1");
        EXPECT_EQ(outer.text(0), "k0");
    }
    {
        auto half = db.query("SELECT key FROM meta ORDER BY key");
        ASSERT_TRUE(half.step());
    }
    // The half-read statement went back reset: this connection holds no read snapshot
    // open, so it sees what another writes next.
    auto other = db::Db::open(dir.path() / "config.sqlite", 100);
    {
        db::Transaction tx(other);
        other.run(insert, "k9", "9");
        tx.commit();
    }
    EXPECT_EQ(db.scalar_text(get, "k9"), "9");
    auto moved = std::move(db);
    EXPECT_EQ(moved.scalar_text(get, "k0"), "0");
    std::optional<db::Stmt> late;
    {
        auto gone = db::Db::open(dir.path() / "config.sqlite");
        late.emplace(gone.query(get, "k1"));
    }
    late.reset(); // (finalized after its connection closed, not put back)
}

// A read snapshot sees the database as it was when it began, also after another
// connection commits, and takes no write lock: the other connection's commit goes in.
TEST(Db, ReadSnapshotSeesOneState)
{
    TempDir dir;
    auto a = db::Db::open(dir.path() / "config.sqlite");
    auto b = db::Db::open(dir.path() / "config.sqlite");
    a.run("INSERT INTO meta(key, value) VALUES ('k', 'before')");
    {
        db::ReadSnapshot snap(a);
        EXPECT_EQ(a.scalar_text("SELECT value FROM meta WHERE key = 'k'"), "before");
        b.run("UPDATE meta SET value = 'after' WHERE key = 'k'");
        EXPECT_EQ(a.scalar_text("SELECT value FROM meta WHERE key = 'k'"), "before");
        EXPECT_TRUE(a.in_transaction());
    }
    EXPECT_FALSE(a.in_transaction());
    EXPECT_EQ(a.scalar_text("SELECT value FROM meta WHERE key = 'k'"), "after");
}

// A savepoint whose journal of changed pages is larger than SQLite keeps in memory by
// default (64 KiB) rolls back whole, and one released goes in with its transaction.
TEST(Db, LargeSavepointsRollBackWhole)
{
    TempDir dir;
    auto db = db::Db::open(dir.path() / "config.sqlite");
    db::Transaction tx(db);
    std::string big(3000, 'x');
    for (int round = 0; round < 2; ++round) {
        db.exec("SAVEPOINT s");
        for (int i = 0; i < 400; ++i) // (some 1.2 MB of pages)
            db.run("INSERT INTO meta(key, value) VALUES (?, ?)", fmt::format("r{}-{}", round, i), big);
        db.exec(round == 0 ? "ROLLBACK TO s; RELEASE s" : "RELEASE s");
    }
    tx.commit();
    EXPECT_EQ(db.scalar_int("SELECT count(*) FROM meta WHERE key LIKE 'r0-%'"), 0);
    EXPECT_EQ(db.scalar_int("SELECT count(*) FROM meta WHERE key LIKE 'r1-%'"), 400);
}
