// The Anthropic ⇄ OpenAI translation (src/protocol/anthropic): the mapping table entry by entry,
// both request translators and both answer translators. The streams: anthropic_stream_test.cpp.
#include <gtest/gtest.h>

#include <boost/json.hpp>


#include "protocol/anthropic/error.hpp"
#include "protocol/anthropic/mapping.hpp"
#include "protocol/anthropic/request.hpp"
#include "protocol/anthropic/response.hpp"
#include "stream_check.hpp"

namespace nexus::protocol::anthropic {
namespace {

namespace json = boost::json;
using nexus::testing::split_events;

json::object obj(std::string_view text) { return json::parse(text).as_object(); }

// --- the mapping table -------------------------------------------------------------------

TEST(AnthropicMapping, EveryRowMapsTheWayItSays) {
    int rows = 0;
    for (const auto& m : value_mappings()) {
        ++rows;
        SCOPED_TRACE(std::string(m.openai) + " / " + std::string(m.anthropic));
        using Kind = ValueMapping::Kind;
        // A row used in a direction answers for its value there, unless an earlier row does.
        auto first_to_anthropic = [&] {
            for (const auto& n : value_mappings()) {
                if (n.kind == m.kind && n.to_anthropic && n.openai == m.openai) return &n == &m;
            }
            return false;
        };
        auto first_to_openai = [&] {
            for (const auto& n : value_mappings()) {
                if (n.kind == m.kind && n.to_openai && n.anthropic == m.anthropic) return &n == &m;
            }
            return false;
        };
        if (m.kind == Kind::kStopReason) {
            if (m.to_anthropic && first_to_anthropic()) {
                EXPECT_EQ(stop_reason_of(m.openai), m.anthropic);
            }
            if (m.to_openai && first_to_openai()) {
                EXPECT_EQ(finish_reason_of(m.anthropic), m.openai);
            }
        } else if (m.kind == Kind::kToolChoice) {
            if (m.to_anthropic) {
                EXPECT_EQ(tool_choice_type_of(m.openai), m.anthropic);
            }
            if (m.to_openai) {
                EXPECT_EQ(tool_choice_of(m.anthropic), m.openai);
            }
        } else {
            EXPECT_EQ(std::to_string(*thinking_budget_of(m.openai)), m.anthropic);
            EXPECT_GE(*thinking_budget_of(m.openai), 1024);  // Anthropic's floor
        }
    }
    EXPECT_EQ(rows, 15);
    EXPECT_EQ(stop_reason_of("something_new"), "end_turn");
    EXPECT_EQ(finish_reason_of("model_context_window_exceeded"), "length");
    EXPECT_EQ(finish_reason_of("pause_turn"), "stop");
    EXPECT_EQ(finish_reason_of("?"), "stop");
    EXPECT_FALSE(tool_choice_type_of("sometimes"));
    EXPECT_FALSE(thinking_budget_of("extreme"));
}

TEST(AnthropicMapping, ErrorTypesFollowTheStatus) {
    const std::pair<int, std::string_view> expected[] = {
        {400, "invalid_request_error"}, {401, "authentication_error"}, {402, "billing_error"},
        {403, "permission_error"},      {404, "not_found_error"},      {413, "request_too_large"},
        {429, "rate_limit_error"},      {500, "api_error"},            {504, "timeout_error"},
        {529, "overloaded_error"},      {503, "overloaded_error"},     {422, "invalid_request_error"},
        {502, "api_error"}};
    for (const auto& [status, type] : expected) EXPECT_EQ(error_type_of(status), type) << status;
}

TEST(AnthropicErrors, BodyAndEventInAnthropicsShapeWithTheUpstreamsWording) {
    auto e = core::Error::bad_request("ours", "model");
    auto body = obj(error_body(e, "req1"));
    EXPECT_EQ(body.at("type"), "error");
    EXPECT_EQ(body.at("error").at("type"), "invalid_request_error");
    EXPECT_EQ(body.at("error").at("message"), "ours");
    EXPECT_EQ(body.at("request_id"), "req1");
    e.status = 401;
    e.message = "The upstream rejected the channel's API key: invalid x-api-key";
    e.upstream_message = "invalid x-api-key";
    EXPECT_EQ(obj(error_body(e, "r")).at("error").at("message"), "invalid x-api-key");
    const auto events = split_events(error_event(e));
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].name, "error");
    EXPECT_EQ(events[0].data.at("error").at("type"), "authentication_error");
}

