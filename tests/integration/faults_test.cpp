// Faults, as a suite: each way an upstream can fail, against the real binary, streamed and not.
// For each: what the client gets, that the channel is not disabled, that the server lives on
// (the ASan run checks it leaks nothing), and the metric that counts it.
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <thread>

#include "support/fixtures.hpp"

namespace nexus::testing {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

struct Fault {
    std::string model;       ///< the mock scenario ("" with a closed port: connection refused)
    bool stream;
    int status;              ///< what the client's answer starts with
    std::string code;        ///< the error code, in the body or in the stream's last event
    std::string outcome;     ///< nexus_upstream_attempts_total's label that counts it
    bool midway = false;     ///< the failure comes after bytes went to the client
};

std::ostream& operator<<(std::ostream& os, const Fault& f) {
    return os << (f.model.empty() ? "connection-refused" : f.model) << (f.stream ? "/stream" : "");
}

std::uint16_t closed_port() {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
    return a.local_endpoint().port();
}

class Faults : public ::testing::TestWithParam<Fault> {
protected:
    void SetUp() override {
        const auto& f = GetParam();
        nexus_ = std::make_unique<NexusProcess>(Env{
            {"SILICONFLOW_API_KEY", mock_.good_key()},
            {"SILICONFLOW_BASE_URL", f.model.empty() ? "http://127.0.0.1:" + std::to_string(closed_port()) : mock_.base_url()},
            {"NEXUS_UPSTREAM_HEADER_TIMEOUT_SECONDS", "1"},
            {"NEXUS_UPSTREAM_IDLE_TIMEOUT_SECONDS", "1"}});
        ASSERT_TRUE(nexus_->wait_ready()) << nexus_->stderr_text();
        add_token(nexus_->port());
    }
    MockUpstream mock_{MockUpstream::Options{}};
    std::unique_ptr<NexusProcess> nexus_;
};

TEST_P(Faults, TheClientGetsAClearAnswerAndTheServerLivesOn) {
    const auto& f = GetParam();
    const auto port = nexus_->port();
    const auto body = chat_body(f.model.empty() ? "m" : f.model, f.stream);
    const auto res = stream_post(port, "/v1/chat/completions", body, {}, {}, 10s);
    ASSERT_EQ(res.status, f.status) << res.raw << res.error;
    if (!f.midway) {
        EXPECT_TRUE(res.complete) << res.error;
        EXPECT_EQ(error_of(res.raw).at("code"), json::value(f.code)) << res.raw;
    } else if (f.stream) {
        // A stream ends with an error event the OpenAI SDKs raise, and no [DONE].
        EXPECT_TRUE(res.complete) << res.error;
        ASSERT_FALSE(res.events.empty());
        const auto last = json::parse(res.events.back().data);
        EXPECT_EQ(last.at("error").at("code"), json::value(f.code)) << res.raw;
        EXPECT_EQ(res.raw.find("[DONE]"), std::string::npos);
    } else {
        // A body that was under way: the connection ends on the short answer.
        EXPECT_FALSE(res.complete) << res.raw;
    }
    // The server lives, and the metric counts the failure by its kind.
    EXPECT_EQ(http_request(port, "GET", "/healthz").status, 200);
    const std::string line = "nexus_upstream_attempts_total{outcome=\"" + f.outcome + "\"} ";
    std::string metrics;
    for (int i = 0; i < 100; ++i) {
        metrics = http_request(port, "GET", "/metrics").body;
        const auto at = metrics.find(line);
        if (at != std::string::npos && std::stoi(metrics.substr(at + line.size())) >= 1) break;
        std::this_thread::sleep_for(20ms);
    }
    const auto at = metrics.find(line);
    ASSERT_NE(at, std::string::npos) << metrics;
    EXPECT_GE(std::stoi(metrics.substr(at + line.size())), 1) << line << "\n" << metrics;
    // A broken answer is the upstream's momentary failure, never proof against the key: the
    // channel stays enabled (status 1) and serves the next call.
    const auto channel = json::parse(admin_call(port, "GET", "/api/channel/1").body);
    EXPECT_EQ(channel.at("status"), 1) << channel;
    if (!f.model.empty()) {
        EXPECT_EQ(post_chat(port, chat_body("m")).status, 200);
    }
    nexus_->signal(SIGTERM);
    EXPECT_EQ(nexus_->wait_exit(10s), 0);
}

INSTANTIATE_TEST_SUITE_P(
    EveryFault, Faults,
    ::testing::Values(Fault{"", false, 502, "upstream_unreachable", "connect_error"},
                      Fault{"", true, 502, "upstream_unreachable", "connect_error"},
                      Fault{"mock-reset-after-request", false, 502, "upstream_unreachable", "io_error"},
                      Fault{"mock-reset-after-request", true, 502, "upstream_unreachable", "io_error"},
                      Fault{"mock-reset-after-status", false, 502, "upstream_unreachable", "io_error"},
                      Fault{"mock-reset-mid-body", false, 200, "", "io_error", true},
                      Fault{"mock-reset-mid-body", true, 200, "upstream_unreachable", "io_error", true},
                      Fault{"mock-half-close", false, 502, "upstream_unreachable", "io_error"},
                      Fault{"mock-garbage-status", false, 502, "upstream_unreachable", "protocol_error"},
                      Fault{"mock-bad-chunk", false, 502, "upstream_unreachable", "protocol_error"},
                      Fault{"mock-bad-chunk", true, 200, "upstream_unreachable", "protocol_error", true},
                      Fault{"mock-huge-header", false, 502, "upstream_unreachable", "protocol_error"},
                      Fault{"mock-trickle", false, 504, "upstream_timeout", "timeout"},
                      Fault{"mock-stall-stream", true, 200, "upstream_timeout", "timeout", true}),
    [](const ::testing::TestParamInfo<Fault>& info) {
        std::string name = info.param.model.empty() ? "connection_refused" : info.param.model.substr(5);
        for (auto& c : name) {
            if (c == '-') c = '_';
        }
        return name + (info.param.stream ? "_stream" : "");
    });

}  // namespace
}  // namespace nexus::testing
