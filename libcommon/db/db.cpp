#include "db/db.hpp"

#include "core/error.hpp"
#include "core/log.hpp"
#include "db/schema.hpp"

#include <sqlite3.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

namespace mbd::db {
namespace {

// The exit code for an SQLite failure; a write that failed for lack of space (SQLITE_FULL,
// or an I/O error whose errno is ENOSPC/EDQUOT, e.g. creating the WAL index) is no-space.
Exit exit_code(sqlite3* db, int rc)
{
    int primary = rc & 0xff;
    int err = db ? sqlite3_system_errno(db) : 0;
    if (primary == SQLITE_FULL || ((primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN) &&
                                   (err == ENOSPC || err == EDQUOT)))
        return Exit::no_space;
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
        return Exit::locked;
    if (primary == SQLITE_CONSTRAINT)
        return Exit::exists;
    if (primary == SQLITE_READONLY || primary == SQLITE_PERM || primary == SQLITE_CANTOPEN)
        return Exit::environment;
    return Exit::state;
}

// SQLite's message, with the reason of an I/O error ("disk I/O error: No space left on device").
std::string message(sqlite3* db, int rc, std::string msg)
{
    int primary = rc & 0xff;
    int err = db ? sqlite3_system_errno(db) : 0;
    if ((primary == SQLITE_IOERR || primary == SQLITE_CANTOPEN) && err)
        msg += fmt::format(": {}", std::strerror(err));
    return msg;
}

[[noreturn]] void throw_sqlite(sqlite3* db, int rc, std::string_view what)
{
    throw fail(exit_code(db, rc), "state database: {}: {}", what,
               message(db, rc, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
}

} // namespace

struct StmtCache {
    static constexpr size_t limit = 256; // statements kept (SQL built at run time could grow it)
    std::map<std::string, std::vector<sqlite3_stmt*>, std::less<>> free;
    size_t size = 0;
    bool closed = false;

    sqlite3_stmt* take(std::string_view sql)
    {
        auto it = free.find(sql);
        if (it == free.end() || it->second.empty())
            return nullptr;
        sqlite3_stmt* s = it->second.back();
        it->second.pop_back();
        --size;
        return s;
    }
    bool put(sqlite3_stmt* s)
    {
        if (closed || size >= limit)
            return false;
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        free[sqlite3_sql(s)].push_back(s);
        ++size;
        return true;
    }
    void close()
    {
        for (auto& [sql, stmts] : free)
            for (auto* s : stmts)
                sqlite3_finalize(s);
        free.clear();
        size = 0;
        closed = true;
    }
};

Stmt::~Stmt()
{
    if (stmt_ && !(cache_ && cache_->put(stmt_)))
        sqlite3_finalize(stmt_);
}

Stmt& Stmt::bind(int index, std::nullptr_t)
{
    int rc = sqlite3_bind_null(stmt_, index);
    if (rc != SQLITE_OK)
        throw_sqlite(db_, rc, "bind");
    return *this;
}

Stmt& Stmt::bind(int index, long long value)
{
    int rc = sqlite3_bind_int64(stmt_, index, value);
    if (rc != SQLITE_OK)
        throw_sqlite(db_, rc, "bind");
    return *this;
}

Stmt& Stmt::bind(int index, double value)
{
    int rc = sqlite3_bind_double(stmt_, index, value);
    if (rc != SQLITE_OK)
        throw_sqlite(db_, rc, "bind");
    return *this;
}

Stmt& Stmt::bind(int index, std::string_view value)
{
    int rc = sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    if (rc != SQLITE_OK)
        throw_sqlite(db_, rc, "bind");
    return *this;
}

bool Stmt::step()
{
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW)
        return true;
    if (rc == SQLITE_DONE)
        return false;
    throw_sqlite(db_, rc, sqlite3_sql(stmt_));
}

void Stmt::run()
{
    while (step()) {
    }
}

void Stmt::reset()
{
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
}

bool Stmt::is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

long long Stmt::int64(int col) const { return sqlite3_column_int64(stmt_, col); }
double Stmt::real(int col) const { return sqlite3_column_double(stmt_, col); }

std::string Stmt::text(int col) const
{
    auto p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string(p, size_t(sqlite3_column_bytes(stmt_, col))) : std::string();
}

std::optional<std::string> Stmt::opt_text(int col) const
{
    if (is_null(col))
        return std::nullopt;
    return text(col);
}

std::optional<long long> Stmt::opt_int64(int col) const
{
    if (is_null(col))
        return std::nullopt;
    return int64(col);
}

namespace {

// SQLite keeps a statement's or a savepoint's journal (the pages it changed, as they were)
// in memory up to this size, then in a temporary file. An install in a batch is a
// savepoint that changes some 35 pages (140 KiB): past SQLite's 64 KiB default each
// of them went to that file, a write of 4 bytes and one of a page per page, 35 writes
// per upload. Savepoints are released at once, so this bounds the memory they hold.
constexpr int subjournal_in_memory = 4 << 20;

void configure_sqlite()
{
    static std::once_flag once;
    std::call_once(once, [] {
        // (before SQLite initialises itself, at the first open; refused, nothing changes)
        sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, subjournal_in_memory);
    });
}

} // namespace

Db Db::open_raw(const std::filesystem::path& path, int busy_timeout_ms)
{
    configure_sqlite();
    sqlite3* handle = nullptr;
    int rc = sqlite3_open_v2(path.c_str(), &handle,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        std::string msg = handle ? sqlite3_errmsg(handle) : sqlite3_errstr(rc);
        sqlite3_close(handle);
        throw fail(Exit::environment, "cannot open state database '{}': {}", path.string(), msg);
    }
    Db db(handle, path);
    sqlite3_busy_timeout(handle, busy_timeout_ms);
    sqlite3_extended_result_codes(handle, 1);
    // A file that is not a database shows up at the first real read. Switching a new
    // database to WAL takes a lock SQLite's busy handler does not wait for: retry.
    std::optional<std::string> mode;
    for (int waited = 0;; waited += 20) {
        try {
            mode = db.scalar_text("PRAGMA journal_mode = WAL");
            break;
        } catch (const Error& e) {
            if (e.code() != Exit::locked || waited >= busy_timeout_ms)
                throw;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
    }
    if (!mode || *mode != "wal")
        throw fail(Exit::state, "state database '{}' cannot use WAL mode", path.string());
    // FULL: a commit is on disk (the WAL fsynced) before the caller moves the files it
    // hands over; with NORMAL a power cut could keep the move and lose the commit.
    db.exec("PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;");
    log::debug("db", "opened '{}'", path.string());
    return db;
}

Db Db::open(const std::filesystem::path& path, int busy_timeout_ms)
{
    Db db = open_raw(path, busy_timeout_ms);
    migrate(db, schema());
    return db;
}

Db::Db(sqlite3* db, std::filesystem::path path)
    : db_(db), path_(std::move(path)), cache_(std::make_shared<StmtCache>())
{
}

Db::~Db()
{
    if (cache_)
        cache_->close();
    if (db_)
        sqlite3_close_v2(db_);
}

void Db::exec(std::string_view sql)
{
    std::string s(sql);
    char* err = nullptr;
    int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
        std::string msg = err ? err : sqlite3_errstr(rc);
        sqlite3_free(err);
        throw fail(exit_code(db_, rc), "state database: {}", message(db_, rc, msg));
    }
}

Stmt Db::prepare(std::string_view sql)
{
    if (sqlite3_stmt* cached = cache_->take(sql))
        return Stmt(db_, cached, cache_);
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql.data(), int(sql.size()), &stmt, nullptr);
    if (rc != SQLITE_OK)
        throw_sqlite(db_, rc, sql);
    return Stmt(db_, stmt, cache_);
}

long long Db::last_insert_id() const { return sqlite3_last_insert_rowid(db_); }
long long Db::changes() const { return sqlite3_changes64(db_); }
long long Db::total_changes() const { return sqlite3_total_changes64(db_); }
bool Db::in_transaction() const { return !sqlite3_get_autocommit(db_); }

Transaction::Transaction(Db& db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }

Transaction::~Transaction()
{
    if (!done_) {
        try {
            db_.exec("ROLLBACK");
        } catch (...) {
        }
    }
}

void Transaction::commit()
{
    db_.exec("COMMIT");
    done_ = true;
}

ReadSnapshot::ReadSnapshot(Db& db) : db_(db) { db_.exec("BEGIN DEFERRED"); }

ReadSnapshot::~ReadSnapshot()
{
    try {
        db_.exec("COMMIT"); // (ends the read; nothing was written)
    } catch (...) {
    }
}

} // namespace mbd::db
