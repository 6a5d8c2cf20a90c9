// Token authentication and the channel pool, against the real binary and the mock upstream:
// the product brief's scenarios, priorities, weights, failover, health, usage records.
#include <boost/asio.hpp>
#include <gtest/gtest.h>

#include <thread>

#include "support/fixtures.hpp"

namespace nexus::testing {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

std::string channel_body(const std::string& name, const std::string& key, const std::string& base_url,
                         const std::string& extra = "") {
    return R"({"type":"OpenAI-Compatible","name":")" + name + R"(","key":")" + key + R"(","base_url":")" + base_url +
           "\"" + extra + "}";
}

std::uint16_t closed_port() {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
    return a.local_endpoint().port();
}

// Which channel keys the upstream saw, in order.
std::vector<std::string> keys_seen(const MockUpstream& mock) {
    std::vector<std::string> out;
    for (const auto& r : mock.requests()) out.push_back(r.headers.at("authorization").substr(7));
    return out;
}

class Pool : public ::testing::Test {
protected:
    void start(Env extra = {}) {
        Env env{{"NEXUS_DATA_DIR", data_.file("data")}};
        for (auto& [k, v] : extra) env[k] = v;
        nexus_ = std::make_unique<NexusProcess>(env);
        ASSERT_TRUE(nexus_->wait_ready()) << nexus_->stderr_text();
    }
    void SetUp() override { start(); }
    std::uint16_t port() const { return nexus_->port(); }
    json::object channel(std::int64_t id) {
        return json::parse(admin_call(port(), "GET", "/api/channel/" + std::to_string(id)).body).as_object();
    }
    // The channel as the admin API shows it, polled until its status is `status` (the store
    // write of an auto-disable follows the answer) or two seconds pass.
    json::object channel_with_status(std::int64_t id, int status) {
        json::object ch;
        for (int i = 0; i < 100; ++i) {
            ch = channel(id);
            if (ch.at("status") == status) break;
            std::this_thread::sleep_for(20ms);
        }
        return ch;
    }
    // Usage records, polled until `count` are there (they are written in batches each second).
    json::array usage_records(std::size_t count, const std::string& query = "") {
        json::array data;
        for (int i = 0; i < 100; ++i) {
            const auto res = admin_call(port(), "GET", "/api/log" + query);
            data = json::parse(res.body).at("data").as_array();
            if (data.size() >= count) break;
            std::this_thread::sleep_for(50ms);
        }
        return data;
    }

    TempDir data_;
    MockUpstream mock_{mock_options([](auto& o) {
        o.good_key = "sk-aaa";
        o.other_good_keys = {"sk-bbb"};
    })};
    std::unique_ptr<NexusProcess> nexus_;
};

// --- The product brief's scenarios ---------------------------------------------------------------

