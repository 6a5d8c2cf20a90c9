#include "http/server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <fmt/chrono.h>
#include <spdlog/spdlog.h>

#include <array>
#include <cassert>
#include <chrono>
#include <ctime>

#include "core/io_now.hpp"
#include "core/json.hpp"
#include "core/logging.hpp"
#include "core/request_id.hpp"

namespace nexus::http {

using tcp = net::ip::tcp;

// One client connection. Its bookkeeping (the listener's session set, the active count and the
// connection slot) is undone by the destructor, so no exception and no early return can skip it.
struct Listener::Session {
    Session(Listener& owner, tcp::socket socket) : owner(owner), stream(std::move(socket)) {
        owner.sessions_.insert(this);
        owner.active_.fetch_add(1, std::memory_order_acq_rel);
    }
    ~Session() {
        owner.peers_.remove(peer);
        owner.sessions_.erase(this);
        owner.active_.fetch_sub(1, std::memory_order_acq_rel);
        owner.limit_.release();
    }
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    Listener& owner;
    PeerWatch::Peer peer;  // before the stream: the socket closes (leaving the set) first
    beast::tcp_stream stream;
    beast::flat_buffer buffer;
    bool idle = true;  ///< between requests: drain() may close it at once
};

namespace {

constexpr auto kLingerTime = std::chrono::seconds(1);
constexpr std::size_t kLingerBytes = 1u << 20;

// Closes a connection whose client may still be sending a body we will not read. Closing at once
// with unread bytes makes the kernel send a reset, which can destroy the answer before the client
// reads it; so stop writing, read and discard for a moment (at most kLingerTime, kLingerBytes),
// then close.
net::awaitable<void> linger_close(beast::tcp_stream& stream) {
    error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.expires_after(kLingerTime);
    std::array<char, 16384> discard;
    std::size_t total = 0;
    while (total < kLingerBytes) {
        auto [ec, n] = co_await stream.async_read_some(net::buffer(discard), use_nothrow);
        if (ec) break;
        total += n;
    }
    stream.close();
}

}  // namespace

Listener::Listener(net::io_context& ioc, const config::Config& config, const Router& router, core::Metrics& metrics,
                   ConnectionLimit& limit)
    : ioc_(ioc),
      config_(config),
      router_(router),
      metrics_(metrics),
      limit_(limit),
      acceptor_(std::in_place, ioc),
      peers_(ioc) {}

Listener::~Listener() { assert(sessions_.empty() && "a session outlived its listener"); }

void Listener::listen(const tcp::endpoint& endpoint, bool reuse_port) {
    acceptor_->open(endpoint.protocol());
    acceptor_->set_option(net::socket_base::reuse_address(true));
    if (reuse_port) acceptor_->set_option(net::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true));
    acceptor_->bind(endpoint);
    acceptor_->listen(net::socket_base::max_listen_connections);
}

std::uint16_t Listener::port() const { return acceptor_->local_endpoint().port(); }

void Listener::start() {
    net::co_spawn(ioc_, accept_loop(), [](std::exception_ptr e) {
        if (e) spdlog::critical("accept loop ended by an exception");
    });
}

void Listener::drain() {
    draining_ = true;
    // Idle connections wait for a next request that must not come: close them now. The others
    // see draining_ when their request ends. New connections are still taken, each for one
    // request answered with Connection: close (a load balancer that has not yet seen /readyz
    // answer 503 still gets its answers); the shutdown grace bounds it all.
    error_code ignored;
    for (auto* s : sessions_) {
        if (s->idle) s->stream.socket().close(ignored);
    }
}

