// Two nodes on one PostgreSQL and one Redis (both the tests' own): a token's rpm, max_concurrency
// and quota hold for the nodes together, a dead node's slots come back, without Redis each node
// holds to its share, and sessions live in Redis for every node.
#include <csignal>

#include "core/crypto.hpp"
#include "support/accounts_fixture.hpp"
#include "support/pool_fixture.hpp"
#include "support/redis_server.hpp"
#include "support/test_database.hpp"

namespace nexus::testing {
namespace {

namespace json = boost::json;

Headers bearer(const std::string& key) { return {{"Authorization", "Bearer " + key}}; }

class WithRedis : public ::testing::Test {
protected:
    std::unique_ptr<NexusProcess> node(Env extra = {}) {
        Env env{{"NEXUS_DATA_DIR", dir_.file("node-" + std::to_string(nodes_++))},
                {"NEXUS_DATABASE_URL", database_.url()},
                {"NEXUS_SECRET", secret_},
                {"NEXUS_REDIS_URL", redis_.url()}};
        for (auto& [k, v] : extra) env[k] = v;
        auto n = std::make_unique<NexusProcess>(env);
        EXPECT_TRUE(n->wait_ready()) << n->stderr_text();
        return n;
    }
    // Two nodes, a channel, and a token with `limits` (JSON members), in force on both.
    void SetUp() override {
        a_ = node({{"NEXUS_REDIS_LEASE_SECONDS", "3"}});
        b_ = node({{"NEXUS_REDIS_LEASE_SECONDS", "3"}});
        add_channel(a_->port(), channel_body("A", "sk-aaa", mock_.base_url()));
    }
    void add_limited(const std::string& key, const std::string& limits) {
        const auto res = admin_call(a_->port(), "POST", "/api/token", R"({"name":"l","key":")" + key + "\"," + limits + "}");
        ASSERT_EQ(res.status, 201) << res.body;
        for (int i = 0; i < 200; ++i) {  // in force on B (an announcement away)
            if (http_request(b_->port(), "GET", "/v1/models", "", bearer(key)).status == 200) return;
            std::this_thread::sleep_for(5ms);
        }
        FAIL() << "the token never reached node B";
    }
    std::string metrics(NexusProcess& n) { return admin_call(n.port(), "GET", "/metrics").body; }

    TempDir dir_;
    TestDatabase database_;
    RedisServer redis_;
    std::string secret_ = core::to_hex(core::random_bytes(32));
    int nodes_ = 0;
    MockUpstream mock_{mock_options([](auto& o) { o.good_key = "sk-aaa"; })};
    std::unique_ptr<NexusProcess> a_;
    std::unique_ptr<NexusProcess> b_;
};

// rpm 10, 30 calls over both nodes within the minute: 10 are served, wherever they land.
TEST_F(WithRedis, RpmHoldsForAllNodesTogether) {
    add_limited("sk-nexus-rpm", R"("rpm":10)");
    int served = 0;
    int limited = 0;
    for (int i = 0; i < 30; ++i) {
        const auto res = post_chat((i % 2 ? a_ : b_)->port(), chat_body("m"), bearer("sk-nexus-rpm"));
        if (res.status == 200) ++served;
        if (res.status == 429) {
            ++limited;
            EXPECT_EQ(error_of(res.body).at("code"), "rate_limit_exceeded");
        }
    }
    EXPECT_EQ(served, 10);
    EXPECT_EQ(limited, 20);
    EXPECT_NE(metrics(*a_).find("nexus_redis_up 1\n"), std::string::npos);
}

// max_concurrency 2, six slow calls at once over both nodes: two are served, four refused.
TEST_F(WithRedis, ConcurrencyHoldsForAllNodesTogether) {
    add_limited("sk-nexus-conc", R"("max_concurrency":2)");
    const auto answers = all_at_once(6, [&](int i) {
        return post_chat((i % 2 ? a_ : b_)->port(), chat_body("m", true, 10, 100), bearer("sk-nexus-conc"));
    });
    int served = 0;
    for (const auto& res : answers) served += res.status == 200 ? 1 : 0;
    EXPECT_EQ(served, 2);
    // Settled calls give their slots back on every node.
    EXPECT_EQ(post_chat(b_->port(), chat_body("m"), bearer("sk-nexus-conc")).status, 200);
    EXPECT_EQ(post_chat(a_->port(), chat_body("m"), bearer("sk-nexus-conc")).status, 200);
}

// A call longer than a lease keeps its slot (its node renews it); a node that dies (kill -9)
// holding both slots gives them back once its leases expire (3 s here).
TEST_F(WithRedis, ADeadNodesSlotsComeBack) {
    add_limited("sk-nexus-dead", R"("max_concurrency":2)");
    std::vector<std::thread> holders;
    std::atomic<int> early{0};  // holders answered before the kill: they held nothing by then
    for (int i = 0; i < 2; ++i) {
        holders.emplace_back([&] {
            try {
                post_chat(a_->port(), chat_body("m", true, 100, 100), bearer("sk-nexus-dead"));
                ++early;
            } catch (const std::exception&) {
                // the node is killed under it
            }
        });
    }
    std::this_thread::sleep_for(500ms);
    EXPECT_EQ(post_chat(b_->port(), chat_body("m"), bearer("sk-nexus-dead")).status, 429) << "the slots are not held";
    std::this_thread::sleep_for(4s);
    EXPECT_EQ(post_chat(b_->port(), chat_body("m"), bearer("sk-nexus-dead")).status, 429) << "a lease was not renewed";
    a_->signal(SIGKILL);
    for (auto& h : holders) h.join();
    EXPECT_EQ(early.load(), 0) << "a slot holder was answered before the kill";
    const auto died = std::chrono::steady_clock::now();
    int status = 0;
    while (std::chrono::steady_clock::now() - died < 10s) {
        status = post_chat(b_->port(), chat_body("m"), bearer("sk-nexus-dead")).status;
        if (status == 200) break;
        std::this_thread::sleep_for(100ms);
    }
    const auto back = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - died);
    EXPECT_EQ(status, 200) << "the dead node's slots never came back";
    EXPECT_LE(back, 4500ms);
    std::printf("a dead node's slots came back after %lld ms (lease 3 s)\n", static_cast<long long>(back.count()));
}

