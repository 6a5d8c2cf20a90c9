// Every wait has a deadline, and a deadline that fires fails over when nothing reached the
// client yet: connect, TLS handshake, the answer's head, the whole request, and a client that
// does not read (backpressure, then the write deadline).
#include <gtest/gtest.h>

#include <thread>

#include "support/fixtures.hpp"
#include "support/raw_listener.hpp"
#include "support/test_cert.hpp"

namespace nexus::testing {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

std::unique_ptr<NexusProcess> start(Env env) {
    auto p = std::make_unique<NexusProcess>(std::move(env));
    EXPECT_TRUE(p->wait_ready()) << p->stderr_text();
    add_token(p->port());
    return p;
}

TEST(Deadlines, ConnectDeadlineIs504) {
    RawListener upstream(0);
    upstream.fill();  // connects to it hang
    auto nexus = start({{"SILICONFLOW_API_KEY", "sk-any-key-123"},
                        {"SILICONFLOW_BASE_URL", "http://127.0.0.1:" + std::to_string(upstream.port())},
                        {"NEXUS_UPSTREAM_CONNECT_TIMEOUT_SECONDS", "0.5"}});
    const auto started = Clock::now();
    const auto res = post_chat(nexus->port(), chat_body("m"));
    EXPECT_EQ(res.status, 504) << res.body;
    EXPECT_NE(message_of(res.body).find("connecting"), std::string::npos) << res.body;
    EXPECT_LT(Clock::now() - started, 3s);
}

TEST(Deadlines, TlsHandshakeDeadlineIs504) {
    RawListener upstream;  // accepts, never says a word
    auto nexus = start({{"SILICONFLOW_API_KEY", "sk-any-key-123"},
                        {"SILICONFLOW_BASE_URL", "https://127.0.0.1:" + std::to_string(upstream.port())},
                        {"NEXUS_UPSTREAM_TLS_TIMEOUT_SECONDS", "0.5"}});
    const auto started = Clock::now();
    const auto res = post_chat(nexus->port(), chat_body("m"));
    EXPECT_EQ(res.status, 504) << res.body;
    EXPECT_NE(message_of(res.body).find("TLS handshake"), std::string::npos) << res.body;
    EXPECT_LT(Clock::now() - started, 3s);
}

// The whole request's deadline cuts a stream that would go on longer.
TEST(Deadlines, RequestDeadlineEndsALongStream) {
    MockUpstream mock{MockUpstream::Options{}};
    auto nexus = start({{"SILICONFLOW_API_KEY", mock.good_key()},
                        {"SILICONFLOW_BASE_URL", mock.base_url()},
                        {"NEXUS_REQUEST_TIMEOUT_SECONDS", "1"}});
    const auto started = Clock::now();
    const auto res = stream_chat(nexus->port(), chat_body("m", true, 20, 200));  // 4 s of frames
    ASSERT_EQ(res.status, 200);
    EXPECT_LT(Clock::now() - started, 2500ms);
    ASSERT_FALSE(res.events.empty());
    EXPECT_LT(res.events.size(), 10u);
    EXPECT_EQ(json::parse(res.events.back().data).at("error").at("code"), "upstream_timeout") << res.raw;
}

// A client that stops reading stops the upstream too (each read waits for the client to take the
// last write), and after the write deadline the call is given up, upstream included.
TEST(Deadlines, AClientThatDoesNotReadHoldsBackTheUpstreamAndIsCutOff) {
    MockUpstream mock{MockUpstream::Options{}};
    auto nexus = start({{"SILICONFLOW_API_KEY", mock.good_key()},
                        {"SILICONFLOW_BASE_URL", mock.base_url()},
                        {"NEXUS_WRITE_TIMEOUT_SECONDS", "1"}});
    constexpr int kFrames = 200'000;  // about 60 MB: far more than every socket buffer between
    RawConnection c(nexus->port());
    const auto body = chat_body("m", true, kFrames);
    ASSERT_TRUE(c.send(raw_chat_request(body)));
    // The client reads nothing. The upstream is held back, then cut off after the write deadline.
    EXPECT_TRUE(mock.wait_for_aborted_streams(1, 10s)) << "the upstream kept streaming to a client that does not read";
    EXPECT_LT(mock.frames_sent(), kFrames / 2) << "the relay read the upstream faster than the client took it";
    EXPECT_GT(mock.frames_sent(), 0);
    EXPECT_TRUE(c.closed_within(5s)) << "the client's connection was not given up";
}

// A channel that times out before answering, or whose TLS fails, is left for the next one.
TEST(Deadlines, TimeoutsAndTlsFailuresFailOver) {
    MockUpstream good{MockUpstream::Options{}};
    RawListener silent;  // a plain-HTTP upstream that never answers
    MockUpstream::Options tls_options;
    tls_options.tls = true;
    const auto cert = make_test_cert();
    tls_options.cert_pem = cert.cert_pem;
    tls_options.key_pem = cert.key_pem;
    MockUpstream untrusted(tls_options);  // its certificate is in no trust store
    NexusProcess nexus(Env{{"NEXUS_UPSTREAM_HEADER_TIMEOUT_SECONDS", "0.5"}, {"NEXUS_THREADS", "1"}});
    ASSERT_TRUE(nexus.wait_ready()) << nexus.stderr_text();
    add_token(nexus.port());
    auto channel = [&](const std::string& name, const std::string& url, const std::string& key, int priority) {
        add_channel(nexus.port(), R"({"type":"OpenAI-Compatible","name":")" + name + R"(","key":")" + key +
                                      R"(","base_url":")" + url + R"(","priority":)" + std::to_string(priority) + "}");
    };
    channel("silent", "http://127.0.0.1:" + std::to_string(silent.port()), "sk-silent-key-1", 20);
    channel("untrusted", untrusted.base_url(), untrusted.good_key(), 10);
    channel("good", good.base_url(), good.good_key(), 0);
    const auto res = post_chat(nexus.port(), chat_body("m"));
    EXPECT_EQ(res.status, 200) << res.body;
    EXPECT_EQ(good.requests().size(), 1u);
    EXPECT_TRUE(untrusted.requests().empty());
    const auto metrics = http_request(nexus.port(), "GET", "/metrics").body;
    EXPECT_NE(metrics.find("nexus_upstream_attempts_total{outcome=\"timeout\"} 1\n"), std::string::npos) << metrics;
    EXPECT_NE(metrics.find("nexus_upstream_attempts_total{outcome=\"tls_error\"} 1\n"), std::string::npos) << metrics;
    json::array logs;
    for (int i = 0; i < 100 && logs.empty(); ++i) {
        logs = json::parse(admin_call(nexus.port(), "GET", "/api/log").body).at("data").as_array();
        if (logs.empty()) std::this_thread::sleep_for(50ms);
    }
    ASSERT_EQ(logs.size(), 1u);
    EXPECT_EQ(logs[0].at("attempts"), 3);
}

}  // namespace
}  // namespace nexus::testing
