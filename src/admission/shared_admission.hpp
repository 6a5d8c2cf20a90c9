#pragma once
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "admission/admission.hpp"
#include "core/metrics.hpp"
#include "redis/client.hpp"

namespace nexus::admission {

/// This process among the nodes that share one Redis: its id, and how many nodes were alive at
/// its last heartbeat (a node is alive 15 s after its last one). Shared by the I/O threads.
struct Nodes {
    std::string id;
    std::atomic<std::int64_t> count{1};
    std::atomic<std::uint64_t> next_lease{0};  ///< leases are named id:n, n unique in the process
    /// Views of the database loaded (snapshot rebuilds, counted by the app), and the count a quota
    /// may start from again: after Redis comes back without what it held, a quota starts from a
    /// view loaded since, not from an older one.
    std::atomic<std::uint64_t> views_loaded{0};
    std::atomic<std::uint64_t> view_needed{0};
};

/// Rate limits shared by every node, in Redis: a token's rpm, tpm and max_concurrency hold for
/// all nodes together, each checked and counted by one Lua script (atomic in Redis) per call,
/// against Redis's clock. The rest of the decision (model, price, quota) is LocalAdmission's,
/// whose counters also keep this node's own view.
///
/// A call holds a concurrency slot as a lease that expires `lease` after it was last renewed;
/// each thread renews its calls' leases every lease / 3, so a node that dies (kill -9) gives
/// its slots back within `lease`. When Redis cannot be reached or does not answer within
/// `deadline`, the node holds to its share of each limit (limit ÷ the nodes alive at the last
/// heartbeat), in memory, and goes back to the shared counters as soon as Redis answers.
/// One per I/O thread, used on that thread only.
class SharedAdmission final : public Admission {
public:
    struct Options {
        std::chrono::milliseconds deadline{250};
        std::chrono::milliseconds lease{30'000};
        /// Without Redis, a token (or owner) with a limited quota is served against this node's
        /// view of it (true), or refused with 503 quota_unavailable (false, the default).
        bool quota_without_redis = false;
        /// Called (on the heartbeat thread) when the connection to Redis was made again: Redis may
        /// have lost the quota it held, which then starts again from each node's view of the
        /// database, to be loaded anew (Nodes::views_loaded).
        std::function<void()> reconnected;
    };
    SharedAdmission(LocalAdmission& local, redis::Client& redis, Nodes& nodes, core::Metrics& metrics, Options options);
    ~SharedAdmission() override;

    net::awaitable<core::Result<Reservation>> reserve(const Ask& ask) override;
    std::int64_t settle(const Reservation& reservation, const Spent& spent) override;
    std::string rate_fields(const snapshot::TokenView& token) const override { return local_.rate_fields(token); }

    /// Starts the thread's upkeep, each second: the redis_up gauge, lease renewals, and with
    /// `heartbeat` (one thread per node) the node's heartbeat and count.
    void start(bool heartbeat);
    void stop();

private:
    net::awaitable<void> upkeep(bool heartbeat);
    net::awaitable<core::Result<Reservation>> fallback(const Ask& ask);

    LocalAdmission& local_;
    redis::Client& redis_;
    Nodes& nodes_;
    core::Metrics& metrics_;
    Options options_;
    std::unordered_map<std::string, std::int64_t> leases_;  ///< this thread's calls' leases → token id
    enum class State { kStarting, kUp, kDown };
    State state_ = State::kStarting;
    std::uint64_t connections_seen_ = 0;
    std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
    std::unique_ptr<net::steady_timer> timer_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace nexus::admission
