// Name resolution under the connect deadline, against a DNS server that never answers. nexus-api
// runs in a mount namespace of its own whose /etc/resolv.conf names the test's silent server, so
// its real getaddrinfo waits on it. That takes root (as CI runs); elsewhere these tests skip.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <thread>

#include "support/fixtures.hpp"

namespace nexus::testing {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

// A DNS server on 127.0.0.2:53 that takes every query and answers none.
class SilentDns {
public:
    SilentDns() {
        fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(53);
        ::inet_pton(AF_INET, "127.0.0.2", &addr.sin_addr);
        bound_ = ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
        write_file(dir_.file("resolv.conf"), "nameserver 127.0.0.2\noptions timeout:30 attempts:1\n");
    }
    ~SilentDns() { ::close(fd_); }
    bool usable() const { return bound_; }
    /// Runs a command with this server as its only name server.
    std::vector<std::string> wrapper() const {
        return {"unshare", "-m", "--", "sh", "-c", R"(mount --bind "$0" /etc/resolv.conf && exec "$@")",
                dir_.file("resolv.conf")};
    }

private:
    TempDir dir_;
    int fd_ = -1;
    bool bound_ = false;
};

class Resolution : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "needs root: a mount namespace and port 53";
        if (!dns_.usable()) GTEST_SKIP() << "127.0.0.2:53 is taken";
    }
    std::unique_ptr<NexusProcess> start(Env env) {
        env.try_emplace("NEXUS_THREADS", "1");
        auto p = std::make_unique<NexusProcess>(env, std::vector<std::string>{}, dns_.wrapper());
        EXPECT_TRUE(p->wait_ready()) << p->stderr_text();
        return p;
    }
    SilentDns dns_;
    MockUpstream mock_{MockUpstream::Options{}};
};

// The lookup of one name never answers; calls to another channel, by another name, go on at
// once, and the stuck one fails at its connect deadline.
TEST_F(Resolution, ASlowNameDelaysNoOtherChannelAndMeetsTheConnectDeadline) {
    auto nexus = start({{"NEXUS_UPSTREAM_CONNECT_TIMEOUT_SECONDS", "2"}});
    const auto port = nexus->port();
    add_channel(port, R"({"type":"OpenAI-Compatible","name":"slow","key":"sk-slow-123","base_url":"http://never-answers.nexus-test:9","models":["slow-model"]})");
    add_channel(port, R"({"type":"OpenAI-Compatible","name":"fast","key":")" + mock_.good_key() +
                          R"(","base_url":"http://localhost:)" + std::to_string(mock_.port()) + R"(","models":["fast-model"]})");
    add_token(port);

    const auto started = std::chrono::steady_clock::now();
    auto slow = std::async(std::launch::async, [&] { return post_chat(port, chat_body("slow-model")); });
    std::this_thread::sleep_for(200ms);
    const auto fast_started = std::chrono::steady_clock::now();
    const auto fast = post_chat(port, chat_body("fast-model"));
    EXPECT_EQ(fast.status, 200) << fast.body;
    EXPECT_LT(std::chrono::steady_clock::now() - fast_started, 1s) << "the slow name delayed another channel";

    const auto stuck = slow.get();
    EXPECT_EQ(stuck.status, 504) << stuck.body;
    EXPECT_EQ(error_of(stuck.body).at("code"), "upstream_timeout");
    EXPECT_LT(std::chrono::steady_clock::now() - started, 6s) << "the connect deadline did not bound the lookup";
}

TEST_F(Resolution, AClientThatLeavesDuringTheLookupIsNoticedAtOnce) {
    auto nexus = start({{"SILICONFLOW_API_KEY", "sk-any-key-123"},
                        {"SILICONFLOW_BASE_URL", "http://never-answers.nexus-test:9"},
                        {"NEXUS_UPSTREAM_CONNECT_TIMEOUT_SECONDS", "30"}});
    add_token(nexus->port());
    {
        RawConnection c(nexus->port());
        const auto body = chat_body("m");
        ASSERT_TRUE(c.send(raw_chat_request(body)));
        std::this_thread::sleep_for(300ms);
    }
    bool logged = false;
    for (int i = 0; i < 100 && !logged; ++i) {
        logged = nexus->stdout_text().find(R"("status":499)") != std::string::npos;
        std::this_thread::sleep_for(20ms);
    }
    EXPECT_TRUE(logged) << "the departure was noticed only when the lookup ended";
    // The channel is not blamed for the client's departure.
    EXPECT_EQ(json::parse(admin_call(nexus->port(), "GET", "/api/channel/1").body).at("status"), 1);
}

}  // namespace
}  // namespace nexus::testing
