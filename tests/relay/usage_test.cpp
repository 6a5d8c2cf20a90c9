#include <boost/json.hpp>
#include <gtest/gtest.h>

#include "relay/usage.hpp"

namespace nexus::relay {
namespace {

TEST(UsageOf, ReadsCompletionUsage) {
    const auto u = usage_of(R"({"id":"x","usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}})");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->prompt_tokens, 5);
    EXPECT_EQ(u->completion_tokens, 3);
    EXPECT_EQ(u->total_tokens, 8);
}

TEST(UsageOf, NullOrMissingUsage) {
    EXPECT_FALSE(usage_of(R"({"choices":[]})"));
    EXPECT_FALSE(usage_of(R"({"usage":null})"));
    EXPECT_FALSE(usage_of("[DONE]"));
    EXPECT_FALSE(usage_of(R"({"usage":)"));
}

TEST(UsageOf, TotalDerivedWhenAbsent) {
    const auto u = usage_of(R"({"usage":{"prompt_tokens":2,"completion_tokens":4}})");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->total_tokens, 6);
}

TEST(UsageOf, ReadsOnlyTheTopLevelUsage) {
    const auto u = usage_of(
        R"({"choices":[{"message":{"usage":{"prompt_tokens":99}}}],"usage":{"prompt_tokens":7,"completion_tokens":2,)"
        R"("total_tokens":9,"completion_tokens_details":{"reasoning_tokens":1,"total_tokens":500}}})");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->prompt_tokens, 7);
    EXPECT_EQ(u->completion_tokens, 2);
    EXPECT_EQ(u->total_tokens, 9);
}

TEST(UsageOf, ReadsRerankTokens) {
    const auto u = usage_of(R"({"id":"r","results":[],"tokens":{"input_tokens":11,"output_tokens":3}})");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->prompt_tokens, 11);
    EXPECT_EQ(u->completion_tokens, 3);
    EXPECT_EQ(u->total_tokens, 14);
}

TEST(UsageOf, InvalidOrNonObjectTextHasNone) {
    EXPECT_FALSE(usage_of(R"({"usage":{"prompt_tokens":1}} trailing)"));
    EXPECT_FALSE(usage_of(R"([{"usage":{"prompt_tokens":1}}])"));
    EXPECT_FALSE(usage_of(R"({"usage":{"prompt_tokens":1})"));
    EXPECT_FALSE(usage_of(R"({"usage":"many"})"));
}

TEST(UsageOf, ReadsCachedPromptTokensInBothShapes) {
    // OpenAI's prompt_tokens_details and SiliconFlow's prompt_cache_hit_tokens; a
    // cached_tokens elsewhere is not the prompt's.
    const std::string openai = R"({"usage":{"prompt_tokens":10,"completion_tokens":2,"prompt_tokens_details":)"
                               R"({"cached_tokens":6},"completion_tokens_details":{"cached_tokens":99}}})";
    const std::string silicon = R"({"usage":{"prompt_tokens":10,"completion_tokens":2,"prompt_cache_hit_tokens":4,)"
                                R"("prompt_cache_miss_tokens":6}})";
    for (const auto& [text, cached] : {std::pair{openai, 6}, std::pair{silicon, 4}}) {
        const auto u = usage_of(text);
        ASSERT_TRUE(u) << text;
        EXPECT_EQ(u->cached_tokens, cached) << text;
        UsageReader reader;
        for (std::size_t i = 0; i < text.size(); i += 7) reader.feed(std::string_view(text).substr(i, 7));
        const auto piecewise = reader.finish();
        ASSERT_TRUE(piecewise);
        EXPECT_EQ(piecewise->cached_tokens, cached) << "read in pieces: " << text;
        StreamUsage stream(true);
        stream.observe(text);
        EXPECT_EQ(stream.usage().cached_tokens, cached) << "the include_usage reading: " << text;
    }
}

TEST(StreamUsage, BuildsTheFinalChunkOnceFromTheLastRunningUsage) {
    StreamUsage s(true);
    s.observe(R"({"id":"a","object":"chat.completion.chunk","created":5,"model":"m","choices":[{"index":0}],)"
              R"("usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}})");
    s.observe(R"({"id":"a","object":"chat.completion.chunk","created":5,"model":"m","choices":[{"index":0}],)"
              R"("usage":{"prompt_tokens":1,"completion_tokens":4,"total_tokens":5,"x":{"y":1}}})");
    EXPECT_EQ(s.usage().completion_tokens, 4);
    const auto event = s.final_event();
    ASSERT_TRUE(event.starts_with("data: ") && event.ends_with("\n\n")) << event;
    const auto chunk = boost::json::parse(event.substr(6));
    EXPECT_TRUE(chunk.at("choices").as_array().empty());
    EXPECT_EQ(chunk.at("usage").at("total_tokens"), 5);
    EXPECT_EQ(chunk.at("usage").at("x").at("y"), 1);
    EXPECT_EQ(chunk.at("id"), "a");
    EXPECT_TRUE(s.final_event().empty()) << "only once";
}

TEST(StreamUsage, NothingWhenNotAskedOrAlreadySent) {
    StreamUsage quiet(false);
    quiet.observe(R"({"choices":[{}],"usage":{"prompt_tokens":1,"completion_tokens":1}})");
    EXPECT_EQ(quiet.usage().total_tokens, 2);
    EXPECT_TRUE(quiet.final_event().empty());
    StreamUsage sent(true);
    sent.observe(R"({"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1}})");
    EXPECT_TRUE(sent.final_event().empty()) << "the upstream sent its own usage chunk";
    StreamUsage none(true);
    none.observe(R"({"choices":[{}]})");
    EXPECT_TRUE(none.final_event().empty()) << "no usage seen, none invented";
}

}  // namespace
}  // namespace nexus::relay
