// The relay of POST /v1/chat/completions, end to end: the real nexus-api binary against the mock
// SiliconFlow upstream.
#include <boost/asio.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "support/fixtures.hpp"

namespace nexus::testing {
namespace {

using namespace std::chrono_literals;

class Relay : public ::testing::Test {
protected:
    static std::map<std::string, std::string> env_for(const MockUpstream& mock, const std::string& key) {
        return {{"SILICONFLOW_API_KEY", key},
                {"SILICONFLOW_BASE_URL", mock.base_url() + "/v1"},
                {"NEXUS_THREADS", "2"},
                {"NEXUS_UPSTREAM_HEADER_TIMEOUT_SECONDS", "1"},
                {"NEXUS_UPSTREAM_IDLE_TIMEOUT_SECONDS", "1"}};
    }
    void SetUp() override {
        nexus_ = std::make_unique<NexusProcess>(env_for(mock_, mock_.good_key()));
        ASSERT_TRUE(nexus_->wait_ready()) << nexus_->stderr_text();
        add_token(port());
    }
    std::uint16_t port() const { return nexus_->port(); }

    MockUpstream mock_{MockUpstream::Options{}};
    std::unique_ptr<NexusProcess> nexus_;
};

TEST_F(Relay, NonStreamRelaysUpstreamAnswer) {
    const auto body = chat_body("Qwen/Qwen2.5-7B-Instruct");
    const auto res = post_chat(port(), body,
                               {{"Cookie", "a=b"}, {"X-Custom", "dropped"}, {"OpenAI-Organization", "org-someone-else"},
                                {"OpenAI-Project", "proj-x"}, {"Accept", "application/json"}, {"User-Agent", "MyApp/1.0"}});
    ASSERT_EQ(res.status, 200) << res.body;
    const auto doc = boost::json::parse(res.body);
    EXPECT_EQ(doc.at("choices").at(0).at("message").at("content"), "Hello from mock");
    EXPECT_EQ(doc.at("usage").at("total_tokens"), 8);
    EXPECT_EQ(res.header("content-type"), "application/json");
    EXPECT_EQ(res.header("x-siliconcloud-trace-id"), "trace-abc");
    EXPECT_EQ(res.header("set-cookie"), "") << "upstream cookies must not reach the client";
    EXPECT_EQ(res.header("x-internal-node"), "") << "upstream internal headers must not reach the client";
    EXPECT_EQ(res.header("x-request-id").size(), 32u);

    const auto seen = mock_.requests();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].target, "/v1/chat/completions");
    EXPECT_EQ(seen[0].body, body) << "the client's body bytes go upstream unchanged";
    EXPECT_EQ(seen[0].headers.at("authorization"), "Bearer " + mock_.good_key());
    EXPECT_FALSE(seen[0].headers.contains("cookie"));
    EXPECT_EQ(seen[0].body.find(kTestToken), std::string::npos);
    // Client headers go upstream by an allow-list: what describes the body and the answer only.
    EXPECT_EQ(seen[0].headers.at("content-type"), "application/json");
    EXPECT_EQ(seen[0].headers.at("accept"), "application/json");
    for (const auto* dropped : {"x-custom", "openai-organization", "openai-project"}) {
        EXPECT_FALSE(seen[0].headers.contains(dropped)) << dropped;
    }
    EXPECT_EQ(seen[0].headers.at("user-agent").rfind("nexus-api/", 0), 0u) << seen[0].headers.at("user-agent");
    EXPECT_EQ(seen[0].headers.at("x-request-id"), res.header("x-request-id"));
    EXPECT_EQ(seen[0].headers.at("host"), "127.0.0.1:" + std::to_string(mock_.port()));
}

TEST_F(Relay, BodyBytesForwardedExactlyEvenWithOddFormatting) {
    const std::string body = "{ \"model\" : \"m\",\n \"messages\":[{\"role\":\"user\",\"content\":\"\\u4f60\"}] ,\"x\":1.50}";
    const auto res = post_chat(port(), body);
    ASSERT_EQ(res.status, 200);
    ASSERT_EQ(mock_.requests().size(), 1u);
    EXPECT_EQ(mock_.requests()[0].body, body);
}

