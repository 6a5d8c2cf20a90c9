// Anthropic's Messages API through the real binary and the mock upstream: what only the wire
// shows (pings, the headers an Anthropic channel gets, errors before and after the first byte)
// and what the relay records (usage rows). The SDK suites (tests/sdk/anthropic.test.mjs) cover
// what the official clients see.
#include <gtest/gtest.h>

#include "../protocol/stream_check.hpp"
#include "support/pool_fixture.hpp"

namespace nexus::testing {
namespace {

namespace json = boost::json;

const std::string kToken = "sk-nexus-anthropic-test-token";

std::string messages_body(const std::string& model, bool stream) {
    return R"({"model":")" + model + R"(","max_tokens":64,"stream":)" + (stream ? "true" : "false") +
           R"(,"messages":[{"role":"user","content":"hi"}]})";
}

// The token as Claude clients send it with an API key (no Authorization: the helpers' default is dropped).
Headers claude(Headers more = {}) {
    more["x-api-key"] = kToken;
    more["Authorization"] = "";
    return more;
}

std::string anthropic_channel(const std::string& models, const std::string& base_url) {
    return R"({"type":"Anthropic","name":"claude","key":"sk-aaa","base_url":")" + base_url + R"(","models":)" + models + "}";
}

std::string openai_channel(const std::string& models, const std::string& base_url) {
    return channel_body("sf", "sk-aaa", base_url, R"(,"models":)" + models);
}

class AnthropicRelay : public PoolTest {};

TEST_F(AnthropicRelay, PingEventsFillASilentStreamOnTheWire) {
    start({{"NEXUS_STREAM_PING_SECONDS", "0.3"}});
    add_channel(port(), openai_channel(R"(["mock-pause-stream"])", mock_.base_url()));
    add_token_with(kToken);
    // Two frames 1.5 s apart, then 1.5 s before the end: pings in both silences.
    const auto res = stream_post(port(), "/v1/messages", messages_body("mock-pause-stream", true), claude());
    ASSERT_EQ(res.status, 200) << res.raw;
    EXPECT_TRUE(res.complete) << res.error;
    EXPECT_EQ(anthropic_stream_violation(res.raw), std::nullopt) << res.raw;
    int pings = 0;
    for (std::size_t at = res.raw.find("event: ping\n"); at != std::string::npos; at = res.raw.find("event: ping\n", at + 1)) {
        ++pings;
    }
    EXPECT_GE(pings, 4) << res.raw;
    EXPECT_EQ(res.header("content-type"), "text/event-stream");
}

TEST_F(AnthropicRelay, AnAnthropicChannelGetsItsKeyAsXApiKeyWithTheClientsVersionAndBetas) {
    start({{"NEXUS_ANTHROPIC_MAX_TOKENS", "777"}});
    add_channel(port(), anthropic_channel(R"(["claude-x"])", mock_.base_url()));
    add_token_with(kToken);
    const auto native = api_call(port(), "POST", "/v1/messages?beta=true", messages_body("claude-x", false),
                                 claude({{"anthropic-version", "2024-10-22"}, {"anthropic-beta", "tools-2024,x-2025"},
                                         {"X-Claude-Code-Session-Id", "s1"}}));
    ASSERT_EQ(native.status, 200) << native.body;
    EXPECT_EQ(json::parse(native.body).at("content").at(0).at("text"), "Hello from Claude mock");
    EXPECT_FALSE(native.header("request-id").empty());
    EXPECT_EQ(native.header("request-id"), native.header("x-request-id"));

    const auto openai = post_chat(port(), R"({"model":"claude-x","messages":[{"role":"user","content":"hi"}]})",
                                  as(kToken));
    ASSERT_EQ(openai.status, 200) << openai.body;
    EXPECT_EQ(json::parse(openai.body).at("choices").at(0).at("message").at("content"), "Hello from Claude mock");

    const auto seen = mock_.requests();
    ASSERT_EQ(seen.size(), 2u);
    for (const auto& r : seen) {
        EXPECT_EQ(r.target, "/v1/messages");  // the query string stays here
        EXPECT_EQ(r.headers.at("x-api-key"), "sk-aaa");
        EXPECT_FALSE(r.headers.contains("authorization"));
        EXPECT_FALSE(r.headers.contains("x-claude-code-session-id"));
    }
    EXPECT_EQ(seen[0].headers.at("anthropic-version"), "2024-10-22");
    EXPECT_EQ(seen[0].headers.at("anthropic-beta"), "tools-2024,x-2025");
    EXPECT_EQ(seen[0].body, messages_body("claude-x", false));  // relayed byte for byte
    EXPECT_EQ(seen[1].headers.at("anthropic-version"), "2023-06-01");
    EXPECT_FALSE(seen[1].headers.contains("anthropic-beta"));
    EXPECT_EQ(json::parse(seen[1].body).at("max_tokens"), 777);
}

TEST_F(AnthropicRelay, UsageRowsAreRecordedAsForChat) {
    add_channel(port(), openai_channel(R"(["Qwen/Qwen2.5-7B-Instruct"])", mock_.base_url()));
    add_channel(port(), anthropic_channel(R"(["claude-x"])", mock_.base_url()));
    add_token_with(kToken);
    ASSERT_EQ(api_call(port(), "POST", "/v1/messages", messages_body("Qwen/Qwen2.5-7B-Instruct", false), claude()).status, 200);
    const auto streamed = stream_post(port(), "/v1/messages", messages_body("claude-x", true), claude());
    ASSERT_EQ(streamed.status, 200);
    EXPECT_EQ(anthropic_stream_violation(streamed.raw), std::nullopt) << streamed.raw;
    auto rows = usage_records(2);
    ASSERT_EQ(rows.size(), 2u);
    if (rows[0].at("model") != "Qwen/Qwen2.5-7B-Instruct") std::swap(rows[0], rows[1]);  // one batch: either order
    // The translated answer (5 in, 3 out), then the Anthropic channel's stream (8 in + 2 read
    // from cache, 3 out).
    EXPECT_EQ(rows[0].at("model"), "Qwen/Qwen2.5-7B-Instruct");
    EXPECT_EQ(rows[0].at("prompt_tokens"), 5);
    EXPECT_EQ(rows[0].at("completion_tokens"), 3);
    EXPECT_EQ(rows[0].at("status"), 200);
    EXPECT_EQ(rows[1].at("model"), "claude-x");
    EXPECT_EQ(rows[1].at("stream"), true);
    EXPECT_EQ(rows[1].at("prompt_tokens"), 10);
    EXPECT_EQ(rows[1].at("cached_tokens"), 2);
    EXPECT_EQ(rows[1].at("completion_tokens"), 3);
    EXPECT_EQ(rows[1].at("estimated"), false);
}

TEST_F(AnthropicRelay, AFailureBeforeTheFirstByteIsAJsonErrorWithItsRealStatus) {
    start({{"NEXUS_MAX_ATTEMPTS", "1"}});
    add_channel(port(), openai_channel(R"(["mock-reset-after-request"])", mock_.base_url()));
    add_token_with(kToken);
    const auto res = stream_post(port(), "/v1/messages", messages_body("mock-reset-after-request", true), claude());
    EXPECT_EQ(res.status, 502) << res.raw;
    EXPECT_EQ(res.header("content-type"), "application/json");
    const auto body = json::parse(res.raw).as_object();
    EXPECT_EQ(body.at("type"), "error");
    EXPECT_EQ(body.at("error").at("type"), "api_error");
    EXPECT_EQ(body.at("request_id").as_string(), res.header("request-id"));
}

TEST_F(AnthropicRelay, AnUpstreamThatBreaksMidStreamEndsTheClientsStreamWithAnErrorEvent) {
    add_channel(port(), openai_channel(R"(["mock-reset-mid-body"])", mock_.base_url()));
    add_token_with(kToken);
    // Two frames of three, then a reset.
    const auto res = stream_post(port(), "/v1/messages", messages_body("mock-reset-mid-body", true), claude());
    ASSERT_EQ(res.status, 200);
    EXPECT_EQ(anthropic_stream_violation(res.raw, false), std::nullopt) << res.raw;
    const auto events = split_events(res.raw);
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.back().name, "error");
    EXPECT_EQ(events.back().data.at("error").at("message"), "The upstream connection broke in the middle of the stream.");
}

TEST_F(AnthropicRelay, CountTokensNeedsATokenIgnoresTheQueryAndAnswersInAnthropicsShape) {
    add_token_with(kToken);
    const std::string body = R"({"model":"claude-x","messages":[{"role":"user","content":"Hello there"}]})";
    const auto anonymous = api_call(port(), "POST", "/v1/messages/count_tokens", body, {{"Authorization", ""}});
    EXPECT_EQ(anonymous.status, 401);
    EXPECT_EQ(json::parse(anonymous.body).at("error").at("type"), "authentication_error");
    const auto counted = api_call(port(), "POST", "/v1/messages/count_tokens?beta=true", body, claude());
    ASSERT_EQ(counted.status, 200) << counted.body;
    EXPECT_GT(json::parse(counted.body).at("input_tokens").as_int64(), 0);
    const auto bearer = api_call(port(), "POST", "/v1/messages/count_tokens", body, as(kToken));
    EXPECT_EQ(bearer.body, counted.body);
    // The same checks as a relayed call, in Anthropic's shape.
    const std::pair<std::string, std::string> bad_bodies[] = {
        {R"({"model":"m"})", "Missing required parameter: 'messages'."},
        {R"({"model":"m","messages":[]})", "'messages' must hold at least one element."},
        {R"({"messages":[{"role":"user","content":"x"}]})", "Missing required parameter: 'model'."},
        {R"({"model":"m","messages":)", "The request body is not valid JSON. Send a JSON object with \"model\"."},
        {"[1,2]", ""},
    };
    for (const auto& [body_text, message] : bad_bodies) {
        const auto bad = api_call(port(), "POST", "/v1/messages/count_tokens", body_text, claude());
        EXPECT_EQ(bad.status, 400) << body_text;
        const auto doc = json::parse(bad.body);
        EXPECT_EQ(doc.at("type"), "error") << body_text;
        EXPECT_EQ(doc.at("error").at("type"), "invalid_request_error") << body_text;
        if (!message.empty()) {
            EXPECT_EQ(doc.at("error").at("message").as_string(), message) << body_text;
        }
    }
    EXPECT_EQ(mock_.requests().size(), 0u);  // counted here, no upstream asked
}

TEST_F(AnthropicRelay, AClientThatLeavesASilentStreamAfterAPingCancelsTheUpstream) {
    start({{"NEXUS_STREAM_PING_SECONDS", "0.2"}});
    add_channel(port(), openai_channel(R"(["mock-pause-stream"])", mock_.base_url()));
    add_token_with(kToken);
    bool pinged = false;
    const auto res = stream_post(port(), "/v1/messages", messages_body("mock-pause-stream", true), claude(),
                                 [&](const StreamEvent& e) {
                                     pinged = e.data.find("\"ping\"") != std::string::npos;
                                     return !pinged;  // leave just after a ping: the next one is armed
                                 });
    EXPECT_TRUE(pinged) << res.raw;
    EXPECT_TRUE(mock_.wait_for_aborted_streams(1, 5s)) << "the upstream kept streaming to a client that left";
    // The server goes on: the next call is served whole.
    const auto next = stream_post(port(), "/v1/messages", messages_body("mock-pause-stream", true), claude());
    EXPECT_EQ(anthropic_stream_violation(next.raw), std::nullopt) << next.raw;
}

TEST_F(AnthropicRelay, AnAnthropicChannelWhoseKeyIsRejectedIsDisabledAndTheFailureRelayed) {
    const auto id = add_channel(port(), R"({"type":"Anthropic","name":"claude","key":"sk-wrong-key-0123","base_url":")" +
                                            mock_.base_url() + R"(","models":["claude-x"]})");
    add_token_with(kToken);
    const auto openai = post_chat(port(), R"({"model":"claude-x","messages":[{"role":"user","content":"hi"}]})", as(kToken));
    EXPECT_EQ(openai.status, 401) << openai.body;
    EXPECT_EQ(error_of(openai.body).at("type"), "authentication_error");
    EXPECT_NE(message_of(openai.body).find("invalid x-api-key"), std::string::npos) << openai.body;
    // The probe (the model list, with the key as x-api-key) confirmed the key is at fault.
    EXPECT_EQ(channel_with_status(id, 3).at("status"), 3);
    EXPECT_GE(mock_.count("/v1/models"), 1u);
    const auto claude_call = api_call(port(), "POST", "/v1/messages", messages_body("claude-x", false), claude());
    EXPECT_EQ(claude_call.status, 500) << claude_call.body;  // no channel left
    EXPECT_EQ(json::parse(claude_call.body).at("type"), "error");
}

TEST_F(AnthropicRelay, AnEndpointWithoutATranslationNeverReachesAChannelOfTheOtherApi) {
    add_channel(port(), anthropic_channel(R"(["shared-model"])", mock_.base_url()));
    add_token_with(kToken);
    const auto res = api_call(port(), "POST", "/v1/embeddings", R"({"model":"shared-model","input":"x"})", as(kToken));
    EXPECT_EQ(res.status, 500) << res.body;
    EXPECT_EQ(mock_.requests().size(), 0u);
    const auto missing = api_call(port(), "POST", "/v1/messages", R"({"model":"shared-model","messages":[{"role":"user","content":"x"}]})",
                                  claude());
    EXPECT_EQ(missing.status, 400);
    EXPECT_EQ(json::parse(missing.body).at("error").at("message"), "Missing required parameter: 'max_tokens'.");
}

}  // namespace
}  // namespace nexus::testing
