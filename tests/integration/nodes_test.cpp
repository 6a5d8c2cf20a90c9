// Several nodes on one PostgreSQL (the tests' private server): the milestones hold on it, and a
// change made on one node is in force on the others at once, heard through LISTEN/NOTIFY, with a
// version poll and a reload on reconnection behind it.
#include <algorithm>
#include <csignal>
#include <cstdio>

#include "core/crypto.hpp"
#include "store/postgres/connection.hpp"
#include "support/pool_fixture.hpp"
#include "support/test_database.hpp"

namespace nexus::testing {
namespace {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

Headers bearer(const std::string& key) { return {{"Authorization", "Bearer " + key}}; }

class Nodes : public ::testing::Test {
protected:
    // A node on the shared database, with a data directory of its own; `extra` overrides.
    std::unique_ptr<NexusProcess> node(Env extra = {}) {
        Env env{{"NEXUS_DATA_DIR", dir_.file("node-" + std::to_string(nodes_++))},
                {"NEXUS_DATABASE_URL", database_.url()},
                {"NEXUS_SECRET", secret_},
                // Only LISTEN/NOTIFY can explain a change seen within a second.
                {"NEXUS_CHANGE_POLL_SECONDS", "60"}};
        for (auto& [k, v] : extra) env[k] = v;
        return std::make_unique<NexusProcess>(env);
    }
    std::unique_ptr<NexusProcess> ready_node(Env extra = {}) {
        auto n = node(std::move(extra));
        EXPECT_TRUE(n->wait_ready()) << n->stderr_text();
        return n;
    }
    // How long after `since` a chat call on `port` with `key` first gets `status` (polled each ms);
    // nullopt when it did not within `limit`.
    static std::optional<std::chrono::microseconds> until_status(std::uint16_t port, const std::string& key, int status,
                                                                 Clock::time_point since,
                                                                 std::chrono::milliseconds limit = 10s) {
        while (Clock::now() - since < limit) {
            if (post_chat(port, chat_body("m"), bearer(key)).status == status) {
                return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - since);
            }
            std::this_thread::sleep_for(1ms);
        }
        return std::nullopt;
    }

    TempDir dir_;
    TestDatabase database_;
    std::string secret_ = core::to_hex(core::random_bytes(32));
    int nodes_ = 0;
    MockUpstream mock_{mock_options([](auto& o) { o.good_key = "sk-aaa"; })};
};

TEST_F(Nodes, TheMilestonesHoldOnPostgres) {
    auto a = ready_node({{"SILICONFLOW_API_KEY", ""}});
    const auto p = a->port();
    // Channels: 201 with the key masked, a list with masked keys, PUT, DELETE 204, no key → 400.
    auto res = admin_call(p, "POST", "/api/channel", channel_body("A", "sk-aaa-0123456789abcdef", mock_.base_url()));
    ASSERT_EQ(res.status, 201) << res.body;
    const auto id = json::parse(res.body).at("id").as_int64();
    EXPECT_EQ(res.body.find("sk-aaa-0123456789abcdef"), std::string::npos);
    res = admin_call(p, "GET", "/api/channel");
    EXPECT_NE(res.body.find(R"("key":"sk-aaa-...cdef")"), std::string::npos) << res.body;
    EXPECT_EQ(admin_call(p, "PUT", "/api/channel/" + std::to_string(id), R"({"key":"sk-aaa"})").status, 200);
    res = admin_call(p, "POST", "/api/channel", R"({"type":"SiliconFlow","name":"x","base_url":"http://h"})");
    EXPECT_EQ(res.status, 400);
    EXPECT_NE(message_of(res.body).find("key"), std::string::npos) << res.body;
    // Tokens: unknown → 401; a call relayed and recorded.
    EXPECT_EQ(post_chat(p, chat_body("m"), bearer("sk-nobody")).status, 401);
    add_token(p, "sk-nexus-pg");
    EXPECT_EQ(post_chat(p, chat_body("m"), bearer("sk-nexus-pg")).status, 200);
    json::array rows;
    for (int i = 0; i < 100 && rows.empty(); ++i) {
        std::this_thread::sleep_for(50ms);
        rows = json::parse(admin_call(p, "GET", "/api/log").body).at("data").as_array();
    }
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].at("status"), 200);
    // It all outlives the node.
    a.reset();
    auto again = ready_node();
    EXPECT_EQ(post_chat(again->port(), chat_body("m"), bearer("sk-nexus-pg")).status, 200);
    EXPECT_EQ(admin_call(again->port(), "DELETE", "/api/channel/" + std::to_string(id)).status, 204);
    EXPECT_EQ(post_chat(again->port(), chat_body("m"), bearer("sk-nexus-pg")).status, 500);
}

