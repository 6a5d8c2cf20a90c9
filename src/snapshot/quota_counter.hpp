#pragma once
#include <cstdint>
#include <mutex>

namespace nexus::snapshot {

/// The live quota of one user, which all his tokens draw on together: shared by every I/O
/// thread and carried over from one snapshot to the next (keyed by user id), like a token's
/// TokenCounters. `stored` is the user's remain_quota as the database holds it (−1 unlimited),
/// `unwritten` what settled calls cost that the database has not yet been told, `reserved` what
/// calls in flight may still cost; stored − unwritten − reserved never goes below zero, however
/// many calls of however many tokens race. Its own small lock, held for a few additions.
class QuotaCounter {
public:
    /// Holds `want` for a call when it fits in what is left; false (nothing held) when not.
    bool reserve(std::int64_t want);
    /// Withdraws a reservation of `want` that will never be settled (the call was refused after).
    void release(std::int64_t want);
    /// Ends a reservation of `want` (0 for an unlimited user) for a call that cost `quota`: takes
    /// what it cost, at most what is left once its reservation is given back. Returns what it took.
    std::int64_t settle(std::int64_t want, std::int64_t quota);
    /// Gives back `quota` that settle() took and the call will not be billed after all.
    void refund(std::int64_t quota);

    /// The database's remain_quota for this user, after a rebuild (database thread).
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
    mutable std::mutex mutex_;
    std::int64_t stored_ = -1;
    std::int64_t unwritten_ = 0;
    std::int64_t reserved_ = 0;
};

}  // namespace nexus::snapshot
