#include "upstream/client.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>

namespace nexus::upstream {

using tcp = net::ip::tcp;

net::ssl::context make_tls_context() {
    net::ssl::context ctx{net::ssl::context::tls_client};
    ctx.set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                    net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 | net::ssl::context::no_tlsv1_1);
    ctx.set_default_verify_paths();  // honours SSL_CERT_FILE and SSL_CERT_DIR
    ctx.set_verify_mode(net::ssl::verify_peer);
    return ctx;
}

Clock::duration step_timeout(std::chrono::milliseconds step, Clock::time_point request_deadline) {
    const auto left = request_deadline - Clock::now();
    return std::max<Clock::duration>(std::min<Clock::duration>(step, left), Clock::duration::zero());
}

Connection::Connection(net::any_io_executor executor, net::ssl::context* tls) : buffer_(16384) {
    if (tls != nullptr) {
        tls_.emplace(executor, *tls);
    } else {
        plain_.emplace(executor);
    }
}

Client::Client(net::any_io_executor executor, net::ssl::context& tls, const config::Config& config)
    : executor_(executor), tls_(tls), config_(config), resolver_(executor) {}

net::awaitable<Client::Acquired> Client::acquire(const Origin& origin, Clock::time_point deadline,
                                                 bool allow_pooled) {
    if (allow_pooled) {
        if (auto it = idle_.find(origin.key); it != idle_.end()) {
            auto& stack = it->second;
            const auto now = Clock::now();
            while (!stack.empty()) {
                auto c = std::move(stack.back());
                stack.pop_back();
                if (now - c->idle_since_ < config_.upstream_keepalive) {
                    c->reused_ = true;
                    co_return Acquired{std::move(c), std::nullopt};
                }
                // Too old: the upstream may close it any moment. Drop it (closes the socket).
            }
        }
    }
    co_return co_await connect(origin, deadline);
}

void Client::release(std::unique_ptr<Connection> connection) {
    if (!connection || config_.upstream_pool_size == 0) return;
    auto& stack = idle_[connection->origin_key_];
    if (stack.size() >= config_.upstream_pool_size) return;  // bounded: drop (closes it)
    connection->idle_since_ = Clock::now();
    connection->tcp().expires_never();
    stack.push_back(std::move(connection));
}

void Client::close_stale(Clock::time_point now) {
    for (auto it = idle_.begin(); it != idle_.end();) {
        auto& stack = it->second;
        // Released in time order: the oldest are at the front.
        std::size_t stale = 0;
        while (stale < stack.size() && now - stack[stale]->idle_since_ >= config_.upstream_keepalive) ++stale;
        stack.erase(stack.begin(), stack.begin() + static_cast<std::ptrdiff_t>(stale));
        it = stack.empty() ? idle_.erase(it) : std::next(it);
    }
}

std::size_t Client::idle_count() const {
    std::size_t n = 0;
    for (const auto& [origin, stack] : idle_) n += stack.size();
    return n;
}

void Client::start_sweeping() {
    sweep_timer_ = std::make_unique<net::steady_timer>(executor_);
    const auto every = std::max<std::chrono::milliseconds>(config_.upstream_keepalive / 2, std::chrono::seconds(1));
    net::co_spawn(
        executor_,
        [this, every]() -> net::awaitable<void> {
            for (;;) {
                sweep_timer_->expires_after(every);
                auto [ec] = co_await sweep_timer_->async_wait(use_nothrow);
                if (ec) co_return;
                close_stale(Clock::now());
            }
        },
        [](std::exception_ptr) {});
}

net::awaitable<Client::Acquired> Client::connect(const Origin& origin, Clock::time_point deadline) {
    using namespace net::experimental::awaitable_operators;
    auto fail = [&](core::AttemptOutcome outcome, core::Error error) {
        return Acquired{nullptr, ConnectFailure{std::move(error), outcome}};
    };
    const auto connect_budget = step_timeout(config_.upstream_connect_timeout, deadline);

    // Resolve the name (skipped for an IP literal) under the connect deadline.
    std::vector<tcp::endpoint> endpoints;
    error_code ec;
    const auto port = static_cast<unsigned short>(std::stoul(origin.port));
    if (const auto address = net::ip::make_address(origin.host, ec); !ec) {
        endpoints.emplace_back(address, port);
    } else {
        net::steady_timer timer(executor_, connect_budget);
        auto result = co_await (resolver_.async_resolve(origin.host, origin.port, use_nothrow) ||
                                timer.async_wait(use_nothrow));
        if (result.index() == 1) {
            resolver_.cancel();
            co_return fail(core::AttemptOutcome::kTimeout,
                           core::Error::gateway_timeout("Timed out resolving the upstream host name.", origin.host));
        }
        auto [rec, results] = std::get<0>(std::move(result));
        if (rec) {
            co_return fail(core::AttemptOutcome::kConnectError,
                           core::Error::bad_gateway("Could not resolve the upstream host name.",
                                                    origin.host + ": " + rec.message()));
        }
        for (const auto& r : results) endpoints.push_back(r.endpoint());
    }

    auto connection = std::make_unique<Connection>(executor_, origin.tls ? &tls_ : nullptr);
    connection->origin_key_ = origin.key;
    auto& tcp_stream = connection->tcp();
    tcp_stream.expires_after(connect_budget);
    auto [cec, endpoint] = co_await tcp_stream.async_connect(endpoints, use_nothrow);
    if (cec) {
        if (cec == beast::error::timeout) {
            co_return fail(core::AttemptOutcome::kTimeout,
                           core::Error::gateway_timeout("Timed out connecting to the upstream.", origin.key));
        }
        co_return fail(core::AttemptOutcome::kConnectError,
                       core::Error::bad_gateway("Could not connect to the upstream: " + cec.message() + ".",
                                                origin.key + ": " + cec.message()));
    }
    tcp_stream.socket().set_option(tcp::no_delay(true), ec);

    if (origin.tls) {
        auto& stream = *connection->tls_;
        SSL* ssl = stream.native_handle();
        // Verify the certificate names the host we asked for: an IP for an IP literal, else a DNS
        // name (which is also sent as SNI).
        net::ip::make_address(origin.host, ec);
        if (!ec) {
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), origin.host.c_str());
        } else {
            SSL_set_tlsext_host_name(ssl, origin.host.c_str());
            SSL_set1_host(ssl, origin.host.c_str());
        }
        tcp_stream.expires_after(step_timeout(config_.upstream_tls_timeout, deadline));
        auto [hec] = co_await stream.async_handshake(net::ssl::stream_base::client, use_nothrow);
        if (hec) {
            if (hec == beast::error::timeout) {
                co_return fail(core::AttemptOutcome::kTimeout,
                               core::Error::gateway_timeout("Timed out in the TLS handshake with the upstream.",
                                                            origin.key));
            }
            std::string why = hec.message();
            if (const long v = SSL_get_verify_result(ssl); v != X509_V_OK) {
                why = std::string("certificate verification failed: ") + X509_verify_cert_error_string(v);
            }
            co_return fail(core::AttemptOutcome::kTlsError,
                           core::Error::bad_gateway("TLS handshake with the upstream failed (" + why + ").",
                                                    origin.key + ": " + why));
        }
    }
    co_return Acquired{std::move(connection), std::nullopt};
}

}  // namespace nexus::upstream
