#include "upstream/resolver.hpp"

#include <boost/asio/post.hpp>
#include <netdb.h>
#include <sys/socket.h>

#include <cstring>
#include <thread>

namespace nexus::upstream {

using tcp = net::ip::tcp;

struct Resolver::Flight {
    explicit Flight(net::any_io_executor executor) : done(std::move(executor)) {}
    core::OneShot done;
    std::variant<Endpoints, std::string> answer;  ///< set before `done`
};

namespace {
Resolver::Result result_of(const std::variant<Resolver::Endpoints, std::string>& answer) {
    if (const auto* endpoints = std::get_if<Resolver::Endpoints>(&answer)) return {*endpoints, {}, {}};
    return {{}, Resolver::Failure::kNotFound, std::get<std::string>(answer)};
}
}  // namespace

Resolver::Resolver(net::any_io_executor executor, Lookup lookup) : Resolver(std::move(executor), std::move(lookup), Options{}) {}

Resolver::Resolver(net::any_io_executor executor, Lookup lookup, Options options)
    : executor_(std::move(executor)), lookup_(std::move(lookup)), options_(options) {}

Resolver::~Resolver() { close(); }

void Resolver::close() {
    // Lookups still running must not post to an io_context that may be gone soon.
    std::lock_guard lock(link_->mutex);
    link_->alive = false;
}

std::variant<Resolver::Endpoints, std::string> Resolver::system_lookup(const std::string& host,
                                                                       const std::string& port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG | AI_NUMERICSERV;
    addrinfo* list = nullptr;
    const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &list);
    if (rc != 0) return std::string(::gai_strerror(rc));
    Endpoints out;
    for (const auto* a = list; a != nullptr; a = a->ai_next) {
        tcp::endpoint ep;
        if (a->ai_addrlen > ep.capacity()) continue;
        std::memcpy(ep.data(), a->ai_addr, a->ai_addrlen);
        ep.resize(a->ai_addrlen);
        out.push_back(ep);
    }
    ::freeaddrinfo(list);
    if (out.empty()) return std::string("no address");
    return out;
}

void Resolver::start_lookup(const std::string& key, const std::string& host, const std::string& port) {
    flights_.emplace(key, std::make_shared<Flight>(executor_));
    // A thread per name: a name that never answers holds only its own thread, never another
    // name's lookup. Detached: getaddrinfo cannot be stopped, and the process does not wait
    // for it at exit.
    std::thread([link = link_, executor = executor_, lookup = lookup_, self = this, key, host, port] {
        auto answer = lookup(host, port);
        std::lock_guard lock(link->mutex);
        if (!link->alive) return;
        net::post(executor, [self, key, answer = std::move(answer)]() mutable { self->land(key, std::move(answer)); });
    }).detach();
}

void Resolver::land(const std::string& key, std::variant<Endpoints, std::string> answer) {
    const bool found = std::holds_alternative<Endpoints>(answer);
    cache_[key] = Entry{answer, Clock::now() + (found ? options_.ttl : options_.negative_ttl)};
    if (auto it = flights_.find(key); it != flights_.end()) {
        const auto flight = std::move(it->second);
        flights_.erase(it);
        flight->answer = std::move(answer);
        flight->done.set();
    }
}

net::awaitable<Resolver::Result> Resolver::resolve(const std::string& host, const std::string& port,
                                                    Clock::time_point deadline, core::Cancellation* cancel) {
    const std::string key = host + ":" + port;
    if (const auto it = cache_.find(key); it != cache_.end() && Clock::now() < it->second.expires) {
        co_return result_of(it->second.answer);
    }
    if (cancel != nullptr && cancel->cancelled()) co_return Result{{}, Failure::kCancelled, "cancelled"};

    auto it = flights_.find(key);
    if (it == flights_.end()) {
        if (flights_.size() >= options_.max_lookups) {
            co_return Result{{}, Failure::kTooManyLookups, "too many name lookups in flight"};
        }
        start_lookup(key, host, port);
        it = flights_.find(key);
    }
    // Held across the wait: land() drops the resolver's reference when it wakes us.
    const auto flight = it->second;
    if (co_await flight->done.wait(deadline, cancel)) co_return result_of(flight->answer);
    if (cancel != nullptr && cancel->cancelled()) co_return Result{{}, Failure::kCancelled, "cancelled"};
    co_return Result{{}, Failure::kTimeout, "the name lookup took too long"};
}

}  // namespace nexus::upstream
