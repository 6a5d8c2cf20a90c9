// Faults, as a suite: each way an upstream can fail, against the real binary, streamed and not.
// For each: what the client gets, that the channel is not disabled, that the server lives on
// (the ASan run checks it leaks nothing), and the metric that counts it.
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <sys/socket.h>
#include <thread>

#include "support/fixtures.hpp"
#include "support/pool_fixture.hpp"
#include "support/raw_listener.hpp"

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

// A head that is already waiting when a call reads it, while another call on the same I/O
// thread waits for its own: the call yields, then parses what has come without a wait. Bytes an
// upstream sent on a pooled connection between two calls are such a head; here they are not
// HTTP, and the attempt must fail as a malformed answer would on the waiting read (then the
// call fails over to the other channel).
TEST(FaultsBesideACall, ABrokenHeadAlreadyWaitingIsAProtocolError) {
    MockUpstream mock{MockUpstream::Options{}};
    RawListener raw;
    NexusProcess nexus(Env{{"SILICONFLOW_API_KEY", mock.good_key()},
                           {"SILICONFLOW_BASE_URL", mock.base_url()},
                           {"NEXUS_THREADS", "1"},
                           {"NEXUS_UPSTREAM_HEADER_TIMEOUT_SECONDS", "1"}});
    ASSERT_TRUE(nexus.wait_ready()) << nexus.stderr_text();
    const auto port = nexus.port();
    add_token(port);
    add_channel(port, channel_body("raw", "sk-raw-key-0123", "http://127.0.0.1:" + std::to_string(raw.port()),
                                   R"(,"models":["raw-model"],"priority":10)"));

    // The first call to the raw upstream is answered; its connection goes back to the pool.
    std::thread first([&] { EXPECT_EQ(post_chat(port, chat_body("raw-model")).status, 200); });
    const int fd = raw.accept_within(5s);
    ASSERT_GE(fd, 0);
    std::string request;
    char piece[4096];
    while (request.find("\r\n\r\n") == std::string::npos || request.back() != '}') {
        const auto n = ::recv(fd, piece, sizeof(piece), 0);
        ASSERT_GT(n, 0);
        request.append(piece, static_cast<std::size_t>(n));
    }
    const std::string answer = R"({"id":"a","object":"chat.completion","choices":[],)"
                               R"("usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}})";
    const auto ok = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                    std::to_string(answer.size()) + "\r\n\r\n" + answer;
    ASSERT_EQ(::send(fd, ok.data(), ok.size(), MSG_NOSIGNAL), static_cast<ssize_t>(ok.size()));
    first.join();
    // Then, unasked, bytes that are not HTTP wait on the pooled connection.
    const std::string garbage = "HTTP/1.1 2OO FINE\r\nContent-Length: 2\r\n\r\n{}";
    ASSERT_EQ(::send(fd, garbage.data(), garbage.size(), MSG_NOSIGNAL), static_cast<ssize_t>(garbage.size()));
    std::this_thread::sleep_for(100ms);

    // mock-hang sends no head: its call waits for the header timeout, so the next call yields.
    std::thread waiting([&] { EXPECT_EQ(post_chat(port, chat_body("mock-hang")).status, 504); });
    std::this_thread::sleep_for(200ms);
    const auto res = post_chat(port, chat_body("raw-model"));
    waiting.join();
    // The raw channel's attempt failed as malformed, and the call went on to the other channel.
    EXPECT_EQ(res.status, 200) << res.body;
    EXPECT_NE(res.body.find("Hello from mock"), std::string::npos) << res.body;
    const auto metrics = http_request(port, "GET", "/metrics").body;
    const std::string line = "nexus_upstream_attempts_total{outcome=\"protocol_error\"} ";
    const auto at = metrics.find(line);
    ASSERT_NE(at, std::string::npos) << metrics;
    EXPECT_EQ(std::stoi(metrics.substr(at + line.size())), 1) << metrics;
}

}  // namespace
}  // namespace nexus::testing