// --- requests ----------------------------------------------------------------------------

TEST(AnthropicToOpenAIRequest, SystemTurnsToolsAndChoices) {
    ToolNames names;
    const auto out = request_to_openai(obj(R"({
      "model":"claude","max_tokens":100,"stream":true,"temperature":0.5,"top_k":5,
      "stop_sequences":["END"],"metadata":{"user_id":"u1"},
      "system":[{"type":"text","text":"One."},{"type":"text","text":"Two."}],
      "tools":[{"name":"get_weather","description":"d","input_schema":{"type":"object"}},
               {"type":"web_search_20250305","name":"web_search"}],
      "tool_choice":{"type":"tool","name":"get_weather","disable_parallel_tool_use":true},
      "thinking":{"type":"enabled","budget_tokens":2048},
      "messages":[
        {"role":"user","content":"Weather?"},
        {"role":"assistant","content":[{"type":"thinking","thinking":"hm","signature":"s"},
                                       {"type":"text","text":"Checking."},
                                       {"type":"tool_use","id":"t1","name":"get_weather","input":{"city":"SF"}}]},
        {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"sunny"}]},
                                  {"type":"text","text":"And tomorrow?"},
                                  {"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}}]}]})"),
                                       "qwen", names);
    ASSERT_TRUE(out) << out.error().message;
    const auto doc = obj(*out);
    EXPECT_EQ(doc.at("model"), "qwen");
    EXPECT_EQ(doc.at("max_tokens"), 100);
    EXPECT_EQ(doc.at("stop"), json::parse(R"(["END"])"));
    EXPECT_EQ(doc.at("user"), "u1");
    EXPECT_EQ(doc.at("top_k"), 5);
    EXPECT_EQ(doc.at("stream_options"), json::parse(R"({"include_usage":true})"));
    EXPECT_FALSE(doc.contains("thinking"));
    const auto& m = doc.at("messages").as_array();
    ASSERT_EQ(m.size(), 5u);
    EXPECT_EQ(m[0], json::parse(R"({"role":"system","content":"One.\n\nTwo."})"));
    EXPECT_EQ(m[1], json::parse(R"({"role":"user","content":"Weather?"})"));
    EXPECT_EQ(m[2].at("content"), "Checking.");
    EXPECT_EQ(m[2].at("reasoning_content"), "hm");
    EXPECT_EQ(m[2].at("tool_calls"),
              json::parse(R"([{"id":"t1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"SF\"}"}}])"));
    // The tool's answer comes before the rest of its turn.
    EXPECT_EQ(m[3], json::parse(R"({"role":"tool","tool_call_id":"t1","content":"sunny"})"));
    EXPECT_EQ(m[4].at("content"), json::parse(R"([{"type":"text","text":"And tomorrow?"},
        {"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}])"));
    // The server tool stays behind; the forced tool and the parallel switch map.
    ASSERT_EQ(doc.at("tools").as_array().size(), 1u);
    EXPECT_EQ(doc.at("tools").at(0).at("function").at("parameters"), json::parse(R"({"type":"object"})"));
    EXPECT_EQ(doc.at("tool_choice"), json::parse(R"({"type":"function","function":{"name":"get_weather"}})"));
    EXPECT_EQ(doc.at("parallel_tool_calls"), false);
}

