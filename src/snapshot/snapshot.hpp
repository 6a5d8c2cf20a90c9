#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/ip_range.hpp"
#include "core/origin.hpp"
#include "core/price.hpp"
#include "core/provider.hpp"
#include "core/text.hpp"
#include "snapshot/quota_counter.hpp"
#include "snapshot/token_counters.hpp"
#include "store/types.hpp"

namespace nexus::snapshot {

/// Health of one channel, shared by every thread and carried over from one snapshot to the next
/// (keyed by channel id). Only failures write to it; a success writes only to clear a streak.
/// A run of `kTripAfter` transient failures opens the breaker for `cooldown`: the channel is not
/// picked until then, and is tried again after (never disabled for good by transient failures).
class ChannelHealth {
public:
    static constexpr int kTripAfter = 3;

    bool cooling_down(std::chrono::steady_clock::time_point now) const;
    /// A 5xx, 429, timeout or connection failure. Returns true when this one opened the breaker.
    bool record_transient_failure(std::chrono::steady_clock::time_point now, std::chrono::milliseconds cooldown);
    void record_success();

    /// The upstream rejected the channel's key: not picked from now on, before the store's
    /// status 3 comes back through a rebuild. A rebuild that finds the channel enabled (an admin
    /// re-enabled it) clears this.
    void mark_key_rejected() { key_rejected_.store(true, std::memory_order_relaxed); }
    /// One probe of the channel's key at a time, over all threads: true when this caller may
    /// probe now (and must call end_probe() after).
    bool begin_probe() {
        bool expected = false;
        return probing_.compare_exchange_strong(expected, true, std::memory_order_acq_rel);
    }
    void end_probe() { probing_.store(false, std::memory_order_release); }
    bool key_rejected() const { return key_rejected_.load(std::memory_order_relaxed); }
    void clear_key_rejected() { key_rejected_.store(false, std::memory_order_relaxed); }

private:
    std::atomic<bool> key_rejected_{false};
    std::atomic<bool> probing_{false};
    std::atomic<int> streak_{0};
    std::atomic<std::int64_t> cooldown_until_ns_{0};
};

/// A channel as the relay uses it: parsed once when the snapshot is built.
struct ChannelView {
    std::int64_t id = 0;
    std::string name;
    std::string type;
    core::Origin origin;
    std::string key;
    core::StringSet models;  ///< empty: any model
    core::StringMap<std::string> model_mapping;
    std::int64_t priority = 0;
    std::int64_t weight = 1;
    std::string test_model;  ///< what a probe or a channel test asks for: the first listed model, or the provider's
    const core::Provider* provider = nullptr;  ///< its row in the provider table (never null in a snapshot)
    std::shared_ptr<ChannelHealth> health;

    bool serves(std::string_view model) const { return models.empty() || models.contains(model); }
    /// The model name to send upstream for `requested`.
    const std::string* mapped(const std::string& requested) const {
        const auto it = model_mapping.find(requested);
        return it == model_mapping.end() ? nullptr : &it->second;
    }
};

/// The view of `channel` the relay uses: its origin parsed, its models and mapping as sets, its
/// test model decided. Nullopt when its base URL is unusable. Health is left to the caller.
std::optional<ChannelView> make_channel_view(const store::Channel& channel);

/// A token's owner as the relay sees him: whether he may call, and the quota his tokens share.
struct OwnerView {
    std::int64_t id = 0;
    bool enabled = true;
    bool limited_quota = false;            ///< remain_quota is not −1
    std::shared_ptr<QuotaCounter> quota;  ///< never null in a snapshot
    std::int64_t quota_epoch = 0;          ///< moves when an admin sets remain_quota
};

struct TokenView {
    std::int64_t id = 0;
    std::string name;
    int status = store::kTokenEnabled;
    std::int64_t expired_time = -1;
    std::unordered_set<std::string> models;  ///< allowed models; empty: all
    std::vector<core::IpRange> allow_ips;    ///< empty: any address
    TokenCounters::Limits limits;
    std::shared_ptr<TokenCounters> counters;  ///< never null in a snapshot
    std::int64_t user_id = 0;
    /// The owner, in the same snapshot; null only for a token without one (user_id 0, which a
    /// database with users never holds: unit tests build such tokens).
    const OwnerView* owner = nullptr;
    std::int64_t quota_epoch = 0;  ///< moves when an admin sets remain_quota

