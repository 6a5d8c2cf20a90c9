#pragma once
#include <boost/asio/ip/address.hpp>

#include <chrono>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

namespace nexus::admin {

/// Counts failed logins per key (a client address, a username) in windows that start at the
/// first failure; past the limit the key is answered 429 until its window ends. A client is an
/// IPv4 address, or an IPv6 /64 (one host commonly holds a whole /64, so counting single v6
/// addresses would limit nothing).
/// Only wrong credentials are failures: the caller checks a correct key first and never asks.
/// The table is bounded: past `capacity` clients the least recently seen is forgotten, in O(1).
/// Thread-safe (the admin path is not hot).
class AuthThrottle {
public:
    using Clock = std::chrono::steady_clock;
    static constexpr std::size_t kDefaultCapacity = 10'000;

    explicit AuthThrottle(int max_failures = 10, Clock::duration window = std::chrono::minutes(1),
                          std::size_t capacity = kDefaultCapacity)
        : max_(max_failures), window_(window), capacity_(capacity) {}

    /// Seconds until `client` may try again, or 0 when it may try now.
    int blocked_for(const boost::asio::ip::address& client, Clock::time_point now = Clock::now()) {
        return blocked_for(client_key(client), now);
    }
    void record_failure(const boost::asio::ip::address& client, Clock::time_point now = Clock::now()) {
        record_failure(client_key(client), now);
    }
    /// The same for any key.
    int blocked_for(const std::string& key, Clock::time_point now = Clock::now());
    void record_failure(std::string key, Clock::time_point now = Clock::now());
    /// Clients in the table.
    std::size_t size() const;

    /// The key a client is counted under: the IPv4 address (also for v4-mapped IPv6), or the
    /// IPv6 /64 prefix.
    static std::string client_key(const boost::asio::ip::address& client);

private:
    struct Window {
        std::string key;
        Clock::time_point start;
        int failures = 0;
    };
    using Entries = std::list<Window>;  // most recently seen first

    const int max_;
    const Clock::duration window_;
    const std::size_t capacity_;
    mutable std::mutex mutex_;
    Entries entries_;
    std::unordered_map<std::string, Entries::iterator> index_;
};

}  // namespace nexus::admin
