// The second factor: a user turns TOTP on for himself, and login then asks for a code (or a
// single-use recovery code); an admin can turn it off for a user who lost his device.
#include "accounts/totp.hpp"
#include "core/clock.hpp"
#include "support/accounts_fixture.hpp"

namespace nexus::testing {
namespace {

namespace json = boost::json;

// RFC 4648 base32 back to bytes: the secret as an authenticator app reads it from the answer.
std::string from_base32(const std::string& text) {
    static constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    std::string out;
    std::uint32_t buffer = 0;
    int bits = 0;
    for (const char c : text) {
        buffer = (buffer << 5) | static_cast<std::uint32_t>(kAlphabet.find(c));
        bits += 5;
        if (bits >= 8) {
            out += static_cast<char>((buffer >> (bits - 8)) & 0xff);
            bits -= 8;
        }
    }
    return out;
}

class SecondFactor : public AccountsTest {
protected:
    // Alice with TOTP on: her secret and recovery codes.
    void turn_on() {
        user_id_ = add_user("alice", "alice-password");
        const auto b = *sign_in(port(), "alice", "alice-password");
        auto res = browser_call(port(), b, "POST", "/api/user/self/totp");
        ASSERT_EQ(res.status, 200) << res.body;
        const auto doc = json::parse(res.body).as_object();
        const std::string encoded(doc.at("secret").as_string());
        EXPECT_NE(std::string(doc.at("uri").as_string()).find("secret=" + encoded), std::string::npos);
        secret_ = from_base32(encoded);
        ASSERT_EQ(secret_.size(), 20u);
        // Not on until a code proves the device has it.
        EXPECT_EQ(login_call(port(), "alice", "alice-password").status, 200);
        res = browser_call(port(), b, "POST", "/api/user/self/totp/enable", R"({"totp_code":123456})");
        EXPECT_EQ(res.status, 400) << "a code is a string of digits";
        EXPECT_EQ(error_of(res.body).at("param"), "totp_code");
        res = browser_call(port(), b, "POST", "/api/user/self/totp/enable",
                           json::serialize(json::object{{"totp_code", wrong_code()}}));
        EXPECT_EQ(res.status, 400) << res.body;
        res = browser_call(port(), b, "POST", "/api/user/self/totp/enable", json::serialize(json::object{{"totp_code", code(-1)}}));
        ASSERT_EQ(res.status, 200) << res.body;
        const auto enabled = json::parse(res.body);  // (kept: a loop over a temporary's member would dangle)
        for (const auto& c : enabled.at("recovery_codes").as_array()) recovery_.emplace_back(c.as_string());
        ASSERT_EQ(recovery_.size(), 10u);
        EXPECT_EQ(user_state(user_id_).at("totp_enabled"), true);
    }
    // The code of the step `offset` steps from now.
    std::string code(int offset = 0) const {
        return accounts::totp_code(secret_, core::unix_seconds() / 30 + offset);
    }
    // A code that is none of the three a login would take now.
    std::string wrong_code(int seed = 0) const {
        for (int n = seed;; ++n) {
            auto c = std::to_string(100000 + n * 7919 % 900000);
            if (c != code(-1) && c != code() && c != code(1)) return c;
        }
    }
    std::optional<Browser> sign_in_with_code() { return browser_of(login_with("totp_code", code())); }
    HttpResponse login_with(const std::string& field, const std::string& value) {
        return http_request(port(), "POST", "/api/auth/login",
                            json::serialize(json::object{{"username", "alice"}, {"password", "alice-password"}, {field, value}}));
    }

    std::int64_t user_id_ = 0;
    std::string secret_;
    std::vector<std::string> recovery_;
};

TEST_F(SecondFactor, LoginAsksForTheCodeAndTakesEachOnce) {
    turn_on();
    auto res = login_call(port(), "alice", "alice-password");
    EXPECT_EQ(res.status, 401);
    EXPECT_EQ(error_of(res.body).at("code"), "totp_required");
    EXPECT_TRUE(res.header("set-cookie").empty());
    res = login_with("totp_code", wrong_code());
    EXPECT_EQ(res.status, 401);
    EXPECT_EQ(error_of(res.body).at("code"), "invalid_totp_code");
    const auto now = code(1);  // a step ahead: a clock a little off still works
    res = login_with("totp_code", now);
    ASSERT_EQ(res.status, 200) << res.body;
    EXPECT_FALSE(res.header("set-cookie").empty());
    res = login_with("totp_code", now);
    EXPECT_EQ(res.status, 401) << "a code seen once is spent";
    // The wrong password still fails first, code or not.
    res = http_request(port(), "POST", "/api/auth/login",
                       json::serialize(json::object{{"username", "alice"}, {"password", "nope-nope"}, {"totp_code", code()}}));
    EXPECT_EQ(error_of(res.body).at("code"), "invalid_credentials");
}

TEST_F(SecondFactor, ARecoveryCodeWorksOnce) {
    turn_on();
    const auto c = recovery_.front();
    auto res = login_with("recovery_code", c);
    ASSERT_EQ(res.status, 200) << res.body;
    res = login_with("recovery_code", c);
    EXPECT_EQ(res.status, 401) << "single-use";
    std::string typed = recovery_.back();
    for (auto& ch : typed) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    EXPECT_EQ(login_with("recovery_code", typed).status, 200) << "in any case";
    const auto audit = admin_call(port(), "GET", "/api/audit?page_size=100").body;
    EXPECT_EQ(audit.find(c), std::string::npos) << "never in the audit log";
}

TEST_F(SecondFactor, WrongCodesAreThrottledLikeWrongPasswords) {
    turn_on();
    for (int i = 0; i < 10; ++i) ASSERT_EQ(login_with("totp_code", wrong_code(i)).status, 401);
    EXPECT_EQ(login_with("totp_code", code()).status, 429);
}

TEST_F(SecondFactor, TurnedOffWithThePasswordOrByAnAdmin) {
    turn_on();
    const auto b = *sign_in_with_code();
    auto res = browser_call(port(), b, "DELETE", "/api/user/self/totp", R"({"password":"wrong-password"})");
    EXPECT_EQ(res.status, 403);
    res = browser_call(port(), b, "DELETE", "/api/user/self/totp", R"({"password":"alice-password"})");
    EXPECT_EQ(res.status, 204) << res.body;
    EXPECT_EQ(login_call(port(), "alice", "alice-password").status, 200);
    // On again, then off by root for someone who lost his device.
    res = browser_call(port(), b, "POST", "/api/user/self/totp");
    secret_ = from_base32(std::string(json::parse(res.body).at("secret").as_string()));
    ASSERT_EQ(browser_call(port(), b, "POST", "/api/user/self/totp/enable",
                           json::serialize(json::object{{"totp_code", code()}}))
                  .status,
              200);
    EXPECT_EQ(login_call(port(), "alice", "alice-password").status, 401);
    EXPECT_EQ(admin_call(port(), "DELETE", "/api/user/" + std::to_string(user_id_) + "/totp").status, 204);
    EXPECT_EQ(login_call(port(), "alice", "alice-password").status, 200);
}

}  // namespace
}  // namespace nexus::testing
