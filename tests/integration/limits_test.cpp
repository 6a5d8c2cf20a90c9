// What a client can make nexus-api hold: bodies it never gets to send, connections past the cap,
// names past their bound. Each limit answers in OpenAI's shape and the server lives on.
#include <gtest/gtest.h>

#include <thread>

#include "support/fixtures.hpp"

namespace nexus::testing {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<NexusProcess> start(Env env) {
    auto p = std::make_unique<NexusProcess>(std::move(env));
    EXPECT_TRUE(p->wait_ready()) << p->stderr_text();
    return p;
}

// A caller without a valid token (or admin key) is answered from the request's head: its body is
// not read, the connection is closed, and a 30 MiB upload stops long before it is sent.
TEST(Limits, ACallerWithoutCredentialsIsRefusedBeforeItsBodyIsRead) {
    auto nexus = start(Env{});
    add_token(nexus->port());
    constexpr std::size_t kBody = 30u << 20;
    for (const auto& [target, credential] : std::vector<std::pair<std::string, std::string>>{
             {"/v1/chat/completions", "sk-not-a-token"}, {"/v1/embeddings", ""}, {"/api/channel", "not-the-admin-key"}}) {
        RawConnection c(nexus->port());
        std::string head = "POST " + target + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
                           std::to_string(kBody) + "\r\n";
        if (!credential.empty()) head += "Authorization: Bearer " + credential + "\r\n";
        ASSERT_TRUE(c.send(head + "\r\n"));
        const auto up = c.upload(kBody, 20s);
        EXPECT_EQ(up.answer.rfind("HTTP/1.1 401", 0), 0u) << target << ": " << up.answer.substr(0, 200);
        EXPECT_NE(up.answer.find("Connection: close"), std::string::npos) << up.answer.substr(0, 300);
        EXPECT_TRUE(up.closed) << target;
        EXPECT_LT(up.sent, kBody / 4) << target << ": the body was read";
    }
    EXPECT_EQ(http_request(nexus->port(), "GET", "/healthz").status, 200);
}

// A client that waits for "100 Continue" is refused without ever sending its body.
TEST(Limits, ExpectContinueWithABadTokenNeverGetsContinue) {
    auto nexus = start(Env{});
    RawConnection c(nexus->port());
    ASSERT_TRUE(c.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sk-nope-nope\r\n"
                       "Expect: 100-continue\r\nContent-Length: 1000000\r\n\r\n"));
    const auto answer = c.read_until_close(5s);
    EXPECT_EQ(answer.rfind("HTTP/1.1 401", 0), 0u) << answer;
    EXPECT_EQ(answer.find("100 Continue"), std::string::npos);
}

TEST(Limits, AModelNameOver256BytesIs400AndIsNotEchoed) {
    MockUpstream mock{MockUpstream::Options{}};
    auto nexus = start(Env{{"SILICONFLOW_API_KEY", mock.good_key()}, {"SILICONFLOW_BASE_URL", mock.base_url()}});
    add_token(nexus->port());
    const std::string model = "m-" + std::string(300, 'q');
    auto res = post_chat(nexus->port(), chat_body(model));
    EXPECT_EQ(res.status, 400);
    EXPECT_EQ(error_of(res.body).at("param"), "model");
    EXPECT_EQ(res.body.find(std::string(100, 'q')), std::string::npos) << res.body;
    // 256 bytes is still a model name.
    EXPECT_EQ(post_chat(nexus->port(), chat_body(std::string(256, 'm'))).status, 200);
    res = api_call(nexus->port(), "GET", "/v1/models/" + model);
    EXPECT_EQ(res.status, 400);
    EXPECT_EQ(res.body.find(std::string(100, 'q')), std::string::npos) << res.body;
    EXPECT_TRUE(mock.requests().size() == 1u);
    nexus->signal(SIGTERM);
    ASSERT_EQ(nexus->wait_exit(10s), 0);
    std::istringstream lines(nexus->stdout_text());
    std::string line;
    int logged = 0;
    while (std::getline(lines, line)) {
        const auto entry = boost::json::parse(line).as_object();
        if (entry.at("path") != "/v1/chat/completions") continue;
        ++logged;
        EXPECT_TRUE(entry.at("model").is_null() || entry.at("model").as_string().size() <= 256) << line;
    }
    EXPECT_EQ(logged, 2);
}

