#include "store/postgres/connection.hpp"

#include <libpq-fe.h>

#include <algorithm>
#include <charconv>
#include <stdexcept>

namespace nexus::store::postgres {

std::string one_line(std::string_view text) {
    std::string out;
    for (const char ch : text) {
        const bool space = ch == '\n' || ch == '\t' || ch == ' ';
        if (!space) {
            out += ch;
        } else if (!out.empty() && out.back() != ' ') {
            out += ' ';
        }
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
}

std::string without_password(std::string message, std::string_view url) {
    const auto scheme = url.find("://");
    if (scheme == std::string_view::npos) return message;
    auto authority = url.substr(scheme + 3);
    authority = authority.substr(0, authority.find_first_of("/?"));
    const auto at = authority.rfind('@');
    if (at == std::string_view::npos) return message;
    const auto userinfo = authority.substr(0, at);
    const auto colon = userinfo.find(':');
    if (colon == std::string_view::npos) return message;
    const std::string raw(userinfo.substr(colon + 1));
    std::string decoded;
    for (std::size_t i = 0; i < raw.size(); ++i) {
        int byte = 0;
        if (raw[i] == '%' && i + 2 < raw.size() &&
            std::from_chars(raw.data() + i + 1, raw.data() + i + 3, byte, 16).ptr == raw.data() + i + 3) {
            decoded += static_cast<char>(byte);
            i += 2;
        } else {
            decoded += raw[i];
        }
    }
    for (const auto& secret : {raw, decoded}) {
        if (secret.empty()) continue;
        for (auto found = message.find(secret); found != std::string::npos; found = message.find(secret, found + 3)) {
            message.replace(found, secret.size(), "***");
        }
    }
    return message;
}

namespace {

// What a failed statement says, without its DETAIL (which repeats the values of a broken key) or
// anything else that could hold a parameter: the server's primary message and its SQLSTATE.
std::string describe(const PGresult* result, PGconn* conn) {
    const char* primary = result ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
    const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
    return "database: " + one_line(primary ? primary : PQerrorMessage(conn)) +
           (state ? std::string(" (SQLSTATE ") + state + ")" : std::string());
}

}  // namespace

Result::~Result() { PQclear(result_); }

int Result::rows() const { return PQntuples(result_); }

std::int64_t Result::affected() const {
    const char* n = PQcmdTuples(result_);
    std::int64_t v = 0;
    std::from_chars(n, n + std::char_traits<char>::length(n), v);
    return v;
}

std::int64_t Result::Row::integer(int column) const {
    const char* s = PQgetvalue(result_.result_, row_, column);
    const auto length = PQgetlength(result_.result_, row_, column);
    std::int64_t v = 0;
    if (std::from_chars(s, s + length, v).ec != std::errc()) {
        throw std::runtime_error("database: column " + std::to_string(column) + " is not an integer");
    }
    return v;
}

std::string Result::Row::text(int column) const {
    return std::string(PQgetvalue(result_.result_, row_, column),
                       static_cast<std::size_t>(PQgetlength(result_.result_, row_, column)));
}

Connection::Connection(std::string url) : url_(std::move(url)) { connect(); }

Connection::~Connection() { PQfinish(conn_); }

void Connection::connect() {
    PQfinish(conn_);
    // Our defaults first: the URL, expanded in dbname's place, overrides any of them it names.
    const char* const keywords[] = {"connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval",
                                    "keepalives_count", "application_name", "options", "dbname", nullptr};
    const char* const values[] = {"5", "1", "10", "5", "3", "nexus-api", "-c statement_timeout=30000",
                                  url_.c_str(), nullptr};
    conn_ = PQconnectdbParams(keywords, values, 1);
    if (conn_ == nullptr) throw std::runtime_error("database: cannot connect: out of memory");
    if (PQstatus(conn_) != CONNECTION_OK) {
        auto message =
            "database: cannot connect to PostgreSQL: " + without_password(one_line(PQerrorMessage(conn_)), url_);
        // Let go of it now: a constructor that throws runs no destructor.
        PQfinish(conn_);
        conn_ = nullptr;
        throw Unavailable(message);
    }
    // Notices (a CREATE … IF NOT EXISTS that found the table) are not for our log.
    PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);
}

void Connection::ensure_connected() {
    if (conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK) return;
    if (transactions_ > 0) throw Unavailable("database: the connection to PostgreSQL was lost");
    const auto now = std::chrono::steady_clock::now();
    if (now < next_connect_) throw Unavailable("database: PostgreSQL cannot be reached; the next try is in a moment");
    try {
        connect();
        connect_backoff_ = std::chrono::milliseconds(0);
    } catch (const Unavailable&) {
        connect_backoff_ = std::clamp(connect_backoff_ * 2, std::chrono::milliseconds(1'000), std::chrono::milliseconds(10'000));
        next_connect_ = now + connect_backoff_;
        throw;
    }
}

Result Connection::exec(std::string_view sql, const Params& params) {
    ensure_connected();
    const auto& values = params.values();
    std::vector<const char*> pointers;
    pointers.reserve(values.size());
    for (const auto& v : values) pointers.push_back(v.c_str());
    const std::string text(sql);
    Result result(PQexecParams(conn_, text.c_str(), static_cast<int>(pointers.size()), nullptr, pointers.data(),
                               nullptr, nullptr, 0));
    const auto status = PQresultStatus(result.result_);
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result;
    const char* state = PQresultErrorField(result.result_, PG_DIAG_SQLSTATE);
    if (state != nullptr && std::string_view(state) == "23505") throw Conflict(describe(result.result_, conn_));
    if (PQstatus(conn_) != CONNECTION_OK) throw Unavailable(describe(result.result_, conn_));
    throw std::runtime_error(describe(result.result_, conn_));
}

Result Connection::exec_script(const char* sql) {
    ensure_connected();
    Result result(PQexec(conn_, sql));
    const auto status = PQresultStatus(result.result_);
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result;
    if (PQstatus(conn_) != CONNECTION_OK) throw Unavailable(describe(result.result_, conn_));
    throw std::runtime_error(describe(result.result_, conn_));
}

Transaction::Transaction(Connection& connection, bool durable) : connection_(connection) {
    connection_.exec_script(durable ? "BEGIN" : "BEGIN; SET LOCAL synchronous_commit = off");
    ++connection_.transactions_;
}

Transaction::~Transaction() {
    if (done_) return;
    --connection_.transactions_;
    if (PQstatus(connection_.conn_) == CONNECTION_OK) PQclear(PQexec(connection_.conn_, "ROLLBACK"));
}

void Transaction::commit() {
    done_ = true;
    --connection_.transactions_;
    connection_.exec_script("COMMIT");
}

}  // namespace nexus::store::postgres
