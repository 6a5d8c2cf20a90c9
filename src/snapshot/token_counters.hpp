#pragma once
#include <array>
#include <chrono>
#include <cstdint>
#include <mutex>

namespace nexus::snapshot {

/// The live counters of one token's limits and quota, shared by every I/O thread and carried
/// over from one snapshot to the next (keyed by token id). Each token has its own small lock,
/// held for a few comparisons: calls of different tokens never meet.
///
/// Quota. `stored` is the token's remain_quota as the database holds it (−1 unlimited);
/// `unwritten` what settled calls cost that the database has not yet been told; `reserved`
/// what calls in flight may still cost. A call is admitted only when its reservation fits in
/// stored − unwritten − reserved, and settles to a cost that never exceeds what it reserved
/// plus what is left, so that difference never goes below zero, however many calls race.
///
/// Rate windows. Calls (rpm) and tokens (tpm) are counted in one-second buckets; a bucket
/// counts until 61 seconds after its second began, so any 60-second window sees every call
/// admitted in it: a limit is never exceeded, and a slot comes back at most a second late.
/// A token without any limit takes no lock at all, unless its call cost something to count.
/// admit() and settle() of one call must be given the same Limits.
class TokenCounters {
public:
    using Clock = std::chrono::steady_clock;

    struct Limits {
        bool limited_quota = false;  ///< remain_quota is not −1
        std::int64_t rpm = 0;
        std::int64_t tpm = 0;
        std::int64_t max_concurrency = 0;
        bool any() const { return limited_quota || rpm > 0 || tpm > 0 || max_concurrency > 0; }
    };
    /// What a call may use at most: quota units and prompt + completion tokens.
    struct Want {
        std::int64_t quota = 0;
        std::int64_t tokens = 0;
    };
    enum class Refusal : std::uint8_t { kNone, kConcurrency, kRequests, kTokens, kTokensNeverFit, kQuota };
    /// The outcome of admit(): a refusal (with when to try again), and the rate windows' state
    /// after it, for the x-ratelimit-* headers.
    struct Admission {
        Refusal refusal = Refusal::kNone;
        std::chrono::seconds retry_after{0};
        std::int64_t requests_remaining = 0;
        std::chrono::seconds requests_reset{0};
        std::int64_t tokens_remaining = 0;
        std::chrono::seconds tokens_reset{0};
        std::int64_t second = 0;  ///< the bucket the call was counted in (for settle)
    };

    /// Admits a call that may use `want` (taking a concurrency slot, a request, its tokens and
    /// its quota), or refuses it and takes nothing.
    Admission admit(const Limits& limits, const Want& want, Clock::time_point now);
    /// The rate windows' state now, taking nothing (remaining and reset only).
    Admission peek(const Limits& limits, Clock::time_point now);
    /// Ends an admitted call: gives back its slot, replaces its `want` with what it used
    /// (`tokens`; `quota`, at most what it reserved plus what is left). Returns the quota taken.
    std::int64_t settle(const Limits& limits, const Want& want, std::int64_t second, std::int64_t quota,
                        std::int64_t tokens);

    /// The database's remain_quota for this token, after a rebuild (database thread).
    void set_stored(std::int64_t remain_quota);
    /// `quota` of settled calls is now in the database (written) or never will be (dropped).
    void written(std::int64_t quota);
    void dropped(std::int64_t quota);
    /// Settled quota not yet in the database.
    std::int64_t unwritten() const;
    /// What the database will hold once this node's settled calls are written: stored − unwritten
    /// (−1: unlimited). Calls in flight are not subtracted: where several nodes share the quota,
    /// each holds its calls in Redis.
    std::int64_t settled_left() const;

private:
    static constexpr std::int64_t kBuckets = 61;
    /// A sliding minute in one-second buckets with a running total: advancing to a new second
    /// clears the buckets it reuses, so a call costs O(1), never a pass over the minute.
    struct Window {
        std::array<std::int64_t, kBuckets> amount{};
        std::array<std::int64_t, kBuckets> second{};  ///< which second each bucket holds
        std::int64_t total = 0;                       ///< the sum of `amount`
        std::int64_t latest = 0;                      ///< the newest second advanced to
        static std::size_t slot(std::int64_t s) { return static_cast<std::size_t>(((s % kBuckets) + kBuckets) % kBuckets); }
        /// Drops what is 61 seconds old or more at `now`.
        void advance(std::int64_t now);
        void add(std::int64_t now, std::int64_t n);
        /// Seconds until `need` more fits under `limit`.
        std::int64_t wait_for(std::int64_t now, std::int64_t need, std::int64_t limit) const;
        /// Seconds until the window is empty.
        std::int64_t until_empty(std::int64_t now) const;
    };

    /// The remaining and reset figures of `a` (mutex_ held).
    void fill_windows(const Limits& limits, std::int64_t now, Admission& a);

    mutable std::mutex mutex_;
    std::int64_t stored_ = -1;
    std::int64_t unwritten_ = 0;
    std::int64_t reserved_ = 0;
    std::int64_t in_flight_ = 0;
    Window requests_;
    Window tokens_;
};

}  // namespace nexus::snapshot
