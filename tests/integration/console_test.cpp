// The web console as the real binary serves it (the browser suite in web/e2e drives it), and the
// Playground's routes it calls.
#include <gtest/gtest.h>

#include <regex>

#include "support/accounts_fixture.hpp"

namespace nexus::testing {
namespace {

namespace json = boost::json;

const Headers kBrowser{{"Accept", "text/html,application/xhtml+xml,*/*;q=0.8"}};

class Console : public AccountsTest {
protected:
    // The first script index.html loads: /assets/index-<hash>.js.
    std::string script_path() {
        const auto index = http_request(port(), "GET", "/", {}, kBrowser);
        std::smatch m;
        static const std::regex script(R"re(src="(/assets/[^"]+\.js)")re");
        EXPECT_TRUE(std::regex_search(index.body, m, script)) << index.body;
        return m.size() > 1 ? m[1].str() : std::string();
    }
};

TEST_F(Console, TheBinaryServesItWithItsSecurityHeaders) {
    const auto index = http_request(port(), "GET", "/", {}, kBrowser);
    ASSERT_EQ(index.status, 200);
    EXPECT_EQ(index.header("content-type"), "text/html; charset=utf-8");
    EXPECT_NE(index.body.find(R"(<div id="app">)"), std::string::npos) << index.body;
    EXPECT_EQ(index.body.find("<script>"), std::string::npos) << "no inline script";
    EXPECT_EQ(index.header("cache-control"), "no-cache");
    const auto csp = index.header("content-security-policy");
    EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << csp;
    EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
    EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << csp;
    EXPECT_EQ(index.header("x-content-type-options"), "nosniff");
    EXPECT_EQ(index.header("referrer-policy"), "same-origin");

    const auto path = script_path();
    const auto script = http_request(port(), "GET", path);
    ASSERT_EQ(script.status, 200) << path;
    EXPECT_EQ(script.header("content-type"), "text/javascript; charset=utf-8");
    EXPECT_EQ(script.header("cache-control"), "public, max-age=31536000, immutable");
}

TEST_F(Console, GzipWhenAcceptedAndNotModifiedWhenCached) {
    const auto path = script_path();
    const auto plain = http_request(port(), "GET", path);
    const auto packed = http_request(port(), "GET", path, {}, {{"Accept-Encoding", "gzip, deflate, br"}});
    ASSERT_EQ(packed.status, 200);
    EXPECT_EQ(packed.header("content-encoding"), "gzip");
    EXPECT_EQ(packed.header("vary"), "Accept-Encoding");
    ASSERT_GE(packed.body.size(), 2u);
    EXPECT_EQ(packed.body.substr(0, 2), "\x1f\x8b");
    EXPECT_LT(packed.body.size() * 2, plain.body.size()) << "script compresses at least in half";
    EXPECT_EQ(plain.header("content-encoding"), "");
    EXPECT_EQ(http_request(port(), "GET", path, {}, {{"Accept-Encoding", "gzip;q=0"}}).header("content-encoding"), "");

    const auto index = http_request(port(), "GET", "/", {}, kBrowser);
    const auto etag = index.header("etag");
    ASSERT_FALSE(etag.empty());
    const auto again = http_request(port(), "GET", "/", {}, {{"Accept", "text/html"}, {"If-None-Match", etag}});
    EXPECT_EQ(again.status, 304);
    EXPECT_TRUE(again.body.empty());
    EXPECT_EQ(http_request(port(), "GET", "/", {}, {{"If-None-Match", "\"other\""}}).status, 200);
    // HEAD: the same head, no body.
    const auto head = http_request(port(), "HEAD", path);
    EXPECT_EQ(head.status, 200);
    EXPECT_EQ(head.header("content-length"), std::to_string(plain.body.size()));
}

TEST_F(Console, PagesOpenByTheirUrlButApiPathsKeepTheirAnswers) {
    for (const auto* page : {"/channels", "/tokens", "/logs?page=2", "/account"}) {
        const auto res = http_request(port(), "GET", page, {}, kBrowser);
        EXPECT_EQ(res.status, 200) << page;
        EXPECT_EQ(res.header("content-type"), "text/html; charset=utf-8") << page;
    }
    // Asked by a script, an unknown path is the JSON 404 it always was.
    const auto script = http_request(port(), "GET", "/channels", {}, {{"Accept", "application/json"}});
    EXPECT_EQ(script.status, 404);
    EXPECT_EQ(error_of(script.body).at("code"), "not_found");
    EXPECT_EQ(http_request(port(), "POST", "/channels", "{}", kBrowser).status, 404);
    // API paths are never the console, whatever the client accepts.
    for (const auto* api : {"/v1/nope", "/v1/chat/completions/x", "/assets/index-missing.js"}) {
        const auto res = http_request(port(), "GET", api, {}, kBrowser);
        EXPECT_EQ(res.status, 404) << api;
        EXPECT_EQ(error_of(res.body).at("code"), "not_found") << api;
    }
    Headers admin = kBrowser;
    admin["Authorization"] = std::string("Bearer ") + kTestAdminKey;
    const auto api = http_request(port(), "GET", "/api/nope", {}, admin);
    EXPECT_EQ(api.status, 404);
    EXPECT_EQ(error_of(api.body).at("code"), "not_found");
    EXPECT_EQ(http_request(port(), "GET", "/api/channel", {}, kBrowser).status, 401);
    EXPECT_EQ(http_request(port(), "GET", "/healthz", {}, kBrowser).header("content-type"), "application/json");
    EXPECT_EQ(http_request(port(), "GET", "/metrics", {}, kBrowser).header("content-type"),
              "text/plain; version=0.0.4; charset=utf-8");
}

TEST_F(Console, ThePlaygroundCallsAsTheCallersOwnToken) {
    add_channel(port(), R"({"type":"OpenAI-Compatible","name":"m","key":"sk-aaa","base_url":")" + mock_.base_url() +
                            R"("})");
    add_user("alice", "alice-password");
    add_user("bob", "bob-password-1");
    const auto alice = *sign_in(port(), "alice", "alice-password");
    const auto bob = *sign_in(port(), "bob", "bob-password-1");
    const auto mine = own_token(alice, "sk-nexus-alice-playground");
    const auto his = own_token(bob, "sk-nexus-bob-playground");
    const auto chat = chat_body("mock-model", true);
    auto call = [&](const Browser& b, std::int64_t token, bool csrf = true) {
        return browser_call(port(), b, "POST", "/api/playground/chat/completions", chat, csrf,
                            {{"X-Nexus-Token-Id", std::to_string(token)}});
    };