net::awaitable<void> Listener::accept_loop() {
    for (;;) {
        auto [ec, socket] = co_await acceptor_->async_accept(use_nothrow);
        if (ec) {
            if (ec == net::error::operation_aborted || !acceptor_->is_open()) break;
            // EMFILE and the like: count, log, wait a little, go on. The listener must not die.
            if (ec == net::error::no_descriptors || ec == boost::system::errc::too_many_files_open_in_system) {
                metrics_.overloaded(core::Overload::kDescriptors);
            }
            spdlog::warn("accept failed: {}", ec.message());
            net::steady_timer pause(ioc_, std::chrono::milliseconds(50));
            co_await pause.async_wait(use_nothrow);
            continue;
        }
        if (!limit_.try_acquire()) {
            metrics_.overloaded(core::Overload::kConnections);
            net::co_spawn(ioc_, refuse_connection(std::move(socket)), net::detached);
            continue;
        }
        net::co_spawn(ioc_, run_session(std::move(socket)), [](std::exception_ptr e) {
            if (e) spdlog::error("a session ended by an exception");
        });
    }
}

// A connection over the cap: answered 503 before its request is read, then closed.
net::awaitable<void> Listener::refuse_connection(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    const auto body = core::to_json(core::Error::overloaded("This server has too many open connections; try again shortly."));
    const std::string answer = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1"
                               "\r\nConnection: close\r\nContent-Length: " +
                               std::to_string(body.size()) + "\r\n\r\n" + body;
    stream.expires_after(config_.write_timeout);
    auto [ec, n] = co_await net::async_write(stream, net::buffer(answer), use_nothrow);
    if (!ec) co_await linger_close(stream);
}

net::awaitable<void> Listener::run_session(tcp::socket socket) {
    Session session(*this, std::move(socket));
    error_code ignored;
    session.stream.socket().set_option(tcp::no_delay(true), ignored);
    // Synchronous writes return at once instead of waiting (see core/io_now.hpp).
    session.stream.socket().non_blocking(true, ignored);
    peers_.add(session.peer, session.stream.socket().native_handle());

    for (bool first = true;; first = false) {
        if (!co_await serve_one(session, first)) break;
    }

    // Say we are done writing; the client may already have gone.
    session.stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    session.stream.close();
}

// Reads and answers one request. Returns whether the connection may carry another.
net::awaitable<bool> Listener::serve_one(Session& session, bool first) {
    auto& stream = session.stream;
    auto& buffer = session.buffer;

    // Wait for the first byte of the next request: a fresh connection gets the header deadline,
    // a kept-alive one the idle deadline. Only a kept-alive one counts as idle for drain(): a
    // fresh connection's request may be on its way, and it is owed one answer.
    session.idle = !first;
    if (buffer.size() == 0 && !first && sessions_.size() > 1) {
        // The answer just went out: while other connections have work, let it run before this
        // one tries its socket (a recv that finds nothing) for a request that cannot be there yet.
        co_await net::post(ioc_, net::use_awaitable);
        // By now the next request is usually here: taken at once, without arming a deadline.
        error_code ec;
        core::read_now(stream.socket(), buffer, 4096, ec);
        if (ec) co_return false;  // closed
    }
    if (buffer.size() == 0) {
        stream.expires_after(first ? config_.header_timeout : config_.idle_timeout);
        auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), use_nothrow);
        if (ec) co_return false;  // closed, timed out, or closed by drain()
        buffer.commit(n);
    }
    session.idle = false;
    const auto start = Clock::now();

    // Read the head under its deadline: a client trickling bytes is cut off when it expires.
    RequestParser parser;
    parser.header_limit(config_.max_header_bytes);
    parser.body_limit(config_.max_body_bytes);
    // Usually the whole head came in the first read: parse it from the buffer, without a wait.
    error_code hec;
    if (core::parse_buffered(parser, buffer, [](const auto& p) { return p.is_header_done(); }, hec) ==
        core::Parsed::kNeedMore) {
        stream.expires_after(config_.header_timeout);
        auto [rec, rn] = co_await bhttp::async_read_header(stream, buffer, parser, use_nothrow);
        hec = rec;
    }

    const Request& request = parser.get();
    std::string request_id;
    if (!hec) {
        const auto sent = request["X-Request-Id"];
        request_id = core::is_sane_request_id(sent) ? std::string(sent) : core::make_request_id();
    } else {
        request_id = core::make_request_id();
    }
    Exchange exchange(stream, buffer, parser, std::move(request_id), start, config_,
                      !hec && request.keep_alive() && !draining_, peers_, session.peer);
    const auto method = hec ? std::string_view("-") : std::string_view(request.method_string());
    const auto target = hec ? std::string_view("-") : std::string_view(request.target());

    if (hec) {
        // A Content-Length above the limit fails here, before a byte of the body is read.
        co_await exchange.refuse(hec, "headers");
        if (exchange.status() != 0) finish(exchange, method, target);
        if (exchange.responded()) co_await linger_close(stream);
        co_return false;
    }
    co_await dispatch(exchange);
    if (exchange.status() != 0) finish(exchange, method, target);
    if (!exchange.body_read()) {
        // The client may still be sending a body nobody will read.
        co_await linger_close(stream);
        co_return false;
    }
    co_return exchange.keep_alive() && !draining_;
}

