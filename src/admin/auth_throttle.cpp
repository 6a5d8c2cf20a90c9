#include "admin/auth_throttle.hpp"

#include <cstdio>

namespace nexus::admin {

std::string AuthThrottle::client_key(const boost::asio::ip::address& client) {
    if (client.is_v4()) return client.to_v4().to_string();
    const auto v6 = client.to_v6();
    if (v6.is_v4_mapped()) return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6).to_string();
    const auto bytes = v6.to_bytes();
    char prefix[32];
    std::snprintf(prefix, sizeof(prefix), "%02x%02x:%02x%02x:%02x%02x:%02x%02x::/64", bytes[0], bytes[1], bytes[2],
                  bytes[3], bytes[4], bytes[5], bytes[6], bytes[7]);
    return prefix;
}

int AuthThrottle::blocked_for(const std::string& key, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    const auto it = index_.find(key);
    if (it == index_.end()) return 0;
    const auto& w = *it->second;
    const auto age = now - w.start;
    if (age >= window_ || w.failures < max_) return 0;
    return static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(window_ - age).count()) + 1;
}

void AuthThrottle::record_failure(std::string key, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    auto it = index_.find(key);
    if (it == index_.end()) {
        if (entries_.size() >= capacity_) {
            // Forget the client seen least recently.
            index_.erase(entries_.back().key);
            entries_.pop_back();
        }
        entries_.push_front(Window{key, now, 0});
        it = index_.emplace(std::move(key), entries_.begin()).first;
    } else {
        entries_.splice(entries_.begin(), entries_, it->second);  // now the most recently seen
    }
    auto& w = *it->second;
    if (now - w.start >= window_) {
        w.start = now;
        w.failures = 0;
    }
    ++w.failures;
}

std::size_t AuthThrottle::size() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
}

}  // namespace nexus::admin
