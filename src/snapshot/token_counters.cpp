#include "snapshot/token_counters.hpp"

#include <algorithm>

namespace nexus::snapshot {

namespace {

std::int64_t second_of(TokenCounters::Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace

std::int64_t TokenCounters::Window::total(std::int64_t now) const {
    std::int64_t sum = 0;
    for (std::int64_t i = 0; i < kBuckets; ++i) {
        if (now - second[i] < kBuckets) sum += amount[i];
    }
    return sum;
}

void TokenCounters::Window::add(std::int64_t now, std::int64_t n) {
    const auto i = static_cast<std::size_t>(now % kBuckets);
    if (second[i] != now) {
        second[i] = now;
        amount[i] = 0;
    }
    amount[i] += n;
}

std::int64_t TokenCounters::Window::wait_for(std::int64_t now, std::int64_t need, std::int64_t limit) const {
    // Oldest bucket first: how long until enough has left the window.
    auto excess = total(now) + need - limit;
    for (std::int64_t age = kBuckets - 1; age >= 0 && excess > 0; --age) {
        const auto s = now - age;
        const auto i = static_cast<std::size_t>(((s % kBuckets) + kBuckets) % kBuckets);
        if (second[i] != s) continue;
        excess -= amount[i];
        if (excess <= 0) return s + kBuckets - now;
    }
    return kBuckets;
}

std::int64_t TokenCounters::Window::until_empty(std::int64_t now) const {
    for (std::int64_t age = 0; age < kBuckets; ++age) {
        const auto s = now - age;
        const auto i = static_cast<std::size_t>(((s % kBuckets) + kBuckets) % kBuckets);
        if (second[i] == s && amount[i] > 0) return s + kBuckets - now;
    }
    return 0;
}

TokenCounters::Admission TokenCounters::admit(const Limits& limits, const Want& want, Clock::time_point when) {
    const auto now = second_of(when);
    Admission a;
    a.second = now;
    std::lock_guard lock(mutex_);
    const auto requests = limits.rpm > 0 ? requests_.total(now) : 0;
    const auto tokens = limits.tpm > 0 ? tokens_.total(now) : 0;
    if (limits.max_concurrency > 0 && in_flight_ >= limits.max_concurrency) {
        a.refusal = Refusal::kConcurrency;
        a.retry_after = std::chrono::seconds(1);
    } else if (limits.rpm > 0 && requests >= limits.rpm) {
        a.refusal = Refusal::kRequests;
        a.retry_after = std::chrono::seconds(requests_.wait_for(now, 1, limits.rpm));
    } else if (limits.tpm > 0 && want.tokens > limits.tpm) {
        a.refusal = Refusal::kTokensNeverFit;
    } else if (limits.tpm > 0 && tokens + want.tokens > limits.tpm) {
        a.refusal = Refusal::kTokens;
        a.retry_after = std::chrono::seconds(tokens_.wait_for(now, want.tokens, limits.tpm));
    } else if (limits.limited_quota && want.quota > std::max<std::int64_t>(stored_ - unwritten_ - reserved_, 0)) {
        a.refusal = Refusal::kQuota;
    }
    if (a.refusal == Refusal::kNone) {
        ++in_flight_;
        if (limits.rpm > 0) requests_.add(now, 1);
        if (limits.tpm > 0) tokens_.add(now, want.tokens);
        if (limits.limited_quota) reserved_ += want.quota;
    }
    if (limits.rpm > 0) {
        a.requests_remaining = std::max<std::int64_t>(limits.rpm - requests_.total(now), 0);
        a.requests_reset = std::chrono::seconds(requests_.until_empty(now));
    }
    if (limits.tpm > 0) {
        a.tokens_remaining = std::max<std::int64_t>(limits.tpm - tokens_.total(now), 0);
        a.tokens_reset = std::chrono::seconds(tokens_.until_empty(now));
    }
    return a;
}

std::int64_t TokenCounters::settle(const Limits& limits, const Want& want, std::int64_t second, std::int64_t quota,
                                   std::int64_t tokens) {
    std::lock_guard lock(mutex_);
    --in_flight_;
    if (limits.tpm > 0) {
        // Still in its bucket: the estimate becomes the real count.
        const auto i = static_cast<std::size_t>(second % kBuckets);
        if (tokens_.second[i] == second) tokens_.amount[i] = std::max<std::int64_t>(tokens_.amount[i] + tokens - want.tokens, 0);
    }
    std::int64_t taken = std::max<std::int64_t>(quota, 0);
    if (limits.limited_quota) reserved_ -= want.quota;
    // (A token made limited while the call ran pays from what is left too.)
    if (stored_ >= 0) taken = std::min(taken, std::max<std::int64_t>(stored_ - unwritten_ - reserved_, 0));
    unwritten_ += taken;
    return taken;
}

void TokenCounters::set_stored(std::int64_t remain_quota) {
    std::lock_guard lock(mutex_);
    stored_ = remain_quota;
}

void TokenCounters::written(std::int64_t quota) {
    std::lock_guard lock(mutex_);
    unwritten_ -= quota;
    if (stored_ >= 0) stored_ -= quota;
}

void TokenCounters::dropped(std::int64_t quota) {
    std::lock_guard lock(mutex_);
    unwritten_ -= quota;
}

std::int64_t TokenCounters::unwritten() const {
    std::lock_guard lock(mutex_);
    return unwritten_;
}

}  // namespace nexus::snapshot
