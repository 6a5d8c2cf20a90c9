// Quotas and prices: what a call costs, that a token never spends more than it has however many
// calls race, and that the usage log is the ledger of it. The real binary against the mock
// upstream (non-stream chat: 5 prompt + 3 completion tokens; a stream of n frames: 5 + n).
#include <atomic>
#include <future>
#include <map>
#include <thread>

#include "support/pool_fixture.hpp"

namespace nexus::testing {
namespace {

namespace json = boost::json;

class Quota : public PoolTest {
protected:
    void SetUp() override {
        PoolTest::SetUp();
        add_channel(port(), channel_body("A", "sk-aaa", mock_.base_url()));
    }
    void price(const std::string& model, const std::string& body) {
        const auto res = admin_call(port(), "PUT", "/api/price/" + model, body);
        ASSERT_EQ(res.status, 200) << res.body;
    }
    json::object token_state(std::int64_t id) {
        return json::parse(admin_call(port(), "GET", "/api/token/" + std::to_string(id)).body).as_object();
    }
    // The token's usage rows, polled until `count` are written.
    json::array rows_of(std::int64_t id, std::size_t count) {
        return usage_records(count, "?page_size=100&token_id=" + std::to_string(id));
    }
    static std::int64_t sum_quota(const json::array& rows) {
        std::int64_t sum = 0;
        for (const auto& r : rows) sum += r.at("quota").as_int64();
        return sum;
    }
};

TEST_F(Quota, PriceApiStoresListsAndDeletes) {
    auto res = admin_call(port(), "PUT", "/api/price/Qwen/Qwen2.5-7B-Instruct", R"({"input":300,"output":600})");
    ASSERT_EQ(res.status, 200) << res.body;
    auto p = json::parse(res.body).as_object();
    EXPECT_EQ(p.at("model"), "Qwen/Qwen2.5-7B-Instruct");
    EXPECT_EQ(p.at("input"), 300);
    EXPECT_EQ(p.at("output"), 600);
    EXPECT_EQ(p.at("cached_input"), 0) << "every field, always";
    EXPECT_EQ(p.at("per_request"), 0);
    // The slash may come percent-encoded too: the same model.
    res = admin_call(port(), "GET", "/api/price/Qwen%2FQwen2.5-7B-Instruct");
    ASSERT_EQ(res.status, 200) << res.body;
    EXPECT_EQ(json::parse(res.body).at("input"), 300);
    ASSERT_EQ(admin_call(port(), "PUT", "/api/price/m", R"({"per_request":5})").status, 200);
    res = admin_call(port(), "GET", "/api/price");
    const auto list = json::parse(res.body).as_object();
    EXPECT_EQ(list.at("object"), "list");
    EXPECT_EQ(list.at("total"), 2);
    EXPECT_EQ(list.at("data").as_array().size(), 2u);

    for (const auto& [body, field] : std::vector<std::pair<std::string, std::string>>{
             {R"({"input":-1})", "input"}, {R"({"output":"5"})", "output"}, {R"({"cached_input":1.5})", "cached_input"},
             {R"({"per_request":2000000000})", "per_request"}, {R"({"inptu":1})", "inptu"}}) {
        res = admin_call(port(), "PUT", "/api/price/m", body);
        EXPECT_EQ(res.status, 400) << body;
        EXPECT_EQ(error_of(res.body).at("param").as_string(), field) << body;
    }
    EXPECT_EQ(json::parse(admin_call(port(), "GET", "/api/price/m").body).at("per_request"), 5) << "a bad write changed it";

    // The model in the path: too long → 400 naming it; a malformed escape names no model.
    res = admin_call(port(), "PUT", "/api/price/" + std::string(300, 'x'), R"({"input":1})");
    EXPECT_EQ(res.status, 400);
    EXPECT_EQ(error_of(res.body).at("param").as_string(), "model");
    EXPECT_EQ(admin_call(port(), "PUT", "/api/price/a%zzb", R"({"input":1})").status, 404);
    res = admin_call(port(), "PUT", "/api/price/m", "{not json");
    EXPECT_EQ(res.status, 400);
    EXPECT_EQ(error_of(res.body).at("code"), "invalid_json");
    EXPECT_EQ(admin_call(port(), "PUT", "/api/price/m", "[1]").status, 400);

    EXPECT_EQ(admin_call(port(), "DELETE", "/api/price/m").status, 204);
    EXPECT_EQ(admin_call(port(), "GET", "/api/price/m").status, 404);
    EXPECT_EQ(admin_call(port(), "DELETE", "/api/price/m").status, 404);
}

// 100 calls at once on a token whose quota pays for 20: at most 20 go through, the rest are
// refused with insufficient_quota, and what the token spent is exactly what its rows say.
TEST_F(Quota, ConcurrentCallsNeverSpendMoreThanTheQuota) {
    price("m", R"({"per_request":10})");
    const auto id = add_token_with("sk-nexus-q20", R"("remain_quota":200)");
    // Short streams, so the calls overlap.
    const auto answers =
        all_at_once(100, [&](int) { return post_chat(port(), chat_body("m", true, 3, 30), as("sk-nexus-q20")); });
    int ok = 0;
    int refused = 0;
    for (const auto& res : answers) {
        if (res.status == 200) {
            ++ok;
        } else {
            EXPECT_EQ(res.status, 429) << res.body;
            const auto e = error_of(res.body);
            EXPECT_EQ(e.at("code"), "insufficient_quota");
            EXPECT_EQ(e.at("type"), "insufficient_quota");
            EXPECT_EQ(res.header("retry-after"), "") << "waiting does not bring quota back";
            ++refused;
        }
    }
    EXPECT_EQ(ok, 20) << "the cost of a call is known in advance here: exactly 20 fit";
    EXPECT_EQ(refused, 80);
    const auto rows = rows_of(id, 100);
    ASSERT_EQ(rows.size(), 100u) << "every call, refused or not, leaves a row";
    EXPECT_EQ(sum_quota(rows), 200);
    const auto t = token_state(id);
    EXPECT_EQ(t.at("used_quota"), 200);
    EXPECT_EQ(t.at("remain_quota"), 0);
}

TEST_F(Quota, AStreamIsBilledFromItsUsageAndTheRowIsTheLedger) {
    price("m", R"({"input":1000000,"output":2000000,"per_request":1})");  // 1 unit a prompt token, 2 an output one
    const auto id = add_token_with("sk-nexus-s", R"("remain_quota":100000)");
    const auto s = stream_chat(port(), chat_body("m", true, 4), as("sk-nexus-s"));
    ASSERT_TRUE(s.complete) << s.error;
    EXPECT_EQ(post_chat(port(), chat_body("m"), as("sk-nexus-s")).status, 200);
    const auto rows = rows_of(id, 2);
    ASSERT_EQ(rows.size(), 2u);
    for (const auto& r : rows) {
        // The non-stream call used 5 + 3 tokens, the stream 5 + 4.
        EXPECT_EQ(r.at("quota"), r.at("stream").as_bool() ? 1 + 5 + 2 * 4 : 1 + 5 + 2 * 3);
        EXPECT_EQ(r.at("estimated"), false);
        EXPECT_EQ(r.at("price").at("output"), 2000000);
    }
    const auto t = token_state(id);
    EXPECT_EQ(t.at("used_quota"), sum_quota(rows));
    EXPECT_EQ(t.at("remain_quota"), 100000 - sum_quota(rows));
}

TEST_F(Quota, ACostIsRoundedUpToAWholeUnit) {
    price("m", R"({"input":333333,"output":0})");
    const auto id = add_token_with("sk-nexus-c", R"("remain_quota":1000)");
    EXPECT_EQ(post_chat(port(), chat_body("m"), as("sk-nexus-c")).status, 200);
    const auto rows = rows_of(id, 1);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].at("quota"), 2) << "ceil(5 × 333333 / 1e6) = ceil(1.67)";
}

