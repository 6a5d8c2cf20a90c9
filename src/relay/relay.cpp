#include "relay/relay.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <spdlog/spdlog.h>

#include <array>
#include <cstring>
#include <vector>

#include "core/crypto.hpp"
#include "core/json.hpp"
#include "http/wire.hpp"
#include "relay/inspect.hpp"
#include "relay/multipart.hpp"
#include "relay/upstream_error.hpp"
#include "upstream/sse.hpp"

namespace nexus::relay {

namespace bhttp = beast::http;
namespace json = boost::json;
using core::AttemptOutcome;
using upstream::Clock;

namespace {

constexpr std::size_t kMaxErrorBody = 1 << 20;     // an upstream error body we translate
constexpr std::size_t kMaxWholeBody = 256u << 20;  // a non-stream answer
constexpr std::size_t kStreamBuffer = 4096;        // first size of a stream's frame buffer (grows for larger events)
constexpr std::size_t kMaxFrame = 4u << 20;        // one SSE event larger than this is passed on raw

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
           beast::iequals(name, "api-key") || (name.size() > 8 && beast::iequals(name.substr(0, 8), "x-nexus-"));
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

using HeaderList = std::vector<std::pair<std::string, std::string>>;

template <class Fields>
HeaderList passed_headers(const Fields& from) {
    HeaderList out;
    for (const auto& f : from) {
        if (pass_response_header(f.name_string())) out.emplace_back(f.name_string(), f.value());
    }
    return out;
}

template <class Message>
void add_headers(Message& m, const HeaderList& headers) {
    for (const auto& [k, v] : headers) m.insert(k, v);
}

// The frame that ends a stream the upstream broke: OpenAI SDKs raise it as an APIError.
std::string error_frame(const core::Error& e) { return "data: " + core::to_json(e) + "\n\n"; }

std::int64_t unix_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::int64_t millis(Clock::duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); }

core::Error auth_error(std::string message, std::string code) {
    core::Error e;
    e.status = 401;
    e.type = "invalid_request_error";
    e.code = std::move(code);
    e.message = std::move(message);
    return e;
}

// The body with `model` replaced: the one case where the client's bytes are rewritten. JSON is
// re-serialised (parsed by the same rule as inspection, so what passed inspection parses here);
// a form keeps every byte but the model field's value.
core::Result<std::string> with_model(const Endpoint& endpoint, std::string_view body, const RequestInfo& info,
                                     const std::string& model) {
    if (endpoint.multipart) {
        std::string out;
        out.reserve(body.size() + model.size());
        out.append(body.substr(0, info.model_offset))
            .append(model)
            .append(body.substr(info.model_offset + info.model.size()));
        return out;
    }
    json::error_code ec;
    json::value doc = json::parse(body, ec, {}, core::json_parse_options());
    if (ec || !doc.is_object()) {
        return core::Error::bad_request("The request body is not valid JSON. Send a JSON object with \"model\".", {},
                                        "invalid_json");
    }
    doc.get_object()["model"] = model;
    return json::serialize(doc);
}

bool is_event_stream(std::string_view content_type) {
    return content_type.find("text/event-stream") != std::string_view::npos;
}
bool is_json(std::string_view content_type) {
    return content_type.empty() || content_type.find("json") != std::string_view::npos;
}

// The path of the target, percent-decoded; nullopt for a target that is not a valid origin-form
// (a malformed escape, say).
std::optional<std::string> decoded_path(std::string_view target) {
    auto url = boost::urls::parse_origin_form(target);
    if (!url) return std::nullopt;
    return url->path();
}

}  // namespace

// Whether the client left, and the upstream connection to close when it does.
struct ClientGone {
    bool gone = false;
    upstream::Connection* connection = nullptr;
};

// One attempt's connection and the parser holding the upstream's response header.
struct Relay::Attempt {
    Attempt() = default;
    Attempt(const Attempt&) = delete;
    Attempt& operator=(const Attempt&) = delete;
    ~Attempt() { forget_connection(); }

