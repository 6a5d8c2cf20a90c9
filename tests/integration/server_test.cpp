// The HTTP server around the relay: limits, deadlines, health, metrics, shutdown, configuration.
#include <gtest/gtest.h>
#include <signal.h>

#include <unistd.h>

#include <future>
#include <sstream>
#include <thread>

#include "support/fixtures.hpp"

namespace nexus::testing {
namespace {

using namespace std::chrono_literals;

// The Authorization line of the test token, for raw requests.
const std::string kAuth = std::string("Authorization: Bearer ") + kTestToken + "\r\n";

std::unique_ptr<NexusProcess> start(std::map<std::string, std::string> env) {
    auto p = std::make_unique<NexusProcess>(std::move(env));
    EXPECT_TRUE(p->wait_ready()) << p->stderr_text();
    return p;
}

TEST(Server, HealthAndReadiness) {
    auto nexus = start(Env{});
    auto res = http_request(nexus->port(), "GET", "/healthz");
    EXPECT_EQ(res.status, 200);
    EXPECT_EQ(res.header("x-request-id").size(), 32u);
    res = http_request(nexus->port(), "GET", "/readyz");
    EXPECT_EQ(res.status, 200);
    EXPECT_EQ(res.body, R"({"status":"ready"})");
}

TEST(Server, HeadAnswersWithGetsHeadersAndNoBody) {
    auto nexus = start(Env{});
    RawConnection c(nexus->port());
    // The GET after the HEAD on the same connection parses only if the HEAD answer had no body.
    ASSERT_TRUE(c.send("HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    const auto answer = c.read_until_close(3s);
    ASSERT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer;
    const auto head_end = answer.find("\r\n\r\n");
    ASSERT_NE(head_end, std::string::npos);
    const auto head = answer.substr(0, head_end);
    EXPECT_NE(head.find("Content-Length: 15"), std::string::npos) << head;  // as GET's {"status":"ok"}
    EXPECT_NE(head.find("Content-Type: application/json"), std::string::npos) << head;
    EXPECT_EQ(answer.substr(head_end + 4, 12), "HTTP/1.1 200") << answer;
    EXPECT_NE(answer.find(R"({"status":"ready"})"), std::string::npos);
    EXPECT_EQ(answer.find(R"({"status":"ok"})"), std::string::npos) << "the HEAD answer carried a body";
}

TEST(Server, SigpipeIsIgnored) {
    auto nexus = start(Env{});
    const auto status = read_file("/proc/" + std::to_string(nexus->pid()) + "/status");
    const auto at = status.find("SigIgn:");
    ASSERT_NE(at, std::string::npos);
    const auto mask = std::stoull(status.substr(at + 7, status.find('\n', at) - at - 7), nullptr, 16);
    EXPECT_TRUE(mask & (1ull << (SIGPIPE - 1))) << status.substr(at, 40);
}

TEST(Server, MetricsCountRequestsAttemptsAndStreams) {
    MockUpstream mock{MockUpstream::Options{}};
    auto nexus = start(Env{{"SILICONFLOW_API_KEY", mock.good_key()}, {"SILICONFLOW_BASE_URL", mock.base_url()}});
    add_token(nexus->port());
    ASSERT_EQ(post_chat(nexus->port(), chat_body("m")).status, 200);
    ASSERT_EQ(post_chat(nexus->port(), chat_body("mock-overloaded")).status, 503);
    http_request(nexus->port(), "GET", "/nope");
    // A stream is counted open while it is relayed, and no longer once it ended.
    std::promise<void> first_event;
    std::promise<void> looked;
    auto stream = std::async(std::launch::async, [&] {
        bool told = false;
        return stream_chat(nexus->port(), chat_body("m", true, 4, 100), {}, [&](const StreamEvent&) {
            if (!told) {
                told = true;
                first_event.set_value();
                looked.get_future().wait();  // holds the stream open until /metrics was read
            }
            return true;
        });
    });
    ASSERT_EQ(first_event.get_future().wait_for(10s), std::future_status::ready);
    const auto during = http_request(nexus->port(), "GET", "/metrics").body;
    looked.set_value();
    EXPECT_NE(during.find("nexus_open_streams 1\n"), std::string::npos) << during;
    ASSERT_TRUE(stream.get().complete);
    // A request is counted just after its answer is written, possibly on another thread than
    // the one serving /metrics: poll until the counts settle.
    const std::vector<std::string> expected{
        "nexus_http_requests_total{route=\"/v1/chat/completions\",status=\"200\"} 2\n",
        "nexus_http_requests_total{route=\"/v1/chat/completions\",status=\"503\"} 1\n",
        "nexus_http_requests_total{route=\"other\",status=\"404\"} 1\n",
        "nexus_upstream_attempts_total{outcome=\"success\"} 2\n",
        "nexus_upstream_attempts_total{outcome=\"upstream_5xx\"} 1\n",
        "nexus_http_request_duration_seconds_count{route=\"/v1/chat/completions\"} 3\n",
        "nexus_open_streams 0\n"};
    HttpResponse res;
    auto all_found = [&] {
        for (const auto& line : expected) {
            if (res.body.find(line) == std::string::npos) return false;
        }
        return true;
    };
    for (int i = 0; i < 100; ++i) {
        res = http_request(nexus->port(), "GET", "/metrics");
        if (all_found()) break;
        std::this_thread::sleep_for(20ms);
    }
    EXPECT_EQ(res.status, 200);
    EXPECT_NE(res.header("content-type").find("text/plain"), std::string::npos);
    for (const auto& line : expected) EXPECT_NE(res.body.find(line), std::string::npos) << line << res.body;
}

// The value of metric `line` (its name and labels) in a /metrics text, or -1.
long metric_value(const std::string& text, const std::string& line) {
    const auto at = text.find("\n" + line + " ");
    return at == std::string::npos ? -1 : std::stol(text.substr(at + line.size() + 2));
}

// The CPU time a process has used (user and system), in clock ticks.
long cpu_ticks(pid_t pid) {
    const auto stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));  // after the command name
    std::string field;
    long utime = 0, stime = 0;
    for (int i = 3; fields >> field; ++i) {
        if (i == 14) utime = std::stol(field);
        if (i == 15) {
            stime = std::stol(field);
            break;
        }
    }
    return utime + stime;
}

// NEXUS_BUSY_POLL_MICROSECONDS: a thread out of work polls its sockets before it sleeps, so the
// upstream's answer and the client's next request are taken as they come, without a wake-up;
// and once the traffic stops, the thread sleeps.
TEST(Server, BusyPollingTakesEventsAsTheyComeAndSleepsWhenIdle) {
    MockUpstream mock{MockUpstream::Options{}};
    auto nexus = start(Env{{"SILICONFLOW_API_KEY", mock.good_key()},
                           {"SILICONFLOW_BASE_URL", mock.base_url()},
                           {"NEXUS_THREADS", "1"},
                           {"NEXUS_BUSY_POLL_MICROSECONDS", "5000"}});
    add_token(nexus->port());
    for (int i = 0; i < 20; ++i) ASSERT_EQ(post_chat(nexus->port(), chat_body("m")).status, 200);
    const auto text = http_request(nexus->port(), "GET", "/metrics").body;
    EXPECT_GT(metric_value(text, "nexus_busy_poll_total{result=\"found\"}"), 0) << text;
    std::this_thread::sleep_for(200ms);
    const auto before = cpu_ticks(nexus->pid());
    std::this_thread::sleep_for(1s);
    const auto used = cpu_ticks(nexus->pid()) - before;
    EXPECT_LT(used, sysconf(_SC_CLK_TCK) / 2) << "an idle server kept polling: " << used << " ticks in 1 s";
}

TEST(Server, WithoutBusyPollingAThreadOutOfWorkSleepsAtOnce) {
    MockUpstream mock{MockUpstream::Options{}};
    auto nexus = start(Env{{"SILICONFLOW_API_KEY", mock.good_key()}, {"SILICONFLOW_BASE_URL", mock.base_url()}});
    add_token(nexus->port());
    for (int i = 0; i < 5; ++i) ASSERT_EQ(post_chat(nexus->port(), chat_body("m")).status, 200);
    const auto text = http_request(nexus->port(), "GET", "/metrics").body;
    EXPECT_EQ(metric_value(text, "nexus_busy_poll_total{result=\"found\"}"), 0) << text;
    EXPECT_EQ(metric_value(text, "nexus_busy_poll_total{result=\"slept\"}"), 0) << text;
}

TEST(Server, BodyOverLimitIs413BeforeTheBodyIsRead) {
    auto nexus = start(Env{{"NEXUS_MAX_BODY_BYTES", "1000"}});
    RawConnection c(nexus->port());
    // Announce a large body and send none of it: the answer must come anyway.
    ASSERT_TRUE(c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       "Content-Length: 5000000\r\n\r\n"));
    const auto answer = c.read_until_close(5s);
    EXPECT_EQ(answer.rfind("HTTP/1.1 413", 0), 0u) << answer;
    EXPECT_NE(answer.find("request_too_large"), std::string::npos);
    EXPECT_NE(answer.find("X-Request-Id"), std::string::npos);
}

TEST(Server, ChunkedBodyOverLimitIs413) {
    auto nexus = start(Env{{"NEXUS_MAX_BODY_BYTES", "1000"}});
    add_token(nexus->port());
    RawConnection c(nexus->port());
    std::string big(3000, 'a');
    ASSERT_TRUE(c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n" + kAuth + "\r\n"
                       "bb8\r\n" + big + "\r\n0\r\n\r\n"));
    const auto answer = c.read_until_close(5s);
    EXPECT_EQ(answer.rfind("HTTP/1.1 413", 0), 0u) << answer;
}

