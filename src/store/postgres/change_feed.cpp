#include "store/postgres/change_feed.hpp"

#include "store/postgres/connection.hpp"

#include <libpq-fe.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <stdexcept>

namespace nexus::store::postgres {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kConnectTimeout{10'000};
constexpr milliseconds kQueryTimeout{30'000};

milliseconds left_until(Clock::time_point deadline) {
    return std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(deadline - Clock::now()));
}

std::string last_error(pg_conn* conn, std::string_view url) {
    return conn ? without_password(one_line(PQerrorMessage(conn)), url) : "out of memory";
}

struct Finish {
    pg_conn*& conn;
    ~Finish() {
        PQfinish(conn);
        conn = nullptr;
    }
};

}  // namespace

ChangeFeed::ChangeFeed(std::string url, std::function<void()> changed, std::chrono::milliseconds poll_every)
    : url_(std::move(url)), changed_(std::move(changed)), poll_every_(poll_every) {
    stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (stop_fd_ < 0) throw std::runtime_error("change feed: eventfd failed");
    thread_ = std::thread([this] { run(); });
}

ChangeFeed::~ChangeFeed() {
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(stop_fd_, &one, sizeof one);
    thread_.join();
    ::close(stop_fd_);
}

ChangeFeed::Wait ChangeFeed::wait_for(int fd, bool write, milliseconds timeout) const {
    pollfd fds[2] = {{stop_fd_, POLLIN, 0}, {fd, static_cast<short>(write ? POLLOUT : POLLIN), 0}};
    const int n = ::poll(fds, fd >= 0 ? 2 : 1, static_cast<int>(timeout.count()));
    if (fds[0].revents != 0) return Wait::kStop;
    if (n > 0) return Wait::kReady;
    return n == 0 ? Wait::kTimeout : Wait::kReady;  // EINTR: let the caller look again
}

bool ChangeFeed::connect(pg_conn*& conn, std::string& error) const {
    const char* const keywords[] = {"keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count",
                                    "application_name", "dbname", nullptr};
    const char* const values[] = {"1", "10", "5", "3", "nexus-api-changes", url_.c_str(), nullptr};
    conn = PQconnectStartParams(keywords, values, 1);
    if (conn != nullptr) PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);  // (logged by us)
    if (conn == nullptr || PQstatus(conn) == CONNECTION_BAD) {
        error = last_error(conn, url_);
        return false;
    }
    const auto deadline = Clock::now() + kConnectTimeout;
    for (auto status = PGRES_POLLING_WRITING;;) {
        if (status == PGRES_POLLING_OK) return true;
        if (status == PGRES_POLLING_FAILED) {
            error = last_error(conn, url_);
            return false;
        }
        const auto waited = wait_for(PQsocket(conn), status == PGRES_POLLING_WRITING, left_until(deadline));
        if (waited == Wait::kStop) return false;
        if (waited == Wait::kTimeout) {
            error = "no answer within " + std::to_string(kConnectTimeout.count() / 1000) + " s";
            return false;
        }
        status = PQconnectPoll(conn);
    }
}

std::optional<std::string> ChangeFeed::query(pg_conn* conn, const char* sql) const {
    if (PQsendQuery(conn, sql) == 0) return std::nullopt;
    const auto deadline = Clock::now() + kQueryTimeout;
    std::optional<std::string> value = std::string();
    for (;;) {
        while (PQisBusy(conn) != 0) {
            if (wait_for(PQsocket(conn), false, left_until(deadline)) != Wait::kReady) return std::nullopt;
            if (PQconsumeInput(conn) == 0) return std::nullopt;
        }
        PGresult* result = PQgetResult(conn);
        if (result == nullptr) return value;
        const auto status = PQresultStatus(result);
        if (status == PGRES_TUPLES_OK && PQntuples(result) > 0) {
            value = PQgetvalue(result, 0, 0);
        } else if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
            value.reset();
        }
        PQclear(result);
    }
}

std::optional<std::int64_t> ChangeFeed::read_version(pg_conn* conn) const {
    const auto text = query(conn, "SELECT version FROM change_version WHERE id = 1");
    std::int64_t v = 0;
    if (!text || std::from_chars(text->data(), text->data() + text->size(), v).ec != std::errc()) return std::nullopt;
    return v;
}

bool ChangeFeed::take_announcements(pg_conn* conn, std::optional<std::int64_t>& seen) const {
    bool any = false;
    while (PGnotify* n = PQnotifies(conn)) {
        std::int64_t v = 0;
        const std::string_view payload(n->extra);
        if (std::from_chars(payload.data(), payload.data() + payload.size(), v).ec == std::errc()) {
            seen = std::max(seen.value_or(v), v);
        }
        PQfreemem(n);
        any = true;
    }
    return any;
}

void ChangeFeed::run() {
    std::optional<std::int64_t> seen;
    bool lost = false;
    milliseconds backoff{250};
    for (;;) {
        pg_conn* conn = nullptr;
        Finish finish{conn};
        std::string error = "the connection failed";
        std::optional<std::int64_t> version;
        if (connect(conn, error) && query(conn, (std::string("LISTEN ") + kChangeChannel).c_str())) {
            version = read_version(conn);
        }
        if (!version) {
            if (wait_for(-1, false, milliseconds(0)) == Wait::kStop) return;
            if (!lost) spdlog::warn("other nodes' changes: cannot listen on PostgreSQL ({}); trying again", error);
            lost = true;
            if (wait_for(-1, false, backoff) == Wait::kStop) return;
            backoff = std::min(backoff * 2, milliseconds(5'000));
            continue;
        }
        backoff = milliseconds(250);
        if (lost) spdlog::info("other nodes' changes: listening on PostgreSQL again; reloading what may have been missed");
        take_announcements(conn, seen);
        // What changed before LISTEN took effect was heard by no one: at the start (between the
        // caller's first load and now) and after a loss, the caller reloads.
        changed_();
        lost = false;
        seen = version;

        auto next_poll = Clock::now() + poll_every_;
        for (;;) {
            const auto waited = wait_for(PQsocket(conn), false, left_until(next_poll));
            if (waited == Wait::kStop) return;
            bool heard = false;
            if (waited == Wait::kReady) {
                // A server that ends the connection says so first (a FATAL message), then closes it.
                if (PQconsumeInput(conn) == 0 || PQstatus(conn) != CONNECTION_OK) break;
                heard = take_announcements(conn, seen);
            } else {
                const auto now = read_version(conn);
                if (!now) break;
                heard = take_announcements(conn, seen);
                if (*now > seen.value_or(*now)) heard = true;  // moved with no announcement heard
                seen = std::max(seen.value_or(*now), *now);
                next_poll = Clock::now() + poll_every_;
            }
            if (heard) changed_();
        }
        spdlog::warn("other nodes' changes: lost the connection to PostgreSQL; reconnecting");
        lost = true;
    }
}

}  // namespace nexus::store::postgres
