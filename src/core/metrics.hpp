#pragma once
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <span>
#include <string>

namespace nexus::core {

/// The routes the metrics tell apart. Unknown paths share one label so a scan cannot blow up
/// the number of series.
enum class Route : std::uint8_t {
    kChatCompletions,
    kCompletions,
    kEmbeddings,
    kRerank,
    kImages,
    kAudio,
    kModels,
    kMessages,
    kCountTokens,
    kAdmin,
    kHealthz,
    kReadyz,
    kMetrics,
    kOther,
    kCount
};
std::string_view route_label(Route r);

/// How one upstream attempt ended.
enum class AttemptOutcome : std::uint8_t {
    kSuccess,      ///< 2xx headers received
    kClientError,  ///< upstream answered 4xx
    kServerError,  ///< upstream answered 5xx
    kConnectError, ///< name resolution or TCP connect failed
    kTlsError,     ///< TLS handshake or certificate verification failed
    kTimeout,      ///< a deadline expired
    kIoError,      ///< the connection broke after it was made
    kProtocolError,///< the answer was not HTTP/1.1 as it should be (status line, framing, head too large)
    kCount
};
std::string_view outcome_label(AttemptOutcome o);

/// A resource of our own that ran out (answered 503 `overloaded`).
enum class Overload : std::uint8_t {
    kConnections,  ///< NEXUS_MAX_CONNECTIONS reached
    kDescriptors,  ///< EMFILE / ENFILE: no descriptor for a socket
    kCount
};
std::string_view overload_label(Overload o);

/// Counters of one I/O thread. That thread writes them (relaxed atomics, no contention), but for
/// the usage records its batches lose on the database thread; the /metrics handler reads every
/// thread's copy and adds them up.
class Metrics {
public:
    static constexpr std::array<double, 16> kLatencyBuckets{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                            0.25,   0.5,   1,      2.5,   5,     10,    30,    60};

    void record_request(Route route, int status, std::chrono::nanoseconds latency);
    void record_attempt(AttemptOutcome outcome);
    void stream_opened() { open_streams_.fetch_add(1, std::memory_order_relaxed); }
    void stream_closed() { open_streams_.fetch_sub(1, std::memory_order_relaxed); }
    /// Usage records given up: the database fell too far behind, or refused them again and again.
    void usage_records_dropped(std::uint64_t n) { usage_dropped_.fetch_add(n, std::memory_order_relaxed); }
    /// Usage records handed to the database thread (n > 0) or done with there, written or given up (n < 0).
    void usage_records_waiting(std::int64_t n) { usage_waiting_.fetch_add(n, std::memory_order_relaxed); }
    /// Whether this thread's connection to Redis is up (NEXUS_REDIS_URL; unset: never called).
    void set_redis_up(bool up) { redis_up_.store(up ? 1 : 0, std::memory_order_relaxed); }
    /// An I/O thread out of work polled its sockets for NEXUS_BUSY_POLL_MICROSECONDS: `found` an
    /// event within it, or not (and slept).
    void busy_poll(bool found) { (found ? busy_poll_found_ : busy_poll_slept_).fetch_add(1, std::memory_order_relaxed); }
    /// A connection or a call was refused because we ran out of `what`.
    void overloaded(Overload what) { overloaded_[static_cast<std::size_t>(what)].fetch_add(1, std::memory_order_relaxed); }

    /// Renders the sum of `all` in the Prometheus text format (version 0.0.4).
    static std::string render(std::span<const Metrics* const> all);

private:
    static constexpr int kMinStatus = 100;
    static constexpr int kStatuses = 500;  // 100..599
    static constexpr std::size_t kRoutes = static_cast<std::size_t>(Route::kCount);
    using Counter = std::atomic<std::uint64_t>;

    std::array<std::array<Counter, kStatuses>, kRoutes> requests_{};
    std::array<std::array<Counter, kLatencyBuckets.size() + 1>, kRoutes> latency_buckets_{};
    std::array<Counter, kRoutes> latency_sum_ns_{};
    std::array<Counter, static_cast<std::size_t>(AttemptOutcome::kCount)> attempts_{};
    std::atomic<std::int64_t> open_streams_{0};
    Counter usage_dropped_{0};
    std::atomic<std::int64_t> usage_waiting_{0};
    std::atomic<int> redis_up_{-1};  ///< -1: no Redis
    std::array<Counter, static_cast<std::size_t>(Overload::kCount)> overloaded_{};
    Counter busy_poll_found_{0};
    Counter busy_poll_slept_{0};
};

}  // namespace nexus::core