TEST(Server, ExpectContinueGetsTheBodyRead) {
    MockUpstream mock{MockUpstream::Options{}};
    auto nexus = start(Env{{"SILICONFLOW_API_KEY", mock.good_key()}, {"SILICONFLOW_BASE_URL", mock.base_url()}});
    add_token(nexus->port());
    RawConnection c(nexus->port());
    const auto body = chat_body("m");
    ASSERT_TRUE(c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                       "Authorization: Bearer sk-nexus-test-token\r\nExpect: 100-continue\r\nConnection: close\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\n\r\n"));
    std::this_thread::sleep_for(100ms);
    ASSERT_TRUE(c.send(body));
    const auto answer = c.read_until_close(5s);
    EXPECT_EQ(answer.rfind("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200", 0), 0u) << answer;
}

TEST(Server, StalledBodyIsCutOffAndLoggedAs408) {
    auto nexus = start(Env{{"NEXUS_BODY_TIMEOUT_SECONDS", "0.3"}});
    add_token(nexus->port());
    {
        RawConnection c(nexus->port());
        ASSERT_TRUE(c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n" + kAuth +
                           "\r\n{\"m\""));
        EXPECT_TRUE(c.closed_within(5s)) << "a client that stops sending its body held the connection";
    }
    nexus->signal(SIGTERM);
    ASSERT_EQ(nexus->wait_exit(10s), 0);
    EXPECT_NE(nexus->stdout_text().find(R"("status":408)"), std::string::npos) << nexus->stdout_text();
}

