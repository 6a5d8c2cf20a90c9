#include "relay/relay.hpp"

#include <boost/container/small_vector.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <span>
#include <vector>

#include "core/clock.hpp"
#include "core/crypto.hpp"
#include "core/ip_range.hpp"
#include "core/json.hpp"
#include "protocol/anthropic/error.hpp"
#include "protocol/anthropic/estimate.hpp"

namespace nexus::relay {

namespace bhttp = beast::http;
namespace json = boost::json;
using upstream::Clock;

namespace {

namespace anthropic = protocol::anthropic;
using core::WireProtocol;

constexpr http::ErrorStyle kAnthropicErrors{&anthropic::error_body, &anthropic::error_event, "request-id"};

// The client's body as an object, parsed once (inspection has accepted it).
const json::object& parsed_body(std::optional<json::object>& parsed, std::string_view body) {
    if (!parsed) {
        json::error_code ec;
        auto doc = json::parse(body, ec, {}, core::json_parse_options());
        parsed.emplace(doc.is_object() ? std::move(doc.get_object()) : json::object());
    }
    return *parsed;
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

}  // namespace

Billed bill(const Attempt::Outcome& outcome, bool counts_tokens, std::int64_t body_bytes, std::uint64_t bytes_out) {
    Billed b;
    // Failed attempts, upstream errors, refusals and "no channel": nothing reached the client
    // from an upstream's success, and nothing is billed.
    if (!outcome.delivered) return b;
    b.usage = outcome.usage;
    if (outcome.usage_reported || !counts_tokens) return b;
    // No usage came (an upstream that sends none, or a stream left before its first count):
    // the prompt at 4 bytes a token, the output at one token per streamed event or 4 bytes a
    // token of the answer.
    b.estimated = true;
    b.usage.prompt_tokens = (body_bytes + 3) / 4;
    b.usage.completion_tokens =
        outcome.stream ? outcome.events : static_cast<std::int64_t>((bytes_out + 3) / 4);
    b.usage.total_tokens = b.usage.prompt_tokens + b.usage.completion_tokens;
    return b;
}

Relay::Relay(upstream::Client& client, core::Metrics& metrics, const snapshot::SnapshotHolder& snapshots,
             admission::Admission& admission, UsageSink& usage, DisableChannel disable_channel,
             const config::Config& config)
    : client_(client),
      metrics_(metrics),
      snapshots_(snapshots),
      admission_(admission),
      usage_(usage),
      disable_channel_(std::move(disable_channel)),
      config_(config),
      calls_(client, config),
      models_([this](const snapshot::ChannelView& c) { return calls_.model_list(c); }, config.models_refresh) {}

net::awaitable<const snapshot::TokenView*> Relay::authenticate(http::Exchange& exchange,
                                                               const snapshot::Snapshot& snap,
                                                               core::WireProtocol protocol, std::int64_t now_s) {
    // The Playground's calls come with their token already chosen; /v1 calls bring its key.
    std::string hashed;
    const std::string* key_hash = &exchange.acting_key_hash();
    if (key_hash->empty()) {
        auto credential = http::bearer_token(exchange.request());
        const bool anthropic_client = protocol == WireProtocol::kAnthropic;
        if (!credential && anthropic_client) {
            if (const auto key = exchange.request()["x-api-key"]; !key.empty()) credential = key;
        }
        if (!credential) {
            co_await exchange.send_error(core::Error::unauthorized(
                anthropic_client ? "You didn't provide an API key. Send it as 'x-api-key: <nexus token>' or "
                                   "'Authorization: Bearer <nexus token>'."
                                 : "You didn't provide an API key. Send it as 'Authorization: Bearer <nexus token>'.",
                "missing_api_key"));
            co_return nullptr;
        }
        hashed = core::sha256_hex(*credential);
        key_hash = &hashed;
    }
    const auto* token = snap.find_token(*key_hash);
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
    // A token of a disabled (or vanished) user is refused as if it were disabled itself.
    if (token->user_id != 0 && (token->owner == nullptr || !token->owner->enabled)) {
        co_await exchange.send_error(
            core::Error::unauthorized("The user who owns this API key is disabled.", "user_disabled"));
        co_return nullptr;
    }
    // From here on every answer to the token states its rate limits.
    exchange.set_rate_limit_fields(admission_.rate_fields(*token));
    if (!token->allow_ips.empty()) {
        const auto from = core::client_address(exchange.remote_ip(), http::forwarded_for(exchange.request()),
                                               config_.trusted_proxies);
        if (!core::any_contains(token->allow_ips, from)) {
            co_await exchange.send_error(
                core::Error::forbidden("This API key may not be used from this address.", "ip_not_allowed"));
            co_return nullptr;
        }
    }
    usage_.touched(token->id, now_s);
    co_return token;
}

net::awaitable<void> Relay::handle(http::Exchange& exchange, const Endpoint& endpoint) {
    auto& request = exchange.request();
    // Held for the whole call: channels and tokens stay valid across the upstream waits.
    const auto snap = snapshots_.get();
    const auto started_s = core::unix_seconds();

    // 1. Who is calling: the nexus token, from the request's head alone (no body read before).
    //    From here on errors are in the client API's shape.
    if (endpoint.protocol == WireProtocol::kAnthropic) exchange.set_error_style(kAnthropicErrors);
    const auto* token = co_await authenticate(exchange, *snap, endpoint.protocol, started_s);
    if (token == nullptr) co_return;

    // 2. What is asked.
    if (!co_await exchange.read_body(config_.max_body_bytes)) co_return;
    auto inspected = inspect_request(endpoint, request.body(), request[bhttp::field::content_type]);
    if (!inspected) {
        co_await exchange.send_error(inspected.error());
        co_return;
    }
    const RequestInfo& info = *inspected;
    exchange.record().model = info.model;
    exchange.record().stream = info.stream;

    // 3. What it may use: admission reserves it, or refuses the call (a usage row all the same).
    const auto body_bytes = static_cast<std::int64_t>(request.body().size());
    const admission::Ask ask{token, &info.model, snap->price_of(info.model), endpoint.counts_tokens ? body_bytes : 0,
                             endpoint.chunk_usage ? info.max_tokens.value_or(config_.output_estimate_tokens) : 0};
    auto reserved = co_await admission_.reserve(ask);
    if (!reserved) {
        exchange.set_rate_limit_fields({});  // the refusal carries them, as they were when it was decided
        co_await exchange.send_error(reserved.error());
        record_usage(exchange, *token, info, {}, Billed{}, started_s);
        co_return;
    }
    exchange.set_rate_limit_fields(std::move(reserved->rate_fields));
    Settlement settlement(admission_, std::move(*reserved));

    // 4. Channels, one after another until one answers or the attempts run out. A client that
    //    leaves cancels the step in progress (the watcher holds the Cancellation, never a
    //    pointer into this frame), and no attempt starts after it left.
    const auto cancel = std::make_shared<core::Cancellation>();
    const auto watch = exchange.watch_client([cancel] { cancel->cancel(); });
    const auto deadline = exchange.start() + config_.request_timeout;
    // Channel ids, kept inline: a call rarely tries more than a few.
    boost::container::small_vector<std::int64_t, 8> tried;
    boost::container::small_vector<std::int64_t, 8> passed;  // tried, and those that speak an API this endpoint cannot reach
    std::optional<core::Error> last;
    Attempt::Outcome outcome;
    std::optional<json::object> parsed;  // the client's body, when a translation needs it
    anthropic::ToolNames tool_names;
    std::optional<std::int64_t> input_estimate;  // of an Anthropic request, for a translated answer
    for (auto now = Clock::now(); tried.size() < config_.max_attempts && !cancel->cancelled() && now < deadline;
         now = Clock::now()) {
        const auto* channel = snap->pick(info.model, passed, rng_, now);
        if (channel == nullptr) break;
        passed.push_back(channel->id);
        const auto speaks = channel->provider->protocol;
        if (!serves(endpoint, speaks)) continue;
        tried.push_back(channel->id);
        const std::string* mapped = channel->mapped(info.model);
        const bool translated = speaks != endpoint.protocol;
        core::Result<std::string> rewritten{std::string()};
        if (translated) {
            const auto& model = mapped ? *mapped : info.model;
            const auto& doc = parsed_body(parsed, request.body());
            rewritten = speaks == WireProtocol::kAnthropic
                            ? anthropic::request_to_anthropic(doc, model, config_.anthropic_max_tokens)
                            : anthropic::request_to_openai(doc, model, tool_names);
        } else if (mapped) {
            rewritten = with_model(endpoint, request.body(), info, *mapped);
        }
        if (!rewritten) {
            co_await exchange.send_error(rewritten.error());
            outcome.answered = true;
            break;
        }
        AttemptRequest sent{upstream_path(endpoint, speaks),
                            translated || mapped ? std::string_view(*rewritten) : std::string_view(request.body()),
                            translated, &tool_names};
        if (translated && endpoint.protocol == WireProtocol::kAnthropic) {
            if (!input_estimate) input_estimate = anthropic::estimate_input_tokens(*parsed);
            sent.input_estimate = *input_estimate;
        }
        Attempt attempt({client_, calls_, metrics_, config_}, exchange, endpoint, info, *channel, sent, *cancel);
        outcome = co_await attempt.run();
        if (outcome.answered || outcome.client_gone || cancel->cancelled()) break;
        blame(*channel, outcome.kind, outcome.error);
        last = std::move(outcome.error);
    }
    if (outcome.client_gone || cancel->cancelled()) {
        exchange.mark_unanswered(499);  // a departed client is not the channel's fault
    } else if (!outcome.answered) {
        // Built before the co_await: GCC 12 mishandles temporaries of a conditional inside one.
        if (!last) {
            last = core::Error::no_channel(
                snap->any_serves(info.model)
                    ? "No channel for model '" + info.model + "' is available right now; try again later."
                    : "No available channel for model '" + info.model + "'.");
        }
        co_await exchange.send_error(*last);
    }

    // 5. What it used: settled with admission, and its usage row written later off this thread.
    const auto billed = bill(outcome, endpoint.counts_tokens, body_bytes, exchange.bytes_out());
    const auto& u = billed.usage;
    const auto quota =
        settlement.settle({outcome.delivered, u.prompt_tokens, u.cached_tokens, u.completion_tokens, u.total_tokens});
    record_usage(exchange, *token, info, tried, {billed.usage, billed.estimated, quota, settlement.reservation().price},
                 started_s);
}

net::awaitable<void> Relay::count_tokens(http::Exchange& exchange) {
    exchange.set_error_style(kAnthropicErrors);
    const auto snap = snapshots_.get();
    const auto* token = co_await authenticate(exchange, *snap, WireProtocol::kAnthropic, core::unix_seconds());
    if (token == nullptr) co_return;
    if (!co_await exchange.read_body(config_.max_body_bytes)) co_return;
    auto& request = exchange.request();
    const auto inspected = inspect_request(count_tokens_endpoint(), request.body(), request[bhttp::field::content_type]);
    if (!inspected) {
        co_await exchange.send_error(inspected.error());
        co_return;
    }
    exchange.record().model = inspected->model;
    std::optional<json::object> parsed;
    const auto tokens = anthropic::estimate_input_tokens(parsed_body(parsed, request.body()));
    co_await exchange.send(bhttp::status::ok, "{\"input_tokens\":" + std::to_string(tokens) + "}", "application/json");
}

void Relay::record_usage(http::Exchange& exchange, const snapshot::TokenView& token, const RequestInfo& info,
                         std::span<const std::int64_t> tried, const Billed& billed, std::int64_t started_s) {
    const auto& usage = billed.usage;
    const auto& record = exchange.record();
    store::UsageRecord u;
    u.created_time = started_s;
    u.request_id = std::string(exchange.request_id());
    u.token_id = token.id;
    u.user_id = token.user_id;
    u.channel_id = tried.empty() ? 0 : tried.back();
    u.model = info.model;
    u.stream = info.stream;
    u.status = exchange.status();
    u.latency_ms = core::millis(Clock::now() - exchange.start());
    u.ttfb_ms = record.upstream_ttfb.count() >= 0 ? core::millis(record.upstream_ttfb) : -1;
    u.attempts = static_cast<int>(tried.size());
    u.prompt_tokens = usage.prompt_tokens;
    u.completion_tokens = usage.completion_tokens;
    u.total_tokens = usage.total_tokens;
    u.cached_tokens = usage.cached_tokens;
    u.quota = billed.quota;
    u.price = billed.price;
    u.estimated = billed.estimated;
    usage_.record(std::move(u));
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

}  // namespace nexus::relay
