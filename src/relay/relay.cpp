#include "relay/relay.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <vector>

#include "core/clock.hpp"
#include "core/crypto.hpp"
#include "core/json.hpp"
#include "core/request_id.hpp"
#include "core/wire.hpp"
#include "http/router.hpp"
#include "relay/forwarded_headers.hpp"
#include "relay/pipe.hpp"

namespace nexus::relay {

namespace bhttp = beast::http;
namespace json = boost::json;
using upstream::Clock;

namespace {

constexpr std::size_t kMaxErrorBody = 1 << 20;      // an upstream error body we translate
constexpr std::size_t kMaxModelList = 8u << 20;     // an upstream's model list
constexpr auto kProbeBudget = std::chrono::seconds(15);
constexpr std::string_view kUserAgent = "nexus-api/" NEXUS_VERSION;

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

// A tiny chat call: what a probe of a balance and a channel test send.
std::string tiny_chat(const std::string& model) {
    return json::serialize(json::object{{"model", model},
                                        {"messages", json::array{json::object{{"role", "user"}, {"content", "hi"}}}},
                                        {"max_tokens", 1}});
}

}  // namespace

// How one attempt on one channel ended.
struct Relay::Outcome {
    bool answered = false;     ///< the client got its answer, or the part of one it stayed for
    bool client_gone = false;  ///< the client left: no channel is to blame
    FailureKind kind = FailureKind::kTransient;  ///< when neither: the failure, before any byte reached the client
    core::Error error;                           ///< that failure as the client would be told
    Usage usage;
};

// An answer read whole by call_alone.
struct Relay::Answer {
    int status = 0;  ///< 0: none came
    std::string body;
    core::Error error;  ///< when no answer came
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
        co_await exchange.send_error(core::Error::unauthorized(
            "You didn't provide an API key. Send it as 'Authorization: Bearer <nexus token>'.", "missing_api_key"));
        co_return nullptr;
    }
    const auto* token = snap.find_token(core::sha256_hex(*credential));
    const auto now_s = core::unix_seconds();
    if (token == nullptr) {
        co_await exchange.send_error(core::Error::unauthorized("Incorrect API key provided.", "invalid_api_key"));
        co_return nullptr;
    }
    if (token->status != store::kTokenEnabled) {
        co_await exchange.send_error(core::Error::unauthorized("This API key is disabled.", "token_disabled"));
        co_return nullptr;
    }
    if (token->expired_time != -1 && token->expired_time <= now_s) {
        co_await exchange.send_error(core::Error::unauthorized("This API key has expired.", "token_expired"));
        co_return nullptr;
    }
    usage_.touched(token->id, now_s);
    co_return token;
}

std::string Relay::request_fields(const snapshot::ChannelView& channel, std::string_view request_id,
                                  const http::Request* client) {
    std::string fields;
    fields.reserve(256);
    if (client != nullptr) append_forwarded_request_fields(fields, *client);
    if (client == nullptr || (*client)[bhttp::field::content_type].empty()) {
        core::append_field(fields, "Content-Type", "application/json");
    }
    fields.append("Authorization: Bearer ").append(channel.key).append("\r\n");
    core::append_field(fields, "X-Request-Id", request_id);
    core::append_field(fields, "User-Agent", kUserAgent);
    return fields;
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
    const auto now_s = core::unix_seconds();

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

    // 3. Channels, one after another until one answers or the attempts run out. A client that
    //    leaves cancels the step in progress at once (the watcher holds the Cancellation, not a
    //    pointer into this frame), and no attempt starts after it left.
    const auto cancel = std::make_shared<core::Cancellation>();
    const auto watch = exchange.watch_client([cancel] { cancel->cancel(); });
    const auto deadline = exchange.start() + config_.request_timeout;
    std::vector<std::int64_t> tried;
    std::optional<core::Error> last;
    Outcome outcome;
    while (tried.size() < config_.max_attempts && !cancel->cancelled()) {
        const auto* channel = snap->pick(info.model, tried, rng_, Clock::now());
        if (channel == nullptr) break;
        tried.push_back(channel->id);
        const std::string* mapped = channel->mapped(info.model);
        core::Result<std::string> rewritten{std::string()};
        if (mapped) rewritten = with_model(endpoint, request.body(), info, *mapped);
        if (!rewritten) {
            co_await exchange.send_error(rewritten.error());
            outcome.answered = true;
            break;
        }
        outcome = co_await attempt(exchange, endpoint, info, *channel,
                                   mapped ? std::string_view(*rewritten) : std::string_view(request.body()), *cancel);
        if (outcome.answered || outcome.client_gone || cancel->cancelled()) break;
        blame(*channel, outcome.kind, outcome.error);
        last = std::move(outcome.error);
        if (Clock::now() >= deadline) break;
    }

    if (outcome.client_gone || cancel->cancelled()) {
        exchange.mark_unanswered(499);  // a departed client is not the channel's fault
    } else if (!outcome.answered) {
        if (last) {
            co_await exchange.send_error(*last);
        } else {
            const auto e = core::Error::no_channel(
                snap->any_serves(info.model)
                    ? "No channel for model '" + info.model + "' is available right now; try again later."
                    : "No available channel for model '" + info.model + "'.");
            co_await exchange.send_error(e);
        }
    }

    // 4. What it used, written later off this thread.
    store::UsageRecord u;
    u.created_time = now_s;
    u.request_id = std::string(exchange.request_id());
    u.token_id = token->id;
    u.channel_id = tried.empty() ? 0 : tried.back();
    u.model = info.model;
    u.stream = info.stream;
    u.status = exchange.status();
    u.latency_ms = core::millis(Clock::now() - exchange.start());
    u.ttfb_ms = record.upstream_ttfb.count() >= 0 ? core::millis(record.upstream_ttfb) : -1;
    u.attempts = static_cast<int>(tried.size());
    u.prompt_tokens = outcome.usage.prompt_tokens;
    u.completion_tokens = outcome.usage.completion_tokens;
    u.total_tokens = outcome.usage.total_tokens;
    usage_.record(std::move(u));
}

