#pragma once
// What the tests of users and sign-in share: the real binary with a known root password, and a
// browser-like session (its cookie and CSRF token) to call /api with.
#include <optional>

#include "support/pool_fixture.hpp"

namespace nexus::testing {

inline constexpr const char* kRootPassword = "root-password-1";

/// A signed-in session as a browser holds it.
struct Browser {
    std::string cookie;  ///< "nexus_session=…", as sent back
    std::string csrf;
    std::int64_t user_id = 0;
};

/// POST /api/auth/login; the response as it came.
inline HttpResponse login_call(std::uint16_t port, const std::string& username, const std::string& password,
                               Headers headers = {}) {
    boost::json::object body{{"username", username}, {"password", password}};
    return http_request(port, "POST", "/api/auth/login", boost::json::serialize(body), headers);
}

/// The browser a login answer signs in; nullopt (with a test failure) when it is not a 200.
inline std::optional<Browser> browser_of(const HttpResponse& res) {
    EXPECT_EQ(res.status, 200) << res.body;
    if (res.status != 200) return std::nullopt;
    const auto cookie = res.header("set-cookie");
    const auto doc = boost::json::parse(res.body).as_object();
    return Browser{cookie.substr(0, cookie.find(';')), std::string(doc.at("csrf_token").as_string()),
                   doc.at("user").at("id").as_int64()};
}

/// Signs in; nullopt (with a test failure) when the login is not 200.
inline std::optional<Browser> sign_in(std::uint16_t port, const std::string& username, const std::string& password) {
    return browser_of(login_call(port, username, password));
}

/// A call made by `b`'s browser: the cookie, and on a write the CSRF token unless `csrf` is false.
inline HttpResponse browser_call(std::uint16_t port, const Browser& b, const std::string& method,
                                 const std::string& target, const std::string& body = {}, bool csrf = true,
                                 Headers headers = {}) {
    headers["Cookie"] = b.cookie;
    if (csrf && method != "GET") headers["X-CSRF-Token"] = b.csrf;
    return http_request(port, method, target, body, headers);
}

/// The pool fixture with the root password known, and helpers for accounts.
class AccountsTest : public PoolTest {
protected:
    void SetUp() override { start({{"NEXUS_ROOT_PASSWORD", kRootPassword}}); }

    // A user made with the admin key; his id.
    std::int64_t add_user(const std::string& username, const std::string& password, const std::string& role = "user",
                          const std::string& fields = "") {
        const auto res = admin_call(port(), "POST", "/api/user",
                                    R"({"username":")" + username + R"(","password":")" + password + R"(","role":")" +
                                        role + "\"" + (fields.empty() ? "" : "," + fields) + "}");
        EXPECT_EQ(res.status, 201) << res.body;
        return res.status == 201 ? boost::json::parse(res.body).at("id").as_int64() : 0;
    }
    boost::json::object user_state(std::int64_t id) {
        return boost::json::parse(admin_call(port(), "GET", "/api/user/" + std::to_string(id)).body).as_object();
    }
    // A token `key` that `b` makes for himself; its id.
    std::int64_t own_token(const Browser& b, const std::string& key, const std::string& fields = "") {
        const auto res = browser_call(port(), b, "POST", "/api/token",
                                      R"({"name":"mine","key":")" + key + "\"" + (fields.empty() ? "" : "," + fields) + "}");
        EXPECT_EQ(res.status, 201) << res.body;
        return res.status == 201 ? boost::json::parse(res.body).at("id").as_int64() : 0;
    }
};

}  // namespace nexus::testing
