#pragma once
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "core/asio.hpp"
#include "core/metrics.hpp"
#include "store/store.hpp"

namespace nexus::relay {

/// Collects what requests used on one I/O thread and hands it to the database thread in batches
/// (every second, and at shutdown), so a burst of traffic never waits on the database. A token's
/// accessed_time is written at most once a minute per thread. When the database falls far behind,
/// records beyond `kMaxPending` are dropped rather than held without bound, and counted in
/// /metrics (nexus_usage_records_dropped_total).
/// Not thread-safe: record() and touched() run on the owning I/O thread.
class UsageSink {
public:
    static constexpr std::size_t kMaxPending = 100'000;
    static constexpr std::int64_t kTouchEverySeconds = 60;

    UsageSink(store::Store& store, net::any_io_executor db, core::Metrics& metrics);

    void record(store::UsageRecord record);
    void touched(std::int64_t token_id, std::int64_t now_seconds);

    /// Starts the periodic flush on `executor` (the owning I/O thread).
    void start(net::any_io_executor executor);
    /// Hands what is pending to the database thread now. Safe after the I/O thread stopped.
    void flush();

private:
    store::Store& store_;
    net::any_io_executor db_;
    std::vector<store::UsageRecord> pending_;
    std::unordered_map<std::int64_t, std::int64_t> accessed_;      ///< token → last access
    std::unordered_map<std::int64_t, std::int64_t> last_written_;  ///< token → access time last written
    core::Metrics& metrics_;
    std::unique_ptr<net::steady_timer> timer_;
};

}  // namespace nexus::relay
