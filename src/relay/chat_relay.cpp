#include "relay/chat_relay.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/span_body.hpp>
#include <spdlog/spdlog.h>

#include <cstring>
#include <vector>

#include "relay/inspect.hpp"
#include "relay/upstream_error.hpp"
#include "upstream/sse.hpp"

namespace nexus::relay {

namespace bhttp = beast::http;
using upstream::Clock;
using core::AttemptOutcome;

namespace {

constexpr std::size_t kMaxErrorBody = 1 << 20;      // an upstream error body we translate
constexpr std::size_t kMaxWholeBody = 256u << 20;   // a non-stream answer
constexpr std::size_t kStreamBuffer = 8192;         // first size of a stream's frame buffer
constexpr std::size_t kMaxFrame = 4u << 20;         // one SSE event larger than this is passed on raw

// Request headers that never go upstream: the client's credentials, cookies, hop-by-hop
// headers, and those we set ourselves.
bool drop_request_header(bhttp::field f, std::string_view name) {
    switch (f) {
        case bhttp::field::authorization:
        case bhttp::field::proxy_authorization:
        case bhttp::field::cookie:
        case bhttp::field::host:
        case bhttp::field::connection:
        case bhttp::field::keep_alive:
        case bhttp::field::proxy_connection:
        case bhttp::field::te:
        case bhttp::field::trailer:
        case bhttp::field::transfer_encoding:
        case bhttp::field::upgrade:
        case bhttp::field::content_length:
        case bhttp::field::expect:
        case bhttp::field::accept_encoding:  // we relay bytes as they are; keep them uncompressed
            return true;
        default: break;
    }
    return beast::iequals(name, "x-request-id") || beast::iequals(name, "x-api-key") ||
           beast::iequals(name, "api-key") || beast::iequals(name, "proxy-authenticate") ||
           (name.size() > 8 && beast::iequals(name.substr(0, 8), "x-nexus-"));
}

// Response headers that reach the client: those an OpenAI client uses. Upstream cookies,
// servers' internal headers and hop-by-hop headers stay behind.
bool pass_response_header(std::string_view name) {
    static constexpr std::string_view kExact[] = {"retry-after", "retry-after-ms", "openai-processing-ms",
                                                  "x-siliconcloud-trace-id", "openai-model"};
    for (const auto n : kExact) {
        if (beast::iequals(name, n)) return true;
    }
    return name.size() > 12 && beast::iequals(name.substr(0, 12), "x-ratelimit-");
}

template <class From, class To>
void copy_passed_headers(const From& from, To& to) {
    for (const auto& f : from) {
        if (pass_response_header(f.name_string())) to.insert(f.name_string(), f.value());
    }
}

AttemptOutcome outcome_of(const error_code& ec) {
    return ec == beast::error::timeout ? AttemptOutcome::kTimeout : AttemptOutcome::kIoError;
}

core::Error error_of(const error_code& ec, std::string_view what) {
    if (ec == beast::error::timeout) {
        return core::Error::gateway_timeout("Timed out waiting for the upstream " + std::string(what) + ".",
                                            ec.message());
    }
    return core::Error::bad_gateway("The upstream connection failed while reading its " + std::string(what) + ".",
                                    ec.message());
}

// The frame that ends a stream the upstream broke: OpenAI SDKs raise it as an APIError.
std::string error_frame(const core::Error& e) { return "data: " + core::to_json(e) + "\n\n"; }

}  // namespace

struct ChatRelay::Attempt {
    std::unique_ptr<upstream::Connection> connection;
    std::optional<bhttp::response_parser<bhttp::empty_body>> header;
    Clock::time_point deadline;
    std::string_view secret;
};

ChatRelay::ChatRelay(upstream::Client& client, core::Metrics& metrics, std::shared_ptr<const Channel> channel)
    : client_(client), metrics_(metrics), channel_(std::move(channel)) {}

net::awaitable<void> ChatRelay::handle(http::Exchange& exchange) {
    auto& request = exchange.request();
    auto inspected = inspect_chat_request(request.body());
    if (!inspected) {
        co_await exchange.send_error(inspected.error());
        co_return;
    }
    auto& record = exchange.record();
    record.model = inspected->model;
    record.stream = inspected->stream;

    if (!channel_) {
        auto e = core::Error::internal("No channel is available for model '" + inspected->model +
                                       "': set SILICONFLOW_API_KEY.");
        e.code = "no_available_channel";
        co_await exchange.send_error(e);
        co_return;
    }
    const Channel& channel = *channel_;
    const auto& config = exchange.config();
    Attempt attempt;
    attempt.deadline = exchange.start() + config.request_timeout;
    attempt.secret = channel.key;

    // The upstream request: the client's body bytes as they are, the client's end-to-end
    // headers, the channel's key.
    bhttp::request<bhttp::span_body<const char>> up{bhttp::verb::post,
                                                     channel.origin.target("/v1/chat/completions"), 11};
    for (const auto& f : request) {
        if (!drop_request_header(f.name(), f.name_string())) up.insert(f.name_string(), f.value());
    }
    up.set(bhttp::field::host, channel.origin.host_header);
    up.set(bhttp::field::authorization, "Bearer " + channel.key);
    up.set("X-Request-Id", exchange.request_id());
    if (up[bhttp::field::content_type].empty()) up.set(bhttp::field::content_type, "application/json");
    up.body() = {request.body().data(), request.body().size()};
    up.keep_alive(true);
    up.prepare_payload();

    // Send it and read the answer's headers. A pooled connection the upstream closed while idle
    // fails before any byte of the answer; that one is retried once on a fresh connection.
    const auto attempt_start = Clock::now();
    for (int round = 0;; ++round) {
        auto acquired = co_await client_.acquire(channel.origin, attempt.deadline, round == 0);
        if (!acquired.connection) {
            metrics_.record_attempt(acquired.failure->outcome);
            spdlog::warn("request {}: upstream {}: {}", exchange.request_id(), channel.origin.key,
                         acquired.failure->error.detail);
            co_await exchange.send_error(acquired.failure->error);
            co_return;
        }
        attempt.connection = std::move(acquired.connection);
        auto& conn = *attempt.connection;
        conn.tcp().expires_after(upstream::step_timeout(config.upstream_header_timeout, attempt.deadline));
        auto [wec, wn] = co_await conn.visit([&](auto& s) { return bhttp::async_write(s, up, use_nothrow); });
        error_code ec = wec;
        if (!ec) {
            attempt.header.emplace();
            attempt.header->header_limit(64 * 1024);
            attempt.header->body_limit(boost::none);
            auto [rec, rn] = co_await conn.visit(
                [&](auto& s) { return bhttp::async_read_header(s, conn.buffer(), *attempt.header, use_nothrow); });
            ec = rec;
            if (!ec) break;
            const bool stale = conn.reused() && rn == 0 &&
                               (ec == bhttp::error::end_of_stream || ec == net::error::connection_reset ||
                                ec == net::error::eof || ec == net::ssl::error::stream_truncated);
            if (stale && round == 0) continue;
        } else if (conn.reused() && round == 0 && ec != beast::error::timeout) {
            continue;
        }
        metrics_.record_attempt(outcome_of(ec));
        spdlog::warn("request {}: upstream {}: {}", exchange.request_id(), channel.origin.key, ec.message());
        co_await exchange.send_error(error_of(ec, "response headers"));
        co_return;
    }

    auto& conn = *attempt.connection;
    const auto& head = attempt.header->get();
    const int status = static_cast<int>(head.result_int());
    record.upstream_status = status;
    record.upstream_ttfb = Clock::now() - attempt_start;
    metrics_.record_attempt(status < 300   ? AttemptOutcome::kSuccess
                            : status < 500 ? AttemptOutcome::kClientError
                                           : AttemptOutcome::kServerError);

    const bool event_stream = status >= 200 && status < 300 &&
                              head[bhttp::field::content_type].find("text/event-stream") != std::string_view::npos;
    if (event_stream) {
        co_await relay_stream(exchange, attempt);
        co_return;
    }

    // A whole answer: read it (bounded), then send it on.
    const bool ok = status >= 200 && status < 300;
    bhttp::response_parser<bhttp::string_body> body_parser{std::move(*attempt.header)};
    body_parser.body_limit(ok ? kMaxWholeBody : kMaxErrorBody);
    conn.tcp().expires_after(upstream::step_timeout(config.upstream_idle_timeout, attempt.deadline));
    auto [bec, bn] =
        co_await conn.visit([&](auto& s) { return bhttp::async_read(s, conn.buffer(), body_parser, use_nothrow); });
    if (bec) {
        metrics_.record_attempt(outcome_of(bec));
        co_await exchange.send_error(error_of(bec, "response body"));
        co_return;
    }
    auto upstream_response = body_parser.release();
    const bool reusable = upstream_response.keep_alive();
    if (reusable) client_.release(std::move(attempt.connection));

    if (!ok) {
        auto e = translate_upstream_error(status, upstream_response.body(), attempt.secret);
        bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(status), 11};
        copy_passed_headers(upstream_response, res);
        res.set(bhttp::field::content_type, "application/json");
        res.body() = core::to_json(e);
        co_await exchange.send(std::move(res));
        co_return;
    }
    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(status), 11};
    copy_passed_headers(upstream_response, res);
    const std::string_view content_type = upstream_response[bhttp::field::content_type];
    res.set(bhttp::field::content_type, content_type.empty() ? std::string_view("application/json") : content_type);
    res.body() = std::move(upstream_response.body());
    co_await exchange.send(std::move(res));
}