// Redis goes away: calls are still served, each node holds to its share (rpm 10 ÷ 2 nodes), the
// gauge says so; when Redis is back, the limit is shared again.
TEST_F(WithRedis, WithoutRedisEachNodeHoldsItsShare) {
    add_limited("sk-nexus-share", R"("rpm":10)");
    std::this_thread::sleep_for(300ms);  // both nodes' first heartbeats are in: two nodes
    redis_.kill();
    int served = 0;
    for (int i = 0; i < 12; ++i) served += post_chat(b_->port(), chat_body("m"), bearer("sk-nexus-share")).status == 200;
    EXPECT_EQ(served, 5) << "node B did not hold to its half";
    std::string m;
    for (int i = 0; i < 30 && m.find("nexus_redis_up 0\n") == std::string::npos; ++i) {
        std::this_thread::sleep_for(100ms);
        m = metrics(*b_);
    }
    EXPECT_NE(m.find("nexus_redis_up 0\n"), std::string::npos) << m;
    redis_.start();
    for (int i = 0; i < 100 && m.find("nexus_redis_up 1\n") == std::string::npos; ++i) {
        std::this_thread::sleep_for(100ms);
        m = metrics(*b_);
    }
    EXPECT_NE(m.find("nexus_redis_up 1\n"), std::string::npos) << "no recovery";
    // A new Redis holds no count: a fresh token's rpm is shared again.
    add_limited("sk-nexus-again", R"("rpm":4)");
    served = 0;
    for (int i = 0; i < 8; ++i) served += post_chat((i % 2 ? a_ : b_)->port(), chat_body("m"), bearer("sk-nexus-again")).status == 200;
    EXPECT_EQ(served, 4);
    EXPECT_NE(b_->stderr_text().find("each node holds to its share"), std::string::npos) << b_->stderr_text();
}

// A token whose quota pays for 20 calls, 100 calls at once over both nodes: exactly 20 are
// served, and the shared ledger bills exactly what they cost.
TEST_F(WithRedis, AQuotaHoldsForAllNodesTogether) {
    ASSERT_EQ(admin_call(a_->port(), "PUT", "/api/price/m", R"({"per_request":5})").status, 200);
    add_limited("sk-nexus-quota", R"("remain_quota":100)");
    const auto answers = all_at_once(100, [&](int i) {
        return post_chat((i % 2 ? a_ : b_)->port(), chat_body("m"), bearer("sk-nexus-quota"));
    });
    int served = 0;
    int refused = 0;
    for (const auto& res : answers) {
        served += res.status == 200 ? 1 : 0;
        refused += res.status == 429 && error_of(res.body).at("code") == "insufficient_quota" ? 1 : 0;
    }
    EXPECT_EQ(served, 20);
    EXPECT_EQ(refused, 80);
    // The ledger: every node's batches in PostgreSQL.
    const auto id = json::parse(admin_call(a_->port(), "GET", "/api/token?q=l").body).at("data").as_array()[0].at("id");
    json::object token;
    for (int i = 0; i < 100; ++i) {
        token = json::parse(admin_call(b_->port(), "GET", "/api/token/" + std::to_string(id.as_int64())).body).as_object();
        if (token.at("used_quota") == served * 5) break;
        std::this_thread::sleep_for(50ms);
    }
    EXPECT_EQ(token.at("used_quota"), served * 5);
    EXPECT_EQ(token.at("remain_quota"), 100 - served * 5);
}