    void set_connection(std::unique_ptr<upstream::Connection> c) {
        connection = std::move(c);
        if (client) client->connection = connection.get();
    }
    // The connection leaves this attempt (to the pool): the watcher must not close it any more.
    std::unique_ptr<upstream::Connection> take_connection() {
        forget_connection();
        return std::move(connection);
    }
    void forget_connection() {
        if (client) client->connection = nullptr;
    }

    std::shared_ptr<ClientGone> client;  ///< null when no client is watched (a channel test)
    std::unique_ptr<upstream::Connection> connection;
    std::optional<bhttp::response_parser<bhttp::empty_body>> header;
    Clock::time_point deadline;
    Clock::duration ttfb{-1};
    std::string_view secret;
};

// A failed attempt before any byte reached the client.
struct Relay::Failure {
    core::Error error;
    HeaderList headers;        ///< upstream headers to pass on if this is the last failure
    bool key_rejected = false; ///< 401, 402, 403 with a balance code: disable the channel
    bool transient = false;    ///< 5xx, 429, timeout, connection: count toward the breaker
};

struct Relay::Outcome {
    bool answered = false;  ///< something was sent to the client (success or a final error)
    std::optional<Failure> failure;
    Usage usage;
};

Relay::Relay(upstream::Client& client, core::Metrics& metrics, const snapshot::SnapshotHolder& snapshots,
             UsageSink& usage, DisableChannel disable_channel, const config::Config& config)
    : client_(client),
      metrics_(metrics),
      snapshots_(snapshots),
      usage_(usage),
      disable_channel_(std::move(disable_channel)),
      config_(config),
      models_([this](const snapshot::ChannelView& c) { return fetch_models(c); }, config.models_refresh) {}

net::awaitable<const snapshot::TokenView*> Relay::authenticate(http::Exchange& exchange,
                                                               const snapshot::Snapshot& snap) {
    const auto credential = http::bearer_token(exchange.request());
    if (!credential) {
        co_await exchange.send_error(auth_error(
            "You didn't provide an API key. Send it as 'Authorization: Bearer <nexus token>'.", "missing_api_key"));
        co_return nullptr;
    }
    const auto* token = snap.find_token(core::sha256_hex(*credential));
    const auto now_s = unix_seconds();
    if (token == nullptr) {
        co_await exchange.send_error(auth_error("Incorrect API key provided.", "invalid_api_key"));
        co_return nullptr;
    }
    if (token->status != store::kTokenEnabled) {
        co_await exchange.send_error(auth_error("This API key is disabled.", "token_disabled"));
        co_return nullptr;
    }
    if (token->expired_time != -1 && token->expired_time <= now_s) {
        co_await exchange.send_error(auth_error("This API key has expired.", "token_expired"));
        co_return nullptr;
    }
    usage_.touched(token->id, now_s);
    co_return token;
}

