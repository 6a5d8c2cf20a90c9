#pragma once
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "core/asio.hpp"
#include "core/error.hpp"
#include "core/metrics.hpp"
#include "core/origin.hpp"

namespace nexus::upstream {

using Clock = std::chrono::steady_clock;
using core::Origin;

/// The TLS client context for upstreams: certificate and host-name verification on, OpenSSL's
/// default trust store (so SSL_CERT_FILE / SSL_CERT_DIR name a private CA), TLS 1.2 or newer.
net::ssl::context make_tls_context();

/// A deadline for one step, capped by the request's overall deadline.
std::chrono::steady_clock::duration step_timeout(std::chrono::milliseconds step, Clock::time_point request_deadline);

/// One connection to an upstream origin, plain or TLS, with its read buffer (which must outlive
/// a single response: bytes past one response belong to the next).
class Connection {
public:
    Connection(net::any_io_executor executor, net::ssl::context* tls);

    beast::tcp_stream& tcp() { return tls_ ? tls_->next_layer() : *plain_; }
    beast::flat_buffer& buffer() { return buffer_; }
    bool reused() const { return reused_; }

    /// Calls `f` with the stream to read and write (the TLS stream, or the TCP stream).
    template <class F>
    decltype(auto) visit(F&& f) {
        if (tls_) return f(*tls_);
        return f(*plain_);
    }

private:
    friend class Client;
    std::optional<beast::tcp_stream> plain_;
    std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
    beast::flat_buffer buffer_;
    std::string origin_key_;
    Clock::time_point idle_since_{};
    bool reused_ = false;
};

/// Why no connection could be had.
struct ConnectFailure {
    core::Error error;
    core::AttemptOutcome outcome;
};

/// The upstream client of one I/O thread: a keep-alive pool per origin (bounded: at most
/// `upstream_pool_size` idle connections per origin; older ones than `upstream_keepalive` are
/// dropped), asynchronous name resolution, TCP_NODELAY, deadlines on every step.
/// Not thread-safe: one Client per io_context, used only from its thread.
class Client {
public:
    Client(net::any_io_executor executor, net::ssl::context& tls, const config::Config& config);

    struct Acquired {
        std::unique_ptr<Connection> connection;  ///< null on failure
        std::optional<ConnectFailure> failure;
    };

    /// A connection to `origin`: an idle pooled one when `allow_pooled`, else a new one.
    /// Never throws; cancellation is by the deadlines.
    net::awaitable<Acquired> acquire(const Origin& origin, Clock::time_point deadline, bool allow_pooled = true);

    /// Gives back a connection whose last response was read whole and that may be kept alive.
    void release(std::unique_ptr<Connection> connection);

    /// Closes idle connections older than `upstream_keepalive` now, and from now on every so
    /// often, so that a pool nobody draws from does not hold descriptors (or sockets the
    /// upstream already closed) for ever. Runs on the client's executor until it stops.
    void start_sweeping();
    /// Closes idle connections that were idle `upstream_keepalive` or longer at `now`.
    void close_stale(Clock::time_point now);
    /// Idle pooled connections, over all origins.
    std::size_t idle_count() const;

private:
    net::awaitable<Acquired> connect(const Origin& origin, Clock::time_point deadline);

    net::any_io_executor executor_;
    net::ssl::context& tls_;
    const config::Config& config_;
    net::ip::tcp::resolver resolver_;
    std::unordered_map<std::string, std::vector<std::unique_ptr<Connection>>> idle_;
    std::unique_ptr<net::steady_timer> sweep_timer_;
};

}  // namespace nexus::upstream