TEST_F(Pool, BriefChannelsAAndBServeTokenAbc) {
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

TEST_F(Pool, BriefFakeTokenIs401) {
    add_channel(port(), channel_body("A", "sk-aaa", mock_.base_url()));
    add_token(port(), "sk-nexus-abc");
    const auto res = post_chat(port(), chat_body("m"), {{"Authorization", "Bearer sk-fake-token"}});
    EXPECT_EQ(res.status, 401);
    EXPECT_EQ(error_of(res.body).at("code"), "invalid_api_key");
    EXPECT_TRUE(mock_.requests().empty());
}

TEST_F(Pool, BriefDisabledTokenIs401) {
    add_channel(port(), channel_body("A", "sk-aaa", mock_.base_url()));
    add_token(port(), "sk-nexus-disabled", 0);
    const auto res = post_chat(port(), chat_body("m"), {{"Authorization", "Bearer sk-nexus-disabled"}});
    EXPECT_EQ(res.status, 401);
    const auto e = error_of(res.body);
    EXPECT_EQ(e.at("code"), "token_disabled");
    EXPECT_NE(std::string(e.at("message").as_string()).find("disabled"), std::string::npos);
    EXPECT_TRUE(mock_.requests().empty());
}

TEST_F(Pool, BriefNoChannelsIs500) {
    add_token(port(), "sk-nexus-abc");
    const auto res = post_chat(port(), chat_body("Qwen/QwQ-32B"), {{"Authorization", "Bearer sk-nexus-abc"}});
    EXPECT_EQ(res.status, 500);
    const auto e = error_of(res.body);
    EXPECT_EQ(e.at("code"), "no_available_channel");
    EXPECT_NE(std::string(e.at("message").as_string()).find("Qwen/QwQ-32B"), std::string::npos);
}

TEST_F(Pool, BriefOnlyChannelCWithBadKeyRelaysTheUpstreamAuthFailure) {
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

// --- Authentication -------------------------------------------------------------------------------

TEST_F(Pool, MissingOrMalformedAuthorizationIs401) {
    add_channel(port(), channel_body("A", "sk-aaa", mock_.base_url()));
    auto res = http_request(port(), "POST", "/v1/chat/completions", chat_body("m"));
    EXPECT_EQ(res.status, 401);
    EXPECT_EQ(error_of(res.body).at("code"), "missing_api_key");
    res = post_chat(port(), chat_body("m"), {{"Authorization", "Basic abc"}});
    EXPECT_EQ(res.status, 401);
}

TEST_F(Pool, ExpiredTokenIs401) {
    add_channel(port(), channel_body("A", "sk-aaa", mock_.base_url()));
    ASSERT_EQ(admin_call(port(), "POST", "/api/token", R"({"name":"old","key":"sk-nexus-old","expired_time":1000})").status,
              201);
    const auto res = post_chat(port(), chat_body("m"), {{"Authorization", "Bearer sk-nexus-old"}});
    EXPECT_EQ(res.status, 401);
    EXPECT_EQ(error_of(res.body).at("code"), "token_expired");
}

TEST_F(Pool, TokenChangesReachTheRelayAtOnce) {
    add_channel(port(), channel_body("A", "sk-aaa", mock_.base_url()));
    const auto id = add_token(port(), "sk-nexus-live");
    const Headers auth{{"Authorization", "Bearer sk-nexus-live"}};
    EXPECT_EQ(post_chat(port(), chat_body("m"), auth).status, 200);
    ASSERT_EQ(admin_call(port(), "PUT", "/api/token/" + std::to_string(id), R"({"status":0})").status, 200);
    EXPECT_EQ(post_chat(port(), chat_body("m"), auth).status, 401) << "a disabled token kept working";
    ASSERT_EQ(admin_call(port(), "DELETE", "/api/token/" + std::to_string(id)).status, 204);
    EXPECT_EQ(error_of(post_chat(port(), chat_body("m"), auth).body).at("code"), "invalid_api_key");
}

TEST_F(Pool, AccessedTimeIsKeptCurrent) {
    add_channel(port(), channel_body("A", "sk-aaa", mock_.base_url()));
    const auto id = add_token(port());
    ASSERT_EQ(post_chat(port(), chat_body("m")).status, 200);
    std::int64_t accessed = 0;
    for (int i = 0; i < 100 && accessed == 0; ++i) {
        std::this_thread::sleep_for(50ms);
        accessed = json::parse(admin_call(port(), "GET", "/api/token/" + std::to_string(id)).body).at("accessed_time").as_int64();
    }
    EXPECT_GT(accessed, 0);
}

// --- Choosing a channel ---------------------------------------------------------------------------

TEST_F(Pool, HigherPriorityTierServesFirst) {
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

TEST_F(Pool, WeightsShareTrafficByDistribution) {
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

TEST_F(Pool, ZeroWeightChannelGetsNothingWhileOthersCan) {
    add_channel(port(), channel_body("A", "sk-aaa", mock_.base_url(), R"(,"weight":0)"));
    add_channel(port(), channel_body("B", "sk-bbb", mock_.base_url(), R"(,"weight":1)"));
    add_token(port());
    for (int i = 0; i < 20; ++i) ASSERT_EQ(post_chat(port(), chat_body("m")).status, 200);
    for (const auto& k : keys_seen(mock_)) EXPECT_EQ(k, "sk-bbb");
}

TEST_F(Pool, ModelsListSelectsChannels) {
    add_channel(port(), channel_body("A", "sk-aaa", mock_.base_url(), R"(,"models":["model-a"])"));
    add_channel(port(), channel_body("B", "sk-bbb", mock_.base_url(), R"(,"models":["model-b"])"));
    add_token(port());
    for (int i = 0; i < 5; ++i) ASSERT_EQ(post_chat(port(), chat_body("model-b")).status, 200);
    for (const auto& k : keys_seen(mock_)) EXPECT_EQ(k, "sk-bbb");
    const auto res = post_chat(port(), chat_body("model-c"));
    EXPECT_EQ(res.status, 500);
    EXPECT_NE(message_of(res.body).find("model-c"), std::string::npos);
}

TEST_F(Pool, ModelMappingRewritesOnlyTheModel) {
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

// A body nested 50 deep passes inspection (depth 64). Rewriting its model for a mapped channel
// once parsed it by another rule (Boost.JSON's default depth, 32, and throwing): the handler
// threw, the client got no answer and the session was never counted out, so SIGTERM waited the
// whole grace period.
TEST_F(Pool, DeeplyNestedBodyIsRelayedWithItsMappedModelAndShutdownIsPrompt) {
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

// --- Failover -------------------------------------------------------------------------------------

TEST_F(Pool, DeadChannelFailsOverToTheNext) {
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

TEST_F(Pool, RejectedKeyFailsOverAndDisablesThatChannel) {
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

TEST_F(Pool, BalanceErrorDisablesTheChannel) {
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

TEST_F(Pool, NoChannelIsTriedTwiceInOneRequest) {
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

TEST_F(Pool, RateLimitFailsOverAndTheLastRetryAfterReachesTheClient) {
    add_channel(port(), channel_body("A", "sk-aaa", mock_.base_url()));
    add_channel(port(), channel_body("B", "sk-bbb", mock_.base_url()));
    add_token(port());
    const auto res = post_chat(port(), chat_body("mock-rate-limit"));
    EXPECT_EQ(res.status, 429);
    EXPECT_EQ(res.header("retry-after"), "7");
    EXPECT_EQ(mock_.requests().size(), 2u);
}

TEST_F(Pool, ClientErrorsAreRelayedAtOnce) {
    add_channel(port(), channel_body("A", "sk-aaa", mock_.base_url()));
    add_channel(port(), channel_body("B", "sk-bbb", mock_.base_url()));
    add_token(port());
    EXPECT_EQ(post_chat(port(), chat_body("mock-unknown-model")).status, 400);
    EXPECT_EQ(post_chat(port(), chat_body("mock-plain-404")).status, 404);
    EXPECT_EQ(mock_.requests().size(), 2u) << "a 400 or 404 is the client's: no other channel is tried";
}

TEST_F(Pool, AttemptsAreBounded) {
    nexus_.reset();
    start({{"NEXUS_MAX_ATTEMPTS", "2"}});
    for (const char* k : {"sk-aaa", "sk-bbb", "sk-aaa", "sk-bbb"}) add_channel(port(), channel_body("x", k, mock_.base_url()));
    add_token(port());
    EXPECT_EQ(post_chat(port(), chat_body("mock-overloaded")).status, 503);
    EXPECT_EQ(mock_.requests().size(), 2u);
}

TEST_F(Pool, NoRetryOnceTheStreamHasStarted) {
    add_channel(port(), channel_body("A", "sk-aaa", mock_.base_url()));
    add_channel(port(), channel_body("B", "sk-bbb", mock_.base_url()));
    add_token(port());
    const auto res = stream_chat(port(), chat_body("mock-die-mid-stream", true));
    EXPECT_EQ(res.status, 200);
    ASSERT_FALSE(res.events.empty());
    EXPECT_TRUE(json::parse(res.events.back().data).as_object().contains("error"));
    EXPECT_EQ(mock_.requests().size(), 1u);
}

// --- Usage records --------------------------------------------------------------------------------

TEST_F(Pool, UsageRecordsForStreamAndNonStream) {
    const auto c = add_channel(port(), channel_body("A", "sk-aaa", mock_.base_url()));
    const auto t = add_token(port());
    ASSERT_EQ(post_chat(port(), chat_body("m-plain")).status, 200);
    const auto s = stream_chat(port(), chat_body("m-stream", true, 4));
    ASSERT_TRUE(s.complete);
    const auto logs = usage_records(2);
    ASSERT_EQ(logs.size(), 2u);
    // Each I/O thread writes its own batch, so the order of the two records is not fixed.
    const bool plain_first = logs[0].at("model") == "m-plain";
    const auto& plain = logs[plain_first ? 0 : 1].as_object();
    const auto& stream = logs[plain_first ? 1 : 0].as_object();
    EXPECT_EQ(plain.at("model"), "m-plain");
    EXPECT_EQ(plain.at("stream"), false);
    EXPECT_EQ(plain.at("status"), 200);
    EXPECT_EQ(plain.at("prompt_tokens"), 5);
    EXPECT_EQ(plain.at("completion_tokens"), 3);
    EXPECT_EQ(plain.at("total_tokens"), 8);
    EXPECT_EQ(plain.at("channel_id"), c);
    EXPECT_EQ(plain.at("token_id"), t);
    EXPECT_EQ(plain.at("attempts"), 1);
    EXPECT_GE(plain.at("ttfb_ms").as_int64(), 0);
    EXPECT_EQ(plain.at("request_id").as_string().size(), 32u);
    EXPECT_EQ(stream.at("model"), "m-stream");
    EXPECT_EQ(stream.at("stream"), true);
    EXPECT_EQ(stream.at("completion_tokens"), 4) << "the last running usage of the stream";
    EXPECT_EQ(stream.at("total_tokens"), 9);
    // Filters.
    EXPECT_EQ(usage_records(1, "?model=m-plain").size(), 1u);
    EXPECT_EQ(json::parse(admin_call(port(), "GET", "/api/log?channel_id=999").body).at("total"), 0);
    EXPECT_EQ(json::parse(admin_call(port(), "GET", "/api/log?token_id=" + std::to_string(t)).body).at("total"), 2);
    EXPECT_EQ(json::parse(admin_call(port(), "GET", "/api/log?start_time=4000000000").body).at("total"), 0);
    for (const char* bad : {"page_size=0", "page=abc", "channel_id=-1", "token_id=1.5", "start_time=yesterday",
                            "end_time=-3"}) {
        const auto res = admin_call(port(), "GET", std::string("/api/log?") + bad);
        EXPECT_EQ(res.status, 400) << bad;
        const std::string param(bad, std::string_view(bad).find('='));
        EXPECT_EQ(std::string(error_of(res.body).at("param").as_string()), param) << bad;
    }
    // The channel's used tokens add up.
    EXPECT_EQ(channel(c).at("used_tokens"), 17);
}

TEST_F(Pool, FailedCallsAreRecordedToo) {
    add_token(port());
    EXPECT_EQ(post_chat(port(), chat_body("nothing-serves-this")).status, 500);
    const auto logs = usage_records(1);
    ASSERT_EQ(logs.size(), 1u);
    EXPECT_EQ(logs[0].at("status"), 500);
    EXPECT_EQ(logs[0].at("channel_id"), 0);
    EXPECT_EQ(logs[0].at("attempts"), 0);
}

TEST_F(Pool, CleanShutdownFlushesUsageRecords) {
    add_channel(port(), channel_body("A", "sk-aaa", mock_.base_url()));
    add_token(port());
    for (int i = 0; i < 5; ++i) ASSERT_EQ(post_chat(port(), chat_body("m")).status, 200);
    nexus_->signal(SIGTERM);  // at once: the batch of this second is still in memory
    ASSERT_EQ(nexus_->wait_exit(10s), 0);
    start();
    EXPECT_EQ(json::parse(admin_call(port(), "GET", "/api/log").body).at("total"), 5);
}

// --- Channel test, seeding --------------------------------------------------------------------------

TEST_F(Pool, ChannelTestRecordsResponseTime) {
    const auto good = add_channel(port(), channel_body("A", "sk-aaa", mock_.base_url()));
    const auto bad = add_channel(port(), channel_body("B", "sk-wrong-0000000", mock_.base_url()));
    auto res = admin_call(port(), "POST", "/api/channel/" + std::to_string(good) + "/test");
    ASSERT_EQ(res.status, 200) << res.body;
    auto doc = json::parse(res.body);
    EXPECT_EQ(doc.at("success"), true);
    EXPECT_GE(doc.at("response_time").as_int64(), 0);
    EXPECT_GT(channel(good).at("test_time").as_int64(), 0);
    EXPECT_EQ(json::parse(mock_.requests().back().body).at("max_tokens"), 1);
    res = admin_call(port(), "POST", "/api/channel/" + std::to_string(bad) + "/test");
    doc = json::parse(res.body);
    EXPECT_EQ(doc.at("success"), false);
    EXPECT_EQ(doc.at("status"), 401);
    EXPECT_EQ(res.body.find("sk-wrong-0000000"), std::string::npos);
    EXPECT_EQ(admin_call(port(), "POST", "/api/channel/999/test").status, 404);
    EXPECT_EQ(admin_call(port(), "GET", "/api/channel/1/test").status, 405);
}

TEST(PoolSeed, SiliconFlowKeyCreatesTheFirstChannelOnce) {
    MockUpstream mock{MockUpstream::Options{}};
    TempDir data;
    const Env env{{"NEXUS_DATA_DIR", data.file("data")},
                  {"SILICONFLOW_API_KEY", mock.good_key()},
                  {"SILICONFLOW_BASE_URL", mock.base_url()}};
    {
        NexusProcess nexus(env);
        ASSERT_TRUE(nexus.wait_ready()) << nexus.stderr_text();
        const auto list = json::parse(admin_call(nexus.port(), "GET", "/api/channel").body);
        ASSERT_EQ(list.at("total"), 1);
        EXPECT_EQ(list.at("data").at(0).at("type"), "SiliconFlow");
        EXPECT_EQ(std::string(list.at("data").at(0).at("base_url").as_string()), mock.base_url());
        add_token(nexus.port());
        EXPECT_EQ(post_chat(nexus.port(), chat_body("m")).status, 200);
        nexus.signal(SIGTERM);
        ASSERT_EQ(nexus.wait_exit(10s), 0);
    }
    NexusProcess again(env);
    ASSERT_TRUE(again.wait_ready()) << again.stderr_text();
    EXPECT_EQ(json::parse(admin_call(again.port(), "GET", "/api/channel").body).at("total"), 1);
}

}  // namespace
}  // namespace nexus::testing