net::awaitable<void> Relay::handle(http::Exchange& exchange, const Endpoint& endpoint) {
    auto& request = exchange.request();
    // Held for the whole call: channels and tokens stay valid across the upstream waits.
    const auto snap = snapshots_.get();
    auto& record = exchange.record();

    // 1. Who is calling: the nexus token, looked up by its hash in memory, from the request's
    //    head alone: a caller without a valid token never gets its body read.
    const auto* token = co_await authenticate(exchange, *snap);
    if (token == nullptr) co_return;
    const auto now_s = unix_seconds();

    // 2. What is asked.
    if (!co_await exchange.read_body(config_.max_body_bytes)) co_return;
    auto inspected = inspect_request(endpoint, request.body(), request[bhttp::field::content_type]);
    if (!inspected) {
        co_await exchange.send_error(inspected.error());
        co_return;
    }
    const RequestInfo& info = *inspected;
    record.model = info.model;
    record.stream = info.stream;

    // 3. Channels, one after another until one answers or the attempts run out.
    const auto& config = exchange.config();
    std::vector<std::int64_t> tried;
    std::optional<Failure> last;
    Outcome outcome;
    std::int64_t channel_id = 0;
    const auto deadline = exchange.start() + config.request_timeout;
    // A client that leaves while we wait on the upstream cancels the upstream call at once.
    const auto client = std::make_shared<ClientGone>();
    auto watch = exchange.watch_client([client] {
        client->gone = true;
        if (client->connection != nullptr) {
            error_code ignored;
            client->connection->tcp().socket().close(ignored);
        }
    });
    while (tried.size() < config.max_attempts) {
        const auto* channel = snap->pick(info.model, tried, rng_, Clock::now());
        if (channel == nullptr) break;
        tried.push_back(channel->id);
        channel_id = channel->id;
        const std::string* mapped = channel->mapped(info.model);
        core::Result<std::string> rewritten{std::string()};
        if (mapped) rewritten = with_model(endpoint, request.body(), info, *mapped);
        if (!rewritten) {
            co_await exchange.send_error(rewritten.error());
            outcome.answered = true;
            break;
        }
        Attempt attempt;
        attempt.deadline = deadline;
        attempt.client = client;
        outcome = co_await try_channel(exchange, endpoint, info, *channel,
                                       mapped ? std::string_view(*rewritten) : std::string_view(request.body()), attempt);
        if (attempt.ttfb.count() >= 0) record.upstream_ttfb = attempt.ttfb;
        if (outcome.answered || client->gone) break;  // a departed client is not the channel's fault
        note_failure(*channel, *outcome.failure, config.channel_cooldown);
        last = std::move(outcome.failure);
        if (Clock::now() >= deadline) break;
    }

    if (client->gone) {
        exchange.mark_unanswered(499);
    } else if (!outcome.answered) {
        if (!last) {
            auto e = core::Error::internal(
                snap->any_serves(info.model)
                    ? "No channel for model '" + info.model + "' is available right now; try again later."
                    : "No available channel for model '" + info.model + "'.");
            e.code = "no_available_channel";
            co_await exchange.send_error(e);
        } else {
            bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(last->error.status), 11};
            add_headers(res, last->headers);
            res.set(bhttp::field::content_type, "application/json");
            res.body() = core::to_json(last->error);
            co_await exchange.send(std::move(res));
        }
    }

    // 4. What it used, written later off this thread.
    store::UsageRecord u;
    u.created_time = now_s;
    u.request_id = std::string(exchange.request_id());
    u.token_id = token->id;
    u.channel_id = tried.empty() ? 0 : channel_id;
    u.model = info.model;
    u.stream = info.stream;
    u.status = exchange.status();
    u.latency_ms = millis(Clock::now() - exchange.start());
    u.ttfb_ms = record.upstream_ttfb.count() >= 0 ? millis(record.upstream_ttfb) : -1;
    u.attempts = static_cast<int>(tried.size());
    u.prompt_tokens = outcome.usage.prompt_tokens;
    u.completion_tokens = outcome.usage.completion_tokens;
    u.total_tokens = outcome.usage.total_tokens;
    usage_.record(std::move(u));
}

net::awaitable<void> Relay::list_models(http::Exchange& exchange) {
    const auto snap = snapshots_.get();
    if (co_await authenticate(exchange, *snap) == nullptr) co_return;
    const auto models = co_await models_.models(snap);
    co_await exchange.send(bhttp::status::ok, render_model_list(models), "application/json");
}

net::awaitable<void> Relay::get_model(http::Exchange& exchange) {
    if (exchange.request().method() != bhttp::verb::get) {
        co_await exchange.send_error(core::Error::method_not_allowed("Use GET for /v1/models/{model}."));
        co_return;
    }
    const auto snap = snapshots_.get();
    if (co_await authenticate(exchange, *snap) == nullptr) co_return;
    constexpr std::string_view kPrefix = "/v1/models/";
    const auto path = decoded_path(exchange.request().target());
    const std::string id = path && path->size() > kPrefix.size() ? path->substr(kPrefix.size()) : std::string();
    if (auto e = check_model_length(id)) {
        co_await exchange.send_error(*e);
        co_return;
    }
    exchange.record().model = id;
    const auto models = co_await models_.models(snap);
    for (const auto& m : models) {
        if (m.id == id) {
            co_await exchange.send(bhttp::status::ok, render_model(m), "application/json");
            co_return;
        }
    }
    core::Error e;
    e.status = 404;
    e.type = "invalid_request_error";
    e.code = "model_not_found";
    e.param = "model";
    e.message = "The model '" + id + "' does not exist or no channel serves it.";
    co_await exchange.send_error(e);
}

