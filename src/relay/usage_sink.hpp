#pragma once
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <unordered_map>
#include <vector>

#include "core/asio.hpp"
#include "core/metrics.hpp"
#include "store/store.hpp"

namespace nexus::relay {

/// Collects what requests used on one I/O thread and hands it to the database thread in batches
/// (every `flush_every`, and at shutdown), so a burst of traffic never waits on the database.
/// A token's accessed_time is written at most once a minute per thread.
///
/// Nothing is lost silently. The records waiting for the database, over every thread, are
/// bounded by `backlog_limit` (`backlog` is shared by all sinks): past it a batch is dropped
/// rather than held without bound. A batch the database refuses is tried again after each of
/// `retry_delays`, then dropped. Every dropped record is counted in /metrics
/// (nexus_usage_records_dropped_total). A kill -9 loses at most the records of the last
/// `flush_every` and those the database thread had not yet committed.
/// Not thread-safe: record(), touched() and start() run on the owning I/O thread.
class UsageSink {
public:
    struct Options {
        std::chrono::milliseconds flush_every{250};
        std::size_t backlog_limit = 200'000;
        std::vector<std::chrono::milliseconds> retry_delays{std::chrono::milliseconds(100),
                                                            std::chrono::milliseconds(500), std::chrono::seconds(2)};
    };
    static constexpr std::int64_t kTouchEverySeconds = 60;
    /// Told of every batch once its fate is known: written to the database (`written` true, on
    /// the database thread) or dropped (false). The quota counters follow the ledger by it.
    using Outcome = std::function<void(const std::vector<store::UsageRecord>& records, bool written)>;

    UsageSink(store::Store& store, net::any_io_executor db, core::Metrics& metrics, std::atomic<std::size_t>& backlog,
              Outcome outcome, Options options);
    UsageSink(store::Store& store, net::any_io_executor db, core::Metrics& metrics, std::atomic<std::size_t>& backlog,
              Outcome outcome = {})
        : UsageSink(store, std::move(db), metrics, backlog, std::move(outcome), Options{}) {}

    void record(store::UsageRecord record);
    void touched(std::int64_t token_id, std::int64_t now_seconds);

    /// Starts the periodic flush on `executor` (the owning I/O thread).
    void start(net::any_io_executor executor);
    /// Hands what is pending to the database thread now. Safe after the I/O thread stopped.
    void flush();
    /// Stops the periodic flush (its timer goes before the io_context does).
    void stop() { timer_.reset(); }

private:
    store::Store& store_;
    net::any_io_executor db_;
    core::Metrics& metrics_;
    std::atomic<std::size_t>& backlog_;
    Outcome outcome_;
    Options options_;
    std::vector<store::UsageRecord> pending_;
    std::unordered_map<std::int64_t, std::int64_t> accessed_;      ///< token → last access
    std::unordered_map<std::int64_t, std::int64_t> last_written_;  ///< token → access time last written
    std::unique_ptr<net::steady_timer> timer_;
};

}  // namespace nexus::relay
