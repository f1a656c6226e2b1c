// db: the state database (config.sqlite in the instance home).
//
// SQLite in WAL mode (readers never block writers or each other), a busy
// timeout, foreign keys on, synchronous=FULL (a committed transaction survives a
// power cut: what a pass does after a commit may rely on it). Every write goes
// through a Transaction, which starts with BEGIN IMMEDIATE so two writers queue
// instead of deadlocking.
// The schema is versioned per domain (see db/schema.hpp); opening migrates.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace mbd::db {

// Prepared statements a connection keeps for reuse (reset), by SQL text: preparing the
// same statement again is most of the cost of a small query.
struct StmtCache;

class Stmt {
public:
    Stmt(sqlite3* db, sqlite3_stmt* stmt, std::shared_ptr<StmtCache> cache = {})
        : db_(db), stmt_(stmt), cache_(std::move(cache))
    {
    }
    ~Stmt(); // back into the cache, or finalized
    Stmt(Stmt&& other) noexcept : db_(other.db_), stmt_(other.stmt_), cache_(std::move(other.cache_))
    {
        other.stmt_ = nullptr;
    }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;

    Stmt& bind(int index, std::nullptr_t);
    Stmt& bind(int index, long long value);
    Stmt& bind(int index, int value) { return bind(index, static_cast<long long>(value)); }
    Stmt& bind(int index, long value) { return bind(index, static_cast<long long>(value)); }
    Stmt& bind(int index, unsigned long value) { return bind(index, static_cast<long long>(value)); }
    Stmt& bind(int index, unsigned long long value) { return bind(index, static_cast<long long>(value)); }
    Stmt& bind(int index, bool value) { return bind(index, static_cast<long long>(value)); }
    Stmt& bind(int index, double value);
    Stmt& bind(int index, std::string_view value);
    Stmt& bind(int index, const std::string& value) { return bind(index, std::string_view(value)); }
    Stmt& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
    template <typename T> Stmt& bind(int index, const std::optional<T>& value)
    {
        return value ? bind(index, *value) : bind(index, nullptr);
    }

    template <typename... Args> Stmt& bind_all(Args&&... args)
    {
        int i = 0;
        (bind(++i, std::forward<Args>(args)), ...);
        return *this;
    }

    // Next row: true while there is one.
    bool step();
    // Run to completion (for statements that return no rows).
    void run();
    void reset();

    bool is_null(int col) const;
    long long int64(int col) const;
    double real(int col) const;
    std::string text(int col) const;
    std::optional<std::string> opt_text(int col) const;
    std::optional<long long> opt_int64(int col) const;

private:
    sqlite3* db_;
    sqlite3_stmt* stmt_;
    std::shared_ptr<StmtCache> cache_;
};

class Db {
public:
    // Opens (creating if needed) and migrates the database.
    static Db open(const std::filesystem::path& path, int busy_timeout_ms = 30000);
    // Opens without migrating (for tests of the migration logic).
    static Db open_raw(const std::filesystem::path& path, int busy_timeout_ms = 30000);
    ~Db();
    Db(Db&& other) noexcept : db_(other.db_), path_(std::move(other.path_)), cache_(std::move(other.cache_))
    {
        other.db_ = nullptr;
    }
    Db(const Db&) = delete;
    Db& operator=(const Db&) = delete;

    void exec(std::string_view sql); // one or more statements, no parameters
    Stmt prepare(std::string_view sql);

    // Prepare + bind: db.query("SELECT a FROM t WHERE b = ?", b) then step().
    template <typename... Args> Stmt query(std::string_view sql, Args&&... args)
    {
        Stmt s = prepare(sql);
        s.bind_all(std::forward<Args>(args)...);
        return s;
    }
    // Prepare + bind + run to completion; returns the number of changed rows.
    template <typename... Args> long long run(std::string_view sql, Args&&... args)
    {
        query(sql, std::forward<Args>(args)...).run();
        return changes();
    }
    // First column of the first row, if any.
    template <typename... Args> std::optional<long long> scalar_int(std::string_view sql, Args&&... args)
    {
        Stmt s = query(sql, std::forward<Args>(args)...);
        return s.step() ? s.opt_int64(0) : std::nullopt;
    }
    template <typename... Args> std::optional<std::string> scalar_text(std::string_view sql, Args&&... args)
    {
        Stmt s = query(sql, std::forward<Args>(args)...);
        return s.step() ? s.opt_text(0) : std::nullopt;
    }

    // First column of every row, as text (NULL as "").
    template <typename... Args> std::vector<std::string> column_text(std::string_view sql, Args&&... args)
    {
        Stmt s = query(sql, std::forward<Args>(args)...);
        std::vector<std::string> out;
        while (s.step())
            out.push_back(s.text(0));
        return out;
    }

    long long last_insert_id() const;
    long long changes() const;
    long long total_changes() const; // rows changed through this connection since it opened
    bool in_transaction() const;
    const std::filesystem::path& path() const { return path_; }
    sqlite3* handle() const { return db_; }

private:
    Db(sqlite3* db, std::filesystem::path path);
    sqlite3* db_;
    std::filesystem::path path_;
    std::shared_ptr<StmtCache> cache_;
};

// A write transaction: BEGIN IMMEDIATE ... COMMIT; rolls back unless committed.
class Transaction {
public:
    explicit Transaction(Db& db);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit();

private:
    Db& db_;
    bool done_ = false;
};

// A read transaction (BEGIN ... COMMIT; reads only): the statements in it see one
// snapshot and take the database's shared locks once, not once each. Nothing may
// write through it; one may not begin inside another transaction.
class ReadSnapshot {
public:
    explicit ReadSnapshot(Db& db);
    ~ReadSnapshot();
    ReadSnapshot(const ReadSnapshot&) = delete;
    ReadSnapshot& operator=(const ReadSnapshot&) = delete;

private:
    Db& db_;
};

} // namespace mbd::db