net::awaitable<std::optional<std::vector<ModelEntry>>> Relay::fetch_models(const snapshot::ChannelView& channel) {
    Attempt attempt;
    attempt.deadline = Clock::now() + std::min<Clock::duration>(config_.upstream_header_timeout, std::chrono::seconds(15));
    const auto request_id = "models-" + core::random_token(16);
    if (auto failure = co_await send_request(channel, bhttp::verb::get, channel.origin.target("/v1/models"), {},
                                             nullptr, request_id, attempt, config_)) {
        spdlog::warn("channel {} ({}): fetching its model list failed: {}", channel.id, channel.name,
                     failure->error.message);
        co_return std::nullopt;
    }
    auto& conn = *attempt.connection;
    bhttp::response_parser<bhttp::string_body> parser{std::move(*attempt.header)};
    parser.body_limit(8u << 20);
    conn.tcp().expires_after(upstream::step_timeout(config_.upstream_idle_timeout, attempt.deadline));
    auto [ec, n] = co_await conn.visit([&](auto& s) { return bhttp::async_read(s, conn.buffer(), parser, use_nothrow); });
    if (ec) {
        spdlog::warn("channel {} ({}): reading its model list failed: {}", channel.id, channel.name, ec.message());
        co_return std::nullopt;
    }
    if (parser.get().keep_alive()) client_.release(attempt.take_connection());
    const int status = static_cast<int>(parser.get().result_int());
    if (status != 200) {
        spdlog::warn("channel {} ({}): its model list answered {}: {}", channel.id, channel.name, status,
                     translate_upstream_error(status, parser.get().body(), channel.key).message);
        co_return std::nullopt;
    }
    auto models = parse_model_list(parser.get().body());
    if (!models) spdlog::warn("channel {} ({}): its model list is not OpenAI-shaped", channel.id, channel.name);
    co_return models;
}

void Relay::note_failure(const snapshot::ChannelView& channel, const Failure& failure,
                             std::chrono::milliseconds cooldown) {
    if (failure.key_rejected) {
        spdlog::warn("channel {} ({}): the upstream rejected its key; disabling it", channel.id, channel.name);
        channel.health->mark_key_rejected();  // not picked again, even before the store write lands
        disable_channel_(channel.id, "upstream rejected the key: " + failure.error.message);
    } else if (failure.transient) {
        if (channel.health->record_transient_failure(Clock::now(), cooldown)) {
            spdlog::warn("channel {} ({}): {} failures in a row; cooling down", channel.id, channel.name,
                         snapshot::ChannelHealth::kTripAfter);
        }
    }
}