TEST(AnthropicToOpenAIRequest, LongToolNamesAreShortenedAndRestored) {
    ToolNames names;
    const std::string long_name(80, 'x');
    const auto out = request_to_openai(
        obj(R"({"model":"c","max_tokens":1,"messages":[{"role":"user","content":"hi"}],"tools":[{"name":")" + long_name +
            R"(","input_schema":{"type":"object"}}]})"),
        "m", names);
    ASSERT_TRUE(out);
    const std::string sent(obj(*out).at("tools").at(0).at("function").at("name").as_string());
    EXPECT_EQ(sent.size(), 64u);
    EXPECT_EQ(sent.substr(0, 56), std::string(55, 'x') + "_");
    EXPECT_EQ(names.restore(sent), long_name);
    EXPECT_EQ(names.restore("short"), "short");
    EXPECT_EQ(names.shorten(long_name), sent);
}

TEST(AnthropicToOpenAIRequest, ShapesItCannotCarryAreA400NamingTheField) {
    ToolNames names;
    auto bad = [&](std::string_view body) {
        auto r = request_to_openai(obj(body), "m", names);
        EXPECT_FALSE(r) << body;
        return r ? core::Error{} : r.error();
    };
    EXPECT_EQ(bad(R"({"messages":[{"role":"system","content":"x"}]})").param, "messages[0].role");
    EXPECT_EQ(bad(R"({"messages":[{"role":"user","content":5}]})").param, "messages[0].content");
    EXPECT_EQ(bad(R"({"messages":[{"role":"user","content":[{"type":"document","source":{"type":"base64","data":"x"}}]}]})").param,
              "messages[0].content[0]");
    EXPECT_EQ(bad(R"({"messages":[{"role":"user","content":"x"}],"system":7})").param, "system");
    EXPECT_EQ(bad(R"({"messages":[{"role":"user","content":"x"}],"tools":[{"name":"t"}],"tool_choice":{"type":"some"}})").param,
              "tool_choice.type");
    EXPECT_EQ(bad(R"({"messages":[{"role":"user","content":"x"}],"system":7})").status, 400);
}

