// What the README promises an operator, each shown against the real binary: model lists expire,
// old usage records are pruned, a rested channel comes back, a CA directory is trusted, and a
// base64 master key is the same key as its hex form.
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <filesystem>
#include <thread>

#include "core/crypto.hpp"
#include "store/master_key.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "support/fixtures.hpp"
#include "support/test_cert.hpp"

namespace nexus::testing {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

std::int64_t now_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::uint16_t closed_port() {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
    return a.local_endpoint().port();
}

// The value of metric `line` (its name and labels), or -1.
long metric(std::uint16_t port, const std::string& line) {
    const auto text = http_request(port, "GET", "/metrics").body;
    const auto at = text.find("\n" + line + " ");
    return at == std::string::npos ? -1 : std::stol(text.substr(at + line.size() + 2));
}

TEST(Operations, ModelListsAreFetchedAgainOnceTheyExpire) {
    MockUpstream mock{MockUpstream::Options{}};
    NexusProcess nexus(Env{{"SILICONFLOW_API_KEY", mock.good_key()},
                           {"SILICONFLOW_BASE_URL", mock.base_url()},
                           {"NEXUS_THREADS", "1"},
                           {"NEXUS_MODELS_REFRESH_SECONDS", "1"}});
    ASSERT_TRUE(nexus.wait_ready()) << nexus.stderr_text();
    add_token(nexus.port());
    for (int i = 0; i < 3; ++i) ASSERT_EQ(api_call(nexus.port(), "GET", "/v1/models").status, 200);
    EXPECT_EQ(mock.count("/v1/models"), 1u) << "a fresh list was fetched again";
    std::this_thread::sleep_for(1200ms);
    ASSERT_EQ(api_call(nexus.port(), "GET", "/v1/models").status, 200);
    EXPECT_EQ(mock.count("/v1/models"), 2u) << "an expired list was kept";
}

TEST(Operations, UsageRecordsOlderThanTheRetentionArePruned) {
    TempDir dir;
    const auto data = dir.file("data");
    {
        NexusProcess first(Env{{"NEXUS_DATA_DIR", data}});  // creates the database and its key
        ASSERT_TRUE(first.wait_ready()) << first.stderr_text();
        first.signal(SIGTERM);
        ASSERT_EQ(first.wait_exit(10s), 0);
    }
    {
        const auto db = data + "/nexus.db";
        store::sqlite::SqliteStore store(db, core::SecretBox(store::load_master_key("", data, db)));
        store::UsageRecord old_one, recent;
        old_one.created_time = now_seconds() - 3 * 86400;
        old_one.request_id = "old";
        recent.created_time = now_seconds() - 60;
        recent.request_id = "recent";
        store.insert_usage({old_one, recent});
    }
    NexusProcess nexus(Env{{"NEXUS_DATA_DIR", data}, {"NEXUS_LOG_RETENTION_DAYS", "2"}});
    ASSERT_TRUE(nexus.wait_ready()) << nexus.stderr_text();
    const auto logs = json::parse(admin_call(nexus.port(), "GET", "/api/log").body).at("data").as_array();
    ASSERT_EQ(logs.size(), 1u);
    EXPECT_EQ(logs[0].at("request_id"), "recent");
    EXPECT_NE(nexus.stderr_text().find("deleted 1 usage record(s) older than 2 days"), std::string::npos);
}

// Three failures in a row rest a channel; once the cooldown is over it is tried again.
TEST(Operations, ARestedChannelIsTriedAgainAfterItsCooldown) {
    MockUpstream good{MockUpstream::Options{}};
    NexusProcess nexus(Env{{"NEXUS_CHANNEL_COOLDOWN_SECONDS", "1"}, {"NEXUS_THREADS", "1"}});
    ASSERT_TRUE(nexus.wait_ready()) << nexus.stderr_text();
    const auto port = nexus.port();
    add_channel(port, R"({"type":"OpenAI-Compatible","name":"dead","key":"sk-dead-1234","priority":10,"base_url":"http://127.0.0.1:)" +
                          std::to_string(closed_port()) + R"("})");
    add_channel(port, R"({"type":"OpenAI-Compatible","name":"good","key":")" + good.good_key() + R"(","base_url":")" +
                          good.base_url() + R"("})");
    add_token(port);
    const std::string refused = "nexus_upstream_attempts_total{outcome=\"connect_error\"}";
    for (int i = 0; i < 3; ++i) ASSERT_EQ(post_chat(port, chat_body("m")).status, 200);
    EXPECT_EQ(metric(port, refused), 3);
    ASSERT_EQ(post_chat(port, chat_body("m")).status, 200);
    EXPECT_EQ(metric(port, refused), 3) << "a resting channel was tried";
    std::this_thread::sleep_for(1200ms);
    ASSERT_EQ(post_chat(port, chat_body("m")).status, 200);
    EXPECT_EQ(metric(port, refused), 4) << "the channel was not tried again after its cooldown";
}

// SSL_CERT_DIR names a directory of CA certificates by their subject hash (a private CA).
TEST(Operations, ACaInSslCertDirIsTrusted) {
    TempDir dir;
    const auto cert = make_test_cert();
    std::filesystem::create_directory(dir.file("certs"));
    write_file(dir.file("certs/" + hashed_name(cert.cert_pem)), cert.cert_pem);
    MockUpstream::Options o;
    o.tls = true;
    o.cert_pem = cert.cert_pem;
    o.key_pem = cert.key_pem;
    MockUpstream mock(o);
    for (const bool trusted : {true, false}) {
        NexusProcess nexus(Env{{"SILICONFLOW_API_KEY", mock.good_key()},
                               {"SILICONFLOW_BASE_URL", mock.base_url()},
                               {"SSL_CERT_DIR", trusted ? dir.file("certs") : dir.path()},
                               {"SSL_CERT_FILE", dir.file("none.pem")}});
        ASSERT_TRUE(nexus.wait_ready()) << nexus.stderr_text();
        add_token(nexus.port());
        EXPECT_EQ(post_chat(nexus.port(), chat_body("m")).status, trusted ? 200 : 502) << trusted;
    }
}

// A master key given in base64 is the same key as in hex: keys sealed under one open under the other.
TEST(Operations, ABase64MasterKeyIsTheSameKeyAsItsHex) {
    MockUpstream mock{MockUpstream::Options{}};
    TempDir dir;
    const auto key = core::random_bytes(32);
    Env env{{"NEXUS_DATA_DIR", dir.file("data")}, {"NEXUS_SECRET", core::to_base64(key)}};
    {
        NexusProcess nexus(env);
        ASSERT_TRUE(nexus.wait_ready()) << nexus.stderr_text();
        add_channel(nexus.port(), R"({"type":"OpenAI-Compatible","name":"c","key":")" + mock.good_key() +
                                      R"(","base_url":")" + mock.base_url() + R"("})");
        add_token(nexus.port());
        nexus.signal(SIGTERM);
        ASSERT_EQ(nexus.wait_exit(10s), 0);
    }
    EXPECT_FALSE(std::filesystem::exists(dir.file("data/secret.key"))) << "a given key is not written to disk";
    env["NEXUS_SECRET"] = core::to_hex(key);
    NexusProcess again(env);
    ASSERT_TRUE(again.wait_ready()) << again.stderr_text();
    EXPECT_EQ(post_chat(again.port(), chat_body("m")).status, 200) << "the channel's key did not open";
    env["NEXUS_SECRET"] = core::to_base64(core::random_bytes(32));
    EXPECT_EQ(run_nexus(env, {}).exit_code, 1) << "another key was accepted";
}

}  // namespace
}  // namespace nexus::testing
