#pragma once
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "http/exchange.hpp"
#include "http/peer_watch.hpp"
#include "http/router.hpp"

namespace nexus::http {

/// The cap on open client connections, shared by every listener of the process (thread-safe).
class ConnectionLimit {
public:
    explicit ConnectionLimit(std::size_t max) : max_(max) {}
    /// Takes a slot; false when all `max` are taken.
    bool try_acquire() {
        auto n = open_.load(std::memory_order_relaxed);
        do {
            if (n >= max_) return false;
        } while (!open_.compare_exchange_weak(n, n + 1, std::memory_order_acq_rel, std::memory_order_relaxed));
        return true;
    }
    void release() { open_.fetch_sub(1, std::memory_order_acq_rel); }
    std::size_t open() const { return open_.load(std::memory_order_acquire); }

private:
    const std::size_t max_;
    std::atomic<std::size_t> open_{0};
};

/// Accepts connections on one I/O thread and runs one session coroutine per connection:
/// HTTP/1.1 keep-alive, header/body/idle deadlines, size limits, request ids, access log and
/// metrics. Routing happens once the request's head is read: a handler decides from the head
/// whether to read the body (Exchange::read_body), so a request refused at its head never has
/// its body read. A connection over `limit` is answered 503 `overloaded` and closed.
/// Several Listeners (one per thread) may share a port through SO_REUSEPORT.
/// All member functions but active_sessions() must run on the listener's io_context thread.
class Listener {
public:
    Listener(net::io_context& ioc, const config::Config& config, const Router& router, core::Metrics& metrics,
             ConnectionLimit& limit);
    /// Its sessions must be gone first (they erase themselves from it): a debug build checks.
    ~Listener();

    /// Binds and listens; throws boost::system::system_error on failure.
    void listen(const net::ip::tcp::endpoint& endpoint, bool reuse_port);
    std::uint16_t port() const;
    /// Starts the accept loop.
    void start();
    /// Shutdown begins: idle keep-alive connections are closed at once, connections with a
    /// request in flight when that request ends, and every answer from now on says
    /// Connection: close (new connections are still served, one request each, until close()).
    void drain();
    /// Closes and destroys the acceptor, which must not outlive the io_context (shutdown).
    void close() {
        acceptor_.reset();
        peers_.close();
    }
    /// Open client connections; safe from any thread.
    std::size_t active_sessions() const { return active_.load(std::memory_order_acquire); }

private:
    struct Session;
    net::awaitable<void> accept_loop();
    net::awaitable<void> run_session(net::ip::tcp::socket socket);
    net::awaitable<bool> serve_one(Session& session, bool first);
    net::awaitable<void> dispatch(Exchange& exchange);
    net::awaitable<void> refuse_connection(net::ip::tcp::socket socket);
    void finish(Exchange& exchange, std::string_view method, std::string_view target);

    net::io_context& ioc_;
    const config::Config& config_;
    const Router& router_;
    core::Metrics& metrics_;
    ConnectionLimit& limit_;
    std::optional<net::ip::tcp::acceptor> acceptor_;
    PeerWatch peers_;
    std::unordered_set<Session*> sessions_;
    std::atomic<std::size_t> active_{0};
    bool draining_ = false;
};

}  // namespace nexus::http