TEST_F(Quota, AnUnpricedModelIsRefusedToALimitedTokenOnly) {
    const auto limited = add_token_with("sk-nexus-lim", R"("remain_quota":100)");
    const auto unlimited = add_token_with("sk-nexus-unl");
    auto res = post_chat(port(), chat_body("m"), as("sk-nexus-lim"));
    EXPECT_EQ(res.status, 403);
    EXPECT_EQ(error_of(res.body).at("code"), "model_price_not_set");
    EXPECT_EQ(post_chat(port(), chat_body("m"), as("sk-nexus-unl")).status, 200) << "unlimited: free";
    // A priced model: the unlimited token's used_quota grows too.
    price("m", R"({"per_request":7})");
    EXPECT_EQ(post_chat(port(), chat_body("m"), as("sk-nexus-unl")).status, 200);
    EXPECT_EQ(rows_of(unlimited, 2).size(), 2u);
    EXPECT_EQ(token_state(unlimited).at("used_quota"), 7);
    EXPECT_EQ(token_state(unlimited).at("remain_quota"), -1);
    // A model priced 0 is free even for a token with nothing left.
    const auto empty = add_token_with("sk-nexus-empty", R"("remain_quota":0)");
    price("free", "{}");
    EXPECT_EQ(post_chat(port(), chat_body("free"), as("sk-nexus-empty")).status, 200);
    res = post_chat(port(), chat_body("m"), as("sk-nexus-empty"));
    EXPECT_EQ(res.status, 429);
    EXPECT_EQ(error_of(res.body).at("code"), "insufficient_quota");
    EXPECT_EQ(rows_of(limited, 1).at(0).at("quota"), 0) << "a refusal costs nothing, and leaves its row";
    EXPECT_EQ(rows_of(empty, 2).size(), 2u);
}

