// The admin API against the real binary: authentication, channels, tokens, secrets at rest.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <thread>

#include "core/crypto.hpp"
#include "support/fixtures.hpp"

namespace nexus::testing {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

constexpr const char* kAdminKey = kTestAdminKey;

class Admin : public ::testing::Test {
protected:
    void SetUp() override { start(); }
    void start(Env extra = {}) {
        Env env{{"NEXUS_ADMIN_KEY", kAdminKey}, {"NEXUS_DATA_DIR", data_.file("data")}};
        for (auto& [k, v] : extra) env[k] = v;
        nexus_.reset();  // one server per database
        nexus_ = std::make_unique<NexusProcess>(env);
        ASSERT_TRUE(nexus_->wait_ready()) << nexus_->stderr_text();
    }
    void restart(Env extra = {}) {
        nexus_->signal(SIGTERM);
        ASSERT_EQ(nexus_->wait_exit(10s), 0);
        start(std::move(extra));
    }
    HttpResponse call(const std::string& method, const std::string& target, const std::string& body = {},
                      const std::string& key = kAdminKey) {
        Headers h;
        if (!key.empty()) h["Authorization"] = "Bearer " + key;
        return http_request(nexus_->port(), method, target, body, h);
    }
    json::object create_channel(const std::string& body) {
        const auto res = call("POST", "/api/channel", body);
        EXPECT_EQ(res.status, 201) << res.body;
        return json::parse(res.body).as_object();
    }
    /// Every byte nexus-api keeps on disk and has logged.
    std::string everything_written() {
        std::string all = nexus_->stdout_text() + nexus_->stderr_text();
        for (const auto& e : std::filesystem::recursive_directory_iterator(data_.file("data"))) {
            if (e.is_regular_file()) all += read_file(e.path());
        }
        return all;
    }

