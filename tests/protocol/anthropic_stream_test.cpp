// The stream translators (src/protocol/anthropic/stream.cpp) on recorded streams
// (tests/protocol/fixtures), each Anthropic stream checked against Anthropic's stream rules, and
// the local token estimate.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <fstream>
#include <sstream>

#include "protocol/anthropic/estimate.hpp"
#include "protocol/anthropic/stream.hpp"
#include "stream_check.hpp"
#include "upstream/sse.hpp"

namespace nexus::protocol::anthropic {
namespace {

namespace json = boost::json;
using nexus::testing::anthropic_stream_violation;
using nexus::testing::split_events;

json::object obj(std::string_view text) { return json::parse(text).as_object(); }

std::string fixture(const std::string& name) {
    std::ifstream in(std::string(NEXUS_SOURCE_DIR) + "/tests/protocol/fixtures/" + name);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// Feeds every event of an SSE text to `translator`; its whole output.
std::string translate_stream(StreamTranslator& translator, const std::string& sse, bool finish = true) {
    std::string out;
    translator.start(out);
    std::string scratch;
    upstream::sse::for_each_event(sse, scratch, [&](std::string_view data) { translator.on_event(data, out); });
    if (finish) translator.finish(out);
    return out;
}

// --- streams -----------------------------------------------------------------------------

TEST(ToAnthropicStream, ARecordedReasoningStreamBecomesAThinkingAndATextBlock) {
    ToolNames names;
    ToAnthropicStream t("msg_1", "claude-x", 17, names);
    const auto out = translate_stream(t, fixture("openai_reasoning.sse"));
    EXPECT_EQ(anthropic_stream_violation(out), std::nullopt) << out;
    const auto events = split_events(out);
    EXPECT_EQ(events[0].data.at("message").at("usage").at("input_tokens"), 17);
    EXPECT_EQ(events[0].data.at("message").at("model"), "claude-x");
    std::string thinking;
    std::string text;
    std::vector<std::string> starts;
    for (const auto& e : events) {
        if (e.name == "content_block_start") starts.emplace_back(e.data.at("content_block").at("type").as_string());
        if (e.name != "content_block_delta") continue;
        const auto& d = e.data.at("delta");
        if (d.at("type") == "thinking_delta") thinking += d.at("thinking").as_string();
        if (d.at("type") == "text_delta") text += d.at("text").as_string();
    }
    EXPECT_EQ(starts, (std::vector<std::string>{"thinking", "text"}));  // no block for the empty strings
    EXPECT_EQ(thinking, "The user greets me.");
    EXPECT_EQ(text, "你好!");
    const auto& delta = events[events.size() - 2].data;
    EXPECT_EQ(delta.at("delta").at("stop_reason"), "end_turn");
    EXPECT_EQ(delta.at("usage").at("output_tokens"), 8);
    EXPECT_EQ(delta.at("usage").at("cache_read_input_tokens"), 4);
    EXPECT_EQ(t.counts().prompt, 12);
    EXPECT_TRUE(t.counts().reported);
}

TEST(ToAnthropicStream, ToolCallsBecomeToolUseBlocksAndTheUsageChunkAfterTheFinishIsWaitedFor) {
    ToolNames names;
    ToAnthropicStream t("msg_2", "c", 9, names);
    const auto sse = fixture("openai_tools.sse");
    const auto out = translate_stream(t, sse);
    EXPECT_EQ(anthropic_stream_violation(out), std::nullopt) << out;
    const auto events = split_events(out);
    std::vector<std::string> blocks;
    std::map<std::int64_t, std::string> arguments;
    for (const auto& e : events) {
        if (e.name == "content_block_start") {
            const auto& b = e.data.at("content_block").as_object();
            blocks.push_back(std::string(b.at("type").as_string()) +
                             (b.contains("name") ? ":" + std::string(b.at("name").as_string()) + ":" +
                                                       std::string(b.at("id").as_string())
                                                 : ""));
        }
        if (e.name == "content_block_delta" && e.data.at("delta").at("type") == "input_json_delta") {
            arguments[e.data.at("index").as_int64()] += e.data.at("delta").at("partial_json").as_string();
        }
    }
    EXPECT_EQ(blocks, (std::vector<std::string>{"text", "tool_use:get_weather:call_a", "tool_use:get_time:call_b"}));
    // The second call's name and arguments came in one chunk: both reach its block.
    EXPECT_EQ(arguments[1], R"({"city":"SF"})");
    EXPECT_EQ(arguments[2], R"({"tz":"PST"})");
    const auto& delta = events[events.size() - 2].data;
    EXPECT_EQ(delta.at("delta").at("stop_reason"), "tool_use");
    EXPECT_EQ(delta.at("usage").at("output_tokens"), 22);  // from the chunk after the finish
}

TEST(ToAnthropicStream, AStreamThatEndsWithoutUsageOrDoneStillEndsProperly) {
    ToolNames names;
    ToAnthropicStream t("m", "c", 5, names);
    std::string out;
    t.start(out);
    t.on_event(R"({"choices":[{"delta":{"content":"a"}}]})", out);
    t.on_event(R"({"choices":[{"delta":{"content":"b"}}]})", out);
    t.on_event("not json", out);
    t.finish(out);
    t.finish(out);  // once only
    EXPECT_EQ(anthropic_stream_violation(out), std::nullopt) << out;
    const auto events = split_events(out);
    EXPECT_EQ(events[events.size() - 2].data.at("usage").at("output_tokens"), 2);  // a token a delta
    EXPECT_FALSE(t.counts().reported);
}

TEST(ToAnthropicStream, AFailureMidwayEndsWithAnErrorEvent) {
    ToolNames names;
    ToAnthropicStream t("m", "c", 5, names);
    std::string out;
    t.start(out);
    t.on_event(R"({"choices":[{"delta":{"content":"a"}}]})", out);
    t.fail(core::Error::bad_gateway("The upstream connection broke in the middle of the stream."), out);
    t.finish(out);
    EXPECT_EQ(anthropic_stream_violation(out, false), std::nullopt) << out;
    const auto events = split_events(out);
    EXPECT_EQ(events.back().name, "error");
    EXPECT_EQ(events.back().data.at("error").at("type"), "api_error");
    EXPECT_EQ(events.back().data.at("error").at("message"), "The upstream connection broke in the middle of the stream.");
}

TEST(ToOpenAIStream, ARecordedAnthropicStreamBecomesOpenAIChunks) {
    ToOpenAIStream t(1747000000, true);
    const auto out = translate_stream(t, fixture("anthropic_thinking_tools.sse"));
    std::vector<json::object> chunks;
    std::string scratch;
    bool done = false;
    upstream::sse::for_each_event(out, scratch, [&](std::string_view data) {
        if (data == "[DONE]") {
            done = true;
            return;
        }
        chunks.push_back(json::parse(data).as_object());
    });
    EXPECT_TRUE(done);
    ASSERT_GE(chunks.size(), 5u);
    EXPECT_EQ(chunks[0].at("choices").at(0).at("delta"), json::parse(R"({"role":"assistant","content":""})"));
    std::string reasoning;
    std::string content;
    std::string arguments;
    std::string finish;
    for (const auto& c : chunks) {
        EXPECT_EQ(c.at("id"), "msg_01");
        if (c.at("choices").as_array().empty()) continue;
        const auto& choice = c.at("choices").at(0);
        const auto& d = choice.at("delta").as_object();
        if (d.contains("reasoning_content")) reasoning += d.at("reasoning_content").as_string();
        if (d.contains("content")) content += d.at("content").as_string();
        if (d.contains("tool_calls")) {
            const auto& call = d.at("tool_calls").at(0);
            EXPECT_EQ(call.at("index"), 0);  // the first tool, though it is the third block
            if (call.as_object().contains("id")) {
                EXPECT_EQ(call.at("function").at("name"), "get_weather");
            }
            arguments += call.at("function").at("arguments").as_string();
        }
        if (choice.at("finish_reason").is_string()) finish = choice.at("finish_reason").as_string();
    }
    EXPECT_EQ(reasoning, "Weather needs a tool.");
    EXPECT_EQ(content, "Checking");
    EXPECT_EQ(arguments, R"({"location": "SF"})");
    EXPECT_EQ(finish, "tool_calls");
    EXPECT_EQ(chunks.back().at("usage"), json::parse(R"({"prompt_tokens":35,"completion_tokens":89,"total_tokens":124,
        "prompt_tokens_details":{"cached_tokens":7}})"));
    EXPECT_EQ(t.counts().prompt, 35);
}

TEST(ToOpenAIStream, WithoutIncludeUsageNoUsageChunkAndAnErrorEventIsRaisable) {
    ToOpenAIStream t(1, false);
    const auto out = translate_stream(t, fixture("anthropic_thinking_tools.sse"));
    EXPECT_EQ(out.find("\"usage\""), std::string::npos);
    EXPECT_TRUE(out.ends_with("data: [DONE]\n\n"));
    ToOpenAIStream failing(1, false);
    std::string text;
    failing.on_event(R"({"type":"message_start","message":{"id":"m","model":"c","usage":{"input_tokens":1}}})", text);
    failing.on_event(R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})", text);
    failing.finish(text);
    EXPECT_NE(text.find(R"(data: {"error":{"message":"Overloaded","type":"overloaded_error")"), std::string::npos) << text;
    EXPECT_EQ(text.find("[DONE]"), std::string::npos);
}

TEST(EventUsage, ReadsAnAnthropicStreamsUsageAsItPasses) {
    EventUsage usage;
    std::string scratch;
    const auto sse = fixture("anthropic_thinking_tools.sse");
    upstream::sse::for_each_event(sse, scratch, [&](std::string_view data) { usage.observe(data); });
    EXPECT_EQ(usage.counts().prompt, 35);
    EXPECT_EQ(usage.counts().cached, 7);
    EXPECT_EQ(usage.counts().completion, 89);
    EXPECT_EQ(usage.events(), 5);
}

// --- the local count ---------------------------------------------------------------------

TEST(Estimate, NeverZeroAndGrowsWithEveryPart) {
    const auto base = obj(R"({"messages":[{"role":"user","content":"hi"}]})");
    const auto n = estimate_input_tokens(base);
    EXPECT_GT(n, 0);
    EXPECT_GT(estimate_input_tokens(obj(R"({"messages":[]})")), 0);
    auto with = [&](std::string_view key, std::string_view value) {
        auto doc = base;
        doc[key] = json::parse(value);
        return estimate_input_tokens(doc);
    };
    EXPECT_GT(with("system", R"("You are a helpful assistant who answers briefly.")"), n + 8);
    EXPECT_GT(with("tools", R"([{"name":"get_weather","description":"Weather","input_schema":{"type":"object"}}])"), n + 20);
    EXPECT_GT(estimate_input_tokens(obj(R"({"messages":[{"role":"user","content":[{"type":"image","source":{}}]}]})")), 1000);
    EXPECT_EQ(estimate_tokens("abcdefgh"), 2);       // 4 ASCII bytes a token
    EXPECT_EQ(estimate_tokens("你好世界"), 4);         // a Chinese character a token
    EXPECT_EQ(estimate_tokens("a"), 1);
    EXPECT_EQ(estimate_tokens(""), 0);
}

}  // namespace
}  // namespace nexus::protocol::anthropic