TEST_F(Relay, ClientRequestIdEchoedWhenSane) {
    auto res = post_chat(port(), chat_body("m"), {{"X-Request-Id", "my-trace-42"}});
    EXPECT_EQ(res.header("x-request-id"), "my-trace-42");
    EXPECT_EQ(mock_.requests().back().headers.at("x-request-id"), "my-trace-42");
    res = post_chat(port(), chat_body("m"), {{"X-Request-Id", "bad id with spaces"}});
    EXPECT_EQ(res.header("x-request-id").size(), 32u);
}

TEST_F(Relay, StreamRelaysEveryFrameWithRunningUsage) {
    const auto res = stream_chat(port(), chat_body("m", true, 4));
    ASSERT_EQ(res.status, 200) << res.error;
    EXPECT_TRUE(res.complete) << res.error;
    EXPECT_NE(res.header("content-type").find("text/event-stream"), std::string::npos);
    EXPECT_EQ(res.header("x-request-id").size(), 32u);
    ASSERT_EQ(res.events.size(), 5u);
    for (int i = 0; i < 4; ++i) {
        const auto chunk = boost::json::parse(res.events[i].data);
        EXPECT_EQ(chunk.at("object"), "chat.completion.chunk");
        EXPECT_EQ(chunk.at("usage").at("completion_tokens"), i + 1);
    }
    EXPECT_EQ(res.events[4].data, "[DONE]");
}

TEST_F(Relay, StreamFramesReachTheClientWhenTheUpstreamSendsThem) {
    // Four frames 300 ms apart: a relay that buffered would hand them all over at the end.
    const auto res = stream_chat(port(), chat_body("m", true, 4, 300));
    ASSERT_TRUE(res.complete) << res.error;
    ASSERT_EQ(res.events.size(), 5u);
    for (std::size_t i = 1; i < 4; ++i) {
        EXPECT_GE(res.events[i].at - res.events[i - 1].at, 200ms) << "frame " << i << " came bunched with the one before";
    }
}

// A non-stream answer is piped as it arrives, not held whole: its head and first half reach the
// client while the upstream still owes the second half; its usage is read on the way.
TEST_F(Relay, NonStreamAnswersArePipedAsTheyArrive) {
    const auto res = stream_post(port(), "/v1/chat/completions", chat_body("mock-slow-body"));
    ASSERT_EQ(res.status, 200) << res.error;
    ASSERT_TRUE(res.complete) << res.error;
    EXPECT_GE(res.end_at - res.head_at, 300ms) << "the answer was held until the upstream finished it";
    const auto doc = boost::json::parse(res.raw);
    EXPECT_EQ(doc.at("padding").as_string().size(), 40000u);
    EXPECT_EQ(res.header("content-length"), std::to_string(res.raw.size())) << "the upstream's length goes on";
    // The usage came at the end of the body, read as it passed (records are written in batches off the request path).
    boost::json::array logs;
    for (int i = 0; i < 100 && logs.empty(); ++i) {
        logs = boost::json::parse(admin_call(port(), "GET", "/api/log").body).at("data").as_array();
        if (logs.empty()) std::this_thread::sleep_for(50ms);
    }
    ASSERT_EQ(logs.size(), 1u);
    EXPECT_EQ(logs[0].at("total_tokens"), 18);
    EXPECT_EQ(logs[0].at("completion_tokens"), 11);
}