    TempDir data_;
    std::unique_ptr<NexusProcess> nexus_;
};

TEST_F(Admin, EveryRouteNeedsTheAdminKey) {
    for (const auto& [method, target] : std::vector<std::pair<std::string, std::string>>{
             {"GET", "/api/channel"}, {"POST", "/api/channel"}, {"GET", "/api/channel/1"}, {"PUT", "/api/channel/1"},
             {"DELETE", "/api/channel/1"}, {"GET", "/api/token"}, {"POST", "/api/token"}, {"GET", "/api/nothing"}}) {
        const auto res = call(method, target, "{}", "");
        EXPECT_EQ(res.status, 401) << method << " " << target;
        EXPECT_EQ(error_of(res.body).at("type"), "authentication_error");
    }
    // A wrong key (and a non-Bearer scheme) is refused the same way. 10 failures so far: the limit.
    auto res = call("GET", "/api/channel", {}, "wrong-key-wrong-key");
    EXPECT_EQ(res.status, 401);
    EXPECT_EQ(error_of(res.body).at("code"), "invalid_admin_key");
    res = http_request(nexus_->port(), "GET", "/api/channel", {}, {{"Authorization", std::string("Basic ") + kAdminKey}});
    EXPECT_EQ(res.status, 401);
}

TEST_F(Admin, TheRightKeyIsNeverRefusedByTheLimiter) {
    for (int i = 0; i < 12; ++i) call("GET", "/api/channel", {}, "guess-" + std::to_string(i));
    EXPECT_EQ(call("GET", "/api/channel", {}, "one-more-guess").status, 429);
    EXPECT_EQ(call("GET", "/api/channel").status, 200) << "a guesser locked the admin out";
}

TEST_F(Admin, ACallWithoutCredentialsIsNotAFailedLogin) {
    for (int i = 0; i < 15; ++i) EXPECT_EQ(call("GET", "/api/channel", {}, "").status, 401) << i;
    EXPECT_EQ(call("GET", "/api/channel", {}, "a-wrong-key").status, 401) << "calls without a key were counted";
}

TEST_F(Admin, RepeatedFailuresAreSlowedDown) {
    int last = 0;
    for (int i = 0; i < 12; ++i) last = call("GET", "/api/channel", {}, "guess-" + std::to_string(i)).status;
    EXPECT_EQ(last, 429);
    const auto res = call("GET", "/api/channel", {}, "another-guess");
    EXPECT_EQ(res.status, 429);
    EXPECT_FALSE(res.header("retry-after").empty());
    EXPECT_EQ(error_of(res.body).at("type"), "rate_limit_error");
}

TEST_F(Admin, ChannelLifecycle) {
    const auto created = call("POST", "/api/channel", R"({"type":"OpenAI","name":"我的备用key","key":"sk-xxxxAAAABBBBCCCC1234"})");
    ASSERT_EQ(created.status, 201) << created.body;
    const auto c = json::parse(created.body).as_object();
    const auto id = c.at("id").as_int64();
    EXPECT_EQ(created.header("location"), "/api/channel/" + std::to_string(id));
    EXPECT_EQ(c.at("name"), "我的备用key");
    EXPECT_EQ(c.at("key"), "sk-xxxx...1234");
    EXPECT_EQ(c.at("base_url"), "https://api.openai.com");
    EXPECT_EQ(created.body.find("AAAABBBBCCCC"), std::string::npos);

    auto list = call("GET", "/api/channel");
    ASSERT_EQ(list.status, 200);
    auto doc = json::parse(list.body).as_object();
    EXPECT_EQ(doc.at("object"), "list");
    EXPECT_EQ(doc.at("total"), 1);
    const std::string masked(doc.at("data").at(0).at("key").as_string());
    EXPECT_TRUE(std::regex_match(masked, std::regex(R"(sk-.{4}\.\.\..{4})"))) << masked;

    auto updated = call("PUT", "/api/channel/" + std::to_string(id), R"({"name":"我的主力Key"})");
    ASSERT_EQ(updated.status, 200) << updated.body;
    EXPECT_EQ(json::parse(updated.body).at("name"), "我的主力Key");
    EXPECT_EQ(json::parse(updated.body).at("key"), "sk-xxxx...1234");

    auto got = call("GET", "/api/channel/" + std::to_string(id));
    EXPECT_EQ(got.status, 200);
    EXPECT_EQ(json::parse(got.body).at("name"), "我的主力Key");

    const auto deleted = call("DELETE", "/api/channel/" + std::to_string(id));
    EXPECT_EQ(deleted.status, 204);
    EXPECT_TRUE(deleted.body.empty());
    EXPECT_EQ(deleted.header("content-length"), "");
    EXPECT_EQ(call("GET", "/api/channel/" + std::to_string(id)).status, 404);
    EXPECT_EQ(call("DELETE", "/api/channel/" + std::to_string(id)).status, 404);
    EXPECT_EQ(call("PUT", "/api/channel/" + std::to_string(id), R"({"name":"x"})").status, 404);
}

TEST_F(Admin, CreateWithoutKeyIs400WithAClearMessage) {
    const auto res = call("POST", "/api/channel", R"({"type":"OpenAI","name":"no key"})");
    EXPECT_EQ(res.status, 400);
    const auto e = error_of(res.body);
    EXPECT_EQ(e.at("type"), "invalid_request_error");
    EXPECT_EQ(e.at("param"), "key");
    EXPECT_NE(std::string(e.at("message").as_string()).find("key"), std::string::npos);
}

TEST_F(Admin, BadInputIs400AndWritesNothing) {
    for (const auto& [body, param] : std::vector<std::pair<std::string, std::string>>{
             {"{oops", ""}, {"[]", ""}, {"\"x\"", ""},
             {R"({"type":"OpenAI","key":"k"})", "name"},
             {R"({"name":"n","key":"k"})", "type"},
             {R"({"type":"Nope","name":"n","key":"k"})", "type"},
             {R"({"type":"OpenAI","name":"n","key":"k","weight":-1})", "weight"},
             {R"({"type":"OpenAI","name":"n","key":"k","priority":"high"})", "priority"},
             {R"({"type":"OpenAI","name":"n","key":"k","base_url":"mailto:x@y"})", "base_url"},
             {R"({"type":"OpenAI","name":"n","key":"k","base_url":"http://h:65536"})", "base_url"},
             {R"({"type":"OpenAI","name":"n","key":"k","base_url":"http://h:99999999999999999999"})", "base_url"},
             {R"({"type":"OpenAI","name":"n","key":"k","weight":1000001})", "weight"},
             {R"({"type":"OpenAI","name":"n","key":"k","surprise":true})", "surprise"},
             {R"({"type":"OpenAI-Compatible","name":"n","key":"k"})", "base_url"}}) {
        const auto res = call("POST", "/api/channel", body);
        EXPECT_EQ(res.status, 400) << body;
        const auto e = error_of(res.body);
        if (param.empty()) {
            EXPECT_TRUE(e.at("param").is_null()) << body;
        } else {
            EXPECT_EQ(std::string(e.at("param").as_string()), param) << body;
        }
    }
    // An update with a bad field changes nothing either.
    const auto id = create_channel(R"({"type":"SiliconFlow","name":"keep","key":"sk-1234567890abcdef"})").at("id").as_int64();
    EXPECT_EQ(call("PUT", "/api/channel/" + std::to_string(id), R"({"name":"changed","weight":-4})").status, 400);
    EXPECT_EQ(json::parse(call("GET", "/api/channel/" + std::to_string(id)).body).at("name"), "keep");
    EXPECT_EQ(json::parse(call("GET", "/api/channel").body).at("total"), 1);
    EXPECT_EQ(call("GET", "/api/channel/abc").status, 404);
    EXPECT_EQ(call("GET", "/api/channel?page=0").status, 400);
    EXPECT_EQ(call("GET", "/api/channel?page_size=1000").status, 400);
    EXPECT_EQ(call("GET", "/api/channel?status=enabled").status, 400);
    EXPECT_EQ(call("GET", "/api/token?page=-1").status, 400);
    // Bytes that are not UTF-8 are not JSON: refused, nothing written.
    EXPECT_EQ(call("POST", "/api/channel", "{\"type\":\"OpenAI\",\"name\":\"\xff\xfe\",\"key\":\"k\"}").status, 400);
    EXPECT_EQ(call("POST", "/api/token", "{\"name\":\"\xc3\"}").status, 400);
    EXPECT_EQ(call("PATCH", "/api/token").status, 405);
}

TEST_F(Admin, OversizedBodyIs413) {
    const std::string big = R"({"type":"OpenAI","name":")" + std::string(2 << 20, 'n') + R"(","key":"k"})";
    const auto res = call("POST", "/api/channel", big);
    EXPECT_EQ(res.status, 413);
    EXPECT_EQ(json::parse(call("GET", "/api/channel").body).at("total"), 0);
}

TEST_F(Admin, ListPagingAndFilters) {
    for (int i = 0; i < 7; ++i) {
        create_channel(R"({"type":"SiliconFlow","name":"sf-)" + std::to_string(i) + R"(","key":"sk-1234567890abcdef")" +
                       (i < 2 ? R"(,"status":2})" : "}"));
    }
    auto doc = json::parse(call("GET", "/api/channel?page=2&page_size=3").body);
    EXPECT_EQ(doc.at("total"), 7);
    EXPECT_EQ(doc.at("data").as_array().size(), 3u);
    EXPECT_EQ(doc.at("data").at(0).at("name"), "sf-3");
    doc = json::parse(call("GET", "/api/channel?status=2").body);
    EXPECT_EQ(doc.at("total"), 2);
    doc = json::parse(call("GET", "/api/channel?q=sf-6").body);
    EXPECT_EQ(doc.at("total"), 1);
}

TEST_F(Admin, TokenKeyShownInFullOnlyOnce) {
    const auto created = call("POST", "/api/token", R"({"name":"my app"})");
    ASSERT_EQ(created.status, 201) << created.body;
    const auto t = json::parse(created.body).as_object();
    const std::string key(t.at("key").as_string());
    EXPECT_TRUE(std::regex_match(key, std::regex("sk-[A-Za-z0-9]{48}"))) << key;
    const auto id = std::to_string(t.at("id").as_int64());
    EXPECT_EQ(created.header("location"), "/api/token/" + id);
    const auto got = call("GET", "/api/token/" + id);
    EXPECT_EQ(got.body.find(key), std::string::npos);
    EXPECT_EQ(std::string(json::parse(got.body).at("key").as_string()), key.substr(0, 7) + "..." + key.substr(key.size() - 4));
    EXPECT_EQ(call("GET", "/api/token").body.find(key), std::string::npos);
    EXPECT_EQ(json::parse(got.body).at("expired_time"), -1);
    EXPECT_EQ(json::parse(got.body).at("status"), 1);

    const auto updated = call("PUT", "/api/token/" + id, R"({"status":0})");
    EXPECT_EQ(updated.status, 200);
    EXPECT_EQ(json::parse(updated.body).at("status"), 0);
    EXPECT_EQ(call("PUT", "/api/token/" + id, R"({"key":"sk-new-key-123"})").status, 400);
    EXPECT_EQ(call("DELETE", "/api/token/" + id).status, 204);
    EXPECT_EQ(call("GET", "/api/token/" + id).status, 404);
}

TEST_F(Admin, GivenTokenKeysAreUnique) {
    EXPECT_EQ(call("POST", "/api/token", R"({"name":"a","key":"sk-nexus-abc"})").status, 201);
    const auto dup = call("POST", "/api/token", R"({"name":"b","key":"sk-nexus-abc"})");
    EXPECT_EQ(dup.status, 409);
    EXPECT_EQ(error_of(dup.body).at("param"), "key");
    EXPECT_EQ(call("POST", "/api/token", R"({"name":"c","key":"short"})").status, 400);
    EXPECT_EQ(json::parse(call("GET", "/api/token").body).at("total"), 1);
}

TEST_F(Admin, StatePersistsAcrossRestart) {
    const auto id = create_channel(R"({"type":"SiliconFlow","name":"persist","key":"sk-persist-0000-1111"})").at("id").as_int64();
    ASSERT_EQ(call("POST", "/api/token", R"({"name":"t","key":"sk-nexus-persist"})").status, 201);
    restart();
    const auto got = call("GET", "/api/channel/" + std::to_string(id));
    ASSERT_EQ(got.status, 200);
    EXPECT_EQ(json::parse(got.body).at("name"), "persist");
    EXPECT_EQ(json::parse(call("GET", "/api/token").body).at("total"), 1);
}

// An admin write is on disk when its 2xx is sent: a kill -9 right after a burst loses none.
TEST_F(Admin, AdminWritesSurviveAKillRightAfterTheirAnswers) {
    for (int i = 0; i < 20; ++i) {
        create_channel(R"({"type":"SiliconFlow","name":"c)" + std::to_string(i) + R"(","key":"sk-kill-0000-1111-)" +
                       std::to_string(i) + R"("})");
        ASSERT_EQ(call("POST", "/api/token", R"({"name":"t)" + std::to_string(i) + R"("})").status, 201);
    }
    ASSERT_EQ(call("PUT", "/api/channel/20", R"({"name":"renamed","key":"sk-rotated-2222-3333"})").status, 200);
    ASSERT_EQ(call("DELETE", "/api/token/20").status, 204);
    nexus_->signal(SIGKILL);
    ASSERT_EQ(nexus_->wait_exit(10s), -SIGKILL);
    start();
    EXPECT_EQ(json::parse(call("GET", "/api/channel?page_size=100").body).at("total"), 20);
    EXPECT_EQ(json::parse(call("GET", "/api/token?page_size=100").body).at("total"), 19);
    const auto renamed = json::parse(call("GET", "/api/channel/20").body);
    EXPECT_EQ(renamed.at("name"), "renamed");
    EXPECT_EQ(renamed.at("key"), "sk-rota...3333");
}

TEST_F(Admin, NoKeyOrTokenInPlainTextOnDiskOrInLogs) {
    create_channel(R"({"type":"SiliconFlow","name":"c","key":"sk-channel-secret-ABCDEFGH"})");
    const auto created = call("POST", "/api/token", R"({"name":"t"})");
    ASSERT_EQ(created.status, 201) << created.body;
    const std::string token(json::parse(created.body).at("key").as_string());
    ASSERT_EQ(token.size(), 51u) << token;  // "sk-" and 48 random characters: something to look for
    ASSERT_EQ(call("POST", "/api/token", R"({"name":"u","key":"sk-given-token-XYZ"})").status, 201);
    const auto rotated = call("PUT", "/api/channel/1", R"({"key":"sk-rotated-secret-IJKLMNOP"})");
    ASSERT_EQ(rotated.status, 200) << rotated.body;
    EXPECT_EQ(json::parse(rotated.body).at("key"), "sk-rota...MNOP");
    nexus_->signal(SIGTERM);
    ASSERT_EQ(nexus_->wait_exit(10s), 0);
    const auto all = everything_written();
    EXPECT_EQ(all.find("channel-secret-ABCDEFGH"), std::string::npos);
    EXPECT_EQ(all.find("rotated-secret-IJKLMNOP"), std::string::npos);
    EXPECT_EQ(all.find(token.substr(3)), std::string::npos);
    EXPECT_EQ(all.find("sk-given-token-XYZ"), std::string::npos);
    EXPECT_EQ(all.find(kAdminKey), std::string::npos);
    // The master key file is owner-only.
    const auto perms = std::filesystem::status(data_.file("data/secret.key")).permissions();
    EXPECT_EQ(perms & (std::filesystem::perms::group_all | std::filesystem::perms::others_all),
              std::filesystem::perms::none);
}

// A key rotated through PUT {"key":…} is the key the upstream gets from the next call on.
TEST(AdminKeys, ARotatedChannelKeyIsWhatTheUpstreamReceives) {
    MockUpstream mock{mock_options([](auto& o) { o.other_good_keys = {"sk-second-key-4567"}; })};
    NexusProcess nexus(Env{{"SILICONFLOW_API_KEY", mock.good_key()}, {"SILICONFLOW_BASE_URL", mock.base_url()}});
    ASSERT_TRUE(nexus.wait_ready()) << nexus.stderr_text();
    add_token(nexus.port());
    ASSERT_EQ(post_chat(nexus.port(), chat_body("m")).status, 200);
    ASSERT_EQ(admin_call(nexus.port(), "PUT", "/api/channel/1", R"({"key":"sk-second-key-4567"})").status, 200);
    ASSERT_EQ(post_chat(nexus.port(), chat_body("m")).status, 200);
    const auto seen = mock.requests();
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].headers.at("authorization"), "Bearer " + mock.good_key());
    EXPECT_EQ(seen[1].headers.at("authorization"), "Bearer sk-second-key-4567");
}

