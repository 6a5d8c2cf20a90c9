#pragma once
// The PostgreSQL backend's own helpers over libpq: one connection that reconnects, statements
// with their parameters as text, results read like a SQLite statement (integer(c), text(c)), and
// transactions.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "store/rows.hpp"

struct pg_conn;
struct pg_result;

namespace nexus::store::postgres {

/// A statement's parameters, as text ($1, $2, … in the order added).
class Params {
public:
    Params& add(std::int64_t v) {
        values_.push_back(std::to_string(v));
        return *this;
    }
    Params& add(std::string_view v) {
        values_.emplace_back(v);
        return *this;
    }
    const std::vector<std::string>& values() const { return values_; }

private:
    std::vector<std::string> values_;
};

/// The rows a statement returned. Read one row at a time through at(row), a cursor with
/// integer(column) and text(column) like the SQLite backend's statements.
class Result {
public:
    explicit Result(pg_result* result) : result_(result) {}
    ~Result();
    Result(Result&& other) noexcept : result_(other.result_) { other.result_ = nullptr; }
    Result& operator=(Result&&) = delete;
    Result(const Result&) = delete;
    Result& operator=(const Result&) = delete;

    int rows() const;
    /// Rows a write touched (UPDATE, DELETE, INSERT).
    std::int64_t affected() const;

    class Row {
    public:
        Row(const Result& result, int row) : result_(result), row_(row) {}
        std::int64_t integer(int column) const;
        std::string text(int column) const;

    private:
        const Result& result_;
        int row_;
    };
    Row at(int row) const { return Row(*this, row); }

private:
    friend class Connection;
    friend class Transaction;
    pg_result* result_;
};

/// One connection to the database named by a postgresql:// URL. Every use goes through exec()
/// under `mutex`, which the row objects take. A connection found broken is opened again on the
/// next statement outside a transaction; within one, the error reaches the caller (the whole
/// transaction is then undone by the server). Connecting waits at most 5 s unless the URL says
/// otherwise; every statement at most 30 s (statement_timeout). A server that cannot be reached
/// throws Unavailable; after a failed connection the next try waits 1 s, then up to 10 s, failing
/// at once meanwhile, so that the database thread's other work does not queue behind timeouts.
class Connection {
public:
    explicit Connection(std::string url);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    /// Runs `sql` with `params`. Throws Conflict for a broken uniqueness rule (SQLSTATE 23505),
    /// std::runtime_error for any other failure; neither message holds a parameter's value.
    Result exec(std::string_view sql, const Params& params = {});
    /// Runs `sql` (one or more statements, no parameters); the last one's result.
    Result exec_script(const char* sql);

    std::mutex mutex;

private:
    friend class Transaction;
    void connect();
    void ensure_connected();

    std::string url_;
    pg_conn* conn_ = nullptr;
    int transactions_ = 0;
    std::chrono::steady_clock::time_point next_connect_{};
    std::chrono::milliseconds connect_backoff_{0};
};

/// libpq's text (an error message of several lines) as one line.
std::string one_line(std::string_view text);

/// `message` with the password of `url` (postgresql://user:password@…) masked, as written and
/// percent-decoded: libpq quotes a malformed part of the URL in its errors, the password included.
std::string without_password(std::string message, std::string_view url);

/// A transaction, rolled back unless commit() is reached. `durable` false: the commit does not
/// wait for the server's disk (synchronous_commit off), as usage batches; a crash of the server
/// can lose the last few hundred milliseconds of them, never half of one.
class Transaction {
public:
    explicit Transaction(Connection& connection, bool durable = true);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit();

private:
    Connection& connection_;
    bool done_ = false;
};

/// The WHERE clause of a list, built filter by filter, with its parameters numbered in order.
class Filters {
public:
    /// Adds `condition` (" AND " joined), in which each '?' stands for the next of `values`.
    template <class... Values>
    Filters& add(std::string_view condition, const Values&... values) {
        (params_.add(values), ...);
        where_.append(" AND ");
        for (const char ch : condition) {
            if (ch == '?') {
                where_.append("$").append(std::to_string(++count_));
            } else {
                where_.push_back(ch);
            }
        }
        return *this;
    }
    const std::string& where() const { return where_; }
    const Params& params() const { return params_; }
    int count() const { return count_; }

private:
    std::string where_ = " WHERE TRUE";
    Params params_;
    int count_ = 0;
};

/// One page of the rows of `table` that pass `filters`, in `order`, with the total that pass.
template <class Row, class Read>
Page<Row> select_page(Connection& c, std::string_view columns, std::string_view table, const Filters& filters,
                      std::string_view order, std::int64_t page, std::int64_t page_size, Read read) {
    Page<Row> out;
    const auto counted = c.exec(std::string("SELECT count(*) FROM ").append(table).append(filters.where()),
                                filters.params());
    out.total = counted.at(0).integer(0);
    Params params = filters.params();
    params.add(page_size).add((page - 1) * page_size);
    const auto n = filters.count();
    const auto result = c.exec(std::string("SELECT ")
                                   .append(columns)
                                   .append(" FROM ")
                                   .append(table)
                                   .append(filters.where())
                                   .append(" ORDER BY ")
                                   .append(order)
                                   .append(" LIMIT $" + std::to_string(n + 1) + " OFFSET $" + std::to_string(n + 2)),
                               params);
    for (int r = 0; r < result.rows(); ++r) out.items.push_back(read(result.at(r)));
    return out;
}

}  // namespace nexus::store::postgres