TEST_F(Quota, TheDefaultPriceCoversUnpricedModels) {
    nexus_.reset();
    start({{"NEXUS_DEFAULT_PRICE", R"({"per_request":4})"}});
    const auto id = add_token_with("sk-nexus-d", R"("remain_quota":10)");
    EXPECT_EQ(post_chat(port(), chat_body("m"), as("sk-nexus-d")).status, 200);
    EXPECT_EQ(post_chat(port(), chat_body("m"), as("sk-nexus-d")).status, 200);
    EXPECT_EQ(post_chat(port(), chat_body("m"), as("sk-nexus-d")).status, 429) << "4 + 4 + 4 > 10";
    EXPECT_EQ(rows_of(id, 3).size(), 3u);
    EXPECT_EQ(token_state(id).at("used_quota"), 8);
}

TEST_F(Quota, UpstreamErrorsAndFailuresCostNothing) {
    price("mock-unknown-model", R"({"per_request":5})");
    price("mock-overloaded", R"({"per_request":5})");
    const auto id = add_token_with("sk-nexus-e", R"("remain_quota":100)");
    EXPECT_EQ(post_chat(port(), chat_body("mock-unknown-model"), as("sk-nexus-e")).status, 400);
    EXPECT_GE(post_chat(port(), chat_body("mock-overloaded"), as("sk-nexus-e")).status, 500);
    const auto rows = rows_of(id, 2);
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_EQ(sum_quota(rows), 0);
    const auto t = token_state(id);
    EXPECT_EQ(t.at("used_quota"), 0);
    EXPECT_EQ(t.at("remain_quota"), 100);
}

TEST_F(Quota, AnAnswerWithoutUsageIsBilledByEstimate) {
    price("mock-no-usage", R"({"input":1000000,"output":1000000})");
    const auto id = add_token_with("sk-nexus-n", R"("remain_quota":100000)");
    const std::string bodies[] = {chat_body("mock-no-usage", true, 6), chat_body("mock-no-usage")};
    EXPECT_EQ(post_chat(port(), bodies[1], as("sk-nexus-n")).status, 200);
    const auto s = stream_chat(port(), bodies[0], as("sk-nexus-n"));
    ASSERT_TRUE(s.complete) << s.error;
    const auto rows = rows_of(id, 2);
    ASSERT_EQ(rows.size(), 2u);
    for (const auto& r : rows) {
        const bool stream = r.at("stream").as_bool();
        EXPECT_EQ(r.at("estimated"), true);
        EXPECT_EQ(r.at("prompt_tokens"), static_cast<std::int64_t>((bodies[stream ? 0 : 1].size() + 3) / 4));
        EXPECT_GT(r.at("quota").as_int64(), 0);
        if (stream) {
            EXPECT_EQ(r.at("completion_tokens"), 6) << "a stream: one token per event delivered";
        }
    }
    EXPECT_EQ(token_state(id).at("used_quota"), sum_quota(rows));
}

// A client that leaves a stream pays for what it was sent: the last usage seen.
TEST_F(Quota, AStreamTheClientLeavesIsBilledFromTheLastUsageSeen) {
    price("m", R"({"input":1000000,"output":1000000})");
    const auto id = add_token_with("sk-nexus-g", R"("remain_quota":100000)");
    int seen = 0;
    const auto s = stream_chat(port(), chat_body("m", true, 40, 50), as("sk-nexus-g"), [&](const StreamEvent&) {
        return ++seen < 3;  // leave after the third event
    });
    EXPECT_FALSE(s.complete);
    const auto rows = rows_of(id, 1);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].at("estimated"), false);
    const auto quota = rows[0].at("quota").as_int64();
    EXPECT_GE(quota, 5 + 3);
    EXPECT_LT(quota, 5 + 40) << "billed as if the whole stream had been sent";
    EXPECT_EQ(token_state(id).at("used_quota"), quota);
}

