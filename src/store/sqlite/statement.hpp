#pragma once
// The SQLite backend's own helpers: prepared statements, plain statements, transactions.
#include <sqlite3.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include "store/rows.hpp"

namespace nexus::store::sqlite {

// A prepared statement, finalised on scope exit. Binding is 1-based as in SQLite.
class Statement {
public:
    Statement(sqlite3* db, std::string_view sql) : db_(db) {
        if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr) != SQLITE_OK) {
            throw std::runtime_error(std::string("database: prepare failed: ") + sqlite3_errmsg(db));
        }
    }
    ~Statement() { sqlite3_finalize(stmt_); }
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    Statement& bind(int i, std::int64_t v) {
        sqlite3_bind_int64(stmt_, i, v);
        return *this;
    }
    Statement& bind(int i, std::string_view v) {
        // An empty view may have no data at all, and SQLite binds a null pointer as NULL, not as ''.
        sqlite3_bind_text(stmt_, i, v.data() ? v.data() : "", static_cast<int>(v.size()), SQLITE_TRANSIENT);
        return *this;
    }
    /// Steps once: true when a row is ready, false when done.
    bool step() {
        const int rc = sqlite3_step(stmt_);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        if (rc == SQLITE_CONSTRAINT) throw Conflict(sqlite3_errmsg(db_));
        throw std::runtime_error(std::string("database: ") + sqlite3_errmsg(db_));
    }
    std::int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
    sqlite3_stmt* handle() const { return stmt_; }
    std::string text(int col) const {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
        return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
    }

private:
    sqlite3* db_;
    sqlite3_stmt* stmt_ = nullptr;
};

inline void exec(sqlite3* db, const char* sql) {
    char* error = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &error) != SQLITE_OK) {
        std::string message = error ? error : "unknown error";
        sqlite3_free(error);
        throw std::runtime_error("database: " + message);
    }
}

// One write transaction, rolled back unless commit() is reached (an exception, an early return).
// Sync::kFull: synchronous=FULL, the WAL synced before the commit returns, so what an admin was
// told is written survives a power loss, not only a crash of this process; usage batches take
// NORMAL (synced at checkpoints), and at most the batches since the last checkpoint are at the
// mercy of the operating system. The connection goes back to FULL after.
class Transaction {
public:
    enum class Sync { kFull, kNormal };
    Transaction(sqlite3* db, Sync sync) : db_(db), sync_(sync) {
        if (sync_ == Sync::kNormal) exec(db_, "PRAGMA synchronous=NORMAL");
        exec(db_, "BEGIN IMMEDIATE");
    }
    ~Transaction() {
        if (!committed_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        if (sync_ == Sync::kNormal) sqlite3_exec(db_, "PRAGMA synchronous=FULL", nullptr, nullptr, nullptr);
    }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit() {
        exec(db_, "COMMIT");
        committed_ = true;
    }

private:
    sqlite3* db_;
    Sync sync_;
    bool committed_ = false;
};

}  // namespace nexus::store::sqlite
