// Which channel serves a call: the highest priority tier, weighted random inside it, the models a
// channel lists, the names it maps; no channel for the model is a 500.
#include "support/pool_fixture.hpp"

namespace nexus::testing {
namespace {

namespace json = boost::json;

class Selection : public PoolTest {};

TEST_F(Selection, TwoChannelsServeOneToken) {
    add_channel(port(), channel_body("A", "sk-aaa", mock_.base_url()));
    add_channel(port(), channel_body("B", "sk-bbb", mock_.base_url()));
    add_token(port(), "sk-nexus-abc");
    for (int i = 0; i < 20; ++i) {
        const auto res = post_chat(port(), chat_body("Qwen/Qwen2.5-7B-Instruct"), {{"Authorization", "Bearer sk-nexus-abc"}});
        ASSERT_EQ(res.status, 200) << res.body;
    }
    const auto keys = keys_seen(mock_);
    ASSERT_EQ(keys.size(), 20u);
    for (const auto& k : keys) EXPECT_TRUE(k == "sk-aaa" || k == "sk-bbb") << k;
    EXPECT_NE(std::count(keys.begin(), keys.end(), "sk-aaa"), 0) << "equal weights: both channels serve";
    EXPECT_NE(std::count(keys.begin(), keys.end(), "sk-bbb"), 0);
}

TEST_F(Selection, NoChannelForTheModelIs500) {
    add_token(port(), "sk-nexus-abc");
    const auto res = post_chat(port(), chat_body("Qwen/QwQ-32B"), {{"Authorization", "Bearer sk-nexus-abc"}});
    EXPECT_EQ(res.status, 500);
    const auto e = error_of(res.body);
    EXPECT_EQ(e.at("code"), "no_available_channel");
    EXPECT_NE(std::string(e.at("message").as_string()).find("Qwen/QwQ-32B"), std::string::npos);
}

TEST_F(Selection, HigherPriorityTierServesFirst) {
    const auto high = add_channel(port(), channel_body("high", "sk-aaa", mock_.base_url(), R"(,"priority":10)"));
    add_channel(port(), channel_body("low", "sk-bbb", mock_.base_url(), R"(,"priority":1)"));
    add_token(port());
    for (int i = 0; i < 10; ++i) ASSERT_EQ(post_chat(port(), chat_body("m")).status, 200);
    for (const auto& k : keys_seen(mock_)) EXPECT_EQ(k, "sk-aaa");
    // Disabling the high tier sends traffic to the next one at once.
    ASSERT_EQ(admin_call(port(), "PUT", "/api/channel/" + std::to_string(high), R"({"status":2})").status, 200);
    ASSERT_EQ(post_chat(port(), chat_body("m")).status, 200);
    EXPECT_EQ(keys_seen(mock_).back(), "sk-bbb");
}

TEST_F(Selection, WeightsShareTrafficByDistribution) {
    add_channel(port(), channel_body("A", "sk-aaa", mock_.base_url(), R"(,"weight":3)"));
    add_channel(port(), channel_body("B", "sk-bbb", mock_.base_url(), R"(,"weight":1)"));
    add_token(port());
    constexpr int kCalls = 200;
    for (int i = 0; i < kCalls; ++i) ASSERT_EQ(post_chat(port(), chat_body("m")).status, 200);
    const auto keys = keys_seen(mock_);
    const double share_a = static_cast<double>(std::count(keys.begin(), keys.end(), "sk-aaa")) / kCalls;
    // Expected 0.75; the binomial standard deviation over 200 calls is about 0.03.
    EXPECT_GT(share_a, 0.60);
    EXPECT_LT(share_a, 0.90);
}

TEST_F(Selection, ZeroWeightChannelGetsNothingWhileOthersCan) {
    add_channel(port(), channel_body("A", "sk-aaa", mock_.base_url(), R"(,"weight":0)"));
    add_channel(port(), channel_body("B", "sk-bbb", mock_.base_url(), R"(,"weight":1)"));
    add_token(port());
    for (int i = 0; i < 20; ++i) ASSERT_EQ(post_chat(port(), chat_body("m")).status, 200);
    for (const auto& k : keys_seen(mock_)) EXPECT_EQ(k, "sk-bbb");
}

TEST_F(Selection, ModelsListSelectsChannels) {
    add_channel(port(), channel_body("A", "sk-aaa", mock_.base_url(), R"(,"models":["model-a"])"));
    add_channel(port(), channel_body("B", "sk-bbb", mock_.base_url(), R"(,"models":["model-b"])"));
    add_token(port());
    for (int i = 0; i < 5; ++i) ASSERT_EQ(post_chat(port(), chat_body("model-b")).status, 200);
    for (const auto& k : keys_seen(mock_)) EXPECT_EQ(k, "sk-bbb");
    const auto res = post_chat(port(), chat_body("model-c"));
    EXPECT_EQ(res.status, 500);
    EXPECT_NE(message_of(res.body).find("model-c"), std::string::npos);
}

TEST_F(Selection, ModelMappingRewritesOnlyTheModel) {
    add_channel(port(), channel_body("A", "sk-aaa", mock_.base_url(), R"(,"model_mapping":{"gpt-4o":"Qwen/Qwen2.5-72B-Instruct"})"));
    add_token(port());
    const std::string body = R"({"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"temperature":0.5})";
    ASSERT_EQ(post_chat(port(), body).status, 200);
    ASSERT_EQ(post_chat(port(), chat_body("other-model")).status, 200);
    const auto seen = mock_.requests();
    ASSERT_EQ(seen.size(), 2u);
    const auto sent = json::parse(seen[0].body);
    EXPECT_EQ(sent.at("model"), "Qwen/Qwen2.5-72B-Instruct");
    EXPECT_EQ(sent.at("temperature").as_double(), 0.5);
    EXPECT_EQ(sent.at("messages"), json::parse(body).at("messages"));
    EXPECT_EQ(seen[1].body, chat_body("other-model")) << "unmapped models go byte for byte";
}

TEST_F(Selection, DeeplyNestedBodyIsRelayedWithItsMappedModelAndShutdownIsPrompt) {
    add_channel(port(), channel_body("A", "sk-aaa", mock_.base_url(), R"(,"model_mapping":{"gpt-4o":"mapped-model"})"));
    add_token(port());
    std::string deep = "1";
    for (int i = 0; i < 50; ++i) deep = "[" + deep + "]";
    const std::string body = R"({"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"x":)" + deep + "}";
    const auto res = post_chat(port(), body);
    ASSERT_EQ(res.status, 200) << res.body;
    ASSERT_EQ(mock_.requests().size(), 1u);
    const auto sent = json::parse(mock_.requests()[0].body, {}, {.max_depth = 64});
    EXPECT_EQ(sent.at("model"), "mapped-model");
    EXPECT_EQ(json::serialize(sent.at("x")), deep);

    const auto signalled = std::chrono::steady_clock::now();
    nexus_->signal(SIGTERM);
    EXPECT_EQ(nexus_->wait_exit(5s), 0);
    EXPECT_LT(std::chrono::steady_clock::now() - signalled, 1s) << "a session was left in the count";
}

}  // namespace
}  // namespace nexus::testing