TEST_F(Quota, QuotaSurvivesARestartExactly) {
    price("m", R"({"per_request":3})");
    const auto id = add_token_with("sk-nexus-r", R"("remain_quota":100)");
    for (int i = 0; i < 5; ++i) ASSERT_EQ(post_chat(port(), chat_body("m"), as("sk-nexus-r")).status, 200);
    nexus_->signal(SIGTERM);
    ASSERT_EQ(nexus_->wait_exit(10s), 0);
    start();
    auto t = token_state(id);
    EXPECT_EQ(t.at("used_quota"), 15);
    EXPECT_EQ(t.at("remain_quota"), 85);
    EXPECT_EQ(sum_quota(rows_of(id, 5)), 15);
    // And the restarted node goes on from there.
    ASSERT_EQ(post_chat(port(), chat_body("m"), as("sk-nexus-r")).status, 200);
    t = token_state(id);
    EXPECT_EQ(t.at("used_quota"), 18);
    EXPECT_EQ(t.at("remain_quota"), 82);
}

// kill -9 loses at most what was settled in the last moments (the next batch); what was written
// is whole: every row with its cost, or neither.
TEST_F(Quota, AKillKeepsTheLedgerWhole) {
    price("m", R"({"per_request":3})");
    const auto id = add_token_with("sk-nexus-k", R"("remain_quota":100)");
    for (int i = 0; i < 4; ++i) ASSERT_EQ(post_chat(port(), chat_body("m"), as("sk-nexus-k")).status, 200);
    std::this_thread::sleep_for(600ms);  // past two batches
    nexus_->signal(SIGKILL);
    nexus_->wait_exit(10s);
    start();
    const auto t = token_state(id);
    EXPECT_EQ(t.at("used_quota"), 12) << "calls settled a second before the kill are kept";
    EXPECT_EQ(t.at("remain_quota"), 88);
    EXPECT_EQ(sum_quota(rows_of(id, 4)), 12);
}

// A call that fails over to another channel is billed once, for the answer it got.
TEST_F(Quota, AFailedOverCallIsBilledOnce) {
    add_channel(port(), channel_body("bad", "sk-bad-key-1234", mock_.base_url(), R"(,"priority":10)"));
    price("m", R"({"per_request":4,"output":1000000})");
    const auto id = add_token_with("sk-nexus-fo", R"("remain_quota":100000)");
    const auto res = post_chat(port(), chat_body("m"), as("sk-nexus-fo"));
    ASSERT_EQ(res.status, 200) << res.body;
    const auto rows = rows_of(id, 1);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].at("attempts"), 2);
    EXPECT_EQ(rows[0].at("quota"), 4 + 3);
    EXPECT_EQ(token_state(id).at("used_quota"), 7);
}

// The remain_quota an admin sets is what the token has from then on, even when calls it made just
// before are not yet written (they are written in batches, every 250 ms).
TEST_F(Quota, TheQuotaSetIsWhatIsLeftFromThenOn) {
    price("m", R"({"per_request":10})");
    const auto id = add_token_with("sk-nexus-set", R"("remain_quota":1000)");
    ASSERT_EQ(post_chat(port(), chat_body("m"), as("sk-nexus-set")).status, 200);
    const auto res = admin_call(port(), "PUT", "/api/token/" + std::to_string(id), R"({"remain_quota":500})");
    ASSERT_EQ(res.status, 200) << res.body;
    EXPECT_EQ(json::parse(res.body).at("remain_quota"), 500);
    EXPECT_EQ(json::parse(res.body).at("used_quota"), 10);
    ASSERT_EQ(rows_of(id, 1).size(), 1u);
    std::this_thread::sleep_for(300ms);  // past the next batch
    const auto t = token_state(id);
    EXPECT_EQ(t.at("remain_quota"), 500) << "the call made before the write was taken from it again";
    EXPECT_EQ(t.at("used_quota"), 10);
}