// Sends the request to `channel` and reads the response header. A pooled connection the upstream
// closed while idle fails before any byte of the answer; that one is retried once, fresh.
net::awaitable<std::optional<Relay::Failure>> Relay::send_request(
    const snapshot::ChannelView& channel, bhttp::verb method, std::string_view target, std::string_view body,
    const http::Request* client_request, std::string_view request_id, Attempt& attempt, const config::Config& config) {
    // The request head as text: the client's headers we pass on, then ours. Written with the
    // body in one gather write (see http/wire.hpp).
    std::string head;
    head.reserve(512);
    head.append(bhttp::to_string(method)).append(" ").append(target).append(" HTTP/1.1\r\n");
    bool has_content_type = false;
    if (client_request != nullptr) {
        for (const auto& f : *client_request) {
            if (drop_request_header(f.name(), f.name_string())) continue;
            has_content_type = has_content_type || f.name() == bhttp::field::content_type;
            http::append_field(head, f.name_string(), f.value());
        }
    }
    http::append_field(head, "Host", channel.origin.host_header);
    head.append("Authorization: Bearer ").append(channel.key).append("\r\n");
    http::append_field(head, "X-Request-Id", request_id);
    if (method == bhttp::verb::post) {
        if (!has_content_type) http::append_field(head, "Content-Type", "application/json");
        http::append_field(head, "Content-Length", std::to_string(body.size()));
    }
    head.append("\r\n");
    const std::array<net::const_buffer, 2> message{net::buffer(head), net::buffer(body.data(), body.size())};
    attempt.secret = channel.key;

    const auto started = Clock::now();
    for (int round = 0;; ++round) {
        auto acquired = co_await client_.acquire(channel.origin, attempt.deadline, round == 0);
        if (!acquired.connection) {
            metrics_.record_attempt(acquired.failure->outcome);
            spdlog::warn("request {}: channel {}: {}", request_id, channel.id, acquired.failure->error.detail);
            co_return Failure{std::move(acquired.failure->error), {}, false, true};
        }
        attempt.set_connection(std::move(acquired.connection));
        auto& conn = *attempt.connection;
        conn.tcp().expires_after(upstream::step_timeout(config.upstream_header_timeout, attempt.deadline));
        auto [wec, wn] = co_await conn.visit([&](auto& s) { return net::async_write(s, message, use_nothrow); });
        error_code ec = wec;
        std::size_t read = 0;
        if (!ec) {
            attempt.header.emplace();
            attempt.header->header_limit(64 * 1024);
            attempt.header->body_limit(boost::none);
            auto [rec, rn] = co_await conn.visit(
                [&](auto& s) { return bhttp::async_read_header(s, conn.buffer(), *attempt.header, use_nothrow); });
            ec = rec;
            read = rn;
            if (!ec) break;
        }
        const bool stale = conn.reused() && read == 0 && ec != beast::error::timeout;
        if (stale && round == 0) continue;
        metrics_.record_attempt(ec == beast::error::timeout ? AttemptOutcome::kTimeout : AttemptOutcome::kIoError);
        spdlog::warn("request {}: channel {}: {}", request_id, channel.id, ec.message());
        co_return Failure{ec == beast::error::timeout
                              ? core::Error::gateway_timeout("Timed out waiting for the upstream's answer.", ec.message())
                              : core::Error::bad_gateway("The upstream connection failed before it answered.",
                                                         ec.message()),
                          {}, false, true};
    }
    attempt.ttfb = Clock::now() - started;
    const int status = static_cast<int>(attempt.header->get().result_int());
    metrics_.record_attempt(status < 300   ? AttemptOutcome::kSuccess
                            : status < 500 ? AttemptOutcome::kClientError
                                           : AttemptOutcome::kServerError);
    co_return std::nullopt;
}