TEST_F(Admin, WrongMasterKeyStopsStartupAndChangesNothing) {
    create_channel(R"({"type":"SiliconFlow","name":"c","key":"sk-1234567890abcdef"})");
    nexus_->signal(SIGTERM);
    ASSERT_EQ(nexus_->wait_exit(10s), 0);
    const auto key_before = read_file(data_.file("data/secret.key"));
    const auto r = run_nexus(Env{{"NEXUS_DATA_DIR", data_.file("data")},
                                 {"NEXUS_SECRET", core::to_hex(core::random_bytes(32))},
                                 {"NEXUS_PORT", "0"}},
                             {});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("master key"), std::string::npos) << r.err;
    // Missing key file with encrypted values: refused too, and no new key is generated.
    std::filesystem::rename(data_.file("data/secret.key"), data_.file("secret.key.bak"));
    const auto r2 = run_nexus(Env{{"NEXUS_DATA_DIR", data_.file("data")}, {"NEXUS_PORT", "0"}}, {});
    EXPECT_NE(r2.exit_code, 0);
    EXPECT_NE(r2.err.find("secret.key"), std::string::npos) << r2.err;
    EXPECT_FALSE(std::filesystem::exists(data_.file("data/secret.key")));
    std::filesystem::rename(data_.file("secret.key.bak"), data_.file("data/secret.key"));
    EXPECT_EQ(read_file(data_.file("data/secret.key")), key_before);
    start();
    EXPECT_EQ(json::parse(call("GET", "/api/channel").body).at("total"), 1);
}