    bool allows(const std::string& model) const { return models.empty() || models.contains(model); }
};

/// An immutable view of enabled channels, all tokens, their owners and prices. Built off the hot
/// path from the store (on the database thread); read without locks by every I/O thread. Channel
/// health and token and user counters are carried over from `previous`; each token's and user's
/// counters learn its stored remain_quota.
class Snapshot {
public:
    Snapshot(const std::vector<store::Channel>& channels, const std::vector<store::Token>& tokens,
             const std::vector<store::ModelPrice>& prices, const Snapshot* previous = nullptr,
             const std::vector<store::User>& users = {});

    /// The token whose key hashes to `key_hash` (SHA-256 hex), or null.
    const TokenView* find_token(const std::string& key_hash) const;
    /// The counters of token `id`, or null when there is no such token.
    const std::shared_ptr<TokenCounters>* counters_of(std::int64_t id) const;
    /// The quota counter of user `id`, or null when there is no such user.
    const std::shared_ptr<QuotaCounter>* owner_quota_of(std::int64_t id) const;
    /// The price of `model` (as clients send it), or null.
    const core::Price* price_of(const std::string& model) const;

    /// Enabled channels, highest priority first.
    const std::vector<ChannelView>& channels() const { return channels_; }

    /// Picks the channel for `model`: among enabled channels that serve it, not in `tried` and not
    /// cooling down, the highest priority tier, weighted random by weight within it (weight 0 is
    /// picked only when every candidate of the tier has weight 0). Null when none is left.
    const ChannelView* pick(const std::string& model, std::span<const std::int64_t> tried, std::mt19937_64& rng,
                            std::chrono::steady_clock::time_point now) const;

    /// Whether any enabled channel serves `model` at all (for the error message).
    bool any_serves(const std::string& model) const;

private:
    std::vector<ChannelView> channels_;
    std::unordered_map<std::string, TokenView> tokens_by_hash_;
    std::unordered_map<std::int64_t, std::shared_ptr<TokenCounters>> counters_;
    std::unordered_map<std::int64_t, OwnerView> owners_;  ///< filled before the tokens that point into it
    std::unordered_map<std::string, core::Price> prices_;
    std::unordered_map<std::int64_t, std::shared_ptr<ChannelHealth>> health_;
};

/// Holds the current Snapshot. Writers (the database thread) publish a new one; each I/O thread
/// keeps its own reference and refreshes it only when the version moved, so a request costs one
/// relaxed atomic load and no shared reference-count traffic.
class SnapshotHolder {
public:
    SnapshotHolder();
    void publish(std::shared_ptr<const Snapshot> next);
    std::shared_ptr<const Snapshot> current() const;
    std::uint64_t version() const { return version_.load(std::memory_order_acquire); }

    /// A per-thread cache of the holder's snapshot.
    class Reader {
    public:
        explicit Reader(const SnapshotHolder& holder) : holder_(holder) {}
        /// The current snapshot, kept alive for as long as the caller holds the pointer, even when
        /// a newer one is published meanwhile (a request holds it across its upstream waits). The
        /// pointer counts references on a control block of this reader's own, so copying it does
        /// not touch a cache line other threads write.
        std::shared_ptr<const Snapshot> get();

    private:
        const SnapshotHolder& holder_;
        std::shared_ptr<const Snapshot> local_;
        std::uint64_t local_version_ = ~std::uint64_t{0};
    };

private:
    mutable std::mutex mutex_;  // taken only on publish and on a reader's refresh after a change
    std::shared_ptr<const Snapshot> current_;
    std::atomic<std::uint64_t> version_{0};
};

}  // namespace nexus::snapshot