net::awaitable<Relay::Outcome> Relay::try_channel(http::Exchange& exchange, const Endpoint& endpoint,
                                                   const RequestInfo& info, const snapshot::ChannelView& channel,
                                                   std::string_view body, Attempt& attempt) {
    const auto& config = exchange.config();
    Outcome outcome;
    if (auto failure = co_await send_request(channel, bhttp::verb::post, channel.origin.target(endpoint.path), body,
                                             &exchange.request(), exchange.request_id(), attempt, config)) {
        outcome.failure = std::move(failure);
        co_return outcome;
    }
    auto& conn = *attempt.connection;
    const auto& head = attempt.header->get();
    const int status = static_cast<int>(head.result_int());
    exchange.record().upstream_status = status;
    const bool ok = status >= 200 && status < 300;
    const std::string_view content_type = head[bhttp::field::content_type];

    // A stream: events (chat, completions) or bytes (audio) go on as they come.
    if (ok && (is_event_stream(content_type) || !is_json(content_type))) {
        channel.health->record_success();
        outcome.answered = true;
        if (is_event_stream(content_type)) {
            StreamUsage events(endpoint.chunk_usage && info.include_usage);
            co_await relay_stream(exchange, attempt, &events);
            outcome.usage = events.usage();
        } else {
            co_await relay_stream(exchange, attempt, nullptr);
        }
        co_return outcome;
    }

    // A whole answer: read it (bounded).
    bhttp::response_parser<bhttp::string_body> body_parser{std::move(*attempt.header)};
    body_parser.body_limit(ok ? kMaxWholeBody : kMaxErrorBody);
    conn.tcp().expires_after(upstream::step_timeout(config.upstream_idle_timeout, attempt.deadline));
    auto [bec, bn] =
        co_await conn.visit([&](auto& s) { return bhttp::async_read(s, conn.buffer(), body_parser, use_nothrow); });
    if (bec) {
        metrics_.record_attempt(bec == beast::error::timeout ? AttemptOutcome::kTimeout : AttemptOutcome::kIoError);
        outcome.failure = Failure{bec == beast::error::timeout
                                      ? core::Error::gateway_timeout("Timed out reading the upstream's answer.")
                                      : core::Error::bad_gateway("The upstream connection broke in its answer."),
                                  {}, false, true};
        co_return outcome;
    }
    auto response = body_parser.release();
    if (response.keep_alive()) client_.release(attempt.take_connection());

    if (!ok) {
        auto error = translate_upstream_error(status, response.body(), attempt.secret);
        auto headers = passed_headers(response);
        if (error.allow_fallbacks) {
            const bool balance = error.code == "30001";
            outcome.failure = Failure{std::move(error), std::move(headers), status == 401 || status == 402 || balance,
                                      status == 429 || status >= 500};
            co_return outcome;
        }
        // The client's own mistake (400, 404, 422…): relayed at once, no other channel tried.
        // The upstream answered properly, so the channel is healthy.
        channel.health->record_success();
        bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(status), 11};
        add_headers(res, headers);
        res.set(bhttp::field::content_type, "application/json");
        res.body() = core::to_json(error);
        outcome.answered = true;
        co_await exchange.send(std::move(res));
        co_return outcome;
    }
    channel.health->record_success();
    if (auto u = usage_of(response.body())) outcome.usage = *u;
    // The answer's head straight from the upstream's (filtered) fields, without a second
    // Beast message: this is the path of every non-stream call.
    std::string fields;
    fields.reserve(256);
    bool typed = false;
    for (const auto& f : response) {
        if (f.name() == bhttp::field::content_type) {
            typed = true;
            http::append_field(fields, "Content-Type", f.value());
        } else if (pass_response_header(f.name_string())) {
            http::append_field(fields, f.name_string(), f.value());
        }
    }
    if (!typed) http::append_field(fields, "Content-Type", "application/json");
    outcome.answered = true;
    co_await exchange.send(static_cast<unsigned>(status), fields, response.body());
    co_return outcome;
}