// Two calls sent in one write on one connection: the first call's body is parsed from the bytes
// read with its head, and the second call's bytes stay for the next request.
TEST_F(Relay, PipelinedCallsOnOneConnectionAreAnsweredInOrder) {
    RawConnection c(port());
    const auto first = chat_body("Qwen/Qwen2.5-7B-Instruct");
    const auto second = chat_body("mock-slow-body");
    ASSERT_TRUE(c.send(raw_chat_request(first) + raw_chat_request(second, "Connection: close\r\n")));
    const auto answer = c.read_until_close(10s);
    ASSERT_EQ(answer.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << answer.substr(0, 300);
    const auto second_at = answer.find("HTTP/1.1 200 OK\r\n", 1);
    ASSERT_NE(second_at, std::string::npos) << "the second call was not answered";
    EXPECT_NE(answer.substr(0, second_at).find("Hello from mock"), std::string::npos);
    EXPECT_EQ(answer.substr(0, second_at).find("padding"), std::string::npos);
    EXPECT_NE(answer.find(std::string(40'000, 'p'), second_at), std::string::npos) << "the second answer is not whole";
    const auto seen = mock_.requests();
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].body, first);
    EXPECT_EQ(seen[1].body, second);
}

// Reads one answer with a Content-Length from `c`: its head and whole body, or what came by then.
std::string read_one_answer(RawConnection& c, std::string& carry, std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (const auto head_end = carry.find("\r\n\r\n"); head_end != std::string::npos) {
            const auto at = carry.find("Content-Length: ");
            if (at != std::string::npos && at < head_end) {
                const auto whole = head_end + 4 + std::stoul(carry.substr(at + 16));
                if (carry.size() >= whole) {
                    auto answer = carry.substr(0, whole);
                    carry.erase(0, whole);
                    return answer;
                }
            }
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
        if (left <= 0ms) return std::exchange(carry, {});
        const auto more = c.read_some(left);
        if (more.empty()) return std::exchange(carry, {});
        carry += more;
    }
}

// Many clients, each sending one call after another on its kept-alive connection, at once: an I/O
// thread then reads a client's next request, and an upstream's answer head, without waiting when
// they have come (after letting the other connections run). Every call is answered whole, in
// order, on its own connection, and the upstream gets each body once.
TEST_F(Relay, ConcurrentKeptAliveCallsAreEachAnsweredWholeOnTheirConnection) {
    constexpr int kClients = 8;
    constexpr int kCalls = 25;
    std::vector<std::thread> clients;
    std::atomic<int> answered{0};
    std::vector<std::string> failures(kClients);
    for (int i = 0; i < kClients; ++i) {
        clients.emplace_back([&, i] {
            RawConnection c(port());
            std::string carry;
            for (int n = 0; n < kCalls; ++n) {
                const auto body = chat_body("Qwen/Qwen2.5-7B-Instruct") + std::string(static_cast<std::size_t>(i * kCalls + n), ' ');
                if (!c.send(raw_chat_request(body))) {
                    failures[i] = "the connection closed before call " + std::to_string(n);
                    return;
                }
                const auto answer = read_one_answer(c, carry, 10s);
                if (answer.rfind("HTTP/1.1 200 OK\r\n", 0) != 0 || answer.find("Hello from mock") == std::string::npos) {
                    failures[i] = "call " + std::to_string(n) + " got: " + answer.substr(0, 300);
                    return;
                }
                ++answered;
            }
            if (!carry.empty()) failures[i] = "bytes after the last answer: " + carry.substr(0, 300);
        });
    }
    for (auto& t : clients) t.join();
    for (const auto& f : failures) EXPECT_TRUE(f.empty()) << f;
    EXPECT_EQ(answered.load(), kClients * kCalls);
    // Each call's body (told apart by its trailing spaces) reached the upstream exactly once.
    std::set<std::size_t> lengths;
    for (const auto& r : mock_.requests()) lengths.insert(r.body.size());
    EXPECT_EQ(mock_.requests().size(), static_cast<std::size_t>(kClients * kCalls));
    EXPECT_EQ(lengths.size(), static_cast<std::size_t>(kClients * kCalls));
}

// An answer larger than a socket takes at once, to a client that reads only later: what the
// socket did not take is written when it can, and the client gets every byte.
TEST_F(Relay, AnAnswerLargerThanTheSocketTakesReachesASlowReaderWhole) {
    RawConnection c(port(), 4096);
    ASSERT_TRUE(c.send(raw_chat_request(chat_body("mock-big-answer"), "Connection: close\r\n")));
    std::this_thread::sleep_for(500ms);  // the relay has the answer and the client is not reading
    const auto answer = c.read_until_close(20s);
    const auto head_end = answer.find("\r\n\r\n");
    ASSERT_NE(head_end, std::string::npos) << answer.substr(0, 300);
    ASSERT_EQ(answer.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << answer.substr(0, 300);
    const auto body = answer.substr(head_end + 4);
    const auto length_at = answer.find("Content-Length: ");
    ASSERT_LT(length_at, head_end);
    EXPECT_EQ(std::stoull(answer.substr(length_at + 16)), body.size());
    const auto doc = boost::json::parse(body);
    EXPECT_EQ(doc.at("padding").as_string().size(), 16u << 20);
    EXPECT_EQ(doc.at("usage").at("total_tokens"), 18);
}

TEST_F(Relay, ClientDisconnectMidStreamCancelsTheUpstreamCall) {
    const auto res = stream_chat(port(), chat_body("m", true, 50, 50), {},
                                 [](const StreamEvent&) { return false; });
    EXPECT_EQ(res.events.size(), 1u);
    EXPECT_TRUE(mock_.wait_for_aborted_streams(1, 5s)) << "the upstream kept streaming to nobody";
    // The server lives on.
    EXPECT_EQ(http_request(port(), "GET", "/healthz").status, 200);
}

TEST(RelayCancel, ClientLeavingBeforeTheUpstreamAnswersCancelsTheUpstreamCall) {
    MockUpstream mock{MockUpstream::Options{}};
    // A long header deadline: only the client's departure can end the upstream call early.
    NexusProcess nexus(Env{{"SILICONFLOW_API_KEY", mock.good_key()},
                           {"SILICONFLOW_BASE_URL", mock.base_url()},
                           {"NEXUS_UPSTREAM_HEADER_TIMEOUT_SECONDS", "60"}});
    ASSERT_TRUE(nexus.wait_ready()) << nexus.stderr_text();
    add_token(nexus.port());
    {
        RawConnection c(nexus.port());
        const auto body = chat_body("mock-hang");
        ASSERT_TRUE(c.send(raw_chat_request(body)));
        for (int i = 0; i < 200 && mock.requests().empty(); ++i) std::this_thread::sleep_for(10ms);
        ASSERT_EQ(mock.requests().size(), 1u);
    }  // the client goes away
    EXPECT_TRUE(mock.wait_for_aborted_streams(1, 10s)) << "the upstream call outlived its client";
    // The channel is not blamed for it, and the server lives on.
    EXPECT_EQ(boost::json::parse(admin_call(nexus.port(), "GET", "/api/channel/1").body).at("status"), 1);
    EXPECT_EQ(http_request(nexus.port(), "GET", "/healthz").status, 200);
}

TEST_F(Relay, UpstreamDyingMidStreamEndsWithErrorEvent) {
    const auto res = stream_chat(port(), chat_body("mock-die-mid-stream", true));
    ASSERT_EQ(res.status, 200);
    EXPECT_TRUE(res.complete) << "the client's stream must end cleanly, with the error inside it";
    ASSERT_EQ(res.events.size(), 3u);
    const auto last = boost::json::parse(res.events.back().data);
    ASSERT_TRUE(last.as_object().contains("error")) << res.events.back().data;
    EXPECT_NE(std::string(last.at("error").at("message").as_string()).find("broke"), std::string::npos);
    EXPECT_EQ(res.raw.find("[DONE]"), std::string::npos);
}

TEST_F(Relay, UpstreamStallingMidStreamEndsWithTimeoutErrorEvent) {
    const auto res = stream_chat(port(), chat_body("mock-stall-stream", true));
    ASSERT_EQ(res.status, 200);
    EXPECT_TRUE(res.complete);
    ASSERT_EQ(res.events.size(), 3u);
    const auto last = boost::json::parse(res.events.back().data);
    EXPECT_EQ(last.at("error").at("code"), "upstream_timeout");
}

TEST_F(Relay, UpstreamErrorsKeepStatusInOpenAIShape) {
    struct Case {
        std::string model;
        int status;
        std::string message_part;
    };
    for (const auto& c : std::vector<Case>{{"mock-unknown-model", 400, "Model does not exist"},
                                           {"mock-rate-limit", 429, "rate limiting"},
                                           {"mock-overloaded", 503, "overloaded"},
                                           {"mock-plain-404", 404, "404 page not found"}}) {
        const auto res = post_chat(port(), chat_body(c.model));
        EXPECT_EQ(res.status, c.status) << c.model;
        EXPECT_NE(message_of(res.body).find(c.message_part), std::string::npos) << c.model << ": " << res.body;
        EXPECT_EQ(res.header("content-type"), "application/json");
    }
}

TEST_F(Relay, RateLimitPassesRetryAfterButNotCookies) {
    const auto res = post_chat(port(), chat_body("mock-rate-limit"));
    EXPECT_EQ(res.status, 429);
    EXPECT_EQ(res.header("retry-after"), "7");
    EXPECT_EQ(res.header("x-ratelimit-remaining-requests"), "0");
    EXPECT_EQ(res.header("set-cookie"), "");
    EXPECT_EQ(error_of(res.body).at("type"), "rate_limit_error");
}

TEST_F(Relay, UpstreamEchoingTheKeyIsScrubbed) {
    const auto res = post_chat(port(), chat_body("mock-echo-key"));
    EXPECT_EQ(res.status, 500);
    EXPECT_EQ(res.body.find(mock_.good_key()), std::string::npos) << res.body;
}

TEST_F(Relay, UpstreamHangingBeforeHeadersIs504) {
    const auto started = std::chrono::steady_clock::now();
    const auto res = post_chat(port(), chat_body("mock-hang"));
    EXPECT_EQ(res.status, 504);
    EXPECT_EQ(error_of(res.body).at("code"), "upstream_timeout");
    EXPECT_LT(std::chrono::steady_clock::now() - started, 10s);
}

TEST_F(Relay, BadClientInputIsAnsweredAndTheServerLivesOn) {
    struct Case {
        std::string body;
        std::string param;  // "" → null
    };
    for (const auto& c : std::vector<Case>{{"{not json", ""},
                                           {"[1,2,3]", ""},
                                           {R"({"messages":[{"role":"user","content":"x"}]})", "model"},
                                           {R"({"model":"m"})", "messages"},
                                           {R"({"model":"m","messages":[{"role":"user"}],"stream":"yes"})", "stream"}}) {
        const auto res = post_chat(port(), c.body);
        EXPECT_EQ(res.status, 400) << c.body;
        const auto e = error_of(res.body);
        EXPECT_EQ(e.at("type"), "invalid_request_error");
        if (c.param.empty()) {
            EXPECT_TRUE(e.at("param").is_null()) << res.body;
        } else {
            EXPECT_EQ(std::string(e.at("param").as_string()), c.param) << res.body;
        }
    }
    EXPECT_TRUE(mock_.requests().empty()) << "bad input must not reach the upstream";

    auto res = http_request(port(), "GET", "/v1/chat/completions");
    EXPECT_EQ(res.status, 405);
    EXPECT_EQ(error_of(res.body).at("code"), "method_not_allowed");
    res = http_request(port(), "GET", "/v1/nothing-here");
    EXPECT_EQ(res.status, 404);
    error_of(res.body);
    EXPECT_EQ(http_request(port(), "GET", "/healthz").status, 200);
}

TEST_F(Relay, UpstreamConnectionsAreKeptAlive) {
    for (int i = 0; i < 20; ++i) ASSERT_EQ(post_chat(port(), chat_body("m")).status, 200);
    // One pool per I/O thread: at most one connection each for sequential calls.
    EXPECT_LE(mock_.connections(), 2);
}

// An idle pooled connection nobody draws from is closed once it is older than the keep-alive
// time, not held (with its descriptor) until the next call to that upstream.
TEST_F(Relay, IdlePooledConnectionsAreClosedAfterTheKeepAlive) {
    nexus_.reset();
    auto env = env_for(mock_, mock_.good_key());
    env["NEXUS_UPSTREAM_KEEPALIVE_SECONDS"] = "1";
    nexus_ = std::make_unique<NexusProcess>(env);
    ASSERT_TRUE(nexus_->wait_ready()) << nexus_->stderr_text();
    add_token(port());
    ASSERT_EQ(post_chat(port(), chat_body("m")).status, 200);
    const int closed_before = mock_.closed_connections();
    EXPECT_EQ(mock_.connections() - closed_before, 1) << "the connection is pooled";
    for (int i = 0; i < 60 && mock_.closed_connections() == closed_before; ++i) std::this_thread::sleep_for(50ms);
    EXPECT_EQ(mock_.closed_connections(), closed_before + 1) << "the sweep closed it without a new call";
}

TEST_F(Relay, LogsHoldNoKeyNoTokenNoBody) {
    post_chat(port(), chat_body("m"));
    post_chat(port(), chat_body("m"), {{"Authorization", "Bearer client-secret-token-1"}});
    stream_chat(port(), chat_body("m", true));
    post_chat(port(), chat_body("mock-hang"));
    nexus_->signal(SIGTERM);
    ASSERT_EQ(nexus_->wait_exit(10s), 0);
    const auto logs = nexus_->stdout_text() + nexus_->stderr_text();
    EXPECT_EQ(logs.find(mock_.good_key()), std::string::npos);
    EXPECT_EQ(logs.find("client-secret-token-1"), std::string::npos);
    EXPECT_EQ(logs.find("\"content\""), std::string::npos) << "a request body reached the log";
    // One JSON access-log line per request, with the fields operators need.
    std::istringstream lines(nexus_->stdout_text());
    std::string line;
    int count = 0;
    while (std::getline(lines, line)) {
        const auto doc = boost::json::parse(line).as_object();
        for (const auto* field : {"time", "request_id", "method", "path", "status", "latency_ms", "upstream_ttfb_ms",
                                  "upstream_status", "model", "stream", "bytes_in", "bytes_out"}) {
            EXPECT_TRUE(doc.contains(field)) << field << " missing in " << line;
        }
        ++count;
    }
    EXPECT_EQ(count, 5);  // the token creation, four chat calls
    EXPECT_EQ(logs.find(kTestToken), std::string::npos);
}

TEST(RelayKeys, BadUpstreamKeyIs401SayingTheKeyWasRejected) {
    MockUpstream mock{MockUpstream::Options{}};
    NexusProcess nexus(Env{{"SILICONFLOW_API_KEY", "sk-wrong-key-000000"}, {"SILICONFLOW_BASE_URL", mock.base_url()}});
    ASSERT_TRUE(nexus.wait_ready()) << nexus.stderr_text();
    add_token(nexus.port());
    const auto res = post_chat(nexus.port(), chat_body("m"));
    EXPECT_EQ(res.status, 401);
    const auto e = error_of(res.body);
    EXPECT_EQ(e.at("type"), "authentication_error");
    EXPECT_EQ(e.at("code"), "invalid_api_key");
    EXPECT_NE(std::string(e.at("message").as_string()).find("rejected the channel's API key"), std::string::npos);
    EXPECT_EQ(res.body.find("sk-wrong-key-000000"), std::string::npos);
    // The channel is now disabled: the next call finds no channel.
    EXPECT_EQ(post_chat(nexus.port(), chat_body("m", true)).status, 500);
}

TEST(RelayKeys, NoChannelConfiguredIs500) {
    NexusProcess nexus(Env{});
    ASSERT_TRUE(nexus.wait_ready()) << nexus.stderr_text();
    add_token(nexus.port());
    const auto res = post_chat(nexus.port(), chat_body("Qwen/QwQ-32B"));
    EXPECT_EQ(res.status, 500);
    const auto e = error_of(res.body);
    EXPECT_EQ(e.at("code"), "no_available_channel");
    EXPECT_NE(std::string(e.at("message").as_string()).find("Qwen/QwQ-32B"), std::string::npos);
}

TEST(RelayUnreachable, ClosedPortIs502) {
    std::uint16_t dead_port;
    {
        boost::asio::io_context ioc;
        boost::asio::ip::tcp::acceptor a(ioc, {boost::asio::ip::make_address("127.0.0.1"), 0});
        dead_port = a.local_endpoint().port();
    }
    NexusProcess nexus(Env{{"SILICONFLOW_API_KEY", "sk-x-123456789"},
                        {"SILICONFLOW_BASE_URL", "http://127.0.0.1:" + std::to_string(dead_port)}});
    ASSERT_TRUE(nexus.wait_ready()) << nexus.stderr_text();
    add_token(nexus.port());
    const auto res = post_chat(nexus.port(), chat_body("m"));
    EXPECT_EQ(res.status, 502);
    EXPECT_EQ(error_of(res.body).at("code"), "upstream_unreachable");
}

}  // namespace
}  // namespace nexus::testing