net::awaitable<Relay::Outcome> Relay::attempt(http::Exchange& exchange, const Endpoint& endpoint,
                                              const RequestInfo& info, const snapshot::ChannelView& channel,
                                              std::string_view body, core::Cancellation& cancel) {
    Outcome outcome;
    const auto fields = request_fields(channel, exchange.request_id(), &exchange.request());
    const auto target = channel.origin.target(endpoint.path);
    auto result = co_await client_.call(channel.origin, upstream::Request{bhttp::verb::post, target, fields, body},
                                        upstream::Deadlines::from(config_, exchange.start() + config_.request_timeout),
                                        &cancel);
    if (!result.response) {
        auto& failure = *result.failure;
        switch (failure.kind) {
            case upstream::CallFailure::Kind::kCancelled:
                outcome.client_gone = true;
                break;
            case upstream::CallFailure::Kind::kOverloaded:
                // Ours, not the channel's: no other channel would fare better.
                co_await exchange.send_error(failure.error);
                outcome.answered = true;
                break;
            case upstream::CallFailure::Kind::kUpstream:
                spdlog::warn("request {}: channel {}: {}", exchange.request_id(), channel.id, failure.error.detail);
                outcome.kind = FailureKind::kTransient;
                outcome.error = std::move(failure.error);
                break;
        }
        co_return outcome;
    }
    auto& response = *result.response;
    auto& record = exchange.record();
    record.upstream_ttfb = response.time_to_head();
    record.upstream_status = response.status();
    if (response.status() < 200 || response.status() >= 300) {
        co_return co_await relay_failure(exchange, channel, response, cancel);
    }

    // A success: piped to the client as it comes.
    channel.health->record_success();
    const std::string_view content_type = response.head()[bhttp::field::content_type];
    std::string answer_fields;
    core::append_field(answer_fields, "Content-Type", content_type.empty() ? std::string_view("application/json") : content_type);
    append_forwarded_response_fields(answer_fields, response.head());
    PipeResult piped;
    if (is_event_stream(content_type)) {
        StreamUsage usage(endpoint.chunk_usage && info.include_usage);
        piped = co_await pipe_events(exchange, response, std::move(answer_fields), usage, metrics_, cancel);
        outcome.usage = usage.usage();
    } else {
        UsageReader usage;
        const bool json_body = is_json(content_type);
        piped = co_await pipe_body(exchange, response, answer_fields, json_body ? &usage : nullptr, metrics_, cancel);
        if (json_body) {
            if (auto u = usage.finish()) outcome.usage = *u;
        }
    }
    if (!piped.sent && piped.failure) {
        // Nothing reached the client: another channel may still answer.
        outcome.kind = FailureKind::kTransient;
        outcome.error = std::move(piped.failure->error);
        co_return outcome;
    }
    outcome.answered = true;
    outcome.client_gone = piped.client_gone;
    co_return outcome;
}

