#include "relay/usage_sink.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/clock.hpp"
#include "core/request_id.hpp"

namespace nexus::relay {

namespace {

// One batch on its way into the database: written on the database thread, tried again after
// each delay when the database refuses it, then dropped and counted. Its id makes a retry after a
// failure of unknown outcome (a commit whose answer was lost) write it once; once it is written,
// a retry only repeats what failed after it (the tokens' access times).
struct Batch : std::enable_shared_from_this<Batch> {
    Batch(store::Store& s, net::any_io_executor db, core::Metrics& m, std::atomic<std::size_t>& b,
          const UsageSink::Outcome& o, std::vector<std::chrono::milliseconds> delays)
        : store(s), timer(db), metrics(m), backlog(b), outcome(o), retry_delays(std::move(delays)) {}

    void write() {
        try {
            if (!written) {
                store.insert_usage(records, id);
                written = true;
                if (outcome) outcome(records, true);
            }
            store.touch_tokens(touches);
        } catch (const store::Unavailable& e) {
            // The database cannot be reached (PostgreSQL down): the batch is kept, within the
            // backlog limit that new batches are checked against, and tried again until it returns.
            log_unavailable(e.what());
            timer.expires_after(std::min(kUnavailableRetryMax, kUnavailableRetryMin * (1 << std::min(unavailable++, 5))));
            timer.async_wait([self = shared_from_this()](error_code ec) {
                if (!ec) self->write();
            });
            return;
        } catch (const std::exception& e) {
            if (attempt < retry_delays.size()) {
                spdlog::warn("writing {} usage record(s) failed, trying again: {}", records.size(), e.what());
                timer.expires_after(retry_delays[attempt++]);
                timer.async_wait([self = shared_from_this()](error_code ec) {
                    if (!ec) self->write();
                });
                return;
            }
            if (written) {
                spdlog::error("the access times of {} token(s) were not written: {}", touches.size(), e.what());
            } else {
                spdlog::error("writing {} usage record(s) failed {} times; dropped: {}", records.size(), attempt + 1,
                              e.what());
                metrics.usage_records_dropped(records.size());
                if (outcome) outcome(records, false);
            }
        }
        backlog.fetch_sub(records.size(), std::memory_order_acq_rel);
        metrics.usage_records_waiting(-static_cast<std::int64_t>(records.size()));
    }

    // One line every 10 s at most, however many batches wait.
    static void log_unavailable(const char* what) {
        static std::atomic<std::int64_t> last{0};
        const auto now = core::unix_seconds();
        auto seen = last.load();
        if (now - seen >= 10 && last.compare_exchange_strong(seen, now)) {
            spdlog::warn("usage records wait for the database, which cannot be reached: {}", what);
        }
    }

    static constexpr std::chrono::milliseconds kUnavailableRetryMin{250};
    static constexpr std::chrono::milliseconds kUnavailableRetryMax{5'000};

    store::Store& store;
    net::steady_timer timer;  // on the database thread
    core::Metrics& metrics;
    std::atomic<std::size_t>& backlog;
    UsageSink::Outcome outcome;
    std::vector<std::chrono::milliseconds> retry_delays;
    std::size_t attempt = 0;
    int unavailable = 0;  // tries that found the database unreachable
    const std::string id = core::make_request_id();
    bool written = false;
    std::vector<store::UsageRecord> records;
    std::vector<std::pair<std::int64_t, std::int64_t>> touches;
};

}  // namespace

UsageSink::UsageSink(store::Store& store, net::any_io_executor db, core::Metrics& metrics,
                     std::atomic<std::size_t>& backlog, Outcome outcome, Options options)
    : store_(store),
      db_(std::move(db)),
      metrics_(metrics),
      backlog_(backlog),
      outcome_(std::move(outcome)),
      options_(std::move(options)) {}

void UsageSink::record(store::UsageRecord record) { pending_.push_back(std::move(record)); }

void UsageSink::touched(std::int64_t token_id, std::int64_t now_seconds) { accessed_[token_id] = now_seconds; }

void UsageSink::start(net::any_io_executor executor) {
    timer_ = std::make_unique<net::steady_timer>(executor);
    net::co_spawn(
        executor,
        [this, timer = timer_.get()]() -> net::awaitable<void> {
            for (;;) {
                timer->expires_after(options_.flush_every);
                auto [ec] = co_await timer->async_wait(use_nothrow);
                if (ec) co_return;
                flush();
            }
        },
        [](std::exception_ptr) {});
}

void UsageSink::flush() {
    std::vector<std::pair<std::int64_t, std::int64_t>> touches;
    for (const auto& [id, time] : accessed_) {
        auto& written = last_written_[id];
        if (time - written >= kTouchEverySeconds) {
            touches.emplace_back(id, time);
            written = time;
        }
    }
    accessed_.clear();
    if (pending_.empty() && touches.empty()) return;
    // Past the backlog limit the database is far behind: drop this batch rather than hold it.
    const auto n = pending_.size();
    if (backlog_.fetch_add(n, std::memory_order_acq_rel) + n > options_.backlog_limit) {
        backlog_.fetch_sub(n, std::memory_order_acq_rel);
        metrics_.usage_records_dropped(n);
        if (outcome_) outcome_(pending_, false);
        pending_.clear();
    }
    auto batch = std::make_shared<Batch>(store_, db_, metrics_, backlog_, outcome_, options_.retry_delays);
    metrics_.usage_records_waiting(static_cast<std::int64_t>(pending_.size()));
    batch->records = std::move(pending_);
    batch->touches = std::move(touches);
    pending_.clear();
    net::post(db_, [batch] { batch->write(); });
}

}  // namespace nexus::relay