// The quota spent, an admin gives the token 50 more on node A: both nodes serve exactly ten
// more calls between them, not ten each.
TEST_F(WithRedis, ANewQuotaIsInForceOnEveryNode) {
    ASSERT_EQ(admin_call(a_->port(), "PUT", "/api/price/m", R"({"per_request":5})").status, 200);
    add_limited("sk-nexus-topup", R"("remain_quota":20)");
    for (int i = 0; i < 4; ++i) EXPECT_EQ(post_chat((i % 2 ? a_ : b_)->port(), chat_body("m"), bearer("sk-nexus-topup")).status, 200);
    EXPECT_EQ(post_chat(b_->port(), chat_body("m"), bearer("sk-nexus-topup")).status, 429);
    const auto list = json::parse(admin_call(a_->port(), "GET", "/api/token").body).at("data").as_array();
    const auto id = list.back().at("id").as_int64();
    ASSERT_EQ(admin_call(a_->port(), "PUT", "/api/token/" + std::to_string(id), R"({"remain_quota":50})").status, 200);
    std::this_thread::sleep_for(100ms);  // the change announced to B
    int served = 0;
    for (int i = 0; i < 14; ++i) served += post_chat((i % 2 ? a_ : b_)->port(), chat_body("m"), bearer("sk-nexus-topup")).status == 200;
    EXPECT_EQ(served, 10);
}

// Redis is lost with what it held (a restart without persistence): the quota left starts again
// from the ledger, which each node reloads when Redis returns.
TEST_F(WithRedis, ALostQuotaStartsAgainFromTheLedger) {
    ASSERT_EQ(admin_call(a_->port(), "PUT", "/api/price/m", R"({"per_request":5})").status, 200);
    add_limited("sk-nexus-lost", R"("remain_quota":100)");
    for (int i = 0; i < 10; ++i) ASSERT_EQ(post_chat((i % 2 ? a_ : b_)->port(), chat_body("m"), bearer("sk-nexus-lost")).status, 200);
    const auto id = json::parse(admin_call(a_->port(), "GET", "/api/token").body).at("data").as_array().back().at("id");
    for (int i = 0; i < 100; ++i) {  // both nodes' batches are in the ledger
        if (json::parse(admin_call(a_->port(), "GET", "/api/token/" + std::to_string(id.as_int64())).body).at("used_quota") == 50) break;
        std::this_thread::sleep_for(50ms);
    }
    redis_.kill();
    redis_.start();
    for (auto* n : {a_.get(), b_.get()}) {
        std::string m;
        for (int i = 0; i < 100 && m.find("nexus_redis_up 1\n") == std::string::npos; ++i) {
            std::this_thread::sleep_for(100ms);
            m = metrics(*n);
        }
    }
    std::this_thread::sleep_for(1500ms);  // the up is seen by each node's upkeep, which reloads
    int served = 0;
    for (int i = 0; i < 14; ++i) served += post_chat((i % 2 ? a_ : b_)->port(), chat_body("m"), bearer("sk-nexus-lost")).status == 200;
    EXPECT_EQ(served, 10) << "the quota did not start again from what the ledger has left";
}

// Redis away: a call against a limited quota is refused (503 quota_unavailable, Retry-After) by
// default, served against the node's view with NEXUS_QUOTA_WITHOUT_REDIS=local; a token with
// rate limits only is still served.
TEST_F(WithRedis, WithoutRedisALimitedQuotaIsRefusedUnlessLocal) {
    auto local = node({{"NEXUS_QUOTA_WITHOUT_REDIS", "local"}});
    ASSERT_EQ(admin_call(a_->port(), "PUT", "/api/price/m", R"({"per_request":5})").status, 200);
    add_limited("sk-nexus-deny", R"("remain_quota":1000)");
    add_limited("sk-nexus-rates", R"("rpm":100)");
    std::this_thread::sleep_for(100ms);
    redis_.kill();
    const auto denied = post_chat(b_->port(), chat_body("m"), bearer("sk-nexus-deny"));
    EXPECT_EQ(denied.status, 503) << denied.body;
    EXPECT_EQ(error_of(denied.body).at("code"), "quota_unavailable");
    EXPECT_EQ(denied.header("retry-after"), "5");
    EXPECT_EQ(post_chat(b_->port(), chat_body("m"), bearer("sk-nexus-rates")).status, 200);
    EXPECT_EQ(post_chat(local->port(), chat_body("m"), bearer("sk-nexus-deny")).status, 200);
}

// A browser signed in on node A is signed in on B; signed out on B, it is out on A. The session
// is in Redis, not in the database.
TEST_F(WithRedis, SessionsLiveInRedisForEveryNode) {
    ASSERT_EQ(admin_call(a_->port(), "POST", "/api/user", R"({"username":"alice","password":"alice-password-1"})").status,
              201);
    const auto browser = sign_in(a_->port(), "alice", "alice-password-1");
    ASSERT_TRUE(browser);
    EXPECT_EQ(browser_call(b_->port(), *browser, "GET", "/api/user/self").status, 200);
    EXPECT_EQ(database_.query("SELECT count(*) FROM sessions"), "0") << "the session is in the database";
    const auto out = browser_call(b_->port(), *browser, "POST", "/api/auth/logout");
    EXPECT_TRUE(out.status == 200 || out.status == 204) << out.status << " " << out.body;
    EXPECT_EQ(browser_call(a_->port(), *browser, "GET", "/api/user/self").status, 401);
}

}  // namespace
}  // namespace nexus::testing