// A node whose NEXUS_SECRET is not the one the database's keys are sealed with refuses to start,
// in one line, and changes nothing.
TEST_F(Nodes, ANodeWithAnotherSecretRefusesToStart) {
    auto a = ready_node();
    add_channel(a->port(), channel_body("A", "sk-aaa", mock_.base_url()));
    auto b = node({{"NEXUS_SECRET", core::to_hex(core::random_bytes(32))}});
    EXPECT_EQ(b->wait_exit(20s), 1);
    const auto err = b->stderr_text();
    EXPECT_NE(err.find("nexus-api: cannot start: the master key does not open"), std::string::npos) << err;
    add_token(a->port(), "sk-nexus-a");
    EXPECT_EQ(post_chat(a->port(), chat_body("m"), bearer("sk-nexus-a")).status, 200);
}

// 100 tokens created on A, each timed from A's answer to B's first acceptance; then a token
// disabled, a channel's key changed and a price on A, each in force on B.
TEST_F(Nodes, AChangeOnOneNodeIsInForceOnTheOtherAtOnce) {
    auto a = ready_node();
    auto b = ready_node();
    add_channel(a->port(), channel_body("A", "sk-aaa", mock_.base_url()));
    std::vector<std::chrono::microseconds> delays;
    for (int i = 0; i < 100; ++i) {
        const auto key = "sk-nexus-node-" + std::to_string(i);
        add_token(a->port(), key);
        const auto delay = until_status(b->port(), key, 200, Clock::now());
        ASSERT_TRUE(delay) << "token " << i << " never reached node B";
        delays.push_back(*delay);
    }
    std::sort(delays.begin(), delays.end());
    const auto p50 = delays[49].count() / 1000.0;
    const auto p99 = delays[98].count() / 1000.0;
    std::printf("propagation A → B over 100 token creations: p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", p50, p99,
                delays.back().count() / 1000.0);
    RecordProperty("propagation_p99_ms", std::to_string(p99));
    // The poll is 60 s: only an announcement brings a change in under a second.
    EXPECT_LT(delays.back(), 1s);

    const auto id = add_token(a->port(), "sk-nexus-disable-me");
    ASSERT_TRUE(until_status(b->port(), "sk-nexus-disable-me", 200, Clock::now()));
    ASSERT_EQ(admin_call(a->port(), "PUT", "/api/token/" + std::to_string(id), R"({"status":0})").status, 200);
    EXPECT_TRUE(until_status(b->port(), "sk-nexus-disable-me", 401, Clock::now(), 1s)) << "B kept a disabled token";

    // A channel's key changed on A: B relays with the new key.
    ASSERT_EQ(admin_call(a->port(), "PUT", "/api/channel/1", R"({"key":"sk-rejected"})").status, 200);
    EXPECT_TRUE(until_status(b->port(), "sk-nexus-node-0", 401, Clock::now(), 1s)) << "B kept the old key";
    EXPECT_EQ(mock_.requests().back().headers.at("authorization"), "Bearer sk-rejected");

    // A price on A: a limited token on B is refused an unpriced model, then served once priced.
    // The rejected key disabled the channel (B wrote it, A shows it): it is enabled again with its good key.
    for (int i = 0; i < 100; ++i) {
        if (json::parse(admin_call(a->port(), "GET", "/api/channel/1").body).at("status") == 3) break;
        std::this_thread::sleep_for(20ms);
    }
    ASSERT_EQ(admin_call(a->port(), "PUT", "/api/channel/1", R"({"key":"sk-aaa","status":1})").status, 200);
    const auto limited = admin_call(a->port(), "POST", "/api/token",
                                    R"({"name":"l","key":"sk-nexus-limited","remain_quota":1000})");
    ASSERT_EQ(limited.status, 201);
    EXPECT_TRUE(until_status(b->port(), "sk-nexus-limited", 403, Clock::now(), 1s)) << "model_price_not_set";
    ASSERT_EQ(admin_call(a->port(), "PUT", "/api/price/m", R"({"per_request":5})").status, 200);
    EXPECT_TRUE(until_status(b->port(), "sk-nexus-limited", 200, Clock::now(), 1s)) << "B never saw the price";
}