TEST(Limits, ConnectionsOverTheCapAreAnswered503Overloaded) {
    auto nexus = start(Env{{"NEXUS_MAX_CONNECTIONS", "2"}});
    // Two kept-alive connections, each served once so that both are surely open sessions.
    std::vector<std::unique_ptr<RawConnection>> open;
    for (int i = 0; i < 2; ++i) {
        open.push_back(std::make_unique<RawConnection>(nexus->port()));
        ASSERT_TRUE(open.back()->send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
        const auto answer = open.back()->read_until_close(300ms);
        ASSERT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer;
    }
    {
        RawConnection third(nexus->port());
        const auto answer = third.read_until_close(5s);
        EXPECT_EQ(answer.rfind("HTTP/1.1 503", 0), 0u) << answer;
        EXPECT_NE(answer.find(R"("code":"overloaded")"), std::string::npos) << answer;
        EXPECT_NE(answer.find("Retry-After: 1"), std::string::npos) << answer;
    }
    // A slot freed is a slot to use (once the server saw the close: until then, another 503).
    open.pop_back();
    HttpResponse res;
    int refused = 1;
    for (int i = 0; i < 100; ++i) {
        res = http_request(nexus->port(), "GET", "/metrics");
        if (res.status != 503) break;
        ++refused;
        std::this_thread::sleep_for(20ms);
    }
    ASSERT_EQ(res.status, 200);
    EXPECT_NE(res.body.find("nexus_overloaded_total{cause=\"connections\"} " + std::to_string(refused) + "\n"),
              std::string::npos)
        << res.body;
}

// The descriptor limit is raised to its hard limit at start, and the default connection cap is
// what it can hold at two descriptors a call, less 256.
TEST(Limits, TheDescriptorLimitIsRaisedAndSetsTheDefaultCap) {
    NexusProcess nexus(Env{}, {}, {"sh", "-c", "ulimit -Sn 512 && ulimit -Hn 4096 && exec \"$@\"", "sh"});
    ASSERT_TRUE(nexus.wait_ready()) << nexus.stderr_text();
    const auto limits = read_file("/proc/" + std::to_string(nexus.pid()) + "/limits");
    const auto at = limits.find("Max open files");
    ASSERT_NE(at, std::string::npos);
    std::istringstream line(limits.substr(at + 14, limits.find('\n', at) - at - 14));
    std::string soft, hard;
    line >> soft >> hard;
    EXPECT_EQ(soft, "4096");
    EXPECT_EQ(hard, "4096");
    EXPECT_NE(nexus.stderr_text().find("at most 1920 connections (4096 descriptors)"), std::string::npos)
        << nexus.stderr_text();
}

// Whether the server answers /healthz on connection `c` within `timeout` (false when it could not
// even accept the connection: out of descriptors).
bool answers_on(RawConnection& c, std::chrono::milliseconds timeout) {
    c.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    return c.read_some(timeout).rfind("HTTP/1.1 200", 0) == 0;
}

// Out of descriptors for an upstream socket (EMFILE) is our failure: 503 overloaded, counted,
// and no channel is blamed (no cooldown, no failover): once descriptors are free, it serves.
TEST(Limits, OutOfDescriptorsIsOurs503AndBlamesNoChannel) {
    MockUpstream mock{MockUpstream::Options{}};
    NexusProcess nexus(Env{{"SILICONFLOW_API_KEY", mock.good_key()},
                           {"SILICONFLOW_BASE_URL", mock.base_url()},
                           {"NEXUS_THREADS", "1"},
                           {"NEXUS_MAX_CONNECTIONS", "1000"}},
                       {}, {"sh", "-c", "ulimit -n 64 && exec \"$@\"", "sh"});
    ASSERT_TRUE(nexus.wait_ready()) << nexus.stderr_text();
    add_token(nexus.port());
    // Kept-alive connections until the server cannot accept one more: its descriptors are all taken.
    std::vector<std::unique_ptr<RawConnection>> held;
    for (;;) {
        held.push_back(std::make_unique<RawConnection>(nexus.port()));
        if (!answers_on(*held.back(), 300ms)) break;
        ASSERT_LT(held.size(), 64u) << "the server took more connections than it has descriptors";
    }
    // One descriptor back: the waiting connection takes it (and is answered). None is left for
    // an upstream socket.
    auto caller = std::move(held.back());
    held.pop_back();
    held.erase(held.begin());
    EXPECT_EQ(caller->read_some(2s).rfind("HTTP/1.1 200", 0), 0u) << "the waiting connection was not taken";
    const auto request = raw_chat_request(chat_body("m"));
    ASSERT_TRUE(caller->send(request + request + raw_chat_request(chat_body("m"), "Connection: close\r\n")));
    const auto answers = caller->read_until_close(5s);
    std::size_t refused = 0;
    for (auto at = answers.find("HTTP/1.1 503"); at != std::string::npos; at = answers.find("HTTP/1.1 503", at + 1)) ++refused;
    EXPECT_EQ(refused, 3u) << answers.substr(0, 600) << nexus.stderr_text();
    EXPECT_NE(answers.find(R"("code":"overloaded")"), std::string::npos);
    EXPECT_TRUE(mock.requests().empty());

    // Descriptors back: the channel serves at once (three failures would have rested it).
    held.clear();
    caller.reset();
    HttpResponse res;
    for (int i = 0; i < 100; ++i) {
        res = post_chat(nexus.port(), chat_body("m"));
        if (res.status != 503) break;  // the server may not have seen every close yet
        std::this_thread::sleep_for(20ms);
    }
    EXPECT_EQ(res.status, 200) << res.body;
    const auto metrics = http_request(nexus.port(), "GET", "/metrics").body;
    const std::string line = "nexus_overloaded_total{cause=\"descriptors\"} ";
    const auto at = metrics.find(line);
    ASSERT_NE(at, std::string::npos) << metrics;
    EXPECT_GE(std::stoi(metrics.substr(at + line.size())), 3) << metrics;
    EXPECT_NE(metrics.find("nexus_upstream_attempts_total{outcome=\"connect_error\"} 0\n"), std::string::npos);
}

}  // namespace
}  // namespace nexus::testing
