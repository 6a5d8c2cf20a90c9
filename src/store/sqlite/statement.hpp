#pragma once
// The SQLite backend's own helpers: prepared statements, plain statements, transactions.
#include <sqlite3.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

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

// The WHERE clause of a list, built filter by filter, and its values, bound in the same order.
class Filters {
public:
    using Value = std::variant<std::int64_t, std::string>;
    /// Adds `condition` (" AND " joined); it holds one '?' per value, in order.
    Filters& add(std::string_view condition, std::vector<Value> values) {
        where_.append(" AND ").append(condition);
        for (auto& v : values) values_.push_back(std::move(v));
        return *this;
    }
    const std::string& where() const { return where_; }
    /// Binds the values from index 1; returns the next free index.
    int bind(Statement& s) const {
        int i = 1;
        for (const auto& v : values_) {
            if (const auto* n = std::get_if<std::int64_t>(&v)) {
                s.bind(i++, *n);
            } else {
                s.bind(i++, std::get<std::string>(v));
            }
        }
        return i;
    }

private:
    std::string where_ = " WHERE 1=1";
    std::vector<Value> values_;
};

// One page of the rows of `table` that pass `filters`, in `order`, with the total that pass.
template <class Row, class Read>
Page<Row> select_page(sqlite3* db, std::string_view columns, std::string_view table, const Filters& filters,
                      std::string_view order, std::int64_t page, std::int64_t page_size, Read read) {
    Page<Row> out;
    std::string sql;
    sql.reserve(256);
    sql.append("SELECT count(*) FROM ").append(table).append(filters.where());
    {
        Statement count(db, sql);
        filters.bind(count);
        count.step();
        out.total = count.integer(0);
    }
    sql.clear();
    sql.append("SELECT ").append(columns).append(" FROM ").append(table).append(filters.where());
    sql.append(" ORDER BY ").append(order).append(" LIMIT ? OFFSET ?");
    Statement s(db, sql);
    const int i = filters.bind(s);
    s.bind(i, page_size).bind(i + 1, (page - 1) * page_size);
    while (s.step()) out.items.push_back(read(s));
    return out;
}

}  // namespace nexus::store::sqlite