TEST(AdminKey, GeneratedOnFirstStartPrintedOnceAndKeptByHash) {
    TempDir data;
    std::string key;
    {
        NexusProcess nexus(Env{{"NEXUS_DATA_DIR", data.file("data")}, {"NEXUS_ADMIN_KEY", ""}});
        ASSERT_TRUE(nexus.wait_ready()) << nexus.stderr_text();
        std::smatch m;
        const auto err = nexus.stderr_text();
        ASSERT_TRUE(std::regex_search(err, m, std::regex("nexus-admin-[A-Za-z0-9]{40}"))) << err;
        key = m.str();
        const auto res = http_request(nexus.port(), "GET", "/api/channel", {}, {{"Authorization", "Bearer " + key}});
        EXPECT_EQ(res.status, 200);
        nexus.signal(SIGTERM);
        ASSERT_EQ(nexus.wait_exit(10s), 0);
    }
    NexusProcess again(Env{{"NEXUS_DATA_DIR", data.file("data")}, {"NEXUS_ADMIN_KEY", ""}});
    ASSERT_TRUE(again.wait_ready()) << again.stderr_text();
    EXPECT_EQ(again.stderr_text().find("nexus-admin-"), std::string::npos) << "the key is shown only once";
    EXPECT_EQ(http_request(again.port(), "GET", "/api/channel", {}, {{"Authorization", "Bearer " + key}}).status, 200);
    const auto db = read_file(data.file("data/nexus.db")) + read_file(data.file("data/nexus.db-wal"));
    EXPECT_EQ(db.find(key), std::string::npos);
}

}  // namespace
}  // namespace nexus::testing
