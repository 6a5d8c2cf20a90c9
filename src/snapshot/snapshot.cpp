#include "snapshot/snapshot.hpp"

#include <algorithm>

#include "core/provider.hpp"

namespace nexus::snapshot {

namespace {
std::int64_t ns(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
}  // namespace

bool ChannelHealth::cooling_down(std::chrono::steady_clock::time_point now) const {
    return cooldown_until_ns_.load(std::memory_order_relaxed) > ns(now);
}

bool ChannelHealth::record_transient_failure(std::chrono::steady_clock::time_point now,
                                             std::chrono::milliseconds cooldown) {
    const int streak = streak_.fetch_add(1, std::memory_order_relaxed) + 1;
    if (streak < kTripAfter) return false;
    streak_.store(0, std::memory_order_relaxed);
    cooldown_until_ns_.store(ns(now + cooldown), std::memory_order_relaxed);
    return true;
}

void ChannelHealth::record_success() {
    if (streak_.load(std::memory_order_relaxed) != 0) streak_.store(0, std::memory_order_relaxed);
}

std::optional<ChannelView> make_channel_view(const store::Channel& c) {
    auto origin = core::Origin::parse(c.base_url);
    const auto* provider = core::find_provider(c.type);
    if (!origin || provider == nullptr) return std::nullopt;
    ChannelView v;
    v.id = c.id;
    v.name = c.name;
    v.type = c.type;
    v.origin = std::move(*origin);
    v.key = c.key;
    v.models.insert(c.models.begin(), c.models.end());
    for (const auto& [from, to] : c.model_mapping) v.model_mapping.emplace(from, to);
    v.priority = c.priority;
    v.weight = c.weight;
    v.provider = provider;
    v.test_model = c.models.empty() ? std::string(provider->test_model) : c.models.front();
    return v;
}

Snapshot::Snapshot(const std::vector<store::Channel>& channels, const std::vector<store::Token>& tokens,
                   const std::vector<store::ModelPrice>& prices, const Snapshot* previous,
                   const std::vector<store::User>& users) {
    static const std::unordered_map<std::int64_t, std::shared_ptr<ChannelHealth>> kNoHealth;
    const auto& previous_health = previous ? previous->health_ : kNoHealth;
    for (const auto& c : channels) {
        if (c.status != store::kChannelEnabled) continue;
        auto view = make_channel_view(c);
        if (!view) continue;  // validated on write; a bad row is skipped, never relayed to
        auto& v = *view;
        const auto it = previous_health.find(c.id);
        v.health = it != previous_health.end() ? it->second : std::make_shared<ChannelHealth>();
        // The store says enabled: an earlier rejection was either not yet written (its write
        // comes next on the same database thread, and rebuilds again) or undone by an admin.
        v.health->clear_key_rejected();
        health_.emplace(c.id, v.health);
        channels_.push_back(std::move(v));
    }
    std::stable_sort(channels_.begin(), channels_.end(),
                     [](const ChannelView& a, const ChannelView& b) { return a.priority > b.priority; });
    for (const auto& u : users) {
        OwnerView o{u.id, u.status == store::kUserEnabled, u.remain_quota >= 0, nullptr, u.quota_epoch};
        const auto* kept = previous ? previous->owner_quota_of(u.id) : nullptr;
        o.quota = kept ? *kept : std::make_shared<QuotaCounter>();
        o.quota->set_stored(u.remain_quota);
        owners_.emplace(u.id, std::move(o));
    }
    for (const auto& t : tokens) {
        TokenView v{t.id, t.name, t.status, t.expired_time, {}, {}, {}, nullptr, t.user_id, nullptr, t.quota_epoch};
        if (const auto it = owners_.find(t.user_id); it != owners_.end()) v.owner = &it->second;
        v.models.insert(t.models.begin(), t.models.end());
        for (const auto& a : t.allow_ips) {
            if (auto range = core::IpRange::parse(a)) v.allow_ips.push_back(*range);  // validated on write
        }
        v.limits = {t.remain_quota >= 0, t.rpm, t.tpm, t.max_concurrency};
        const auto* kept = previous ? previous->counters_of(t.id) : nullptr;
        v.counters = kept ? *kept : std::make_shared<TokenCounters>();
        v.counters->set_stored(t.remain_quota);
        counters_.emplace(t.id, v.counters);
        tokens_by_hash_.emplace(t.key_hash, std::move(v));
    }
    for (const auto& p : prices) prices_.emplace(p.model, p.price);
}

const std::shared_ptr<QuotaCounter>* Snapshot::owner_quota_of(std::int64_t id) const {
    const auto it = owners_.find(id);
    return it == owners_.end() ? nullptr : &it->second.quota;
}

const std::shared_ptr<TokenCounters>* Snapshot::counters_of(std::int64_t id) const {
    const auto it = counters_.find(id);
    return it == counters_.end() ? nullptr : &it->second;
}

const core::Price* Snapshot::price_of(const std::string& model) const {
    const auto it = prices_.find(model);
    return it == prices_.end() ? nullptr : &it->second;
}

const TokenView* Snapshot::find_token(const std::string& key_hash) const {
    const auto it = tokens_by_hash_.find(key_hash);
    return it == tokens_by_hash_.end() ? nullptr : &it->second;
}

bool Snapshot::any_serves(const std::string& model) const {
    return std::any_of(channels_.begin(), channels_.end(), [&](const ChannelView& c) { return c.serves(model); });
}

const ChannelView* Snapshot::pick(const std::string& model, std::span<const std::int64_t> tried,
                                  std::mt19937_64& rng, std::chrono::steady_clock::time_point now) const {
    auto usable = [&](const ChannelView& c) {
        return c.serves(model) && std::find(tried.begin(), tried.end(), c.id) == tried.end() &&
               !c.health->key_rejected() && !c.health->cooling_down(now);
    };
    // channels_ is sorted by priority: walk tier by tier, take the first tier with a candidate.
    for (std::size_t begin = 0; begin < channels_.size();) {
        std::size_t end = begin;
        while (end < channels_.size() && channels_[end].priority == channels_[begin].priority) ++end;
        std::int64_t total = 0;
        std::size_t count = 0;
        for (std::size_t i = begin; i < end; ++i) {
            if (!usable(channels_[i])) continue;
            total += channels_[i].weight;
            ++count;
        }
        if (count > 0) {
            if (total == 0) {
                // Every candidate has weight 0: choose evenly among them.
                std::uniform_int_distribution<std::size_t> d(0, count - 1);
                std::size_t n = d(rng);
                for (std::size_t i = begin; i < end; ++i) {
                    if (usable(channels_[i]) && n-- == 0) return &channels_[i];
                }
            }
            std::uniform_int_distribution<std::int64_t> d(0, total - 1);
            std::int64_t r = d(rng);
            for (std::size_t i = begin; i < end; ++i) {
                if (!usable(channels_[i])) continue;
                if (r < channels_[i].weight) return &channels_[i];
                r -= channels_[i].weight;
            }
        }
        begin = end;
    }
    return nullptr;
}

SnapshotHolder::SnapshotHolder() : current_(std::make_shared<const Snapshot>(std::vector<store::Channel>{},
                                                                            std::vector<store::Token>{},
                                                                            std::vector<store::ModelPrice>{})) {}

void SnapshotHolder::publish(std::shared_ptr<const Snapshot> next) {
    std::lock_guard lock(mutex_);
    current_ = std::move(next);
    version_.fetch_add(1, std::memory_order_acq_rel);
}

std::shared_ptr<const Snapshot> SnapshotHolder::current() const {
    std::lock_guard lock(mutex_);
    return current_;
}

std::shared_ptr<const Snapshot> SnapshotHolder::Reader::get() {
    const auto v = holder_.version();
    if (v != local_version_) {
        // Pin the shared snapshot once, and hand out pointers that share this thread's pin.
        auto pin = std::make_shared<const std::shared_ptr<const Snapshot>>(holder_.current());
        local_ = std::shared_ptr<const Snapshot>(pin, pin->get());
        local_version_ = v;
    }
    return local_;
}

}  // namespace nexus::snapshot
