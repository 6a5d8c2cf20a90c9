#include "relay/attempt.hpp"

#include <spdlog/spdlog.h>

#include "core/clock.hpp"
#include "core/wire.hpp"
#include "protocol/anthropic/response.hpp"
#include "protocol/anthropic/stream.hpp"
#include "relay/forwarded_headers.hpp"
#include "relay/pipe.hpp"

namespace nexus::relay {

namespace bhttp = beast::http;

namespace {

constexpr std::size_t kMaxErrorBody = 1 << 20;         // an upstream error body we translate
constexpr std::size_t kMaxTranslatedAnswer = 32u << 20;  // a whole answer translated to another API

using core::WireProtocol;
namespace anthropic = protocol::anthropic;

// An Anthropic stream relayed as it is: its usage read on the way.
class AnthropicUsageFilter final : public EventFilter {
public:
    void on_event(std::string_view data, std::string&) override {
        if (data != "[DONE]") usage_.observe(data);
    }
    const anthropic::EventUsage& usage() const { return usage_; }

private:
    anthropic::EventUsage usage_;
};

Usage usage_of_counts(const protocol::TokenCounts& c) {
    return Usage{c.prompt, c.completion, c.prompt + c.completion, c.cached};
}

bool is_event_stream(std::string_view content_type) {
    return content_type.find("text/event-stream") != std::string_view::npos;
}
bool is_json(std::string_view content_type) {
    return content_type.empty() || content_type.find("json") != std::string_view::npos;
}

// The upstream's headers that go to the client, on `error` (Retry-After and the like).
void pass_headers(core::Error& error, const upstream::Response& response, bool rate_limits) {
    for (const auto& f : response.head()) {
        if (forwarded_to_client(f.name_string(), rate_limits)) error.headers.emplace_back(f.name_string(), f.value());
    }
}

}  // namespace

net::awaitable<Attempt::Outcome> Attempt::run() {
    Outcome outcome;
    const auto fields = upstream_request_fields(channel_, exchange_.request_id(), &exchange_.request());
    const auto target = channel_.origin.target(request_.path);
    auto result = co_await ctx_.client.call(
        channel_.origin, upstream::Request{bhttp::verb::post, target, fields, request_.body},
        upstream::Deadlines::from(ctx_.config, exchange_.start() + ctx_.config.request_timeout), &cancel_);
    if (!result.response) {
        auto& failure = *result.failure;
        switch (failure.kind) {
            case upstream::CallFailure::Kind::kCancelled:
                outcome.client_gone = true;
                break;
            case upstream::CallFailure::Kind::kOverloaded:
                // Ours, not the channel's: no other channel would fare better.
                co_await exchange_.send_error(failure.error);
                outcome.answered = true;
                break;
            case upstream::CallFailure::Kind::kUpstream:
                spdlog::warn("request {}: channel {}: {}", exchange_.request_id(), channel_.id, failure.error.detail);
                outcome.kind = FailureKind::kTransient;
                outcome.error = std::move(failure.error);
                break;
        }
        co_return outcome;
    }
    auto& response = *result.response;
    exchange_.record().upstream_ttfb = response.time_to_head();
    exchange_.record().upstream_status = response.status();
    if (response.status() >= 200 && response.status() < 300) co_return co_await relay_success(response);
    co_return co_await relay_failure(response);
}

// A success: piped to the client as it comes, its usage read on the way.
net::awaitable<Attempt::Outcome> Attempt::relay_success(upstream::Response& response) {
    Outcome outcome;
    channel_.health->record_success();
    const std::string_view content_type = response.head()[bhttp::field::content_type];
    const bool events = is_event_stream(content_type);
    std::string fields;
    fields.reserve(192);
    if (request_.translated) {
        core::append_field(fields, "Content-Type", events ? "text/event-stream" : "application/json");
    } else {
        core::append_field(fields, "Content-Type", content_type.empty() ? std::string_view("application/json") : content_type);
    }
    append_forwarded_response_fields(fields, response.head(), !exchange_.has_rate_limit_fields());
    if (request_.translated) co_return co_await relay_translated(response, std::move(fields), events);
    PipeResult piped;
    if (events && endpoint_.protocol == WireProtocol::kAnthropic) {
        AnthropicUsageFilter usage;
        EventFilter* const filters[] = {&usage};
        const EventPipe pipe{filters, nullptr, ctx_.config.stream_ping, anthropic::ping_event()};
        piped = co_await pipe_events(exchange_, response, std::move(fields), pipe, ctx_.metrics, cancel_);
        const auto counts = usage.usage().counts();
        outcome.usage = usage_of_counts(counts);
        outcome.usage_reported = counts.reported;
        outcome.events = usage.usage().events();
        outcome.stream = true;
    } else if (events) {
        // Each event's counts are read once: by the include_usage splice when it runs (it reads
        // each event whole anyway), else by the usage filter's lighter reading.
        UsageFilter usage;
        IncludeUsageFilter include_usage;
        const bool splice = endpoint_.chunk_usage && info_.include_usage;
        EventFilter* const filters[] = {splice ? static_cast<EventFilter*>(&include_usage) : &usage};
        piped = co_await pipe_events(exchange_, response, std::move(fields), EventPipe{filters, nullptr, {}, {}}, ctx_.metrics, cancel_);
        outcome.usage = splice ? include_usage.usage() : usage.usage();
        outcome.usage_reported = splice ? include_usage.reported() : usage.reported();
        outcome.events = splice ? include_usage.events() : usage.events();
        outcome.stream = true;
    } else {
        UsageReader usage;
        const bool json_body = is_json(content_type);
        piped = co_await pipe_body(exchange_, response, fields, json_body ? &usage : nullptr, ctx_.metrics, cancel_);
        if (json_body) {
            if (auto u = usage.finish()) {
                outcome.usage = *u;
                outcome.usage_reported = true;
            }
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
    outcome.delivered = piped.sent;
    co_return outcome;
}

net::awaitable<Attempt::Outcome> Attempt::relay_translated(upstream::Response& response, std::string fields,
                                                          bool events) {
    Outcome outcome;
    const bool to_anthropic = endpoint_.protocol == WireProtocol::kAnthropic;
    if (events) {
        std::optional<anthropic::ToAnthropicStream> anthropic_stream;
        std::optional<anthropic::ToOpenAIStream> openai_stream;
        protocol::StreamTranslator* translator = nullptr;
        EventPipe pipe;
        if (to_anthropic) {
            translator = &anthropic_stream.emplace("msg_" + std::string(exchange_.request_id()), info_.model,
                                                   request_.input_estimate, *request_.tool_names);
            pipe.ping_every = ctx_.config.stream_ping;
            pipe.ping_event = anthropic::ping_event();
        } else {
            translator = &openai_stream.emplace(core::unix_seconds(), info_.include_usage);
        }
        pipe.translator = translator;
        const auto piped = co_await pipe_events(exchange_, response, std::move(fields), pipe, ctx_.metrics, cancel_);
        const auto counts = translator->counts();
        outcome.usage = usage_of_counts(counts);
        outcome.usage_reported = counts.reported;
        outcome.events = translator->events();
        outcome.stream = true;
        outcome.answered = true;
        outcome.client_gone = piped.client_gone;
        outcome.delivered = piped.sent;
        co_return outcome;
    }
    // A whole answer: translating it needs all of it (bounded).
    auto [ec, body] = co_await response.read_all(kMaxTranslatedAnswer);
    if (ec) {
        if (cancel_.cancelled()) {
            outcome.client_gone = true;
            co_return outcome;
        }
        // Nothing reached the client: another channel may answer, as after pipe_body's first read.
        outcome.kind = FailureKind::kTransient;
        outcome.error = broke_midway(ec, ctx_.metrics, exchange_.request_id(), "answer").error;
        co_return outcome;
    }
    outcome.answered = true;
    if (!response.done()) {
        co_await exchange_.send_error(core::Error::bad_gateway("The upstream's answer is too large to translate."));
        co_return outcome;
    }
    protocol::TokenCounts counts;
    auto translated = to_anthropic ? anthropic::message_from_completion(body, info_.model, *request_.tool_names,
                                                                        request_.input_estimate, counts)
                                   : anthropic::completion_from_message(body, core::unix_seconds(), counts);
    if (!translated) {
        co_await exchange_.send_error(translated.error());
        co_return outcome;
    }
    outcome.usage = usage_of_counts(counts);
    outcome.usage_reported = counts.reported;
    outcome.delivered = true;
    outcome.client_gone = !co_await exchange_.send(static_cast<unsigned>(response.status()), fields, *translated);
    co_return outcome;
}

// A non-2xx answer: translated, and what it means decided once (FailureKind). The client's own
// mistakes go to it at once; a rejected key or an unpaid account is first confirmed with the key
// alone, so that a request (its headers, its size) can never get a good channel disabled.
net::awaitable<Attempt::Outcome> Attempt::relay_failure(upstream::Response& response) {
    Outcome outcome;
    const int status = response.status();
    auto [ec, body] = co_await response.read_all(kMaxErrorBody);
    if (ec) {
        if (cancel_.cancelled()) {
            outcome.client_gone = true;
        } else {
            outcome.error = ec == beast::error::timeout
                                ? core::Error::gateway_timeout("Timed out reading the upstream's answer.", ec.message())
                                : core::Error::bad_gateway("The upstream connection broke in its answer.", ec.message());
            ctx_.metrics.record_attempt(upstream::outcome_of_read(ec));
        }
        co_return outcome;
    }
    auto error = translate_upstream_error(status, body, channel_.key);
    pass_headers(error, response, !exchange_.has_rate_limit_fields());
    const auto kind = classify_upstream_failure(status, error);

    if (kind == FailureKind::kKeyRejected || kind == FailureKind::kBalance) {
        using Verdict = ChannelCalls::KeyVerdict;
        const auto verdict = co_await ctx_.calls.probe_key(channel_, kind, cancel_);
        if (cancel_.cancelled()) {
            outcome.client_gone = true;
            co_return outcome;
        }
        if (verdict == Verdict::kFine) {
            // The key works: it was this request the upstream refused. It gets the upstream's
            // answer; the channel keeps its status and is not rested.
            auto refused = translate_upstream_error(status, body, channel_.key, true);
            pass_headers(refused, response, !exchange_.has_rate_limit_fields());
            co_await exchange_.send_error(refused);
            outcome.answered = true;
            co_return outcome;
        }
        outcome.kind = verdict == Verdict::kAtFault ? kind
                       : verdict == Verdict::kBusy  ? FailureKind::kRefused  // another thread is probing it
                                                    : FailureKind::kTransient;
        outcome.error = std::move(error);
        co_return outcome;
    }
    if (kind == FailureKind::kClientFault) {
        // The client's own mistake (400, 404, 413, 422…): relayed at once, no other channel
        // tried. The upstream answered properly, so the channel is healthy.
        channel_.health->record_success();
        co_await exchange_.send_error(error);
        outcome.answered = true;
        co_return outcome;
    }
    outcome.kind = kind;
    outcome.error = std::move(error);
    co_return outcome;
}

}  // namespace nexus::relay