    const auto ok = call(alice, mine);
    ASSERT_EQ(ok.status, 200) << ok.body;
    EXPECT_NE(ok.body.find("data: [DONE]"), std::string::npos);
    const auto rows = usage_records(1);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows.front().at("token_id"), mine) << "billed to the token chosen";

    EXPECT_EQ(call(alice, his).status, 404) << "another's token is not found";
    EXPECT_EQ(call(alice, 999).status, 404);
    EXPECT_EQ(call(alice, mine, false).status, 403) << "a write needs the CSRF token";
    const auto bare = browser_call(port(), alice, "POST", "/api/playground/chat/completions", chat);
    EXPECT_EQ(bare.status, 400);
    EXPECT_EQ(error_of(bare.body).at("param"), "X-Nexus-Token-Id");
    for (const auto* id : {"abc", "0", "-1", "1.5", "99999999999999999999999"}) {
        EXPECT_EQ(browser_call(port(), alice, "POST", "/api/playground/chat/completions", chat, true,
                               {{"X-Nexus-Token-Id", id}})
                      .status,
                  400)
            << id;
    }
    // The body is the relay's to judge, as on /v1.
    const auto broken = browser_call(port(), alice, "POST", "/api/playground/chat/completions", "{not json", true,
                                     {{"X-Nexus-Token-Id", std::to_string(mine)}});
    EXPECT_EQ(broken.status, 400);
    EXPECT_EQ(error_of(broken.body).at("type"), "invalid_request_error");
    EXPECT_EQ(http_request(port(), "POST", "/api/playground/chat/completions", chat,
                           {{"X-Nexus-Token-Id", std::to_string(mine)}})
                  .status,
              401)
        << "no session, no call";

    const auto models = browser_call(port(), alice, "GET", "/api/playground/models", {}, true,
                                     {{"X-Nexus-Token-Id", std::to_string(mine)}});
    ASSERT_EQ(models.status, 200) << models.body;
    EXPECT_EQ(json::parse(models.body).at("object"), "list");
}

TEST_F(Console, ThePlaygroundHonoursTheTokensOwnLimits) {
    add_channel(port(), R"({"type":"OpenAI-Compatible","name":"m","key":"sk-aaa","base_url":")" + mock_.base_url() +
                            R"("})");
    add_user("alice", "alice-password");
    const auto alice = *sign_in(port(), "alice", "alice-password");
    const auto limited = own_token(alice, "sk-nexus-alice-limited", R"("models":["only-this-model"])");
    const auto res = browser_call(port(), alice, "POST", "/api/playground/chat/completions", chat_body("mock-model"),
                                  true, {{"X-Nexus-Token-Id", std::to_string(limited)}});
    EXPECT_EQ(res.status, 403);
    EXPECT_EQ(error_of(res.body).at("code"), "model_not_allowed");
}

}  // namespace
}  // namespace nexus::testing