// Spending on A shows in GET /api/token/{id} on B: the ledger is the shared database.
TEST_F(Nodes, SpendingOnOneNodeShowsOnEveryNode) {
    auto a = ready_node();
    auto b = ready_node();
    add_channel(a->port(), channel_body("A", "sk-aaa", mock_.base_url()));
    ASSERT_EQ(admin_call(a->port(), "PUT", "/api/price/m", R"({"per_request":7})").status, 200);
    const auto res = admin_call(a->port(), "POST", "/api/token", R"({"name":"l","key":"sk-nexus-spend","remain_quota":1000})");
    ASSERT_EQ(res.status, 201);
    const auto id = json::parse(res.body).at("id").as_int64();
    ASSERT_EQ(post_chat(a->port(), chat_body("m"), bearer("sk-nexus-spend")).status, 200);
    const auto answered = Clock::now();
    std::int64_t used = 0;
    while (used == 0 && Clock::now() - answered < 5s) {
        used = json::parse(admin_call(b->port(), "GET", "/api/token/" + std::to_string(id)).body).at("used_quota").as_int64();
        if (used == 0) std::this_thread::sleep_for(10ms);
    }
    const auto shown = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - answered);
    std::printf("spending on A shown on B after %lld ms\n", static_cast<long long>(shown.count()));
    EXPECT_EQ(used, 7);
    EXPECT_LT(shown, 1s);
}

// A node whose listening connection was cut reloads when it is back, and a version that moved
// with no announcement (one lost on the way) is caught by the poll.
TEST_F(Nodes, MissedAnnouncementsAreCaughtUp) {
    auto a = ready_node();
    auto b = ready_node({{"NEXUS_CHANGE_POLL_SECONDS", "0.5"}});
    add_channel(a->port(), channel_body("A", "sk-aaa", mock_.base_url()));
    const auto id = add_token(a->port(), "sk-nexus-quiet");
    ASSERT_TRUE(until_status(b->port(), "sk-nexus-quiet", 200, Clock::now()));
    // A change whose announcement never comes: the triggers are off for this session, so the
    // version is moved by hand, as a lost NOTIFY would leave it.
    database_.query("SET session_replication_role = replica; UPDATE tokens SET status = 0 WHERE id = " +
                    std::to_string(id) + "; UPDATE change_version SET version = version + 1;");
    EXPECT_TRUE(until_status(b->port(), "sk-nexus-quiet", 401, Clock::now(), 5s)) << "the poll missed it";
    // B's listening connection is cut and kept from coming back (the database takes no new
    // connections), a change is made while it is away, and then it may come back.
    store::postgres::Connection held(database_.url());
    store::postgres::Connection maintenance(postgres_admin_url());
    const auto name = database_.query("SELECT current_database()");
    maintenance.exec_script(("ALTER DATABASE " + name + " ALLOW_CONNECTIONS false").c_str());
    held.exec_script(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND "
        "application_name = 'nexus-api-changes'");
    held.exec_script(("SET session_replication_role = replica; UPDATE tokens SET status = 1 WHERE id = " +
                      std::to_string(id))
                         .c_str());
    std::this_thread::sleep_for(1s);  // two polls: the version did not move, so nothing else brings it
    EXPECT_EQ(post_chat(b->port(), chat_body("m"), bearer("sk-nexus-quiet")).status, 401);
    maintenance.exec_script(("ALTER DATABASE " + name + " ALLOW_CONNECTIONS true").c_str());
    EXPECT_TRUE(until_status(b->port(), "sk-nexus-quiet", 200, Clock::now(), 10s)) << "no reload on reconnection";
    EXPECT_NE(b->stderr_text().find("listening on PostgreSQL again"), std::string::npos) << b->stderr_text();
}


