// A client that leaves never causes another upstream call, whichever step the call was at:
// connecting, the TLS handshake, waiting for the answer on a pooled connection, or streaming.
// Each test watches the upstream side: exactly one request (or connection), none after the
// client left, and the call logged 499 at once rather than at its deadline.
#include <gtest/gtest.h>

#include <thread>

#include "support/fixtures.hpp"
#include "support/raw_listener.hpp"

namespace nexus::testing {
namespace {

using namespace std::chrono_literals;

// Sends a chat call on a raw connection and closes it once `ready` says the call is under way.
void leave_during(std::uint16_t port, const std::string& model, const std::function<bool()>& ready) {
    RawConnection c(port);
    const auto body = chat_body(model);
    ASSERT_TRUE(c.send(raw_chat_request(body)));
    for (int i = 0; i < 300 && !ready(); ++i) std::this_thread::sleep_for(10ms);
    ASSERT_TRUE(ready());
}  // the client goes away

// Whether the access log shows a 499 within `timeout` (the server noticed the departure).
bool logged_499_within(NexusProcess& nexus, std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
        if (nexus.stdout_text().find(R"("status":499)") != std::string::npos) return true;
        std::this_thread::sleep_for(20ms);
    }
    return false;
}

std::unique_ptr<NexusProcess> start(const std::string& base_url, const std::string& key, Env extra = {}) {
    Env env{{"SILICONFLOW_API_KEY", key},
            {"SILICONFLOW_BASE_URL", base_url},
            {"NEXUS_THREADS", "1"},
            {"NEXUS_UPSTREAM_CONNECT_TIMEOUT_SECONDS", "30"},
            {"NEXUS_UPSTREAM_TLS_TIMEOUT_SECONDS", "30"},
            {"NEXUS_UPSTREAM_HEADER_TIMEOUT_SECONDS", "60"}};
    for (auto& [k, v] : extra) env[k] = v;
    auto nexus = std::make_unique<NexusProcess>(env);
    EXPECT_TRUE(nexus->wait_ready()) << nexus->stderr_text();
    add_token(nexus->port());
    return nexus;
}

// The bug seen with one I/O thread and a warm pool: the departure closed the pooled upstream
// connection, the failed read looked like a stale pooled connection, and the call was sent
// again on a fresh one nobody watched.
TEST(ClientLeaves, WhileWaitingForTheAnswerOnAPooledConnection) {
    MockUpstream mock{MockUpstream::Options{}};
    auto nexus = start(mock.base_url(), mock.good_key());
    ASSERT_EQ(post_chat(nexus->port(), chat_body("m")).status, 200);  // warms the pool
    leave_during(nexus->port(), "mock-hang", [&] { return mock.requests().size() == 2; });
    EXPECT_TRUE(mock.wait_for_aborted_streams(1, 5s)) << "the upstream call outlived its client";
    EXPECT_TRUE(logged_499_within(*nexus, 2s));
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(mock.requests().size(), 2u) << "a call was sent again after the client left";
    EXPECT_EQ(mock.connections(), 1) << "a fresh connection was opened after the client left";
}

// Connecting: the upstream's accept queue is full, so the connect hangs (30 s deadline).
TEST(ClientLeaves, WhileConnecting) {
    RawListener upstream(0);
    upstream.fill();
    auto nexus = start("http://127.0.0.1:" + std::to_string(upstream.port()), "sk-any-key-123");
    // Give the connect time to be under way (its first SYN is dropped).
    leave_during(nexus->port(), "m", [start = std::chrono::steady_clock::now()] {
        return std::chrono::steady_clock::now() - start > 300ms;
    });
    EXPECT_TRUE(logged_499_within(*nexus, 2s)) << "the departure was noticed only at the connect deadline";
    // Drain the queue: a connect still under way would now get through (its SYN is retried).
    ASSERT_GE(upstream.accept_within(1s), 0);  // the filler
    EXPECT_LT(upstream.accept_within(4s), 0) << "the connect went on after the client left";
}

// The TLS handshake: the upstream accepts and never says a word (30 s deadline).
TEST(ClientLeaves, DuringTheTlsHandshake) {
    RawListener upstream(16);
    auto nexus = start("https://127.0.0.1:" + std::to_string(upstream.port()), "sk-any-key-123");
    int accepted = -1;
    leave_during(nexus->port(), "m", [&] {
        if (accepted < 0) accepted = upstream.accept_within(10ms);
        return accepted >= 0;
    });
    EXPECT_TRUE(peer_closed_within(accepted, 2s)) << "the handshake went on after the client left";
    EXPECT_TRUE(logged_499_within(*nexus, 2s));
    EXPECT_LT(upstream.accept_within(500ms), 0) << "another connection was made after the client left";
}

}  // namespace
}  // namespace nexus::testing
