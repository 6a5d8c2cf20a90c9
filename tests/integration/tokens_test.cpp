// Who is calling: the nexus token in Authorization, checked against the in-memory view, from the
// request's head; an admin's change to a token is in force at the next call.
#include "support/pool_fixture.hpp"

namespace nexus::testing {
namespace {

namespace json = boost::json;

class Tokens : public PoolTest {};

TEST_F(Tokens, AnUnknownTokenIs401) {
    add_channel(port(), channel_body("A", "sk-aaa", mock_.base_url()));
    add_token(port(), "sk-nexus-abc");
    const auto res = post_chat(port(), chat_body("m"), {{"Authorization", "Bearer sk-fake-token"}});
    EXPECT_EQ(res.status, 401);
    EXPECT_EQ(error_of(res.body).at("code"), "invalid_api_key");
    EXPECT_TRUE(mock_.requests().empty());
}

TEST_F(Tokens, ADisabledTokenIs401) {
    add_channel(port(), channel_body("A", "sk-aaa", mock_.base_url()));
    add_token(port(), "sk-nexus-disabled", 0);
    const auto res = post_chat(port(), chat_body("m"), {{"Authorization", "Bearer sk-nexus-disabled"}});
    EXPECT_EQ(res.status, 401);
    const auto e = error_of(res.body);
    EXPECT_EQ(e.at("code"), "token_disabled");
    EXPECT_NE(std::string(e.at("message").as_string()).find("disabled"), std::string::npos);
    EXPECT_TRUE(mock_.requests().empty());
}

TEST_F(Tokens, MissingOrMalformedAuthorizationIs401) {
    add_channel(port(), channel_body("A", "sk-aaa", mock_.base_url()));
    auto res = http_request(port(), "POST", "/v1/chat/completions", chat_body("m"));
    EXPECT_EQ(res.status, 401);
    EXPECT_EQ(error_of(res.body).at("code"), "missing_api_key");
    res = post_chat(port(), chat_body("m"), {{"Authorization", "Basic abc"}});
    EXPECT_EQ(res.status, 401);
}

TEST_F(Tokens, ExpiredTokenIs401) {
    add_channel(port(), channel_body("A", "sk-aaa", mock_.base_url()));
    ASSERT_EQ(admin_call(port(), "POST", "/api/token", R"({"name":"old","key":"sk-nexus-old","expired_time":1000})").status,
              201);
    const auto res = post_chat(port(), chat_body("m"), {{"Authorization", "Bearer sk-nexus-old"}});
    EXPECT_EQ(res.status, 401);
    EXPECT_EQ(error_of(res.body).at("code"), "token_expired");
}

TEST_F(Tokens, TokenChangesReachTheRelayAtOnce) {
    add_channel(port(), channel_body("A", "sk-aaa", mock_.base_url()));
    const auto id = add_token(port(), "sk-nexus-live");
    const Headers auth{{"Authorization", "Bearer sk-nexus-live"}};
    EXPECT_EQ(post_chat(port(), chat_body("m"), auth).status, 200);
    ASSERT_EQ(admin_call(port(), "PUT", "/api/token/" + std::to_string(id), R"({"status":0})").status, 200);
    EXPECT_EQ(post_chat(port(), chat_body("m"), auth).status, 401) << "a disabled token kept working";
    ASSERT_EQ(admin_call(port(), "DELETE", "/api/token/" + std::to_string(id)).status, 204);
    EXPECT_EQ(error_of(post_chat(port(), chat_body("m"), auth).body).at("code"), "invalid_api_key");
}

TEST_F(Tokens, AccessedTimeIsKeptCurrent) {
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

}  // namespace
}  // namespace nexus::testing
