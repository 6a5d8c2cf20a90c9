// Signing in: sessions and their cookie, expiry and revocation, the CSRF rule, the login
// throttle, the root account's bootstrap, the reset subcommand and the audit log. The real binary.
#include "support/accounts_fixture.hpp"

namespace nexus::testing {
namespace {

namespace json = boost::json;

class SignIn : public AccountsTest {};

TEST_F(SignIn, LoginMeAndLogout) {
    const auto res = login_call(port(), "root", kRootPassword);
    ASSERT_EQ(res.status, 200) << res.body;
    const auto cookie = res.header("set-cookie");
    EXPECT_NE(cookie.find("nexus_session="), std::string::npos) << cookie;
    EXPECT_NE(cookie.find("; HttpOnly"), std::string::npos) << cookie;
    EXPECT_NE(cookie.find("; SameSite=Strict"), std::string::npos) << cookie;
    EXPECT_NE(cookie.find("; Path=/"), std::string::npos) << cookie;
    EXPECT_EQ(cookie.find("Secure"), std::string::npos) << "no https public URL: a Secure cookie would never come back";
    const auto doc = json::parse(res.body).as_object();
    EXPECT_EQ(doc.at("user").at("username"), "root");
    EXPECT_EQ(doc.at("user").at("role"), "root");
    EXPECT_FALSE(doc.at("user").as_object().contains("password_hash")) << res.body;
    EXPECT_EQ(res.body.find("argon2"), std::string::npos) << "no hash, ever";

    const auto b = *sign_in(port(), "root", kRootPassword);
    auto me = browser_call(port(), b, "GET", "/api/auth/me");
    ASSERT_EQ(me.status, 200) << me.body;
    const auto me_doc = json::parse(me.body).as_object();
    EXPECT_EQ(me_doc.at("user").at("id"), b.user_id);
    EXPECT_EQ(me_doc.at("csrf_token"), json::value(b.csrf)) << "the same shape as login's answer";

    // Logout is a write like the others: without the CSRF token it is refused.
    EXPECT_EQ(browser_call(port(), b, "POST", "/api/auth/logout", "", false).status, 403);
    const auto out = browser_call(port(), b, "POST", "/api/auth/logout");
    EXPECT_EQ(out.status, 204) << out.body;
    EXPECT_NE(out.header("set-cookie").find("Max-Age=0"), std::string::npos) << "the cookie is cleared";
    me = browser_call(port(), b, "GET", "/api/auth/me");
    EXPECT_EQ(me.status, 401) << "the session is gone on the server, not only in the browser";
}

TEST_F(SignIn, WrongPasswordAndUnknownUserGetTheSameAnswer) {
    add_user("alice", "alice-password");
    const auto wrong = login_call(port(), "alice", "not-her-password");
    const auto unknown = login_call(port(), "nobody", "not-her-password");
    EXPECT_EQ(wrong.status, 401);
    EXPECT_EQ(unknown.status, 401);
    EXPECT_EQ(error_of(wrong.body), error_of(unknown.body)) << "an attacker cannot tell which names exist";
    EXPECT_TRUE(wrong.header("set-cookie").empty());
    // A username is matched in any case.
    EXPECT_EQ(login_call(port(), "ALICE", "alice-password").status, 200);
}

TEST_F(SignIn, TheCookieIsSecureBehindAnHttpsPublicUrlAndTheOriginMustBeIt) {
    start({{"NEXUS_ROOT_PASSWORD", kRootPassword}, {"NEXUS_PUBLIC_URL", "https://gw.example.com"}});
    const auto res = login_call(port(), "root", kRootPassword);
    ASSERT_EQ(res.status, 200) << res.body;
    EXPECT_NE(res.header("set-cookie").find("; Secure"), std::string::npos) << res.header("set-cookie");
    const auto b = *sign_in(port(), "root", kRootPassword);
    const std::string body = R"({"username":"carol","password":"carol-password"})";
    auto w = browser_call(port(), b, "POST", "/api/user", body, true,
                          {{"Origin", "http://127.0.0.1:" + std::to_string(port())}});
    EXPECT_EQ(w.status, 403) << "the public URL is the only origin";
    w = browser_call(port(), b, "POST", "/api/user", body, true, {{"Origin", "https://gw.example.com"}});
    EXPECT_EQ(w.status, 201) << w.body;
}

TEST_F(SignIn, ACookieWriteNeedsTheCsrfTokenAndTheServersOwnOrigin) {
    const auto b = *sign_in(port(), "root", kRootPassword);
    const std::string body = R"({"name":"x"})";
    auto res = browser_call(port(), b, "POST", "/api/token", body, false);
    EXPECT_EQ(res.status, 403);
    EXPECT_EQ(error_of(res.body).at("code"), "csrf_failed");
    res = browser_call(port(), b, "POST", "/api/token", body, false, {{"X-CSRF-Token", b.csrf + "x"}});
    EXPECT_EQ(res.status, 403) << "a wrong token is no token";
    res = browser_call(port(), b, "POST", "/api/token", body, true, {{"Origin", "https://evil.example"}});
    EXPECT_EQ(res.status, 403) << "a foreign page's write, even with the token";
    EXPECT_EQ(error_of(res.body).at("code"), "csrf_failed");
    res = browser_call(port(), b, "POST", "/api/token", body, true, {{"Origin", "http://127.0.0.1:" + std::to_string(port())}});
    EXPECT_EQ(res.status, 201) << res.body;
    res = browser_call(port(), b, "GET", "/api/token", "", false);
    EXPECT_EQ(res.status, 200) << "a read needs no token";
    // A login from a foreign page is refused too: no one is signed in behind his back.
    res = login_call(port(), "root", kRootPassword, {{"Origin", "https://evil.example"}});
    EXPECT_EQ(res.status, 403);
    EXPECT_TRUE(res.header("set-cookie").empty());
    // The admin key needs neither: it is no ambient credential a browser would send.
    res = admin_call(port(), "POST", "/api/token", body);
    EXPECT_EQ(res.status, 201) << res.body;
    res = http_request(port(), "POST", "/api/token", body,
                       {{"Authorization", std::string("Bearer ") + kTestAdminKey}, {"Origin", "https://evil.example"}});
    EXPECT_EQ(res.status, 201) << res.body;
}

TEST_F(SignIn, ASessionEndsAfterItsIdleTime) {
    start({{"NEXUS_ROOT_PASSWORD", kRootPassword}, {"NEXUS_SESSION_IDLE_HOURS", "0.0005"}});  // 2 s
    const auto b = *sign_in(port(), "root", kRootPassword);
    EXPECT_EQ(browser_call(port(), b, "GET", "/api/auth/me").status, 200);
    std::this_thread::sleep_for(2500ms);
    const auto res = browser_call(port(), b, "GET", "/api/auth/me");
    EXPECT_EQ(res.status, 401);
    EXPECT_EQ(error_of(res.body).at("code"), "session_expired");
}

TEST_F(SignIn, ASessionEndsAtItsMaximumAgeHoweverActive) {
    start({{"NEXUS_ROOT_PASSWORD", kRootPassword}, {"NEXUS_SESSION_MAX_DAYS", "0.00003"}});  // 2.6 s
    const auto b = *sign_in(port(), "root", kRootPassword);
    int last = 0;
    for (int i = 0; i < 8; ++i) {
        last = browser_call(port(), b, "GET", "/api/auth/me").status;
        std::this_thread::sleep_for(500ms);
    }
    EXPECT_EQ(last, 401);
}

TEST_F(SignIn, DisablingAUserEndsHisSessionsAndRefusesHisLogin) {
    const auto id = add_user("alice", "alice-password");
    const auto path = "/api/user/" + std::to_string(id);
    const auto before = *sign_in(port(), "alice", "alice-password");
    ASSERT_EQ(admin_call(port(), "PUT", path, R"({"status":2})").status, 200);
    const auto res = login_call(port(), "alice", "alice-password");
    EXPECT_EQ(res.status, 403);
    EXPECT_EQ(error_of(res.body).at("code"), "user_disabled");
    // Enabled again before the old session was used: it stays ended.
    ASSERT_EQ(admin_call(port(), "PUT", path, R"({"status":1})").status, 200);
    EXPECT_EQ(browser_call(port(), before, "GET", "/api/auth/me").status, 401);
    // And a session is refused at once while its user is disabled.
    const auto after = *sign_in(port(), "alice", "alice-password");
    ASSERT_EQ(admin_call(port(), "PUT", path, R"({"status":2})").status, 200);
    EXPECT_EQ(browser_call(port(), after, "GET", "/api/auth/me").status, 401);
}

TEST_F(SignIn, ChangingThePasswordEndsTheOtherSessionsOnly) {
    add_user("alice", "alice-password");
    const auto here = *sign_in(port(), "alice", "alice-password");
    const auto there = *sign_in(port(), "alice", "alice-password");
    auto res = browser_call(port(), here, "PUT", "/api/user/self/password",
                            R"({"old_password":"wrong-password","new_password":"alice-new-password"})");
    EXPECT_EQ(res.status, 403) << "the old password is needed";
    EXPECT_EQ(browser_call(port(), there, "GET", "/api/auth/me").status, 200) << "a wrong try changes nothing";
    res = browser_call(port(), here, "PUT", "/api/user/self/password",
                       R"({"old_password":"alice-password","new_password":"short"})");
    EXPECT_EQ(res.status, 400) << res.body;
    res = browser_call(port(), here, "PUT", "/api/user/self/password",
                       R"({"old_password":"alice-password","new_password":"alice-new-password"})");
    ASSERT_EQ(res.status, 204) << res.body;
    EXPECT_EQ(browser_call(port(), here, "GET", "/api/auth/me").status, 200) << "the current session stays";
    EXPECT_EQ(browser_call(port(), there, "GET", "/api/auth/me").status, 401) << "every other one ends";
    EXPECT_EQ(login_call(port(), "alice", "alice-password").status, 401);
    EXPECT_EQ(login_call(port(), "alice", "alice-new-password").status, 200);
}

TEST_F(SignIn, TenFailuresForANameLockItForEveryAddress) {
    start({{"NEXUS_ROOT_PASSWORD", kRootPassword}, {"NEXUS_TRUSTED_PROXIES", "127.0.0.1"}});
    add_user("alice", "alice-password");
    for (int i = 0; i < 10; ++i) {
        const auto res = login_call(port(), "alice", "guess-" + std::to_string(i),
                                    {{"X-Forwarded-For", "10.1.0." + std::to_string(i + 1)}});
        ASSERT_EQ(res.status, 401) << i;
    }
    const auto res = login_call(port(), "alice", "alice-password", {{"X-Forwarded-For", "10.2.0.1"}});
    EXPECT_EQ(res.status, 429) << "right or wrong, from anywhere: the name is locked";
    EXPECT_GT(std::stoi(res.header("retry-after")), 500);
    EXPECT_EQ(login_call(port(), "root", kRootPassword, {{"X-Forwarded-For", "10.2.0.1"}}).status, 200)
        << "another name is not locked";
}

TEST_F(SignIn, TenFailuresFromAnAddressLockItForEveryName) {
    start({{"NEXUS_ROOT_PASSWORD", kRootPassword}, {"NEXUS_TRUSTED_PROXIES", "127.0.0.1"}});
    for (int i = 0; i < 10; ++i) {
        ASSERT_EQ(login_call(port(), "user" + std::to_string(i), "guess-password", {{"X-Forwarded-For", "10.3.0.9"}}).status,
                  401);
    }
    const auto res = login_call(port(), "root", kRootPassword, {{"X-Forwarded-For", "10.3.0.9"}});
    EXPECT_EQ(res.status, 429);
    EXPECT_FALSE(res.header("retry-after").empty());
    EXPECT_EQ(login_call(port(), "root", kRootPassword, {{"X-Forwarded-For", "10.3.0.10"}}).status, 200);
}

TEST_F(SignIn, ALoginWithoutCredentialsIsNoFailure) {
    for (int i = 0; i < 15; ++i) {
        ASSERT_EQ(http_request(port(), "POST", "/api/auth/login", "{}").status, 401);
        ASSERT_EQ(http_request(port(), "GET", "/api/auth/me").status, 401) << "a signed-out console polling";
    }
    EXPECT_EQ(login_call(port(), "root", kRootPassword).status, 200);
}

TEST_F(SignIn, MalformedLoginsGetClearAnswersAndCountAsNoFailure) {
    auto res = http_request(port(), "POST", "/api/auth/login", R"({"username":"root","password":)");
    EXPECT_EQ(res.status, 400);
    EXPECT_EQ(error_of(res.body).at("code"), "invalid_json");
    res = http_request(port(), "POST", "/api/auth/login", R"(["root","x"])");
    EXPECT_EQ(res.status, 400);
    for (const char* body : {R"({"username":7,"password":"root-password-1"})", R"({"username":"root","password":null})",
                             R"({"username":"","password":"x"})"}) {
        res = http_request(port(), "POST", "/api/auth/login", body);
        EXPECT_EQ(res.status, 401) << body;
        EXPECT_EQ(error_of(res.body).at("code"), "missing_credentials") << body;
    }
    res = http_request(port(), "POST", "/api/auth/login", std::string(2 << 20, ' '));
    EXPECT_EQ(res.status, 413) << "an admin body is 1 MiB at most";
    for (int i = 0; i < 10; ++i) ASSERT_EQ(http_request(port(), "POST", "/api/auth/login", "{").status, 400);
    EXPECT_EQ(login_call(port(), "root", kRootPassword).status, 200) << "none of them was a guess";
}

TEST_F(SignIn, TheFirstStartMakesARootAndPrintsItsPasswordOnce) {
    const auto err = nexus_->stderr_text();  // started with NEXUS_ROOT_PASSWORD
    TempDir fresh;
    NexusProcess first({{"NEXUS_DATA_DIR", fresh.file("data")}});
    ASSERT_TRUE(first.wait_ready()) << first.stderr_text();
    const auto banner = first.stderr_text();
    const auto at = banner.find("password: ");
    ASSERT_NE(at, std::string::npos) << banner;
    const auto password = banner.substr(at + 10, banner.find('\n', at) - at - 10);
    EXPECT_GE(password.size(), 16u);
    EXPECT_EQ(login_call(first.port(), "root", password).status, 200);
    first.signal(SIGTERM);
    ASSERT_TRUE(first.wait_exit(10s));
    NexusProcess again({{"NEXUS_DATA_DIR", fresh.file("data")}});
    ASSERT_TRUE(again.wait_ready()) << again.stderr_text();
    EXPECT_EQ(again.stderr_text().find("password: "), std::string::npos) << "shown once";
    EXPECT_EQ(login_call(again.port(), "root", password).status, 200);
    EXPECT_EQ(err.find("password: "), std::string::npos) << "a configured password is not printed";
}

TEST_F(SignIn, ResetPasswordSubcommandSetsItAndEndsTheSessions) {
    add_user("alice", "alice-password");
    const auto b = *sign_in(port(), "alice", "alice-password");
    const Env env{{"NEXUS_DATA_DIR", data_.file("data")}};
    auto run = run_nexus(env, {"user", "reset-password", "alice"}, 20s, std::string("alice-reset-password\n"));
    ASSERT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(run.out.find("alice-reset-password"), std::string::npos) << "a password read is never echoed";
    EXPECT_EQ(browser_call(port(), b, "GET", "/api/auth/me").status, 401) << "on the running server too";
    EXPECT_EQ(login_call(port(), "alice", "alice-password").status, 401);
    EXPECT_EQ(login_call(port(), "alice", "alice-reset-password").status, 200);
    run = run_nexus(env, {"user", "reset-password", "nobody"}, 20s, std::string("whatever-password\n"));
    EXPECT_EQ(run.exit_code, 1);
    EXPECT_NE(run.err.find("no user named 'nobody'"), std::string::npos) << run.err;
    run = run_nexus(env, {"user", "reset-password", "alice"}, 20s, std::string("short\n"));
    EXPECT_EQ(run.exit_code, 1) << "8 characters at least";
    EXPECT_EQ(login_call(port(), "alice", "alice-reset-password").status, 200);
}

TEST_F(SignIn, ResetPasswordOnATerminalPrintsANewRandomOne) {
    add_user("alice", "alice-password");
    // `script` (util-linux, on every Debian) gives the command a terminal as its standard input.
    const auto command = "env -i NEXUS_DATA_DIR=" + data_.file("data") + " script -qec '" + NexusProcess::binary() +
                         " user reset-password alice' /dev/null 2>&1";
    std::string out;
    if (FILE* p = popen(command.c_str(), "r")) {
        char buf[512];
        for (std::size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
        ASSERT_EQ(pclose(p), 0) << out;
    }
    const auto at = out.find("(shown once): ");
    ASSERT_NE(at, std::string::npos) << out;
    auto password = out.substr(at + 14, 20);
    EXPECT_EQ(password.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"),
              std::string::npos)
        << out;
    EXPECT_EQ(login_call(port(), "alice", "alice-password").status, 401);
    EXPECT_EQ(login_call(port(), "alice", password).status, 200);
}

TEST_F(SignIn, WritesAndLoginsAreAudited) {
    add_user("alice", "alice-password");
    ASSERT_EQ(login_call(port(), "alice", "wrong-password").status, 401);
    const auto b = *sign_in(port(), "alice", "alice-password");
    const auto token_id = own_token(b, "sk-nexus-alice-1");
    const auto list = admin_call(port(), "GET", "/api/audit?page_size=100");
    ASSERT_EQ(list.status, 200) << list.body;
    EXPECT_EQ(list.body.find("sk-nexus-alice-1"), std::string::npos) << "no value of a secret field";
    EXPECT_EQ(list.body.find("alice-password"), std::string::npos);
    const auto rows = json::parse(list.body).at("data").as_array();
    std::map<std::string, json::object> by_action;
    for (const auto& r : rows) by_action.emplace(std::string(r.at("action").as_string()), r.as_object());
    ASSERT_TRUE(by_action.contains("login_failed")) << list.body;
    ASSERT_TRUE(by_action.contains("login")) << list.body;
    ASSERT_TRUE(by_action.contains("create")) << list.body;
    EXPECT_EQ(by_action.at("login").at("actor_id"), b.user_id);
    EXPECT_EQ(by_action.at("login").at("ip"), "127.0.0.1");
    // Newest first: the token alice made.
    const auto& made = rows.front().as_object();
    EXPECT_EQ(made.at("action"), "create");
    EXPECT_EQ(made.at("object_type"), "token");
    EXPECT_EQ(made.at("object_id"), json::value(std::to_string(token_id)));
    EXPECT_EQ(made.at("actor_name"), "alice");
    EXPECT_EQ(made.at("fields"), (json::array{"name", "key"}));
    // Filtered by actor and object.
    const auto mine = json::parse(admin_call(port(), "GET", "/api/audit?actor_id=" + std::to_string(b.user_id) +
                                                                "&object_type=token")
                                      .body)
                          .as_object();
    EXPECT_EQ(mine.at("total"), 1);
    // A user may not read the audit log.
    EXPECT_EQ(browser_call(port(), b, "GET", "/api/audit").status, 403);
}

TEST_F(SignIn, AWriteIsInTheAuditLogByTheTimeItsAnswerArrives) {
    // Whoever reads the log right after a write's answer finds that write: the row is written first.
    for (int i = 0; i < 40; ++i) {
        const auto made = admin_call(port(), "POST", "/api/token",
                                     R"({"name":"t)" + std::to_string(i) + R"(","key":"sk-nexus-audit-)" +
                                         std::to_string(i) + "\"}");
        ASSERT_EQ(made.status, 201) << made.body;
        const auto id = std::to_string(json::parse(made.body).at("id").as_int64());
        const auto list = admin_call(port(), "GET", "/api/audit?page_size=1");
        ASSERT_EQ(list.status, 200) << list.body;
        const auto rows = json::parse(list.body).at("data").as_array();
        ASSERT_EQ(rows.size(), 1u) << list.body;
        EXPECT_EQ(rows.front().at("object_id"), json::value(id)) << "write " << i;
    }
}

}  // namespace
}  // namespace nexus::testing