// Routes a request by its head and runs its handler. A handler that throws still gets its
// request answered (500, when nothing was sent yet) and its connection closed.
net::awaitable<void> Listener::dispatch(Exchange& exchange) {
    const auto& request = exchange.request();
    auto match = router_.find(request.method(), request.target());
    exchange.record().route = match.info.metric;
    // Who may call it is decided here, for every route, before its handler (or its 405) runs.
    if (match.guard != nullptr && !co_await (*match.guard)(exchange, match.info)) co_return;
    exchange.set_params(std::move(match.params));
    if (match.handler == nullptr) {
        // Built before the co_await: GCC 12 mishandles temporaries of a conditional inside one.
        const std::string_view target = request.target();
        const auto error = match.path_known ? core::Error::method_not_allowed("Method " + std::string(request.method_string()) +
                                                                              " is not allowed on this path.")
                                            : core::Error::not_found("Unknown path: " +
                                                                     std::string(target.substr(0, target.find('?'))));
        co_await exchange.send_error(error);
        co_return;
    }
    bool threw = false;
    try {
        co_await (*match.handler)(exchange);
    } catch (const std::exception& e) {
        spdlog::error("request {}: the handler failed: {}", exchange.request_id(), e.what());
        threw = true;
    } catch (...) {
        spdlog::error("request {}: the handler failed", exchange.request_id());
        threw = true;
    }
    if (threw) exchange.close_after();
    if (!exchange.responded()) {
        co_await exchange.send_error(core::Error::internal("The request could not be answered."));
    }
}

// Metrics and the access-log line of one answered request.
void Listener::finish(Exchange& exchange, std::string_view method, std::string_view target) {
    const auto latency = Clock::now() - exchange.start();
    const auto& rec = exchange.record();
    metrics_.record_request(rec.route, exchange.status(), latency);
    if (!config_.access_log) return;

    const auto path = target.substr(0, target.find('?'));
    const auto now = std::chrono::system_clock::now();
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    std::string line;
    line.reserve(320);
    line += fmt::format(R"({{"time":"{:%FT%T}.{:03}Z")", fmt::gmtime(static_cast<std::time_t>(ms / 1000)), ms % 1000);
    line += R"(,"request_id":)";
    core::append_json_string(line, exchange.request_id());
    line += R"(,"method":)";
    core::append_json_string(line, method);
    line += R"(,"path":)";
    core::append_json_string(line, path);
    line += R"(,"status":)" + std::to_string(exchange.status());
    line += R"(,"latency_ms":)" + std::to_string(std::chrono::duration<double, std::milli>(latency).count());
    line += R"(,"upstream_ttfb_ms":)";
    line += rec.upstream_ttfb.count() < 0
                ? std::string("null")
                : std::to_string(std::chrono::duration<double, std::milli>(rec.upstream_ttfb).count());
    line += R"(,"upstream_status":)";
    line += rec.upstream_status ? std::to_string(rec.upstream_status) : std::string("null");
    line += R"(,"model":)";
    if (rec.model.empty()) {
        line += "null";
    } else {
        core::append_json_string(line, rec.model);
    }
    line += R"(,"stream":)";
    line += rec.stream ? "true" : "false";
    line += R"(,"bytes_in":)" + std::to_string(exchange.request().body().size());
    line += R"(,"bytes_out":)" + std::to_string(exchange.bytes_out());
    line += '}';
    core::write_access_log(line);
}

}  // namespace nexus::http