// Relays a streamed answer: the header at once, then the body as it is read. An event stream
// (`events` not null) goes on one whole SSE event at a time, and its usage is read from the
// events as they pass; any other body (audio) goes on read by read. One read at a time, and the
// next only after the client took the last write (backpressure); the buffer holds at most the
// events of one read plus a partial event.
net::awaitable<void> Relay::relay_stream(http::Exchange& exchange, Attempt& attempt, StreamUsage* events) {
    auto& conn = *attempt.connection;
    const auto& config = exchange.config();
    bhttp::response_parser<bhttp::buffer_body> parser{std::move(*attempt.header)};

    bhttp::response<bhttp::empty_body> head{parser.get().result(), 11};
    add_headers(head, passed_headers(parser.get()));
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
    std::string scratch;
    std::string spliced;  // the events of one read with the usage chunk put in before [DONE]
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

        // Forward every whole event we hold (every byte, for a body that is not events); keep a
        // partial event for the next read.
        const auto cut = events ? upstream::sse::complete_prefix({buf.data(), used}) : used;
        if (cut > 0) {
            std::string_view out{buf.data(), cut};
            if (events) {
                std::size_t done_at = std::string_view::npos;
                upstream::sse::for_each_event(out, scratch, [&](std::string_view data, std::size_t at) {
                    if (data == "[DONE]") {
                        if (done_at == std::string_view::npos) done_at = at;
                    } else {
                        events->observe(data);
                    }
                });
                if (done_at != std::string_view::npos) {
                    if (auto last = events->final_event(); !last.empty()) {
                        spliced.assign(out.substr(0, done_at)).append(last).append(out.substr(done_at));
                        out = spliced;
                    }
                }
            }
            if (!co_await exchange.write_chunk(out)) {
                co_return;  // the client went away: dropping the connection cancels the upstream call
            }
            std::memmove(buf.data(), buf.data() + cut, used - cut);
            used -= cut;
        }
        if (ec) {
            // The upstream broke off mid-stream (or went silent too long). Bytes were sent, so
            // there is no retry: end the client's stream with an error event it will raise.
            metrics_.record_attempt(ec == beast::error::timeout ? AttemptOutcome::kTimeout : AttemptOutcome::kIoError);
            spdlog::warn("request {}: upstream stream broke: {}", exchange.request_id(), ec.message());
            if (events) {
                auto e = ec == beast::error::timeout
                             ? core::Error::gateway_timeout("The upstream stopped sending the stream in time.")
                             : core::Error::bad_gateway("The upstream connection broke in the middle of the stream.");
                if (co_await exchange.write_chunk(error_frame(e))) co_await exchange.end_stream();
            }
            // A body that is not events has no way to say so: it ends without its last chunk.
            exchange.close_after();
            co_return;
        }
        if (parser.is_done()) {
            if (used > 0 && !co_await exchange.write_chunk({buf.data(), used})) co_return;
            // An upstream that ended without [DONE] still owes an include_usage client its usage.
            if (events) {
                if (auto last = events->final_event(); !last.empty() && !co_await exchange.write_chunk(last)) co_return;
            }
            if (!co_await exchange.end_stream()) co_return;
            if (parser.keep_alive()) client_.release(attempt.take_connection());
            co_return;
        }
    }
}

net::awaitable<store::ChannelTestResult> Relay::test_channel(const snapshot::ChannelView& channel, std::string model,
                                                          const config::Config& config) {
    store::ChannelTestResult result;
    const std::string body = json::serialize(json::object{
        {"model", model},
        {"messages", json::array{json::object{{"role", "user"}, {"content", "hi"}}}},
        {"max_tokens", 1}});
    Attempt attempt;
    const auto started = Clock::now();
    attempt.deadline = started + std::min<Clock::duration>(config.request_timeout, std::chrono::seconds(60));
    const auto request_id = "test-" + core::random_token(16);
    auto failure = co_await send_request(channel, bhttp::verb::post, channel.origin.target("/v1/chat/completions"),
                                         body, nullptr, request_id, attempt, config);
    if (failure) {
        result.message = failure->error.message;
        result.status = failure->error.status;
        result.response_time_ms = millis(Clock::now() - started);
        co_return result;
    }
    auto& conn = *attempt.connection;
    bhttp::response_parser<bhttp::string_body> parser{std::move(*attempt.header)};
    parser.body_limit(kMaxErrorBody);
    conn.tcp().expires_after(upstream::step_timeout(config.upstream_idle_timeout, attempt.deadline));
    auto [ec, n] = co_await conn.visit([&](auto& s) { return bhttp::async_read(s, conn.buffer(), parser, use_nothrow); });
    result.response_time_ms = millis(Clock::now() - started);
    result.status = static_cast<int>(parser.get().result_int());
    if (ec) {
        result.message = "The upstream connection broke in its answer.";
        co_return result;
    }
    if (parser.get().keep_alive()) client_.release(attempt.take_connection());
    result.success = result.status >= 200 && result.status < 300;
    result.message = result.success ? "ok" : translate_upstream_error(result.status, parser.get().body(), channel.key).message;
    co_return result;
}

}  // namespace nexus::relay
