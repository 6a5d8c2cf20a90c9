#include "relay/channel_calls.hpp"

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include "core/clock.hpp"
#include "core/request_id.hpp"
#include "relay/forwarded_headers.hpp"

namespace nexus::relay {

namespace bhttp = beast::http;
namespace json = boost::json;
using upstream::Clock;

namespace {

constexpr std::size_t kMaxErrorBody = 1 << 20;   // an error body we translate
constexpr std::size_t kMaxModelList = 8u << 20;  // an upstream's model list
constexpr auto kProbeBudget = std::chrono::seconds(15);

// A tiny chat call: what a probe of a balance and a channel test send.
std::string tiny_chat(const std::string& model) {
    return json::serialize(json::object{{"model", model},
                                        {"messages", json::array{json::object{{"role", "user"}, {"content", "hi"}}}},
                                        {"max_tokens", 1}});
}

bool ok(int status) { return status >= 200 && status < 300; }

// Where a tiny chat goes: that JSON is a valid request to either API, at its own path.
std::string_view chat_path(const snapshot::ChannelView& channel) {
    return channel.provider->protocol == core::WireProtocol::kAnthropic ? "/v1/messages" : "/v1/chat/completions";
}

}  // namespace

net::awaitable<ChannelCalls::Answer> ChannelCalls::call(const snapshot::ChannelView& channel, bhttp::verb method,
                                                        std::string_view path, std::string_view body, std::size_t limit,
                                                        std::chrono::milliseconds budget, core::Cancellation* cancel) {
    Answer answer;
    const auto fields = upstream_request_fields(channel, core::make_request_id(), nullptr);
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

net::awaitable<ChannelCalls::KeyVerdict> ChannelCalls::probe_key(const snapshot::ChannelView& channel,
                                                                 FailureKind kind, core::Cancellation& cancel) {
    if (!channel.health->begin_probe()) co_return KeyVerdict::kBusy;
    struct EndProbe {
        snapshot::ChannelHealth& health;
        ~EndProbe() { health.end_probe(); }
    } end{*channel.health};
    auto at_fault = [&](const Answer& a) {
        const auto k = classify_upstream_failure(a.status, translate_upstream_error(a.status, a.body, channel.key));
        return k == FailureKind::kKeyRejected || k == FailureKind::kBalance;
    };
    if (kind == FailureKind::kKeyRejected) {
        const auto list = co_await call(channel, bhttp::verb::get, "/v1/models", {}, kMaxModelList, kProbeBudget, &cancel);
        if (ok(list.status)) co_return KeyVerdict::kFine;
        if (list.status != 0 && at_fault(list)) co_return KeyVerdict::kAtFault;
        if (list.status != 404 && list.status != 405) co_return KeyVerdict::kUnknown;
    }
    const auto chat = co_await call(channel, bhttp::verb::post, chat_path(channel), tiny_chat(channel.test_model),
                                    kMaxErrorBody, kProbeBudget, &cancel);
    if (ok(chat.status)) co_return KeyVerdict::kFine;
    if (chat.status != 0 && at_fault(chat)) co_return KeyVerdict::kAtFault;
    co_return KeyVerdict::kUnknown;
}

net::awaitable<store::ChannelTestResult> ChannelCalls::test(const snapshot::ChannelView& channel) {
    store::ChannelTestResult result;
    const auto started = Clock::now();
    const auto answer = co_await call(channel, bhttp::verb::post, chat_path(channel), tiny_chat(channel.test_model),
                                      kMaxErrorBody, std::chrono::seconds(60), nullptr);
    result.response_time_ms = core::millis(Clock::now() - started);
    if (answer.status == 0) {
        result.status = answer.error.status;
        result.message = answer.error.message;
        co_return result;
    }
    result.status = answer.status;
    result.success = ok(answer.status);
    result.message = result.success ? "ok" : translate_upstream_error(answer.status, answer.body, channel.key).message;
    co_return result;
}

net::awaitable<std::optional<std::vector<ModelEntry>>> ChannelCalls::model_list(const snapshot::ChannelView& channel) {
    const auto budget = std::min<std::chrono::milliseconds>(config_.upstream_header_timeout, std::chrono::seconds(15));
    const auto answer = co_await call(channel, bhttp::verb::get, "/v1/models", {}, kMaxModelList, budget, nullptr);
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

}  // namespace nexus::relay
