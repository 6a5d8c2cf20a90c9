#pragma once
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <variant>
#include <vector>

#include "core/asio.hpp"
#include "core/cancellation.hpp"

namespace nexus::upstream {

/// Name resolution that honours a deadline and keeps channels apart. getaddrinfo blocks and
/// cannot be cancelled, and Asio's resolver runs every lookup of a thread on one background
/// thread (a slow name delays every other one, and cancelling fails them all). Here each name
/// being looked up gets a thread of its own; callers wait for it with their own deadline (or
/// until their call is cancelled), and a lookup that outlives them still fills the cache for
/// the next caller. One lookup per name at a time; answers are kept `ttl`, failures
/// `negative_ttl`. One Resolver per I/O thread, used only from that thread.
class Resolver {
public:
    using Clock = std::chrono::steady_clock;
    using Endpoints = std::vector<net::ip::tcp::endpoint>;
    /// The blocking lookup (getaddrinfo by default): endpoints, or an error message.
    using Lookup = std::function<std::variant<Endpoints, std::string>(const std::string& host, const std::string& port)>;

    struct Options {
        std::chrono::milliseconds ttl{30'000};
        std::chrono::milliseconds negative_ttl{5'000};
        std::size_t max_lookups = 32;  ///< names looked up at once, at most
    };

    /// Why resolve() has no endpoints.
    enum class Failure { kNotFound, kTimeout, kCancelled, kTooManyLookups };
    struct Result {
        Endpoints endpoints;         ///< empty on failure
        Failure failure{};
        std::string detail;          ///< the lookup's error message, for logs
        bool ok() const { return !endpoints.empty(); }
    };

    explicit Resolver(net::any_io_executor executor, Lookup lookup = system_lookup);
    Resolver(net::any_io_executor executor, Lookup lookup, Options options);
    ~Resolver();
    Resolver(const Resolver&) = delete;
    Resolver& operator=(const Resolver&) = delete;

    /// The endpoints of `host`:`port`: at once from the cache, else from a lookup, waiting at
    /// most until `deadline` or until `cancel` fires. Never throws.
    net::awaitable<Result> resolve(const std::string& host, const std::string& port, Clock::time_point deadline,
                                   core::Cancellation* cancel = nullptr);

    /// From now on no lookup posts its answer here (shutdown: the io_context goes soon).
    void close();

    /// getaddrinfo, TCP, any address family.
    static std::variant<Endpoints, std::string> system_lookup(const std::string& host, const std::string& port);

private:
    struct Entry {
        std::variant<Endpoints, std::string> answer;
        Clock::time_point expires;
    };
    struct Flight;
    // What lookup threads share with the resolver: they post their answer only while it lives.
    struct Link {
        std::mutex mutex;
        bool alive = true;
    };
    void start_lookup(const std::string& key, const std::string& host, const std::string& port);
    void land(const std::string& key, std::variant<Endpoints, std::string> answer);

    net::any_io_executor executor_;
    Lookup lookup_;
    Options options_;
    std::shared_ptr<Link> link_ = std::make_shared<Link>();
    std::unordered_map<std::string, Entry> cache_;
    std::unordered_map<std::string, std::shared_ptr<Flight>> flights_;
};

}  // namespace nexus::upstream