TEST(OpenAIToAnthropicRequest, SystemToolsImagesAndDefaults) {
    const auto out = request_to_anthropic(obj(R"({
      "model":"gpt","temperature":1.7,"stop":"END","user":"u","parallel_tool_calls":false,
      "tools":[{"type":"function","function":{"name":"f","description":"d","parameters":{"type":"object"}}},
               {"type":"function","function":{"name":"g"}}],
      "tool_choice":"required",
      "messages":[
        {"role":"system","content":"Sys."},{"role":"developer","content":[{"type":"text","text":"Dev."}]},
        {"role":"user","content":[{"type":"text","text":"Look"},
                                  {"type":"image_url","image_url":{"url":"data:image/jpeg;base64,QUJD"}},
                                  {"type":"image_url","image_url":{"url":"https://x/y.png","detail":"high"}}]},
        {"role":"assistant","content":null,"tool_calls":[
            {"id":"c1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}},
            {"id":"c2","type":"function","function":{"name":"g","arguments":""}}]},
        {"role":"tool","tool_call_id":"c1","content":"one"},
        {"role":"tool","tool_call_id":"c2","content":"two"},
        {"role":"user","content":"Thanks"}]})"),
                                          "claude", 8192);
    ASSERT_TRUE(out) << out.error().message;
    const auto doc = obj(*out);
    EXPECT_EQ(doc.at("model"), "claude");
    EXPECT_EQ(doc.at("system"), "Sys.\n\nDev.");
    EXPECT_EQ(doc.at("max_tokens"), 8192);
    EXPECT_EQ(doc.at("temperature").as_double(), 1.0);
    EXPECT_EQ(doc.at("stop_sequences"), json::parse(R"(["END"])"));
    EXPECT_EQ(doc.at("metadata"), json::parse(R"({"user_id":"u"})"));
    EXPECT_EQ(doc.at("tool_choice"), json::parse(R"({"type":"any","disable_parallel_tool_use":true})"));
    EXPECT_EQ(doc.at("tools").at(1).at("input_schema"), json::parse(R"({"type":"object","properties":{}})"));
    const auto& m = doc.at("messages").as_array();
    ASSERT_EQ(m.size(), 3u);
    EXPECT_EQ(m[0].at("content").at(1).at("source"),
              json::parse(R"({"type":"base64","media_type":"image/jpeg","data":"QUJD"})"));
    EXPECT_EQ(m[0].at("content").at(2).at("source"), json::parse(R"({"type":"url","url":"https://x/y.png"})"));
    EXPECT_EQ(m[1].at("content"), json::parse(R"([{"type":"tool_use","id":"c1","name":"f","input":{"a":1}},
                                                  {"type":"tool_use","id":"c2","name":"g","input":{}}])"));
    // Both tool answers, then the user's text, in one user turn: tool results first.
    EXPECT_EQ(m[2].at("content"), json::parse(R"([{"type":"tool_result","tool_use_id":"c1","content":[{"type":"text","text":"one"}]},
                                                  {"type":"tool_result","tool_use_id":"c2","content":[{"type":"text","text":"two"}]},
                                                  {"type":"text","text":"Thanks"}])"));
}

TEST(OpenAIToAnthropicRequest, ThinkingFromEffortUnlessTheHistoryHasToolCalls) {
    const auto out = request_to_anthropic(
        obj(R"({"reasoning_effort":"medium","max_tokens":100,"temperature":0.3,"messages":[{"role":"user","content":"x"}]})"),
        "c", 8192);
    ASSERT_TRUE(out);
    const auto doc = obj(*out);
    EXPECT_EQ(doc.at("thinking"), json::parse(R"({"type":"enabled","budget_tokens":2048})"));
    EXPECT_GT(doc.at("max_tokens").as_int64(), 2048);
    EXPECT_FALSE(doc.contains("temperature"));
    const auto with_tools = request_to_anthropic(obj(R"({"reasoning_effort":"high","messages":[
        {"role":"user","content":"x"},
        {"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":"{}"}}]},
        {"role":"tool","tool_call_id":"a","content":"r"}]})"),
                                                 "c", 8192);
    ASSERT_TRUE(with_tools);
    EXPECT_FALSE(obj(*with_tools).contains("thinking"));
}

TEST(OpenAIToAnthropicRequest, AHistoryOpeningWithTheAssistantGetsAUserTurnAndEmptyTextIsNeverSent) {
    const auto out = request_to_anthropic(
        obj(R"({"max_completion_tokens":5,"messages":[{"role":"assistant","content":""},{"role":"user","content":"x"}]})"), "c", 8192);
    ASSERT_TRUE(out);
    const auto doc = obj(*out);
    EXPECT_EQ(doc.at("max_tokens"), 5);
    const auto& m = doc.at("messages").as_array();
    ASSERT_EQ(m.size(), 3u);
    EXPECT_EQ(m[0].at("role"), "user");
    EXPECT_EQ(m[1].at("content"), json::parse(R"([{"type":"text","text":"."}])"));
}