// One node is killed (kill -9) while both serve: the other serves on, and what was written on
// the dead one (its channel, its tokens) stays in force there.
TEST_F(Nodes, WhenANodeDiesTheOtherServesOn) {
    auto a = ready_node();
    auto b = ready_node();
    add_channel(a->port(), channel_body("A", "sk-aaa", mock_.base_url()));
    add_token(a->port(), "sk-nexus-survivor");
    ASSERT_TRUE(until_status(b->port(), "sk-nexus-survivor", 200, Clock::now()));
    std::atomic<bool> stop{false};
    std::atomic<int> served{0};
    std::atomic<int> failed{0};
    std::thread load([&] {
        while (!stop) {
            (post_chat(b->port(), chat_body("m"), bearer("sk-nexus-survivor")).status == 200 ? served : failed)++;
        }
    });
    std::this_thread::sleep_for(200ms);
    a->signal(SIGKILL);
    EXPECT_EQ(a->wait_exit(5s), -SIGKILL);
    const int before = served.load();
    std::this_thread::sleep_for(500ms);
    stop = true;
    load.join();
    EXPECT_GT(served.load(), before) << "node B stopped serving when A died";
    EXPECT_EQ(failed.load(), 0);
    // An admin write on B still reaches the shared database.
    EXPECT_EQ(admin_call(b->port(), "POST", "/api/token", R"({"name":"n","key":"sk-nexus-after-death"})").status, 201);
    EXPECT_EQ(post_chat(b->port(), chat_body("m"), bearer("sk-nexus-after-death")).status, 200);
}

// The database goes away (it takes no connection, and the node's were ended): calls are still
// served from the node's view, admin writes answer 503 with Retry-After, /readyz stays 200, and
// the usage records wait in memory; when it returns, every record is written and writes work.
TEST_F(Nodes, WithoutTheDatabaseCallsAreServedAndWritesWait) {
    auto a = ready_node();
    const auto p = a->port();
    add_channel(p, channel_body("A", "sk-aaa", mock_.base_url()));
    add_token(p, "sk-nexus-outage");
    ASSERT_EQ(post_chat(p, chat_body("m"), bearer("sk-nexus-outage")).status, 200);
    for (int i = 0; i < 100 && json::parse(admin_call(p, "GET", "/api/log").body).at("data").as_array().empty(); ++i) {
        std::this_thread::sleep_for(20ms);
    }

    store::postgres::Connection maintenance(postgres_admin_url());
    const auto name = database_.query("SELECT current_database()");
    maintenance.exec_script(("ALTER DATABASE " + name + " ALLOW_CONNECTIONS false").c_str());
    maintenance.exec_script(("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '" + name +
                             "' AND pid <> pg_backend_pid()")
                                .c_str());
    const auto refused = admin_call(p, "POST", "/api/token", R"({"name":"n","key":"sk-nexus-during"})");
    EXPECT_EQ(refused.status, 503) << refused.body;
    EXPECT_EQ(error_of(refused.body).at("code"), "database_unavailable");
    EXPECT_FALSE(refused.header("retry-after").empty());
    for (int i = 0; i < 5; ++i) EXPECT_EQ(post_chat(p, chat_body("m"), bearer("sk-nexus-outage")).status, 200);
    EXPECT_EQ(http_request(p, "GET", "/readyz").status, 200);
    std::string metrics;
    for (int i = 0; i < 50; ++i) {
        metrics = admin_call(p, "GET", "/metrics").body;
        if (metrics.find("nexus_usage_records_waiting 5\n") != std::string::npos) break;
        std::this_thread::sleep_for(50ms);
    }
    EXPECT_NE(metrics.find("nexus_usage_records_waiting 5\n"), std::string::npos) << metrics;

    // Longer than the retries a batch the database refuses gets (2.6 s): an outage is waited out.
    std::this_thread::sleep_for(3500ms);
    EXPECT_EQ(post_chat(p, chat_body("m"), bearer("sk-nexus-outage")).status, 200);
    maintenance.exec_script(("ALTER DATABASE " + name + " ALLOW_CONNECTIONS true").c_str());
    ASSERT_TRUE(a->running()) << a->stderr_text();
    HttpResponse created;
    for (int i = 0; i < 150; ++i) {
        created = admin_call(p, "POST", "/api/token", R"({"name":"n","key":"sk-nexus-after"})");
        if (created.status == 201) break;
        std::this_thread::sleep_for(100ms);
    }
    EXPECT_EQ(created.status, 201) << created.body;
    std::size_t rows = 0;
    for (int i = 0; i < 150 && rows < 7; ++i) {
        rows = json::parse(admin_call(p, "GET", "/api/log").body).at("data").as_array().size();
        if (rows < 7) std::this_thread::sleep_for(100ms);
    }
    EXPECT_EQ(rows, 7u) << "usage records were lost in the outage: " << a->stderr_text();
    EXPECT_NE(admin_call(p, "GET", "/metrics").body.find("nexus_usage_records_dropped_total 0\n"), std::string::npos);
}

}  // namespace
}  // namespace nexus::testing
