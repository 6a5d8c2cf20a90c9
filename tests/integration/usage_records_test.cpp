// What each call used, recorded off the request path and read back through /api/log; the channel
// test; the first channel made from SILICONFLOW_API_KEY.
#include "support/pool_fixture.hpp"

namespace nexus::testing {
namespace {

namespace json = boost::json;

class UsageRecords : public PoolTest {};

TEST_F(UsageRecords, UsageRecordsForStreamAndNonStream) {
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

TEST_F(UsageRecords, FailedCallsAreRecordedToo) {
    add_token(port());
    EXPECT_EQ(post_chat(port(), chat_body("nothing-serves-this")).status, 500);
    const auto logs = usage_records(1);
    ASSERT_EQ(logs.size(), 1u);
    EXPECT_EQ(logs[0].at("status"), 500);
    EXPECT_EQ(logs[0].at("channel_id"), 0);
    EXPECT_EQ(logs[0].at("attempts"), 0);
}

TEST_F(UsageRecords, CleanShutdownFlushesUsageRecords) {
    add_channel(port(), channel_body("A", "sk-aaa", mock_.base_url()));
    add_token(port());
    for (int i = 0; i < 5; ++i) ASSERT_EQ(post_chat(port(), chat_body("m")).status, 200);
    nexus_->signal(SIGTERM);  // at once: the batch of this second is still in memory
    ASSERT_EQ(nexus_->wait_exit(10s), 0);
    start();
    EXPECT_EQ(json::parse(admin_call(port(), "GET", "/api/log").body).at("total"), 5);
}

TEST_F(UsageRecords, ChannelTestRecordsResponseTime) {
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

TEST(FirstChannel, SiliconFlowKeyCreatesTheFirstChannelOnce) {
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