// A top-up while calls run: after it, what is left plus what was spent only ever moves together.
TEST_F(Quota, ATopUpDuringLoadLosesNeitherTheTopUpNorTheSpending) {
    price("m", R"({"per_request":1})");
    const auto id = add_token_with("sk-nexus-top", R"("remain_quota":100000)");
    std::atomic<bool> stop{false};
    std::atomic<int> ok{0};
    std::vector<std::thread> load;
    for (int t = 0; t < 4; ++t) {
        load.emplace_back([&] {
            while (!stop.load()) {
                if (post_chat(port(), chat_body("m"), as("sk-nexus-top")).status == 200) ++ok;
            }
        });
    }
    std::this_thread::sleep_for(300ms);
    const auto res = admin_call(port(), "PUT", "/api/token/" + std::to_string(id), R"({"remain_quota":500000})");
    ASSERT_EQ(res.status, 200) << res.body;
    const auto after_put = json::parse(res.body).as_object();
    std::this_thread::sleep_for(300ms);
    stop = true;
    for (auto& t : load) t.join();
    std::int64_t used = 0;
    json::object t;
    for (int i = 0; i < 100; ++i) {  // until every row is written
        t = token_state(id);
        used = t.at("used_quota").as_int64();
        if (used == ok.load()) break;
        std::this_thread::sleep_for(20ms);
    }
    EXPECT_EQ(used, ok.load()) << "one unit per successful call";
    EXPECT_GT(after_put.at("used_quota").as_int64(), 0) << "the top-up came during the load";
    EXPECT_LT(after_put.at("used_quota").as_int64(), used) << "and calls went on after it";
    EXPECT_EQ(t.at("remain_quota").as_int64() + used,
              after_put.at("remain_quota").as_int64() + after_put.at("used_quota").as_int64());
    EXPECT_LE(after_put.at("remain_quota").as_int64(), 500000);
}

TEST_F(Quota, UsageIsSummedByModelTokenAndTime) {
    price("m", R"({"per_request":2})");
    const auto a = add_token_with("sk-nexus-ua");
    const auto b = add_token_with("sk-nexus-ub");
    for (int i = 0; i < 2; ++i) ASSERT_EQ(post_chat(port(), chat_body("m"), as("sk-nexus-ua")).status, 200);
    ASSERT_EQ(post_chat(port(), chat_body("mock-unknown-model"), as("sk-nexus-ua")).status, 400);
    ASSERT_EQ(post_chat(port(), chat_body("m"), as("sk-nexus-ub")).status, 200);
    const auto rows = usage_records(4, "?page_size=100");
    ASSERT_EQ(rows.size(), 4u);
    // The log filters by status, and shows what each call cost.
    const auto errors = usage_records(1, "?status=400");
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].at("model"), "mock-unknown-model");
    EXPECT_EQ(errors[0].at("quota"), 0);

    const auto sums = [&](const std::string& query) {
        const auto res = admin_call(port(), "GET", "/api/usage" + query);
        EXPECT_EQ(res.status, 200) << res.body;
        std::map<std::string, json::object> out;
        const auto doc = json::parse(res.body);
        for (const auto& g : doc.at("data").as_array()) {
            const auto& key = g.at("key");
            out[key.is_string() ? std::string(key.as_string()) : std::to_string(key.as_int64())] = g.as_object();
        }
        return out;
    };
    auto by = sums("?group_by=model");
    ASSERT_EQ(by.size(), 2u);
    EXPECT_EQ(by["m"].at("calls"), 3);
    EXPECT_EQ(by["m"].at("errors"), 0);
    EXPECT_EQ(by["m"].at("prompt_tokens"), 15);
    EXPECT_EQ(by["m"].at("completion_tokens"), 9);
    EXPECT_EQ(by["m"].at("quota"), 6);
    EXPECT_LE(by["m"].at("latency_p50_ms").as_int64(), by["m"].at("latency_p99_ms").as_int64());
    EXPECT_EQ(by["mock-unknown-model"].at("errors"), 1);
    by = sums("?group_by=token");
    EXPECT_EQ(by[std::to_string(a)].at("calls"), 3);
    EXPECT_EQ(by[std::to_string(a)].at("errors"), 1);
    EXPECT_EQ(by[std::to_string(b)].at("quota"), 2);
    by = sums("?group_by=channel");
    EXPECT_EQ(by["1"].at("calls"), 4);
    // Hours and days are keyed by their start, in unix seconds.
    std::map<std::string, int> hours, days;
    for (const auto& r : rows) {
        const auto t = r.at("created_time").as_int64();
        ++hours[std::to_string(t - t % 3600)];
        ++days[std::to_string(t - t % 86400)];
    }
    by = sums("?group_by=hour");
    ASSERT_EQ(by.size(), hours.size());
    for (const auto& [key, calls] : hours) EXPECT_EQ(by[key].at("calls"), calls) << key;
    by = sums("?group_by=day");
    for (const auto& [key, calls] : days) EXPECT_EQ(by[key].at("calls"), calls) << key;
    EXPECT_TRUE(sums("?group_by=day&start=1&end=2").empty()) << "a range holding no record";

    for (const auto* bad : {"", "?group_by=week", "?group_by=day&start=10&end=5", "?group_by=day&start=x"}) {
        const auto res = admin_call(port(), "GET", std::string("/api/usage") + bad);
        EXPECT_EQ(res.status, 400) << bad;
    }
}

}  // namespace
}  // namespace nexus::testing
