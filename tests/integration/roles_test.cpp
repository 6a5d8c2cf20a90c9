// Who may do what: the role × route table route by route, ownership of tokens and logs, what
// admins may do to other accounts, and a user's quota shared by all his tokens under concurrency.
// The real binary against the mock upstream.
#include "support/accounts_fixture.hpp"

namespace nexus::testing {
namespace {

namespace json = boost::json;

class Roles : public AccountsTest {};

// One row of the table as the issue gives it: a route, and whether each role is let through
// (any answer but 401 and 403) or refused (403). Ids that do not exist keep the writes harmless:
// the guard decides before the handler looks.
struct RouteCase {
    const char* method;
    const char* target;
    const char* body;
    bool root;
    bool admin;
    bool user;
};

constexpr RouteCase kTable[] = {
    {"GET", "/api/channel", "", true, true, false},
    {"POST", "/api/channel", "{}", true, true, false},
    {"GET", "/api/channel/999", "", true, true, false},
    {"PUT", "/api/channel/999", "{}", true, true, false},
    {"PATCH", "/api/channel/999", "{}", true, true, false},
    {"DELETE", "/api/channel/999", "", true, true, false},
    {"POST", "/api/channel/999/test", "", true, true, false},
    {"GET", "/api/price", "", true, true, false},
    {"GET", "/api/price/some-model", "", true, true, false},
    {"PUT", "/api/price/some-model", "{}", true, true, false},
    {"DELETE", "/api/price/some-model", "", true, true, false},
    {"GET", "/api/user", "", true, true, false},
    {"POST", "/api/user", "{}", true, true, false},
    {"GET", "/api/user/999", "", true, true, false},
    {"PUT", "/api/user/999", "{}", true, true, false},
    {"PATCH", "/api/user/999", "{}", true, true, false},
    {"DELETE", "/api/user/999", "", true, true, false},
    {"POST", "/api/user/999/password", "{}", true, true, false},
    {"DELETE", "/api/user/999/totp", "", true, true, false},
    {"GET", "/api/token", "", true, true, true},
    {"POST", "/api/token", "{}", true, true, true},
    {"GET", "/api/token/999", "", true, true, true},
    {"PUT", "/api/token/999", "{}", true, true, true},
    {"DELETE", "/api/token/999", "", true, true, true},
    {"GET", "/api/log", "", true, true, true},
    {"GET", "/api/usage?group_by=day", "", true, true, true},
    {"GET", "/api/user/self", "", true, true, true},
    {"PUT", "/api/user/self", "{}", true, true, true},
    {"PUT", "/api/user/self/password", "{}", true, true, true},
    {"POST", "/api/user/self/totp/enable", "{}", true, true, true},
    {"DELETE", "/api/user/self/totp", "{}", true, true, true},
    {"GET", "/api/auth/me", "", true, true, true},
    {"GET", "/api/audit", "", true, true, false},
    {"GET", "/api/no-such-thing", "", true, true, true},
};

TEST_F(Roles, EveryRouteLetsInExactlyTheRolesTheTableNames) {
    add_user("anna", "anna-password", "admin");
    add_user("ulf", "ulf-password", "user");
    const std::pair<const char*, Browser> roles[] = {{"root", *sign_in(port(), "root", kRootPassword)},
                                                     {"admin", *sign_in(port(), "anna", "anna-password")},
                                                     {"user", *sign_in(port(), "ulf", "ulf-password")}};
    for (const auto& c : kTable) {
        for (const auto& [role, browser] : roles) {
            const bool allowed = std::string(role) == "root" ? c.root : std::string(role) == "admin" ? c.admin : c.user;
            const auto res = browser_call(port(), browser, c.method, c.target, c.body);
            const auto where = std::string(role) + " " + c.method + " " + c.target + " → " + std::to_string(res.status) +
                               " " + res.body;
            EXPECT_NE(res.status, 401) << where;
            if (allowed) {
                EXPECT_NE(res.status, 403) << where;
            } else {
                EXPECT_EQ(res.status, 403) << where;
                EXPECT_EQ(error_of(res.body).at("code"), "permission_denied") << where;
            }
        }
    }
}

TEST_F(Roles, TheAdminKeyActsAsRoot) {
    const auto me = json::parse(admin_call(port(), "GET", "/api/auth/me").body).as_object();
    EXPECT_EQ(me.at("user").at("username"), "root");
    for (const auto& c : kTable) {
        const auto res = admin_call(port(), c.method, c.target, c.body);
        EXPECT_NE(res.status, 401) << c.method << " " << c.target;
        EXPECT_NE(res.status, 403) << c.method << " " << c.target;
    }
}

TEST_F(Roles, AdminsManageUsersButNotAdminsOrRoot) {
    const auto anna = add_user("anna", "anna-password", "admin");
    const auto bert = add_user("bert", "bert-password", "admin");
    const auto ulf = add_user("ulf", "ulf-password");
    const auto a = *sign_in(port(), "anna", "anna-password");
    const auto user_path = [](std::int64_t id) { return "/api/user/" + std::to_string(id); };
    EXPECT_EQ(browser_call(port(), a, "PUT", user_path(ulf), R"({"remain_quota":50})").status, 200);
    EXPECT_EQ(browser_call(port(), a, "POST", user_path(ulf) + "/password", R"({"password":"ulf-new-password"})").status,
              204);
    EXPECT_EQ(browser_call(port(), a, "PUT", user_path(bert), R"({"display_name":"B"})").status, 403);
    EXPECT_EQ(browser_call(port(), a, "PUT", user_path(1), R"({"display_name":"R"})").status, 403) << "root";
    EXPECT_EQ(browser_call(port(), a, "DELETE", user_path(bert)).status, 403);
    EXPECT_EQ(browser_call(port(), a, "PUT", user_path(ulf), R"({"role":"admin"})").status, 403) << "no promotions";
    EXPECT_EQ(browser_call(port(), a, "POST", "/api/user", R"({"username":"xx1","password":"xx1-password","role":"admin"})")
                  .status,
              403);
    EXPECT_EQ(browser_call(port(), a, "POST", "/api/user", R"({"username":"xx2","password":"xx2-password"})").status, 201);
    EXPECT_EQ(browser_call(port(), a, "GET", user_path(bert)).status, 200) << "admins see every account";
    // Root may; but no root account is deleted, disabled or demoted, by anyone.
    EXPECT_EQ(admin_call(port(), "PUT", user_path(anna), R"({"role":"user"})").status, 200);
    EXPECT_EQ(admin_call(port(), "DELETE", user_path(1)).status, 403);
    EXPECT_EQ(admin_call(port(), "PUT", user_path(1), R"({"status":2})").status, 403);
    EXPECT_EQ(admin_call(port(), "PUT", user_path(1), R"({"role":"admin"})").status, 403);
    EXPECT_EQ(admin_call(port(), "DELETE", user_path(ulf)).status, 204);
}

TEST_F(Roles, AUserCannotRaiseHisOwnQuotaOrRole) {
    const auto id = add_user("ulf", "ulf-password", "user", R"("remain_quota":10)");
    const auto u = *sign_in(port(), "ulf", "ulf-password");
    for (const char* body : {R"({"remain_quota":1000})", R"({"role":"admin"})", R"({"status":1})", R"({"group":"vip"})"}) {
        EXPECT_EQ(browser_call(port(), u, "PUT", "/api/user/self", body).status, 403) << body;
    }
    EXPECT_EQ(browser_call(port(), u, "PUT", "/api/user/" + std::to_string(id), R"({"remain_quota":1000})").status, 403);
    const auto res = browser_call(port(), u, "PUT", "/api/user/self", R"({"display_name":"Ulf"})");
    ASSERT_EQ(res.status, 200) << res.body;
    const auto me = user_state(id);
    EXPECT_EQ(me.at("display_name"), "Ulf");
    EXPECT_EQ(me.at("remain_quota"), 10);
    EXPECT_EQ(me.at("role"), "user");
}

TEST_F(Roles, AnotherUsersTokenIsNotFound) {
    add_user("alice", "alice-password");
    add_user("bob", "bob-password");
    const auto a = *sign_in(port(), "alice", "alice-password");
    const auto b = *sign_in(port(), "bob", "bob-password");
    const auto hers = own_token(a, "sk-nexus-alice-1");
    const auto his = own_token(b, "sk-nexus-bob-1");
    const auto path = "/api/token/" + std::to_string(his);
    for (const auto& [method, body] : std::vector<std::pair<std::string, std::string>>{
             {"GET", ""}, {"PUT", R"({"name":"stolen"})"}, {"DELETE", ""}}) {
        const auto res = browser_call(port(), a, method, path, body);
        EXPECT_EQ(res.status, 404) << method << " " << res.body;
        EXPECT_EQ(error_of(res.body), error_of(browser_call(port(), a, method, "/api/token/" + std::to_string(his), body).body))
            << "stable";
        const auto none = browser_call(port(), a, "GET", "/api/token/99999");
        EXPECT_EQ(error_of(res.body).at("code"), error_of(none.body).at("code"))
            << "the same answer as for an id that does not exist";
    }
    EXPECT_EQ(json::parse(admin_call(port(), "GET", path).body).at("name"), "mine") << "his token is untouched";
    const auto list = json::parse(browser_call(port(), a, "GET", "/api/token").body).as_object();
    ASSERT_EQ(list.at("total"), 1);
    EXPECT_EQ(list.at("data").as_array().front().at("id"), hers);
    EXPECT_EQ(list.at("data").as_array().front().at("user_id"), a.user_id);
    // Nor can she make one for him.
    const auto res = browser_call(port(), a, "POST", "/api/token",
                                  R"({"name":"x","user_id":)" + std::to_string(b.user_id) + "}");
    EXPECT_EQ(res.status, 403) << res.body;
    // Admins see every token, and may give one to any user who exists.
    EXPECT_EQ(json::parse(admin_call(port(), "GET", "/api/token").body).at("total"), 2);
    EXPECT_EQ(admin_call(port(), "POST", "/api/token", R"({"name":"x","user_id":424242})").status, 400);
}

TEST_F(Roles, AUserSeesTheLogOfHisOwnTokensOnly) {
    add_channel(port(), channel_body("A", "sk-aaa", mock_.base_url()));
    add_user("alice", "alice-password");
    add_user("bob", "bob-password");
    const auto a = *sign_in(port(), "alice", "alice-password");
    const auto b = *sign_in(port(), "bob", "bob-password");
    own_token(a, "sk-nexus-alice-1");
    own_token(b, "sk-nexus-bob-1");
    ASSERT_EQ(post_chat(port(), chat_body("m"), as("sk-nexus-alice-1")).status, 200);
    ASSERT_EQ(post_chat(port(), chat_body("m"), as("sk-nexus-bob-1")).status, 200);
    ASSERT_EQ(post_chat(port(), chat_body("m"), as("sk-nexus-bob-1")).status, 200);
    ASSERT_EQ(usage_records(3).size(), 3u);
    const auto log = json::parse(browser_call(port(), a, "GET", "/api/log").body).as_object();
    EXPECT_EQ(log.at("total"), 1);
    const auto asked = json::parse(browser_call(port(), a, "GET", "/api/log?user_id=" + std::to_string(b.user_id)).body);
    EXPECT_EQ(asked.at("total"), 1) << "asking for another's rows still gives one's own";
    const auto sums = json::parse(browser_call(port(), b, "GET", "/api/usage?group_by=model").body).at("data").as_array();
    ASSERT_EQ(sums.size(), 1u);
    EXPECT_EQ(sums.front().at("calls"), 2);
}

TEST_F(Roles, AUsersQuotaCoversAllHisTokensUnderConcurrency) {
    add_channel(port(), channel_body("A", "sk-aaa", mock_.base_url()));
    ASSERT_EQ(admin_call(port(), "PUT", "/api/price/m", R"({"per_request":10})").status, 200);
    const auto id = add_user("alice", "alice-password", "user", R"("remain_quota":100)");
    const auto a = *sign_in(port(), "alice", "alice-password");
    const auto limited = own_token(a, "sk-nexus-alice-1", R"("remain_quota":30)");
    const auto unlimited = own_token(a, "sk-nexus-alice-2");
    const auto answers = all_at_once(60, [&](int i) {
        return post_chat(port(), chat_body("m", true, 3, 30), as(i % 2 ? "sk-nexus-alice-1" : "sk-nexus-alice-2"));
    });
    int ok = 0;
    for (const auto& res : answers) {
        if (res.status == 200) {
            ++ok;
        } else {
            EXPECT_EQ(res.status, 429) << res.body;
            EXPECT_EQ(error_of(res.body).at("code"), "insufficient_quota");
        }
    }
    EXPECT_EQ(ok, 10) << "the user's 100 units hold exactly 10 calls, over both tokens";
    const auto rows = usage_records(60, "?page_size=100");
    ASSERT_EQ(rows.size(), 60u);
    std::int64_t billed = 0;
    for (const auto& r : rows) {
        billed += r.at("quota").as_int64();
        EXPECT_EQ(r.at("user_id"), id);
    }
    EXPECT_EQ(billed, 100);
    const auto user = user_state(id);
    EXPECT_EQ(user.at("used_quota"), 100);
    EXPECT_EQ(user.at("remain_quota"), 0);
    const auto t1 = json::parse(admin_call(port(), "GET", "/api/token/" + std::to_string(limited)).body);
    const auto t2 = json::parse(admin_call(port(), "GET", "/api/token/" + std::to_string(unlimited)).body);
    EXPECT_LE(t1.at("used_quota").as_int64(), 30) << "and each token within its own";
    EXPECT_EQ(t1.at("used_quota").as_int64() + t2.at("used_quota").as_int64(), 100);
    // The balance survives a restart exactly: the ledger holds it.
    start({{"NEXUS_ROOT_PASSWORD", kRootPassword}});
    EXPECT_EQ(user_state(id).at("remain_quota"), 0);
    EXPECT_EQ(post_chat(port(), chat_body("m"), as("sk-nexus-alice-2")).status, 429);
    // A top-up lets him call again.
    ASSERT_EQ(admin_call(port(), "PUT", "/api/user/" + std::to_string(id), R"({"remain_quota":10})").status, 200);
    EXPECT_EQ(post_chat(port(), chat_body("m"), as("sk-nexus-alice-2")).status, 200);
}

TEST_F(Roles, ADisabledOrDeletedUsersTokensAreRefused) {
    add_channel(port(), channel_body("A", "sk-aaa", mock_.base_url()));
    const auto id = add_user("alice", "alice-password");
    const auto a = *sign_in(port(), "alice", "alice-password");
    const auto token = own_token(a, "sk-nexus-alice-1");
    ASSERT_EQ(post_chat(port(), chat_body("m"), as("sk-nexus-alice-1")).status, 200);
    ASSERT_EQ(admin_call(port(), "PUT", "/api/user/" + std::to_string(id), R"({"status":2})").status, 200);
    auto res = post_chat(port(), chat_body("m"), as("sk-nexus-alice-1"));
    EXPECT_EQ(res.status, 401) << "at the very next call";
    EXPECT_EQ(error_of(res.body).at("code"), "user_disabled");
    ASSERT_EQ(admin_call(port(), "PUT", "/api/user/" + std::to_string(id), R"({"status":1})").status, 200);
    EXPECT_EQ(post_chat(port(), chat_body("m"), as("sk-nexus-alice-1")).status, 200);
    ASSERT_EQ(admin_call(port(), "DELETE", "/api/user/" + std::to_string(id)).status, 204);
    EXPECT_EQ(admin_call(port(), "GET", "/api/token/" + std::to_string(token)).status, 404) << "his tokens go with him";
    EXPECT_EQ(post_chat(port(), chat_body("m"), as("sk-nexus-alice-1")).status, 401);
}

TEST_F(Roles, UserFieldsAreCheckedOneByOne) {
    const std::pair<std::string, std::string> bad[] = {
        {R"({"username":"ab","password":"long-enough"})", "username"},
        {R"({"username":"a b c","password":"long-enough"})", "username"},
        {R"({"username":"abc","password":"short"})", "password"},
        {R"({"username":"abc","password":"long-enough","role":"god"})", "role"},
        {R"({"username":"abc","password":"long-enough","remain_quota":-2})", "remain_quota"},
        {R"({"username":"abc","password":"long-enough","colour":"red"})", "colour"},
        {R"({"password":"long-enough"})", "username"},
        {R"({"username":"abc","password":12345678})", "password"},
        {R"({"username":"abc","password":"long-enough","display_name":5})", "display_name"},
        {R"({"username":"abc","password":"long-enough","status":"1"})", "status"},
        {R"({"username":"abc","password":"long-enough","status":3})", "status"},
        {R"({"username":"abc","password":"long-enough","remain_quota":"x"})", "remain_quota"},
    };
    for (const auto& [body, param] : bad) {
        const auto res = admin_call(port(), "POST", "/api/user", body);
        EXPECT_EQ(res.status, 400) << body << " " << res.body;
        EXPECT_EQ(error_of(res.body).at("param"), json::value(param)) << body;
    }
    const auto id = add_user("alice", "alice-password");
    const auto path = "/api/user/" + std::to_string(id);
    for (const auto& [body, param] : std::vector<std::pair<std::string, std::string>>{
             {R"({"username":"other"})", "username"}, {R"({"password":"long-enough"})", "password"},
             {R"({"used_quota":0})", "used_quota"}, {R"({"role":null})", "role"}}) {
        const auto res = admin_call(port(), "PUT", path, body);
        EXPECT_EQ(res.status, 400) << body << " " << res.body;
        EXPECT_EQ(error_of(res.body).at("param"), json::value(param)) << body;
    }
    EXPECT_EQ(admin_call(port(), "PUT", path, "{not json").status, 400);
    EXPECT_EQ(admin_call(port(), "POST", path + "/password", R"({"password":["x"]})").status, 400);
    EXPECT_EQ(user_state(id).at("username"), "alice") << "nothing changed by any of them";
    const auto dup = admin_call(port(), "POST", "/api/user", R"({"username":"Alice","password":"long-enough"})");
    EXPECT_EQ(dup.status, 409) << "usernames are unique in any case";
    const auto list = json::parse(admin_call(port(), "GET", "/api/user?role=user&q=ali").body).as_object();
    EXPECT_EQ(list.at("total"), 1);
    EXPECT_EQ(list.at("data").as_array().front().at("username"), "alice");
}

}  // namespace
}  // namespace nexus::testing