TEST(Server, MalformedChunkedBodyIs400) {
    auto nexus = start(Env{});
    add_token(nexus->port());
    RawConnection c(nexus->port());
    ASSERT_TRUE(c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n" + kAuth + "\r\n"
                       "zz\r\nnot hex\r\n0\r\n\r\n"));
    const auto answer = c.read_until_close(5s);
    EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << answer;
    EXPECT_EQ(http_request(nexus->port(), "GET", "/healthz").status, 200);
}

TEST(Server, HeaderOverLimitIs431) {
    auto nexus = start(Env{{"NEXUS_MAX_HEADER_BYTES", "2048"}});
    RawConnection c(nexus->port());
    ASSERT_TRUE(c.send("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'b') + "\r\n\r\n"));
    const auto answer = c.read_until_close(5s);
    EXPECT_EQ(answer.rfind("HTTP/1.1 431", 0), 0u) << answer;
}

TEST(Server, MalformedRequestIs400) {
    auto nexus = start(Env{});
    RawConnection c(nexus->port());
    ASSERT_TRUE(c.send("THIS IS NOT HTTP\r\n\r\n"));
    const auto answer = c.read_until_close(5s);
    EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << answer;
    EXPECT_EQ(http_request(nexus->port(), "GET", "/healthz").status, 200);
}

TEST(Server, TricklingClientIsCutOffWithoutDelayingOthers) {
    auto nexus = start(Env{{"NEXUS_HEADER_TIMEOUT_SECONDS", "0.5"}, {"NEXUS_THREADS", "1"}});
    RawConnection slow(nexus->port());
    ASSERT_TRUE(slow.send("GET /healthz HTTP/1.1\r\n"));
    const auto started = std::chrono::steady_clock::now();
    bool cut = false;
    for (int i = 0; i < 40 && !cut; ++i) {
        // Another client is served at once while the slow one trickles.
        EXPECT_EQ(http_request(nexus->port(), "GET", "/healthz", {}, {}, 2s).status, 200);
        cut = !slow.send("X");
        if (!cut) cut = slow.closed_within(100ms);
    }
    EXPECT_TRUE(cut) << "a trickling client held its connection";
    EXPECT_LT(std::chrono::steady_clock::now() - started, 8s);
}

TEST(Server, IdleKeepAliveConnectionIsClosed) {
    auto nexus = start(Env{{"NEXUS_IDLE_TIMEOUT_SECONDS", "0.5"}});
    RawConnection c(nexus->port());
    ASSERT_TRUE(c.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    // The answer comes and the connection stays open, kept alive...
    const auto answer = c.read_until_close(200ms);
    EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer;
    const auto answered = std::chrono::steady_clock::now();
    // ...until it has been idle for the idle timeout.
    EXPECT_TRUE(c.closed_within(3s)) << "an idle kept-alive connection was never closed";
    EXPECT_GE(std::chrono::steady_clock::now() - answered, 200ms) << "closed at once, not after being idle";
}

TEST(Server, KeepAliveServesSeveralRequestsOnOneConnection) {
    auto nexus = start(Env{});
    RawConnection c(nexus->port());
    ASSERT_TRUE(c.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    const auto answer = c.read_until_close(3s);
    EXPECT_NE(answer.find(R"({"status":"ok"})"), std::string::npos);
    EXPECT_NE(answer.find(R"({"status":"ready"})"), std::string::npos);
}

TEST(Server, GracefulShutdownLetsAStreamInFlightFinish) {
    MockUpstream mock{MockUpstream::Options{}};
    auto nexus = start(Env{{"SILICONFLOW_API_KEY", mock.good_key()}, {"SILICONFLOW_BASE_URL", mock.base_url()}});
    add_token(nexus->port());
    std::promise<void> first_event;
    auto result = std::async(std::launch::async, [&] {
        bool told = false;
        return stream_chat(nexus->port(), chat_body("m", true, 8, 100), {},
                           [&](const StreamEvent&) {
                               if (!told) first_event.set_value();
                               told = true;
                               return true;
                           });
    });
    ASSERT_EQ(first_event.get_future().wait_for(10s), std::future_status::ready);
    nexus->signal(SIGTERM);
    const auto stream = result.get();
    EXPECT_TRUE(stream.complete) << stream.error;
    ASSERT_EQ(stream.events.size(), 9u);
    EXPECT_EQ(stream.events.back().data, "[DONE]");
    EXPECT_EQ(nexus->wait_exit(10s), 0);
}

// While draining, /readyz says so on a new connection (a load balancer's probe), and every
// answer closes its connection; the stream in flight still finishes.
TEST(Server, ReadyzIs503WhileDraining) {
    MockUpstream mock{MockUpstream::Options{}};
    auto nexus = start(Env{{"SILICONFLOW_API_KEY", mock.good_key()}, {"SILICONFLOW_BASE_URL", mock.base_url()}});
    add_token(nexus->port());
    std::promise<void> first_event;
    auto stream = std::async(std::launch::async, [&] {
        bool told = false;
        return stream_chat(nexus->port(), chat_body("m", true, 30, 100), {}, [&](const StreamEvent&) {
            if (!told) first_event.set_value();
            told = true;
            return true;
        });
    });
    ASSERT_EQ(first_event.get_future().wait_for(10s), std::future_status::ready);
    EXPECT_EQ(http_request(nexus->port(), "GET", "/readyz").status, 200);
    nexus->signal(SIGTERM);
    // The signal reaches every I/O thread a moment later: wait until this connection's has it.
    HttpResponse ready;
    for (int i = 0; i < 50; ++i) {
        ready = http_request(nexus->port(), "GET", "/readyz");
        if (ready.status == 503 && ready.header("connection") == "close") break;
        std::this_thread::sleep_for(10ms);
    }
    EXPECT_EQ(ready.status, 503);
    EXPECT_EQ(ready.body, R"({"status":"draining"})");
    EXPECT_EQ(ready.header("connection"), "close");
    EXPECT_EQ(http_request(nexus->port(), "GET", "/healthz").status, 200) << "alive while draining";
    const auto s = stream.get();
    EXPECT_TRUE(s.complete) << s.error;
    EXPECT_EQ(s.events.back().data, "[DONE]");
    EXPECT_EQ(nexus->wait_exit(10s), 0);
}

// A connection accepted just before the drain, whose request is still on its way, is owed an
// answer: only kept-alive connections between requests are closed at once.
TEST(Server, AConnectionOpenedBeforeTheDrainStillGetsItsAnswer) {
    auto nexus = start(Env{});
    RawConnection fresh(nexus->port());
    std::this_thread::sleep_for(100ms);  // accepted, and waiting for its first byte
    nexus->signal(SIGTERM);
    std::this_thread::sleep_for(300ms);  // every I/O thread has begun draining
    ASSERT_TRUE(fresh.send("GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")) << "closed before its request";
    const auto answer = fresh.read_until_close(3s);
    EXPECT_EQ(answer.rfind("HTTP/1.1 503", 0), 0u) << answer;
    EXPECT_NE(answer.find(R"({"status":"draining"})"), std::string::npos) << answer;
    EXPECT_EQ(nexus->wait_exit(10s), 0);
}

TEST(Server, ShutdownGraceEndsStuckRequests) {
    MockUpstream mock{MockUpstream::Options{}};
    auto nexus = start(Env{{"SILICONFLOW_API_KEY", mock.good_key()},
                        {"SILICONFLOW_BASE_URL", mock.base_url()},
                        {"NEXUS_SHUTDOWN_GRACE_SECONDS", "0.5"}});
    add_token(nexus->port());
    std::promise<void> first_event;
    auto result = std::async(std::launch::async, [&] {
        bool told = false;
        return stream_chat(nexus->port(), chat_body("mock-stall-stream", true), {}, [&](const StreamEvent&) {
            if (!told) first_event.set_value();
            told = true;
            return true;
        });
    });
    ASSERT_EQ(first_event.get_future().wait_for(10s), std::future_status::ready);
    const auto signalled = std::chrono::steady_clock::now();
    nexus->signal(SIGINT);
    // The stuck stream's coroutine is destroyed with its thread's io_context: under the
    // sanitizers, a frame that touched an object already gone would abort the exit.
    EXPECT_EQ(nexus->wait_exit(10s), 0) << nexus->stderr_text();
    const auto took = std::chrono::steady_clock::now() - signalled;
    EXPECT_GE(took, 400ms) << "the request in flight was not given its grace";
    EXPECT_LT(took, 5s);
    const auto stream = result.get();
    EXPECT_EQ(stream.events.size(), 2u) << stream.raw;
    EXPECT_FALSE(stream.complete) << "the stuck stream was not cut off";
    EXPECT_NE(nexus->stderr_text().find("shutdown grace over: closing 1 connection(s)"), std::string::npos)
        << nexus->stderr_text();
}

TEST(Server, IdleConnectionsDoNotHoldShutdown) {
    auto nexus = start(Env{});
    RawConnection idle(nexus->port());
    ASSERT_TRUE(idle.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    std::this_thread::sleep_for(100ms);
    const auto signalled = std::chrono::steady_clock::now();
    nexus->signal(SIGTERM);
    EXPECT_EQ(nexus->wait_exit(10s), 0);
    EXPECT_LT(std::chrono::steady_clock::now() - signalled, 5s);
}

TEST(Server, OperationsListenerTakesTheAdminApiAndMetricsOffThePublicPort) {
    MockUpstream mock{MockUpstream::Options{}};
    auto nexus = start(Env{{"SILICONFLOW_API_KEY", mock.good_key()},
                           {"SILICONFLOW_BASE_URL", mock.base_url()},
                           {"NEXUS_ADMIN_LISTEN", "127.0.0.1:0"}});
    const auto err = nexus->stderr_text();
    const std::string marker = "operations listener (/api, /metrics) on 127.0.0.1:";
    const auto at = err.find(marker);
    ASSERT_NE(at, std::string::npos) << err;
    const auto ops = static_cast<std::uint16_t>(std::stoi(err.substr(at + marker.size())));
    const auto pub = nexus->port();
    ASSERT_NE(ops, pub);

    // The public port: the relay and health, no admin API, no metrics (JSON 404s).
    for (const auto* target : {"/api/channel", "/api/token", "/metrics"}) {
        const auto res = admin_call(pub, "GET", target);
        EXPECT_EQ(res.status, 404) << target;
        EXPECT_EQ(error_of(res.body).at("code"), "not_found") << target;
    }
    EXPECT_EQ(http_request(pub, "GET", "/healthz").status, 200);
    EXPECT_EQ(http_request(pub, "GET", "/readyz").status, 200);
    // The operations port: the admin API, metrics and health, no relay.
    ASSERT_EQ(admin_call(ops, "GET", "/api/channel").status, 200);
    add_token(ops);
    EXPECT_EQ(http_request(ops, "GET", "/metrics").status, 200);
    EXPECT_EQ(http_request(ops, "GET", "/healthz").status, 200);
    EXPECT_EQ(http_request(ops, "GET", "/readyz").status, 200);
    EXPECT_EQ(post_chat(ops, chat_body("m")).status, 404);
    EXPECT_EQ(post_chat(pub, chat_body("m")).status, 200) << "the token made on the operations port works";
    // The console is where /api is: on the operations port, not on the public one.
    const Headers page{{"Accept", "text/html"}};
    EXPECT_EQ(http_request(ops, "GET", "/", {}, page).status, 200);
    EXPECT_EQ(http_request(ops, "GET", "/channels", {}, page).status, 200);
    EXPECT_EQ(http_request(pub, "GET", "/", {}, page).status, 404);
    EXPECT_EQ(http_request(pub, "GET", "/channels", {}, page).status, 404);

    nexus->signal(SIGTERM);
    EXPECT_EQ(nexus->wait_exit(10s), 0);
}

TEST(ServerConfig, InvalidConfigurationStopsWithOneLineNamingTheVariable) {
    for (const auto& [name, value] : std::vector<std::pair<std::string, std::string>>{
             {"NEXUS_PORT", "not-a-port"}, {"NEXUS_MAX_BODY_BYTES", "0"}, {"SILICONFLOW_BASE_URL", "gopher://x"},
             {"NEXUS_THREADS", "-2"}, {"NEXUS_ADMIN_LISTEN", "localhost:3001"}, {"NEXUS_ADMIN_LISTEN", "127.0.0.1"},
             {"NEXUS_ADMIN_LISTEN", "::1:3001"}, {"NEXUS_ADMIN_LISTEN", "127.0.0.1:70000"}}) {
        const auto r = run_nexus(Env{{name, value}}, {});
        EXPECT_EQ(r.exit_code, 2) << name;
        EXPECT_NE(r.err.find(name), std::string::npos) << r.err;
        EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
    }
}

TEST(ServerConfig, PortInUseIsAClearStartupFailure) {
    auto first = start(Env{});
    const auto r = run_nexus(Env{{"NEXUS_PORT", std::to_string(first->port())}, {"NEXUS_HOST", "127.0.0.1"}}, {});
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("cannot start"), std::string::npos) << r.err;
}

TEST(ServerConfig, AnUnknownFlagIsAUsageErrorLikeABadValue) {
    for (const std::vector<std::string>& args : {std::vector<std::string>{"--no-such-flag"},
                                                 std::vector<std::string>{"--port"},
                                                 std::vector<std::string>{"backup", "--to", "x.db", "--no-such-flag"}}) {
        const auto r = run_nexus(Env{}, args);
        EXPECT_EQ(r.exit_code, 2) << args.back() << ": " << r.err;
        EXPECT_FALSE(r.err.empty()) << args.back();
    }
}

TEST(ServerConfig, HelpListsTheFlags) {
    const auto r = run_nexus(Env{}, {"--help"});
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_NE(r.out.find("--port"), std::string::npos);
    EXPECT_NE(r.out.find("NEXUS_SHUTDOWN_GRACE_SECONDS"), std::string::npos);
}

}  // namespace
}  // namespace nexus::testing
