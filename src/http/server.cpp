#include "http/server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <fmt/chrono.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>

#include "core/json.hpp"
#include "core/logging.hpp"
#include "core/request_id.hpp"

namespace nexus::http {

using tcp = net::ip::tcp;

void Router::add(bhttp::verb method, std::string path, core::Route route, Handler handler) {
    entries_.push_back({method, std::move(path), route, std::move(handler)});
}

void Router::add_prefix(std::string prefix, core::Route route, Handler handler) {
    prefixes_.push_back({bhttp::verb::unknown, std::move(prefix), route, std::move(handler)});
}

Router::Match Router::find(bhttp::verb method, std::string_view target) const {
    const auto path = target.substr(0, target.find('?'));
    // HEAD is GET without the body (Exchange leaves the body out).
    if (method == bhttp::verb::head) method = bhttp::verb::get;
    Match match;
    for (const auto& e : prefixes_) {
        if (path.starts_with(e.path)) return {&e.handler, e.route, true};
    }
    for (const auto& e : entries_) {
        if (e.path != path) continue;
        match.path_known = true;
        match.route = e.route;
        if (e.method == method) {
            match.handler = &e.handler;
            return match;
        }
    }
    return match;
}

struct Listener::Session {
    explicit Session(tcp::socket socket) : stream(std::move(socket)) {}
    beast::tcp_stream stream;
    beast::flat_buffer buffer;
    bool idle = true;  ///< between requests: drain() may close it at once
};

Listener::Listener(net::io_context& ioc, const config::Config& config, const Router& router, core::Metrics& metrics)
    : ioc_(ioc), config_(config), router_(router), metrics_(metrics), acceptor_(ioc) {}

void Listener::listen(const tcp::endpoint& endpoint, bool reuse_port) {
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    if (reuse_port) acceptor_.set_option(net::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(net::socket_base::max_listen_connections);
}

std::uint16_t Listener::port() const { return acceptor_.local_endpoint().port(); }

void Listener::start() {
    net::co_spawn(ioc_, accept_loop(), [](std::exception_ptr e) {
        if (e) spdlog::critical("accept loop ended by an exception");
    });
}

void Listener::drain() {
    draining_ = true;
    error_code ignored;
    acceptor_.close(ignored);
    // Idle connections wait for a next request that must not come: close them now. The others
    // see draining_ when their request ends.
    for (auto* s : sessions_) {
        if (s->idle) s->stream.socket().close(ignored);
    }
}

net::awaitable<void> Listener::accept_loop() {
    while (!draining_) {
        auto [ec, socket] = co_await acceptor_.async_accept(use_nothrow);
        if (ec) {
            if (ec == net::error::operation_aborted || draining_) break;
            // EMFILE and the like: log, wait a little, go on. The listener must not die.
            spdlog::warn("accept failed: {}", ec.message());
            net::steady_timer pause(ioc_, std::chrono::milliseconds(50));
            co_await pause.async_wait(use_nothrow);
            continue;
        }
        net::co_spawn(ioc_, run_session(std::move(socket)), [](std::exception_ptr e) {
            if (e) spdlog::error("a session ended by an exception");
        });
    }
}

net::awaitable<void> Listener::run_session(tcp::socket socket) {
    Session session(std::move(socket));
    error_code ignored;
    session.stream.socket().set_option(tcp::no_delay(true), ignored);
    sessions_.insert(&session);
    active_.fetch_add(1, std::memory_order_acq_rel);

    bool first = true;
    while (!draining_) {
        const bool keep_going = co_await serve_one(session, first);
        first = false;
        if (!keep_going) break;
    }

    // Say we are done writing; the client may already have gone.
    session.stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    session.stream.close();
    sessions_.erase(&session);
    active_.fetch_sub(1, std::memory_order_acq_rel);
}

// Reads and answers one request. Returns whether the connection may carry another.
net::awaitable<bool> Listener::serve_one(Session& session, bool first) {
    auto& stream = session.stream;
    auto& buffer = session.buffer;

    // Wait for the first byte of the next request: a fresh connection gets the header deadline,
    // a kept-alive one the idle deadline.
    session.idle = true;
    if (buffer.size() == 0) {
        stream.expires_after(first ? config_.header_timeout : config_.idle_timeout);
        auto [ec, n] = co_await stream.async_read_some(buffer.prepare(4096), use_nothrow);
        if (ec) co_return false;  // closed, timed out, or closed by drain()
        buffer.commit(n);
    }
    session.idle = false;
    const auto start = Clock::now();

    // Read the header under its deadline: a client trickling bytes is cut off when it expires.
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(config_.max_header_bytes);
    parser.body_limit(config_.max_body_bytes);
    stream.expires_after(config_.header_timeout);
    auto [hec, hn] = co_await bhttp::async_read_header(stream, buffer, parser, use_nothrow);

    Request& request = parser.get();
    std::string request_id;
    if (!hec) {
        const auto sent = request["X-Request-Id"];
        request_id = core::is_sane_request_id(sent) ? std::string(sent) : core::make_request_id();
    } else {
        request_id = core::make_request_id();
    }
    Exchange exchange(stream, request, std::move(request_id), start, config_, !hec && request.keep_alive());
    const auto method = hec ? std::string_view("-") : std::string_view(request.method_string());
    const auto target = hec ? std::string_view("-") : std::string_view(request.target());

    if (hec) {
        // A Content-Length above the limit fails here, before a byte of the body is read.
        co_await refuse(exchange, hec, "headers", method, target);
        co_return false;
    }

    if (!parser.is_done()) {
        // curl and others wait for "100 Continue" before sending a large body.
        if (beast::iequals(request[bhttp::field::expect], "100-continue")) {
            static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
            stream.expires_after(config_.write_timeout);
            auto [wec, wn] = co_await net::async_write(stream, net::buffer(kContinue), use_nothrow);
            if (wec) co_return false;
        }
        stream.expires_after(config_.body_timeout);
        auto [bec, bn] = co_await bhttp::async_read(stream, buffer, parser, use_nothrow);
        if (bec) {
            co_await refuse(exchange, bec, "body", method, target);
            co_return false;
        }
    }
    // A large body may have grown the read buffer; do not keep that memory for the connection's life.
    if (buffer.capacity() > 16384 && buffer.size() == 0) buffer.shrink_to_fit();

    const auto match = router_.find(request.method(), request.target());
    exchange.record().route = match.route;
    if (match.handler != nullptr) {
        co_await (*match.handler)(exchange);
        if (!exchange.responded()) {
            co_await exchange.send_error(core::Error::internal("The request could not be answered."));
        }
    } else if (match.path_known) {
        co_await exchange.send_error(core::Error::method_not_allowed("Method " + std::string(method) +
                                                                     " is not allowed on this path."));
    } else {
        co_await exchange.send_error(core::Error::not_found("Unknown path: " +
                                                            std::string(target.substr(0, target.find('?')))));
    }
    finish(exchange, method, target);
    co_return exchange.keep_alive() && !draining_;
}

// Answers a request whose `part` ("headers" or "body") could not be read, and marks the
// connection to close: 431 / 413 for limits, 400 for malformed HTTP. A request that ran out of
// time gets no answer (the stream closed the socket when its deadline fired) and is logged as
// 408; a client that went away mid-request gets none either.
net::awaitable<void> Listener::refuse(Exchange& exchange, const error_code& ec, std::string_view part,
                                      std::string_view method, std::string_view target) {
    exchange.close_after();
    const bool parse_error = ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
                             ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
    std::optional<core::Error> e;
    if (ec == bhttp::error::header_limit) {
        e = core::Error::header_too_large();
    } else if (ec == bhttp::error::body_limit) {
        e = core::Error::payload_too_large("Request body is larger than the limit of " +
                                           std::to_string(config_.max_body_bytes) + " bytes.");
    } else if (ec == beast::error::timeout) {
        exchange.mark_unanswered(408);
        finish(exchange, method, target);
        co_return;
    } else if (parse_error) {
        e = core::Error::bad_request("Malformed HTTP request " + std::string(part) + ".");
    }
    if (!e) co_return;  // the client went away: nobody to answer
    co_await exchange.send_error(*e);
    finish(exchange, method, target);
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