// Relays an event stream: the header at once, then each whole SSE event as soon as it is read.
// One read at a time, and the next only after the client took the last write (backpressure);
// the buffer holds at most the events of one read plus a partial event.
net::awaitable<void> ChatRelay::relay_stream(http::Exchange& exchange, Attempt& attempt) {
    auto& conn = *attempt.connection;
    const auto& config = exchange.config();
    bhttp::response_parser<bhttp::buffer_body> parser{std::move(*attempt.header)};

    bhttp::response<bhttp::empty_body> head{parser.get().result(), 11};
    copy_passed_headers(parser.get(), head);
    head.set(bhttp::field::content_type, parser.get()[bhttp::field::content_type]);
    head.set(bhttp::field::cache_control, "no-cache");
    head.set("X-Accel-Buffering", "no");
    if (!co_await exchange.begin_stream(std::move(head))) co_return;  // client gone: drop the upstream

    metrics_.stream_opened();
    struct StreamGauge {
        core::Metrics& m;
        ~StreamGauge() { m.stream_closed(); }
    } gauge{metrics_};

    std::vector<char> buf(kStreamBuffer);
    std::size_t used = 0;
    for (;;) {
        if (used == buf.size()) {
            if (buf.size() >= kMaxFrame) {
                // One event this large is not an LLM frame; pass the bytes on rather than hold more.
                if (!co_await exchange.write_chunk({buf.data(), used})) co_return;
                used = 0;
            } else {
                buf.resize(buf.size() * 2);
            }
        }
        auto& body = parser.get().body();
        body.data = buf.data() + used;
        body.size = buf.size() - used;
        body.more = true;
        conn.tcp().expires_after(upstream::step_timeout(config.upstream_idle_timeout, attempt.deadline));
        auto [ec, n] = co_await conn.visit(
            [&](auto& s) { return bhttp::async_read_some(s, conn.buffer(), parser, use_nothrow); });
        if (ec == bhttp::error::need_buffer) ec = {};
        used += (buf.size() - used) - body.size;

        // Forward every whole event we hold; keep a partial one for the next read.
        if (const auto cut = upstream::sse::complete_prefix({buf.data(), used}); cut > 0) {
            if (!co_await exchange.write_chunk({buf.data(), cut})) {
                co_return;  // the client went away: dropping the connection cancels the upstream call
            }
            std::memmove(buf.data(), buf.data() + cut, used - cut);
            used -= cut;
        }
        if (ec) {
            // The upstream broke off mid-stream (or went silent too long). Bytes were sent, so
            // there is no retry: end the client's stream with an error event it will raise.
            metrics_.record_attempt(outcome_of(ec));
            spdlog::warn("request {}: upstream stream broke: {}", exchange.request_id(), ec.message());
            auto e = ec == beast::error::timeout
                         ? core::Error::gateway_timeout("The upstream stopped sending the stream in time.")
                         : core::Error::bad_gateway("The upstream connection broke in the middle of the stream.");
            if (co_await exchange.write_chunk(error_frame(e))) co_await exchange.end_stream();
            exchange.close_after();
            co_return;
        }
        if (parser.is_done()) {
            if (used > 0 && !co_await exchange.write_chunk({buf.data(), used})) co_return;
            if (!co_await exchange.end_stream()) co_return;
            if (parser.keep_alive()) client_.release(std::move(attempt.connection));
            co_return;
        }
    }
}

}  // namespace nexus::relay
