// When a channel fails: the next one is tried as long as nothing reached the client, none twice,
// at most NEXUS_MAX_ATTEMPTS; a key the upstream rejects disables its channel.
#include "support/pool_fixture.hpp"

namespace nexus::testing {
namespace {

namespace json = boost::json;

class Failover : public PoolTest {};

TEST_F(Failover, AChannelWithABadKeyRelaysTheUpstreamsAuthFailure) {
    const auto c = add_channel(port(), channel_body("C", "sk-ccc-bad-key", mock_.base_url()));
    add_token(port(), "sk-nexus-abc");
    const auto res = post_chat(port(), chat_body("m"), {{"Authorization", "Bearer sk-nexus-abc"}});
    EXPECT_EQ(res.status, 401);
    const auto e = error_of(res.body);
    EXPECT_NE(std::string(e.at("message").as_string()).find("rejected the channel's API key"), std::string::npos);
    EXPECT_NE(std::string(e.at("message").as_string()).find("Invalid token"), std::string::npos);
    EXPECT_EQ(res.body.find("sk-ccc-bad-key"), std::string::npos);
    // …and the channel is disabled automatically, with the reason, for the admin to see.
    const auto ch = channel_with_status(c, 3);
    EXPECT_EQ(ch.at("status"), 3);
    EXPECT_NE(std::string(ch.at("status_reason").as_string()).find("rejected"), std::string::npos);
    EXPECT_GT(ch.at("status_time").as_int64(), 0);
    // An admin re-enables it.
    EXPECT_EQ(admin_call(port(), "PUT", "/api/channel/" + std::to_string(c), R"({"status":1})").status, 200);
    EXPECT_EQ(channel(c).at("status"), 1);
}

TEST_F(Failover, DeadChannelFailsOverToTheNext) {
    add_channel(port(), channel_body("dead", "sk-aaa", "http://127.0.0.1:" + std::to_string(closed_port()), R"(,"priority":10)"));
    add_channel(port(), channel_body("good", "sk-bbb", mock_.base_url()));
    add_token(port());
    for (int i = 0; i < 5; ++i) {
        const auto res = post_chat(port(), chat_body("m"));
        ASSERT_EQ(res.status, 200) << res.body;
    }
    EXPECT_EQ(mock_.requests().size(), 5u);
    // The dead channel was tried first until its breaker opened (3 failures), then skipped.
    const auto logs = usage_records(5);
    ASSERT_EQ(logs.size(), 5u);
    std::vector<std::int64_t> attempts;
    for (const auto& l : logs) attempts.push_back(l.at("attempts").as_int64());
    std::sort(attempts.begin(), attempts.end());
    EXPECT_EQ(attempts, (std::vector<std::int64_t>{1, 1, 2, 2, 2}));
}

TEST_F(Failover, RejectedKeyFailsOverAndDisablesThatChannel) {
    const auto bad = add_channel(port(), channel_body("bad", "sk-bad-key-1234", mock_.base_url(), R"(,"priority":10)"));
    add_channel(port(), channel_body("good", "sk-aaa", mock_.base_url()));
    add_token(port());
    const auto res = post_chat(port(), chat_body("m"));
    EXPECT_EQ(res.status, 200) << res.body;
    // The chat call with the bad key, the probe of that key alone (its model list), then the
    // next channel.
    EXPECT_EQ(keys_seen(mock_), (std::vector<std::string>{"sk-bad-key-1234", "sk-bad-key-1234", "sk-aaa"}));
    EXPECT_EQ(mock_.requests()[1].target, "/v1/models");
    const auto ch = channel_with_status(bad, 3);
    EXPECT_EQ(ch.at("status"), 3);
}

TEST_F(Failover, BalanceErrorDisablesTheChannel) {
    MockUpstream poor{mock_options([](auto& o) { o.poor_keys = {"sk-poor"}; })};
    const auto c = add_channel(port(), channel_body("poor", "sk-poor", poor.base_url()));
    add_token(port());
    const auto res = post_chat(port(), chat_body("m"));
    EXPECT_EQ(res.status, 403);
    EXPECT_NE(message_of(res.body).find("balance is insufficient"), std::string::npos);
    EXPECT_NE(message_of(res.body).find("cannot pay"), std::string::npos);
    const auto ch = channel_with_status(c, 3);
    EXPECT_EQ(ch.at("status"), 3);
    // Confirmed with a call that costs, by the key alone: a one-token chat of the channel's test model.
    ASSERT_EQ(poor.requests().size(), 2u);
    EXPECT_EQ(json::parse(poor.requests()[1].body).at("max_tokens"), 1);
}

TEST_F(Failover, NoChannelIsTriedTwiceInOneRequest) {
    add_channel(port(), channel_body("A", "sk-aaa", mock_.base_url()));
    add_channel(port(), channel_body("B", "sk-bbb", mock_.base_url()));
    add_token(port());
    const auto res = post_chat(port(), chat_body("mock-overloaded"));
    EXPECT_EQ(res.status, 503);
    EXPECT_NE(message_of(res.body).find("overloaded"), std::string::npos);
    auto keys = keys_seen(mock_);
    std::sort(keys.begin(), keys.end());
    EXPECT_EQ(keys, (std::vector<std::string>{"sk-aaa", "sk-bbb"}));
}

TEST_F(Failover, RateLimitFailsOverAndTheLastRetryAfterReachesTheClient) {
    add_channel(port(), channel_body("A", "sk-aaa", mock_.base_url()));
    add_channel(port(), channel_body("B", "sk-bbb", mock_.base_url()));
    add_token(port());
    const auto res = post_chat(port(), chat_body("mock-rate-limit"));
    EXPECT_EQ(res.status, 429);
    EXPECT_EQ(res.header("retry-after"), "7");
    EXPECT_EQ(mock_.requests().size(), 2u);
}

TEST_F(Failover, ClientErrorsAreRelayedAtOnce) {
    add_channel(port(), channel_body("A", "sk-aaa", mock_.base_url()));
    add_channel(port(), channel_body("B", "sk-bbb", mock_.base_url()));
    add_token(port());
    EXPECT_EQ(post_chat(port(), chat_body("mock-unknown-model")).status, 400);
    EXPECT_EQ(post_chat(port(), chat_body("mock-plain-404")).status, 404);
    EXPECT_EQ(mock_.requests().size(), 2u) << "a 400 or 404 is the client's: no other channel is tried";
}

TEST_F(Failover, AttemptsAreBounded) {
    nexus_.reset();
    start({{"NEXUS_MAX_ATTEMPTS", "2"}});
    for (const char* k : {"sk-aaa", "sk-bbb", "sk-aaa", "sk-bbb"}) add_channel(port(), channel_body("x", k, mock_.base_url()));
    add_token(port());
    EXPECT_EQ(post_chat(port(), chat_body("mock-overloaded")).status, 503);
    EXPECT_EQ(mock_.requests().size(), 2u);
}

TEST_F(Failover, NoRetryOnceTheStreamHasStarted) {
    add_channel(port(), channel_body("A", "sk-aaa", mock_.base_url()));
    add_channel(port(), channel_body("B", "sk-bbb", mock_.base_url()));
    add_token(port());
    const auto res = stream_chat(port(), chat_body("mock-die-mid-stream", true));
    EXPECT_EQ(res.status, 200);
    ASSERT_FALSE(res.events.empty());
    EXPECT_TRUE(json::parse(res.events.back().data).as_object().contains("error"));
    EXPECT_EQ(mock_.requests().size(), 1u);
}

}  // namespace
}  // namespace nexus::testing