// A non-2xx answer: translated, and what it means decided once. The client's own mistakes go to
// it at once; a rejected key or an unpaid account is first confirmed with the key alone, so that
// a request (its headers, its size) can never get a good channel disabled.
net::awaitable<Relay::Outcome> Relay::relay_failure(http::Exchange& exchange, const snapshot::ChannelView& channel,
                                                    upstream::Response& response, core::Cancellation& cancel) {
    Outcome outcome;
    const int status = response.status();
    auto [ec, body] = co_await response.read_all(kMaxErrorBody);
    if (ec) {
        if (cancel.cancelled()) {
            outcome.client_gone = true;
        } else {
            outcome.error = ec == beast::error::timeout
                                ? core::Error::gateway_timeout("Timed out reading the upstream's answer.", ec.message())
                                : core::Error::bad_gateway("The upstream connection broke in its answer.", ec.message());
            metrics_.record_attempt(ec == beast::error::timeout ? core::AttemptOutcome::kTimeout
                                                                : core::AttemptOutcome::kIoError);
        }
        co_return outcome;
    }
    auto error = translate_upstream_error(status, body, channel.key);
    const auto kind = classify_upstream_failure(status, error);
    auto with_passed_headers = [&](core::Error& e) {
        for (const auto& f : response.head()) {
            if (forwarded_to_client(f.name_string())) e.headers.emplace_back(f.name_string(), f.value());
        }
    };
    with_passed_headers(error);

    if (kind == FailureKind::kKeyRejected || kind == FailureKind::kBalance) {
        const auto verdict = co_await probe_key(channel, kind, cancel);
        if (cancel.cancelled()) {
            outcome.client_gone = true;
            co_return outcome;
        }
        if (verdict == KeyVerdict::kFine) {
            // The key works: it was this request the upstream refused. It gets the upstream's
            // answer; the channel keeps its status and is not rested.
            auto refused = translate_upstream_error(status, body, channel.key, true);
            with_passed_headers(refused);
            co_await exchange.send_error(refused);
            outcome.answered = true;
            co_return outcome;
        }
        outcome.kind = verdict == KeyVerdict::kAtFault ? kind
                       : verdict == KeyVerdict::kBusy  ? FailureKind::kRefused  // another thread is probing it
                                                       : FailureKind::kTransient;
        outcome.error = std::move(error);
        co_return outcome;
    }
    if (kind == FailureKind::kClientFault) {
        // The client's own mistake (400, 404, 413, 422…): relayed at once, no other channel
        // tried. The upstream answered properly, so the channel is healthy.
        channel.health->record_success();
        co_await exchange.send_error(error);
        outcome.answered = true;
        co_return outcome;
    }
    outcome.kind = kind;
    outcome.error = std::move(error);
    co_return outcome;
}

net::awaitable<Relay::Answer> Relay::call_alone(const snapshot::ChannelView& channel, bhttp::verb method,
                                                std::string_view path, std::string_view body, std::size_t limit,
                                                std::chrono::milliseconds budget, core::Cancellation* cancel) {
    Answer answer;
    const auto request_id = core::make_request_id();
    const auto fields = request_fields(channel, request_id, nullptr);
    const auto target = channel.origin.target(path);
    const auto deadline = Clock::now() + std::min<Clock::duration>(budget, config_.request_timeout);
    auto result = co_await client_.call(channel.origin, upstream::Request{method, target, fields, body},
                                        upstream::Deadlines::from(config_, deadline), cancel);
    if (!result.response) {
        answer.error = std::move(result.failure->error);
        co_return answer;
    }
    auto [ec, text] = co_await result.response->read_all(limit);
    if (ec) {
        answer.error = core::Error::bad_gateway("The upstream connection broke in its answer.", ec.message());
        co_return answer;
    }
    answer.status = result.response->status();
    answer.body = std::move(text);
    co_return answer;
}

