// Per-token limits: which models and addresses a token may use, and how fast (rpm, tpm, calls
// in flight), each refusal in OpenAI's shape and every answer with its x-ratelimit-* headers.
#include <future>

#include "support/pool_fixture.hpp"

namespace nexus::testing {
namespace {

namespace json = boost::json;

class TokenLimits : public PoolTest {
protected:
    void SetUp() override {
        PoolTest::SetUp();
        add_channel(port(), channel_body("A", "sk-aaa", mock_.base_url()));
    }
};

TEST_F(TokenLimits, FieldsAreStoredShownAndChecked) {
    const auto id = add_token_with("sk-nexus-f", R"("models":["a","b/c"],"allow_ips":["10.0.0.0/8","::1"],"rpm":60,"tpm":1000,)"
                                        R"("max_concurrency":2)");
    const auto t = json::parse(admin_call(port(), "GET", "/api/token/" + std::to_string(id)).body).as_object();
    EXPECT_EQ(t.at("models").as_array().size(), 2u);
    EXPECT_EQ(t.at("allow_ips").as_array().at(0), "10.0.0.0/8");
    EXPECT_EQ(t.at("rpm"), 60);
    EXPECT_EQ(t.at("tpm"), 1000);
    EXPECT_EQ(t.at("max_concurrency"), 2);
    for (const auto& [body, field] : std::vector<std::pair<std::string, std::string>>{
             {R"({"allow_ips":["10.0.0.0/33"]})", "allow_ips"},
             {R"({"allow_ips":["localhost"]})", "allow_ips"},
             {R"({"rpm":-1})", "rpm"},
             {R"({"tpm":"5"})", "tpm"},
             {R"({"max_concurrency":1.5})", "max_concurrency"},
             {R"({"used_quota":0})", "used_quota"}}) {
        const auto res = admin_call(port(), "PUT", "/api/token/" + std::to_string(id), body);
        EXPECT_EQ(res.status, 400) << body;
        EXPECT_EQ(error_of(res.body).at("param").as_string(), field) << body;
    }
}

TEST_F(TokenLimits, AModelNotAllowedIs403) {
    add_token_with("sk-nexus-m", R"("models":["m"])");
    EXPECT_EQ(post_chat(port(), chat_body("m"), as("sk-nexus-m")).status, 200);
    const auto res = post_chat(port(), chat_body("other"), as("sk-nexus-m"));
    EXPECT_EQ(res.status, 403);
    EXPECT_EQ(error_of(res.body).at("code"), "model_not_allowed");
    EXPECT_EQ(mock_.requests().size(), 1u) << "a refused call never reaches the upstream";
}

TEST_F(TokenLimits, AnAddressNotAllowedIs403) {
    add_token_with("sk-nexus-far", R"("allow_ips":["10.0.0.0/8","2001:db8::/32"])");
    add_token_with("sk-nexus-near", R"("allow_ips":["127.0.0.1"])");
    auto res = post_chat(port(), chat_body("m"), as("sk-nexus-far"));
    EXPECT_EQ(res.status, 403);
    EXPECT_EQ(error_of(res.body).at("code"), "ip_not_allowed");
    EXPECT_EQ(post_chat(port(), chat_body("m"), as("sk-nexus-near")).status, 200);
    // Without trusted proxies, X-Forwarded-For is anybody's to write: ignored.
    res = post_chat(port(), chat_body("m"), as("sk-nexus-far", {{"X-Forwarded-For", "10.1.2.3"}}));
    EXPECT_EQ(res.status, 403);
}

TEST_F(TokenLimits, BehindATrustedProxyTheForwardedAddressCounts) {
    nexus_.reset();
    start({{"NEXUS_TRUSTED_PROXIES", "127.0.0.0/8, 192.168.0.0/16"}});
    add_channel(port(), channel_body("A", "sk-aaa", mock_.base_url()));
    add_token_with("sk-nexus-p", R"("allow_ips":["10.0.0.0/8"])");
    EXPECT_EQ(post_chat(port(), chat_body("m"), as("sk-nexus-p", {{"X-Forwarded-For", "10.1.2.3"}})).status, 200);
    // The right-most address that is not a trusted proxy is the client's.
    EXPECT_EQ(post_chat(port(), chat_body("m"), as("sk-nexus-p", {{"X-Forwarded-For", "8.8.8.8, 10.1.2.3, 192.168.1.1"}}))
                  .status,
              200);
    const auto res = post_chat(port(), chat_body("m"), as("sk-nexus-p", {{"X-Forwarded-For", "10.1.2.3, 8.8.8.8"}}));
    EXPECT_EQ(res.status, 403) << "a client cannot put an allowed address in front of its own";
    EXPECT_EQ(post_chat(port(), chat_body("m"), as("sk-nexus-p")).status, 403) << "no header: the proxy itself";
}

TEST_F(TokenLimits, RpmRefusesTheCallOverTheLimitWithHeaders) {
    add_token_with("sk-nexus-rpm", R"("rpm":3)");
    for (int i = 0; i < 3; ++i) {
        const auto res = post_chat(port(), chat_body("m"), as("sk-nexus-rpm"));
        ASSERT_EQ(res.status, 200) << res.body;
        EXPECT_EQ(res.header("x-ratelimit-limit-requests"), "3");
        EXPECT_EQ(res.header("x-ratelimit-remaining-requests"), std::to_string(2 - i));
        EXPECT_FALSE(res.header("x-ratelimit-reset-requests").empty());
        EXPECT_EQ(res.header("x-ratelimit-limit-tokens"), "") << "no tpm set";
    }
    const auto res = post_chat(port(), chat_body("m"), as("sk-nexus-rpm"));
    EXPECT_EQ(res.status, 429);
    const auto e = error_of(res.body);
    EXPECT_EQ(e.at("code"), "rate_limit_exceeded");
    EXPECT_EQ(e.at("type"), "requests");
    const auto retry = std::stoi(res.header("retry-after"));
    EXPECT_GE(retry, 55);
    EXPECT_LE(retry, 61);
    EXPECT_EQ(res.header("x-ratelimit-remaining-requests"), "0");
    EXPECT_EQ(mock_.requests().size(), 3u);
    // Every answer to the token says so, one refused before its limits were asked too.
    const auto bad = post_chat(port(), "{}", as("sk-nexus-rpm"));
    EXPECT_EQ(bad.status, 400);
    EXPECT_EQ(bad.header("x-ratelimit-limit-requests"), "3");
    EXPECT_EQ(bad.header("x-ratelimit-remaining-requests"), "0");
}

TEST_F(TokenLimits, OurRateHeadersReplaceTheUpstreams) {
    add_token_with("sk-nexus-own", R"("rpm":100)");
    const auto res = post_chat(port(), chat_body("mock-rate-limit"), as("sk-nexus-own"));
    EXPECT_EQ(res.status, 429);
    EXPECT_EQ(res.header("x-ratelimit-remaining-requests"), "99") << "ours, not the upstream's 0";
}

// tpm reserves the call's bound (its body's bytes and max_tokens) and settles to what it used,
// so small calls keep fitting long after their bounds would have filled the window.
TEST_F(TokenLimits, TpmReservesTheBoundAndSettlesToTheRealCount) {
    // One I/O thread: a call settles on its own thread just after its answer's last byte went
    // out, so with two the next call could be admitted on the other thread in between, still
    // seeing the previous call's bound instead of its count (a refusal on the safe side, which
    // made this count flaky under load). The channel is in the database and survives the restart.
    start({{"NEXUS_THREADS", "1"}});
    const std::int64_t tpm = 300;
    add_token_with("sk-nexus-tpm", R"("tpm":300)");
    const std::string body = R"({"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":10})";
    const auto bound = static_cast<std::int64_t>(body.size()) + 10;
    int passed = 0;
    HttpResponse res;
    for (int i = 0; i < 200; ++i) {
        res = post_chat(port(), body, as("sk-nexus-tpm"));
        if (res.status != 200) break;
        EXPECT_EQ(res.header("x-ratelimit-limit-tokens"), "300");
        ++passed;
    }
    // Each settled call holds 8 tokens (5 + 3); the next fits while 8 × n + bound ≤ tpm.
    EXPECT_EQ(passed, (tpm - bound) / 8 + 1);
    EXPECT_EQ(res.status, 429);
    const auto e = error_of(res.body);
    EXPECT_EQ(e.at("type"), "tokens");
    EXPECT_EQ(e.at("code"), "rate_limit_exceeded");
    EXPECT_FALSE(res.header("retry-after").empty());
    // A call whose bound alone is over the limit never fits: no Retry-After.
    res = post_chat(port(), R"({"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":5000})",
                    as("sk-nexus-tpm"));
    EXPECT_EQ(res.status, 429);
    EXPECT_EQ(error_of(res.body).at("type"), "tokens");
    EXPECT_EQ(res.header("retry-after"), "");
    // The largest max_tokens there is: refused the same way (its bound is capped, never overflowed).
    res = post_chat(port(), R"({"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":9223372036854775807})",
                    as("sk-nexus-tpm"));
    EXPECT_EQ(res.status, 429) << res.body;
}

// A stream holds its slot until its last byte.
TEST_F(TokenLimits, MaxConcurrencyHoldsASlotForAWholeStream) {
    add_token_with("sk-nexus-cc", R"("max_concurrency":2)");
    std::promise<void> first[2];
    std::vector<std::future<StreamResult>> streams;
    for (int i = 0; i < 2; ++i) {
        streams.push_back(std::async(std::launch::async, [&, i] {
            bool told = false;
            return stream_chat(port(), chat_body("m", true, 8, 100), as("sk-nexus-cc"), [&](const StreamEvent&) {
                if (!told) first[i].set_value();
                told = true;
                return true;
            });
        }));
    }
    for (auto& f : first) ASSERT_EQ(f.get_future().wait_for(10s), std::future_status::ready);
    const auto res = post_chat(port(), chat_body("m"), as("sk-nexus-cc"));
    EXPECT_EQ(res.status, 429);
    EXPECT_EQ(error_of(res.body).at("type"), "requests");
    EXPECT_EQ(res.header("retry-after"), "1");
    for (auto& s : streams) EXPECT_TRUE(s.get().complete);
    EXPECT_EQ(post_chat(port(), chat_body("m"), as("sk-nexus-cc")).status, 200) << "the slots came back";
}

// A limit changed by an admin is in force at the next call.
TEST_F(TokenLimits, AnAdminChangeAppliesToTheNextCall) {
    const auto id = add_token_with("sk-nexus-chg", R"("rpm":1)");
    EXPECT_EQ(post_chat(port(), chat_body("m"), as("sk-nexus-chg")).status, 200);
    EXPECT_EQ(post_chat(port(), chat_body("m"), as("sk-nexus-chg")).status, 429);
    ASSERT_EQ(admin_call(port(), "PUT", "/api/token/" + std::to_string(id), R"({"rpm":0})").status, 200);
    EXPECT_EQ(post_chat(port(), chat_body("m"), as("sk-nexus-chg")).status, 200);
    ASSERT_EQ(admin_call(port(), "PUT", "/api/token/" + std::to_string(id), R"({"models":["x"]})").status, 200);
    EXPECT_EQ(post_chat(port(), chat_body("m"), as("sk-nexus-chg")).status, 403);
}

}  // namespace
}  // namespace nexus::testing
