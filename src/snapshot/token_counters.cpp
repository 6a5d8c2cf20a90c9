#include "snapshot/token_counters.hpp"

#include <algorithm>

namespace nexus::snapshot {

namespace {

std::int64_t second_of(TokenCounters::Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace

void TokenCounters::Window::advance(std::int64_t now) {
    if (now <= latest) return;
    if (now - latest >= kBuckets) {  // a minute or more of silence: all of it is old
        amount.fill(0);
        total = 0;
    }
    // The seconds after `latest` take over their slots, and what those held leaves the window.
    for (auto s = std::max(latest + 1, now - kBuckets + 1); s <= now; ++s) {
        const auto i = slot(s);
        total -= amount[i];
        amount[i] = 0;
        second[i] = s;
    }
    latest = now;
}

void TokenCounters::Window::add(std::int64_t now, std::int64_t n) {
    advance(now);
    amount[slot(now)] += n;
    total += n;
}

std::int64_t TokenCounters::Window::wait_for(std::int64_t now, std::int64_t need, std::int64_t limit) const {
    // Oldest bucket first: how long until enough has left the window.
    auto excess = total + need - limit;
    for (std::int64_t age = kBuckets - 1; age >= 0 && excess > 0; --age) {
        const auto s = now - age;
        const auto i = slot(s);
        if (second[i] != s) continue;
        excess -= amount[i];
        if (excess <= 0) return s + kBuckets - now;
    }
    return kBuckets;
}

std::int64_t TokenCounters::Window::until_empty(std::int64_t now) const {
    for (std::int64_t age = 0; age < kBuckets; ++age) {
        const auto s = now - age;
        const auto i = slot(s);
        if (second[i] == s && amount[i] > 0) return s + kBuckets - now;
    }
    return 0;
}

TokenCounters::Admission TokenCounters::admit(const Limits& limits, const Want& want, Clock::time_point when) {
    const auto now = second_of(when);
    Admission a;
    a.second = now;
    if (!limits.any()) return a;  // nothing to check or hold: no lock taken
    std::lock_guard lock(mutex_);
    requests_.advance(now);
    tokens_.advance(now);
    const auto requests = requests_.total;
    const auto tokens = tokens_.total;
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
        if (limits.max_concurrency > 0) ++in_flight_;
        if (limits.rpm > 0) requests_.add(now, 1);
        if (limits.tpm > 0) tokens_.add(now, want.tokens);
        if (limits.limited_quota) reserved_ += want.quota;
    }
    fill_windows(limits, now, a);
    return a;
}

void TokenCounters::fill_windows(const Limits& limits, std::int64_t now, Admission& a) {
    requests_.advance(now);
    tokens_.advance(now);
    if (limits.rpm > 0) {
        a.requests_remaining = std::max<std::int64_t>(limits.rpm - requests_.total, 0);
        a.requests_reset = std::chrono::seconds(requests_.until_empty(now));
    }
    if (limits.tpm > 0) {
        a.tokens_remaining = std::max<std::int64_t>(limits.tpm - tokens_.total, 0);
        a.tokens_reset = std::chrono::seconds(tokens_.until_empty(now));
    }
}

TokenCounters::Admission TokenCounters::peek(const Limits& limits, Clock::time_point when) {
    const auto now = second_of(when);
    Admission a;
    a.second = now;
    std::lock_guard lock(mutex_);
    fill_windows(limits, now, a);
    return a;
}

std::int64_t TokenCounters::settle(const Limits& limits, const Want& want, std::int64_t second, std::int64_t quota,
                                   std::int64_t tokens) {
    if (!limits.any() && quota <= 0) return 0;  // admitted without the lock, and nothing to count
    std::lock_guard lock(mutex_);
    if (limits.max_concurrency > 0) --in_flight_;
    if (limits.tpm > 0) {
        // Still in its bucket: the estimate becomes the real count.
        const auto i = Window::slot(second);
        if (tokens_.second[i] == second) {
            const auto adjusted = std::max<std::int64_t>(tokens_.amount[i] + tokens - want.tokens, 0);
            tokens_.total += adjusted - tokens_.amount[i];
            tokens_.amount[i] = adjusted;
        }
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

std::int64_t TokenCounters::settled_left() const {
    std::lock_guard lock(mutex_);
    return stored_ < 0 ? -1 : std::max<std::int64_t>(0, stored_ - unwritten_);
}

}  // namespace nexus::snapshot