TEST(OpenAIToAnthropicRequest, ShapesItCannotCarryAreA400NamingTheField) {
    auto bad = [](std::string_view body) {
        auto r = request_to_anthropic(obj(body), "c", 10);
        EXPECT_FALSE(r) << body;
        return r ? std::string() : r.error().param;
    };
    EXPECT_EQ(bad(R"({"n":2,"messages":[{"role":"user","content":"x"}]})"), "n");
    EXPECT_EQ(bad(R"({"messages":[{"role":"function","content":"x"}]})"), "messages[0].role");
    EXPECT_EQ(bad(R"({"messages":[{"role":"assistant","tool_calls":[{"function":{"name":"f","arguments":"[1"}}]}]})"),
              "messages[0].tool_calls[0].function.arguments");
    EXPECT_EQ(bad(R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://x"}}]}]})"),
              "messages[0].content[0].image_url.url");
    EXPECT_EQ(bad(R"({"messages":[{"role":"user","content":"x"}],"stop":[1]})"), "stop");
    EXPECT_EQ(bad(R"({"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function"}]})"), "tools[0]");
}

// --- whole answers -----------------------------------------------------------------------

TEST(CompletionToMessage, BlocksInOrderStopReasonAndUsage) {
    ToolNames names;
    const std::string long_name(70, 'y');
    const auto sent = names.shorten(long_name);
    TokenCounts counts;
    const auto out = message_from_completion(
        R"({"id":"c1","choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant",
            "reasoning_content":"think","content":"Sure.","tool_calls":[
              {"id":"a","type":"function","function":{"name":")" + sent + R"(","arguments":"{\"q\":1}"}}]}}],
            "usage":{"prompt_tokens":30,"completion_tokens":7,"prompt_tokens_details":{"cached_tokens":10}}})",
        "claude-x", names, 99, counts);
    ASSERT_TRUE(out);
    const auto doc = obj(*out);
    EXPECT_EQ(doc.at("id"), "msg_c1");
    EXPECT_EQ(doc.at("model"), "claude-x");
    EXPECT_EQ(doc.at("stop_reason"), "tool_use");
    EXPECT_EQ(doc.at("content"), json::parse(R"([{"type":"thinking","thinking":"think","signature":""},
        {"type":"text","text":"Sure."},{"type":"tool_use","id":"a","name":")" + long_name + R"(","input":{"q":1}}])"));
    EXPECT_EQ(doc.at("usage"), json::parse(R"({"input_tokens":20,"cache_creation_input_tokens":0,
        "cache_read_input_tokens":10,"output_tokens":7})"));
    EXPECT_TRUE(counts.reported);
    EXPECT_EQ(counts.prompt, 30);
    EXPECT_EQ(counts.cached, 10);

    const auto no_usage = message_from_completion(
        R"({"id":"c","choices":[{"message":{"content":"abcdefgh"},"finish_reason":"length"}]})", "m", names, 42, counts);
    ASSERT_TRUE(no_usage);
    EXPECT_EQ(obj(*no_usage).at("stop_reason"), "max_tokens");
    EXPECT_FALSE(counts.reported);
    EXPECT_EQ(obj(*no_usage).at("usage").at("input_tokens"), 42);
    EXPECT_FALSE(message_from_completion("not json", "m", names, 1, counts));
    EXPECT_EQ(message_from_completion(R"({"choices":[]})", "m", names, 1, counts).error().status, 502);
}

TEST(MessageToCompletion, TextJoinedToolCallsAndUsage) {
    TokenCounts counts;
    const auto out = completion_from_message(R"({"id":"msg_1","type":"message","model":"claude","stop_reason":"max_tokens",
        "content":[{"type":"thinking","thinking":"t","signature":"s"},{"type":"text","text":"A"},{"type":"text","text":"B"},
                   {"type":"tool_use","id":"tu","name":"f","input":{"x":[1,2]}}],
        "usage":{"input_tokens":5,"cache_read_input_tokens":3,"cache_creation_input_tokens":2,"output_tokens":9}})",
                                             1234, counts);
    ASSERT_TRUE(out);
    const auto doc = obj(*out);
    EXPECT_EQ(doc.at("object"), "chat.completion");
    EXPECT_EQ(doc.at("created"), 1234);
    const auto& choice = doc.at("choices").at(0);
    EXPECT_EQ(choice.at("finish_reason"), "length");
    EXPECT_EQ(choice.at("message").at("content"), "AB");
    EXPECT_EQ(choice.at("message").at("reasoning_content"), "t");
    EXPECT_EQ(choice.at("message").at("tool_calls").at(0).at("function").at("arguments"), R"({"x":[1,2]})");
    EXPECT_EQ(doc.at("usage"), json::parse(R"({"prompt_tokens":10,"completion_tokens":9,"total_tokens":19,
        "prompt_tokens_details":{"cached_tokens":3}})"));
    EXPECT_FALSE(completion_from_message(R"({"type":"message"})", 0, counts));
}

}  // namespace
}  // namespace nexus::protocol::anthropic
