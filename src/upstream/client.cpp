#include "upstream/client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/http/read.hpp>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>

#include "core/io_now.hpp"
#include "core/tls.hpp"
#include "core/wire.hpp"

namespace nexus::upstream {

using tcp = net::ip::tcp;
using core::AttemptOutcome;

namespace {

constexpr std::size_t kMaxHeader = 64 * 1024;  // an upstream answer's head
constexpr std::size_t kReadChunk = 64 * 1024;  // the most read at once after a call's yield, as Beast reads

bool is_descriptor_shortage(const error_code& ec) {
    return ec == net::error::no_descriptors || ec == boost::system::errc::too_many_files_open_in_system;
}

CallFailure upstream_failure(AttemptOutcome outcome, core::Error error) {
    return CallFailure{CallFailure::Kind::kUpstream, std::move(error), outcome};
}

CallFailure cancelled() {
    return CallFailure{CallFailure::Kind::kCancelled, core::Error::internal("The call was cancelled."),
                       AttemptOutcome::kIoError};
}

CallFailure overloaded(const std::string& detail) {
    return CallFailure{CallFailure::Kind::kOverloaded,
                       core::Error::overloaded("This server is out of file descriptors; try again shortly.", detail),
                       AttemptOutcome::kIoError};
}

// How a read of an answer (head or body) failed, as the attempt's outcome and the client's error.
CallFailure read_failure(const error_code& ec, std::string_view what) {
    switch (const auto outcome = outcome_of_read(ec)) {
        case AttemptOutcome::kTimeout:
            return upstream_failure(outcome, core::Error::gateway_timeout(
                                                 "Timed out waiting for the upstream's " + std::string(what) + ".", ec.message()));
        case AttemptOutcome::kProtocolError:
            return upstream_failure(outcome, core::Error::bad_gateway("The upstream's " + std::string(what) + " was malformed.",
                                                                      ec.message()));
        default:
            return upstream_failure(outcome, core::Error::bad_gateway("The upstream connection failed before its " +
                                                                          std::string(what) + " was read.",
                                                                      ec.message()));
    }
}

}  // namespace

AttemptOutcome outcome_of_read(const error_code& ec) {
    if (ec == beast::error::timeout) return AttemptOutcome::kTimeout;
    if (ec.category() == bhttp::make_error_code(bhttp::error::bad_version).category() &&
        ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
        return AttemptOutcome::kProtocolError;
    }
    return AttemptOutcome::kIoError;
}

net::ssl::context make_tls_context() { return core::make_client_tls_context(); }

Clock::time_point step_end(std::chrono::milliseconds step, Clock::time_point request_deadline, Clock::time_point now) {
    return std::max(now, std::min<Clock::time_point>(now + step, request_deadline));
}

Deadlines Deadlines::from(const config::Config& config, Clock::time_point request) {
    return Deadlines{request, config.upstream_connect_timeout, config.upstream_tls_timeout,
                     config.upstream_header_timeout, config.upstream_idle_timeout};
}

Connection::Connection(net::any_io_executor executor, net::ssl::context* tls) : buffer_(16384) {
    if (tls != nullptr) {
        tls_.emplace(executor, *tls);
    } else {
        plain_.emplace(executor);
    }
}

// --- Response -------------------------------------------------------------------------------------

Response::Response(Client& client, std::unique_ptr<Connection> connection, Deadlines deadlines, Clock::duration ttfb,
                   core::Cancellation::Registration registration)
    : client_(&client),
      connection_(std::move(connection)),
      deadlines_(deadlines),
      ttfb_(ttfb),
      registration_(std::move(registration)) {}

Response::~Response() {
    registration_.reset();
    if (!connection_) return;
    auto& parser = *connection_->parser_;
    if (parser.reusable()) {
        connection_->parser_.reset();
        client_->release(std::move(connection_));
    }
}

net::awaitable<std::pair<error_code, std::size_t>> Response::read_some(std::span<char> into) {
    auto& conn = *connection_;
    auto& parser = *conn.parser_;
    if (parser.is_done()) co_return std::pair{error_code{}, std::size_t{0}};
    parser.destination(into);
    // Bytes that came with the head (often the whole body) are parsed without a wait.
    if (conn.buffer_.size() > 0) {
        error_code ec;
        const auto used = parser.put(conn.buffer_.data(), ec);
        conn.buffer_.consume(used);
        if (ec == bhttp::error::need_buffer) ec = {};
        if (ec != bhttp::error::need_more && (used > 0 || ec || parser.is_done())) {
            co_return std::pair{ec, into.size() - parser.remaining()};
        }
    }
    conn.tcp().expires_at(step_end(deadlines_.idle, deadlines_.request));
    auto [ec, n] = co_await conn.visit(
        [&](auto& s) { return bhttp::async_read_some(s, conn.buffer_, parser, use_nothrow); });
    if (ec == bhttp::error::need_buffer) ec = {};
    co_return std::pair{ec, into.size() - parser.remaining()};
}

net::awaitable<std::pair<error_code, std::string>> Response::read_all(std::size_t limit) {
    std::string out;
    std::array<char, 16384> piece;
    while (!done()) {
        auto [ec, n] = co_await read_some(piece);
        out.append(piece.data(), std::min(n, limit - out.size()));
        if (ec) co_return std::pair{ec, std::move(out)};
        if (out.size() >= limit) break;  // cut: the rest stays unread and the connection is not reused
    }
    co_return std::pair{error_code{}, std::move(out)};
}

// --- Client ---------------------------------------------------------------------------------------

Client::Client(net::any_io_executor executor, net::ssl::context& tls, const config::Config& config,
               core::Metrics& metrics, Resolver::Lookup lookup)
    : executor_(executor), tls_(tls), config_(config), metrics_(metrics), resolver_(executor, std::move(lookup)) {}

net::awaitable<Client::Result> Client::call(const Origin& origin, const Request& request, const Deadlines& deadlines,
                                            core::Cancellation* cancel) {
    // The head as text, written with the body in one gather write (see http/wire.hpp).
    std::string head;
    head.reserve(256 + request.fields.size());
    head.append(bhttp::to_string(request.method)).append(" ").append(request.target).append(" HTTP/1.1\r\n");
    head.append(request.fields);
    core::append_field(head, "Host", origin.host_header);
    if (!request.body.empty() || request.method == bhttp::verb::post || request.method == bhttp::verb::put) {
        core::append_field(head, "Content-Length", std::to_string(request.body.size()));
    }
    head.append("\r\n");
    const std::array<net::const_buffer, 2> message{net::buffer(head), net::buffer(request.body.data(), request.body.size())};

    const auto started = Clock::now();
    ++calls_;
    const struct Done {
        std::size_t& calls;
        ~Done() { --calls; }
    } done{calls_};
    for (int round = 0;; ++round) {
        auto acquired = co_await acquire(origin, deadlines, round == 0, started, cancel);
        if (!acquired.connection) co_return Result{std::nullopt, std::move(acquired.failure)};
        auto connection = std::move(acquired.connection);
        auto& conn = *connection;
        core::Cancellation::Registration registration;
        if (cancel != nullptr) {
            registration = cancel->on_cancel([c = &conn] {
                error_code ignored;
                c->tcp().socket().close(ignored);
            });
        }

        conn.tcp().expires_at(step_end(deadlines.header, deadlines.request, round == 0 && conn.reused() ? started : Clock::now()));
        conn.parser_.emplace(conn.head_);
        conn.parser_->header_limit(kMaxHeader);
        conn.parser_->body_limit(boost::none);
        // A plain connection usually takes the whole request at once; only the rest waits.
        error_code wec;
        error_code early;  // a failed read or a bad head, found before any wait
        const auto written = conn.tls_ ? 0 : core::write_now(conn.tcp().socket(), message, wec);
        if (!wec && written < beast::buffer_bytes(message)) {
            auto [e, n] = co_await conn.visit(
                [&](auto& s) { return net::async_write(s, core::rest_of(message, written), use_nothrow); });
            wec = e;
        } else if (!wec && calls_ > 1) {
            // The answer cannot be there yet: while other calls have work, let it run first, so
            // the read below does not try the socket (a recv that finds nothing) too early. By
            // then the head has usually come: a plain connection's is read at once, without
            // arming a deadline. End of file is left to the read below, which names it as Beast does.
            co_await net::post(executor_, net::use_awaitable);
            // Beast's own read size: the buffer's room, at least 512 bytes. A fixed larger one
            // would make every pooled connection's buffer resident at that size.
            const auto most = beast::read_size(conn.buffer_, kReadChunk);
            if (!conn.tls_ && core::read_now(conn.tcp().socket(), conn.buffer_, most, early) > 0) {
                core::parse_buffered(*conn.parser_, conn.buffer_, [](const auto& p) { return p.is_header_done(); }, early);
            }
            if (early == net::error::eof) early = {};
        }
        error_code ec = wec;
        // Even when writing failed, the upstream may have answered first (a 413 before it
        // stopped reading our body): its answer is what the client should hear.
        if (early) {
            ec = early;
        } else if (!conn.parser_->is_header_done() && (cancel == nullptr || !cancel->cancelled())) {
            auto [rec, rn] = co_await conn.visit(
                [&](auto& s) { return bhttp::async_read_header(s, conn.buffer_, *conn.parser_, use_nothrow); });
            ec = rec ? (wec ? wec : rec) : error_code{};
        }
        if (!ec && conn.parser_->is_header_done()) {
            if (wec) conn.parser_->close_after();  // our request was not whole: never reuse
            const auto status = static_cast<int>(conn.head_.result_int());
            metrics_.record_attempt(status < 300   ? AttemptOutcome::kSuccess
                                    : status < 500 ? AttemptOutcome::kClientError
                                                   : AttemptOutcome::kServerError);
            co_return Result{Response(*this, std::move(connection), deadlines, Clock::now() - started,
                                      std::move(registration)),
                             std::nullopt};
        }
        if (cancel != nullptr && cancel->cancelled()) co_return Result{std::nullopt, cancelled()};
        // A pooled connection the upstream closed while idle: nothing of an answer came. Once.
        const bool stale = conn.reused() && !conn.parser_->got_some() && conn.buffer_.size() == 0 &&
                           ec != beast::error::timeout;
        if (stale && round == 0) continue;
        auto failure = read_failure(ec, "answer");
        metrics_.record_attempt(failure.outcome);
        co_return Result{std::nullopt, std::move(failure)};
    }
}

net::awaitable<Client::Acquired> Client::acquire(const Origin& origin, const Deadlines& deadlines, bool allow_pooled,
                                                 Clock::time_point now,
                                                 core::Cancellation* cancel) {
    if (allow_pooled) {
        if (auto it = idle_.find(origin.key); it != idle_.end()) {
            auto& stack = it->second;
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
    co_return co_await connect(origin, deadlines, cancel);
}

void Client::release(std::unique_ptr<Connection> connection) {
    if (!connection || config_.upstream_pool_size == 0) return;
    auto& stack = idle_[connection->origin_key_];
    if (stack.size() >= config_.upstream_pool_size) return;  // bounded: drop (closes it)
    connection->idle_since_ = Clock::now();
    connection->head_.trim();
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

void Client::close_all() {
    idle_.clear();
    sweep_timer_.reset();
    resolver_.close();
}

void Client::start_sweeping() {
    sweep_timer_ = std::make_unique<net::steady_timer>(executor_);
    const auto every = std::max<std::chrono::milliseconds>(config_.upstream_keepalive / 2, std::chrono::seconds(1));
    net::co_spawn(
        executor_,
        [this, every, timer = sweep_timer_.get()]() -> net::awaitable<void> {
            for (;;) {
                timer->expires_after(every);
                auto [ec] = co_await timer->async_wait(use_nothrow);
                if (ec) co_return;
                close_stale(Clock::now());
            }
        },
        [](std::exception_ptr) {});
}

net::awaitable<Client::Acquired> Client::connect(const Origin& origin, const Deadlines& deadlines,
                                                 core::Cancellation* cancel) {
    auto fail = [](CallFailure failure) { return Acquired{nullptr, std::move(failure)}; };
    const auto connect_end = step_end(deadlines.connect, deadlines.request);

    // Resolve the name (skipped for an IP literal) under the connect deadline.
    Resolver::Endpoints endpoints;
    error_code ec;
    const auto port = static_cast<unsigned short>(std::stoul(origin.port));
    if (const auto address = net::ip::make_address(origin.host, ec); !ec) {
        endpoints.emplace_back(address, port);
    } else {
        auto resolved = co_await resolver_.resolve(origin.host, origin.port, connect_end, cancel);
        if (!resolved.ok()) {
            if (resolved.failure != Resolver::Failure::kCancelled) {
                metrics_.record_attempt(resolved.failure == Resolver::Failure::kTimeout ? AttemptOutcome::kTimeout
                                                                                        : AttemptOutcome::kConnectError);
            }
            switch (resolved.failure) {
                case Resolver::Failure::kCancelled: co_return fail(cancelled());
                case Resolver::Failure::kTimeout:
                    co_return fail(upstream_failure(
                        AttemptOutcome::kTimeout,
                        core::Error::gateway_timeout("Timed out resolving the upstream host name.", origin.host)));
                default:
                    co_return fail(upstream_failure(
                        AttemptOutcome::kConnectError,
                        core::Error::bad_gateway("Could not resolve the upstream host name.",
                                                 origin.host + ": " + resolved.detail)));
            }
        }
        endpoints = std::move(resolved.endpoints);
    }

    auto connection = std::make_unique<Connection>(executor_, origin.tls ? &tls_ : nullptr);
    connection->origin_key_ = origin.key;
    auto& tcp_stream = connection->tcp();
    core::Cancellation::Registration registration;
    if (cancel != nullptr) {
        registration = cancel->on_cancel([&tcp_stream] {
            error_code ignored;
            tcp_stream.socket().close(ignored);
        });
    }
    // Each address in turn, under what is left of the connect deadline.
    error_code cec = net::error::host_not_found;
    for (const auto& endpoint : endpoints) {
        if (cancel != nullptr && cancel->cancelled()) co_return fail(cancelled());
        error_code oec;
        tcp_stream.socket().close(oec);
        tcp_stream.socket().open(endpoint.protocol(), oec);
        if (oec) {
            if (is_descriptor_shortage(oec)) {
                metrics_.overloaded(core::Overload::kDescriptors);
                co_return fail(overloaded(oec.message()));
            }
            cec = oec;
            continue;
        }
        tcp_stream.expires_at(connect_end);
        auto [e] = co_await tcp_stream.async_connect(endpoint, use_nothrow);
        cec = e;
        if (!cec || cec == beast::error::timeout) break;
    }
    if (cancel != nullptr && cancel->cancelled()) co_return fail(cancelled());
    if (cec) {
        const auto outcome = cec == beast::error::timeout ? AttemptOutcome::kTimeout : AttemptOutcome::kConnectError;
        metrics_.record_attempt(outcome);
        co_return fail(upstream_failure(
            outcome, cec == beast::error::timeout
                         ? core::Error::gateway_timeout("Timed out connecting to the upstream.", origin.key)
                         : core::Error::bad_gateway("Could not connect to the upstream: " + cec.message() + ".",
                                                    origin.key + ": " + cec.message())));
    }
    tcp_stream.socket().set_option(tcp::no_delay(true), ec);
    // Synchronous writes return at once instead of waiting (see core/io_now.hpp).
    if (!origin.tls) tcp_stream.socket().non_blocking(true, ec);

    if (origin.tls) {
        auto& stream = *connection->tls_;
        SSL* ssl = stream.native_handle();
        core::expect_peer_name(ssl, origin.host);
        tcp_stream.expires_at(step_end(deadlines.tls, deadlines.request));
        auto [hec] = co_await stream.async_handshake(net::ssl::stream_base::client, use_nothrow);
        if (cancel != nullptr && cancel->cancelled()) co_return fail(cancelled());
        if (hec) {
            if (hec == beast::error::timeout) {
                metrics_.record_attempt(AttemptOutcome::kTimeout);
                co_return fail(upstream_failure(
                    AttemptOutcome::kTimeout,
                    core::Error::gateway_timeout("Timed out in the TLS handshake with the upstream.", origin.key)));
            }
            std::string why = hec.message();
            if (const long v = SSL_get_verify_result(ssl); v != X509_V_OK) {
                why = std::string("certificate verification failed: ") + X509_verify_cert_error_string(v);
            }
            metrics_.record_attempt(AttemptOutcome::kTlsError);
            co_return fail(upstream_failure(
                AttemptOutcome::kTlsError,
                core::Error::bad_gateway("TLS handshake with the upstream failed (" + why + ").", origin.key + ": " + why)));
        }
    }
    co_return Acquired{std::move(connection), std::nullopt};
}

}  // namespace nexus::upstream