net::awaitable<Relay::KeyVerdict> Relay::probe_key(const snapshot::ChannelView& channel, FailureKind kind,
                                                   core::Cancellation& cancel) {
    if (!channel.health->begin_probe()) co_return KeyVerdict::kBusy;
    struct EndProbe {
        snapshot::ChannelHealth& health;
        ~EndProbe() { health.end_probe(); }
    } end{*channel.health};
    auto at_fault = [&](const Answer& a) {
        const auto k = classify_upstream_failure(a.status, translate_upstream_error(a.status, a.body, channel.key));
        return k == FailureKind::kKeyRejected || k == FailureKind::kBalance;
    };
    // A rejected key is checked against the model list, which costs nothing; an account that
    // cannot pay only shows on a call that costs (one token), as does an upstream with no list.
    if (kind == FailureKind::kKeyRejected) {
        const auto list = co_await call_alone(channel, bhttp::verb::get, "/v1/models", {}, kMaxModelList, kProbeBudget, &cancel);
        if (list.status >= 200 && list.status < 300) co_return KeyVerdict::kFine;
        if (list.status != 0 && at_fault(list)) co_return KeyVerdict::kAtFault;
        if (list.status != 404 && list.status != 405) co_return KeyVerdict::kUnknown;
    }
    const auto chat = co_await call_alone(channel, bhttp::verb::post, "/v1/chat/completions", tiny_chat(channel.test_model),
                                          kMaxErrorBody, kProbeBudget, &cancel);
    if (chat.status >= 200 && chat.status < 300) co_return KeyVerdict::kFine;
    if (chat.status != 0 && at_fault(chat)) co_return KeyVerdict::kAtFault;
    co_return KeyVerdict::kUnknown;
}

void Relay::blame(const snapshot::ChannelView& channel, FailureKind kind, const core::Error& error) {
    switch (kind) {
        case FailureKind::kKeyRejected:
        case FailureKind::kBalance:
            spdlog::warn("channel {} ({}): the upstream rejected its key; disabling it", channel.id, channel.name);
            channel.health->mark_key_rejected();  // not picked again, even before the store write lands
            disable_channel_(channel.id, "upstream rejected the key: " + error.message);
            break;
        case FailureKind::kTransient:
            if (channel.health->record_transient_failure(Clock::now(), config_.channel_cooldown)) {
                spdlog::warn("channel {} ({}): {} failures in a row; cooling down", channel.id, channel.name,
                             snapshot::ChannelHealth::kTripAfter);
            }
            break;
        case FailureKind::kClientFault:
        case FailureKind::kRefused:
        case FailureKind::kRateLimited:
            break;
    }
}

net::awaitable<void> Relay::list_models(http::Exchange& exchange) {
    const auto snap = snapshots_.get();
    if (co_await authenticate(exchange, *snap) == nullptr) co_return;
    const auto models = co_await models_.models(snap);
    co_await exchange.send(bhttp::status::ok, render_model_list(models), "application/json");
}

net::awaitable<void> Relay::get_model(http::Exchange& exchange) {
    const auto snap = snapshots_.get();
    if (co_await authenticate(exchange, *snap) == nullptr) co_return;
    // The id may hold slashes, raw or percent-encoded; a malformed escape names no model.
    const std::string id = http::percent_decoded(exchange.param("model")).value_or(std::string());
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
    auto e = core::Error::not_found("The model '" + id + "' does not exist or no channel serves it.");
    e.code = "model_not_found";
    e.param = "model";
    co_await exchange.send_error(e);
}

net::awaitable<std::optional<std::vector<ModelEntry>>> Relay::fetch_models(const snapshot::ChannelView& channel) {
    const auto answer = co_await call_alone(channel, bhttp::verb::get, "/v1/models", {}, kMaxModelList,
                                            std::min<std::chrono::milliseconds>(config_.upstream_header_timeout,
                                                                                std::chrono::seconds(15)),
                                            nullptr);
    if (answer.status == 0) {
        spdlog::warn("channel {} ({}): fetching its model list failed: {}", channel.id, channel.name,
                     answer.error.message);
        co_return std::nullopt;
    }
    if (answer.status != 200) {
        spdlog::warn("channel {} ({}): its model list answered {}: {}", channel.id, channel.name, answer.status,
                     translate_upstream_error(answer.status, answer.body, channel.key).message);
        co_return std::nullopt;
    }
    auto models = parse_model_list(answer.body);
    if (!models) spdlog::warn("channel {} ({}): its model list is not OpenAI-shaped", channel.id, channel.name);
    co_return models;
}

net::awaitable<store::ChannelTestResult> Relay::test_channel(const snapshot::ChannelView& channel) {
    store::ChannelTestResult result;
    const auto started = Clock::now();
    const auto answer = co_await call_alone(channel, bhttp::verb::post, "/v1/chat/completions",
                                            tiny_chat(channel.test_model), kMaxErrorBody, std::chrono::seconds(60),
                                            nullptr);
    result.response_time_ms = core::millis(Clock::now() - started);
    if (answer.status == 0) {
        result.status = answer.error.status;
        result.message = answer.error.message;
        co_return result;
    }
    result.status = answer.status;
    result.success = answer.status >= 200 && answer.status < 300;
    result.message = result.success ? "ok" : translate_upstream_error(answer.status, answer.body, channel.key).message;
    co_return result;
}

}  // namespace nexus::relay
