// Whom a failure blames. A channel is disabled only when its own key is at fault (confirmed with
// the key alone), rested only for its own failures; nothing a client sends can take a channel
// out for everyone.
#include <gtest/gtest.h>

#include <thread>

#include "support/fixtures.hpp"

namespace nexus::testing {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

class Blame : public ::testing::Test {
protected:
    void SetUp() override {
        nexus_ = std::make_unique<NexusProcess>(Env{{"SILICONFLOW_API_KEY", mock_.good_key()},
                                                    {"SILICONFLOW_BASE_URL", mock_.base_url()},
                                                    {"NEXUS_THREADS", "1"}});
        ASSERT_TRUE(nexus_->wait_ready()) << nexus_->stderr_text();
        add_token(port());
    }
    std::uint16_t port() const { return nexus_->port(); }
    // Channel 1's status once no status write is pending (a disable is written just after the answer).
    int channel_status() {
        std::this_thread::sleep_for(200ms);
        return static_cast<int>(json::parse(admin_call(port(), "GET", "/api/channel/1").body).at("status").as_int64());
    }

    MockUpstream mock_{MockUpstream::Options{}};
    std::unique_ptr<NexusProcess> nexus_;
};

// OpenAI answers 401 for an organisation the key does not belong to. The client's header no
// longer goes upstream, so the call simply works.
TEST_F(Blame, AClientsOrganizationHeaderNeverTakesTheChannelOut) {
    const auto res = post_chat(port(), chat_body("m"), {{"OpenAI-Organization", "org-not-this-key"}});
    EXPECT_EQ(res.status, 200) << res.body;
    EXPECT_EQ(channel_status(), 1);
    EXPECT_EQ(post_chat(port(), chat_body("m")).status, 200);
}

// A 401 about the request, not the key: the probe (the model list, with the key alone) says the
// key is good, so the client gets the upstream's answer and the channel keeps serving.
TEST_F(Blame, A401ForTheRequestLeavesAGoodKeyEnabledAndUnrested) {
    for (int i = 0; i < 4; ++i) {
        const auto res = post_chat(port(), chat_body("mock-request-401"));
        EXPECT_EQ(res.status, 401);
        const auto e = error_of(res.body);
        EXPECT_NE(std::string(e.at("message").as_string()).find("member of an organization"), std::string::npos) << res.body;
        EXPECT_NE(std::string(e.at("message").as_string()).find("key is valid"), std::string::npos) << res.body;
    }
    EXPECT_EQ(mock_.count("/v1/models"), 4u) << "each refusal was checked with the key alone";
    EXPECT_EQ(channel_status(), 1);
    EXPECT_EQ(post_chat(port(), chat_body("m")).status, 200) << "the channel was rested or disabled";
}

// Same for a balance error on one request of an account that can pay: the one-token probe works.
TEST_F(Blame, ABalanceErrorTheProbeContradictsLeavesTheChannelEnabled) {
    const auto res = post_chat(port(), chat_body("mock-balance"));
    EXPECT_EQ(res.status, 403);
    EXPECT_NE(message_of(res.body).find("balance is insufficient"), std::string::npos);
    EXPECT_EQ(channel_status(), 1);
    EXPECT_EQ(post_chat(port(), chat_body("m")).status, 200);
}

// A 429 fails over when it can, but rests nothing: one client's oversized requests draw 429s too.
TEST_F(Blame, RateLimitsDoNotRestTheChannel) {
    for (int i = 0; i < 5; ++i) EXPECT_EQ(post_chat(port(), chat_body("mock-rate-limit")).status, 429);
    EXPECT_EQ(post_chat(port(), chat_body("m")).status, 200) << "the channel is cooling down";
}

// A body larger than the upstream takes is answered 413 by the upstream: the client's fault,
// relayed, and the channel goes on.
TEST(BlameSize, AnOversizedRequestGets413AndTheChannelGoesOn) {
    MockUpstream mock{mock_options([](auto& o) { o.max_body = 1u << 20; })};
    NexusProcess nexus(Env{{"SILICONFLOW_API_KEY", mock.good_key()}, {"SILICONFLOW_BASE_URL", mock.base_url()}});
    ASSERT_TRUE(nexus.wait_ready()) << nexus.stderr_text();
    add_token(nexus.port());
    const std::string big = R"({"model":"m","messages":[{"role":"user","content":")" + std::string(2u << 20, 'a') + R"("}]})";
    for (int i = 0; i < 4; ++i) {
        const auto res = post_chat(nexus.port(), big);
        EXPECT_EQ(res.status, 413) << res.body;
        EXPECT_EQ(error_of(res.body).at("type"), "invalid_request_error");
    }
    EXPECT_EQ(post_chat(nexus.port(), chat_body("m")).status, 200);
    EXPECT_EQ(json::parse(admin_call(nexus.port(), "GET", "/api/channel/1").body).at("status"), 1);
}

}  // namespace
}  // namespace nexus::testing
