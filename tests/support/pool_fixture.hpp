#pragma once
// What the tests of the channel pool share: the binary started against a mock upstream, and
// helpers that read channels and usage records back through the admin API.
#include <boost/asio.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <future>
#include <thread>

#include "support/fixtures.hpp"

namespace nexus::testing {

using namespace std::chrono_literals;

/// An OpenAI-compatible channel's creation body.
inline std::string channel_body(const std::string& name, const std::string& key, const std::string& base_url,
                         const std::string& extra = "") {
    return R"({"type":"OpenAI-Compatible","name":")" + name + R"(","key":")" + key + R"(","base_url":")" + base_url +
           "\"" + extra + "}";
}

/// Runs `call(i)` for each i in [0, n), each on a thread of its own, all released at once so
/// that they race; their answers, in order of i.
inline std::vector<HttpResponse> all_at_once(int n, const std::function<HttpResponse(int)>& call) {
    std::vector<std::future<HttpResponse>> calls;
    std::atomic<bool> go{false};
    for (int i = 0; i < n; ++i) {
        calls.push_back(std::async(std::launch::async, [&go, &call, i] {
            while (!go.load()) std::this_thread::yield();
            return call(i);
        }));
    }
    go = true;
    std::vector<HttpResponse> out;
    for (auto& c : calls) out.push_back(c.get());
    return out;
}

/// A port nothing listens on.
inline std::uint16_t closed_port() {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
    return a.local_endpoint().port();
}

/// Which channel keys the upstream saw, in order.
inline std::vector<std::string> keys_seen(const MockUpstream& mock) {
    std::vector<std::string> out;
    for (const auto& r : mock.requests()) out.push_back(r.headers.at("authorization").substr(7));
    return out;
}

/// The real binary against one mock upstream that takes two keys (sk-aaa, sk-bbb), with a data
/// directory that outlives a restart; channels and tokens are added by each test.
class PoolTest : public ::testing::Test {
protected:
    // (Re)starts the server; one that still runs is killed first: one server per database.
    void start(Env extra = {}) {
        Env env{{"NEXUS_DATA_DIR", data_.file("data")}};
        for (auto& [k, v] : extra) env[k] = v;
        nexus_.reset();
        nexus_ = std::make_unique<NexusProcess>(env);
        ASSERT_TRUE(nexus_->wait_ready()) << nexus_->stderr_text();
    }
    void SetUp() override { start(); }
    std::uint16_t port() const { return nexus_->port(); }
    boost::json::object channel(std::int64_t id) {
        return boost::json::parse(admin_call(port(), "GET", "/api/channel/" + std::to_string(id)).body).as_object();
    }
    // The channel as the admin API shows it, polled until its status is `status` (the store
    // write of an auto-disable follows the answer) or two seconds pass.
    boost::json::object channel_with_status(std::int64_t id, int status) {
        boost::json::object ch;
        for (int i = 0; i < 100; ++i) {
            ch = channel(id);
            if (ch.at("status") == status) break;
            std::this_thread::sleep_for(20ms);
        }
        return ch;
    }
    // Usage records, polled until `count` are there (they are written in batches each second).
    boost::json::array usage_records(std::size_t count, const std::string& query = "") {
        boost::json::array data;
        for (int i = 0; i < 100; ++i) {
            const auto res = admin_call(port(), "GET", "/api/log" + query);
            data = boost::json::parse(res.body).at("data").as_array();
            if (data.size() >= count) break;
            std::this_thread::sleep_for(50ms);
        }
        return data;
    }

    // A token `key` with `fields` (a JSON object's members, without braces); its id.
    std::int64_t add_token_with(const std::string& key, const std::string& fields = "") {
        const auto res = admin_call(port(), "POST", "/api/token",
                                    R"({"name":"t","key":")" + key + "\"" + (fields.empty() ? "" : "," + fields) + "}");
        EXPECT_EQ(res.status, 201) << res.body;
        return res.status == 201 ? boost::json::parse(res.body).at("id").as_int64() : 0;
    }
    // `more` headers with the token `key` as the bearer.
    static Headers as(const std::string& key, Headers more = {}) {
        more["Authorization"] = "Bearer " + key;
        return more;
    }

    TempDir data_;
    MockUpstream mock_{mock_options([](auto& o) {
        o.good_key = "sk-aaa";
        o.other_good_keys = {"sk-bbb"};
    })};
    std::unique_ptr<NexusProcess> nexus_;
};


}  // namespace nexus::testing
