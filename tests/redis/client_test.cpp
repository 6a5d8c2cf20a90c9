// The Redis client against a real redis-server: replies in order, errors as replies, deadlines,
// a server that goes away and comes back, passwords, database numbers and TLS.
#include "redis/client.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "support/redis_server.hpp"
#include "support/test_cert.hpp"

namespace nexus::redis {
namespace {

using namespace std::chrono_literals;
using testing::RedisServer;

// A command's words (GCC 12 cannot take a braced list of them inside a coroutine's co_await).
template <class... Words>
std::vector<std::string> cmd(Words... words) {
    return {std::string(words)...};
}

// Runs `body` as a coroutine on a fresh io_context until it returns (at most 20 s).
template <class Body>
void run(Body body) {
    net::io_context ioc;
    bool done = false;
    net::co_spawn(ioc, [&]() -> net::awaitable<void> {
        co_await body(ioc.get_executor());
        done = true;
    }, [](std::exception_ptr e) { if (e) std::rethrow_exception(e); });
    ioc.run_for(20s);
    ASSERT_TRUE(done) << "the test's coroutine did not finish";
}

net::awaitable<void> sleep(net::any_io_executor ex, std::chrono::milliseconds d) {
    net::steady_timer t(ex, d);
    co_await t.async_wait(use_nothrow);
}

// Waits until `client` is up (it connects in the background).
net::awaitable<bool> until_up(net::any_io_executor ex, const Client& client, std::chrono::milliseconds limit = 5s) {
    for (auto waited = 0ms; waited < limit; waited += 10ms) {
        if (client.up()) co_return true;
        co_await sleep(ex, 10ms);
    }
    co_return false;
}

TEST(RedisUrl, TakesWhatRedisUrlsSay) {
    auto u = Url::parse("redis://127.0.0.1:6380/2");
    EXPECT_FALSE(u.tls);
    EXPECT_EQ(u.host, "127.0.0.1");
    EXPECT_EQ(u.port, "6380");
    EXPECT_EQ(u.db, 2);
    u = Url::parse("rediss://:s%40cret@cache.internal");
    EXPECT_TRUE(u.tls);
    EXPECT_EQ(u.port, "6379");
    EXPECT_EQ(u.password, "s@cret");
    EXPECT_EQ(u.db, 0);
    u = Url::parse("redis://nexus:pw@h:1/0");
    EXPECT_EQ(u.user, "nexus");
    EXPECT_EQ(u.password, "pw");
    for (const char* bad : {"http://h", "redis://", "redis://h/x", "redis://h/-1", "not a url"}) {
        EXPECT_THROW(Url::parse(bad), std::invalid_argument) << bad;
    }
    try {
        Url::parse("mysql://u:hunter2@h");
    } catch (const std::invalid_argument& e) {
        EXPECT_EQ(std::string(e.what()).find("hunter2"), std::string::npos);
    }
}

TEST(RedisClient, RepliesComeBackInOrderWithTheirTypes) {
    RedisServer server;
    run([&](net::any_io_executor ex) -> net::awaitable<void> {
        Client client(ex, Url::parse(server.url()), nullptr);
        client.start();
        EXPECT_TRUE(co_await until_up(ex, client));
        // Pipelined: sent before the first reply is read.
        EXPECT_TRUE(client.send(cmd("SET", "k", "v\r\nwith bytes")));
        auto got = co_await client.call(cmd("GET", "k"), 1s);
        EXPECT_TRUE(got && got->type == Reply::Type::kString && got->text == "v\r\nwith bytes");
        got = co_await client.call(cmd("INCRBY", "n", "41"), 1s);
        EXPECT_TRUE(got && got->type == Reply::Type::kInteger && got->integer == 41);
        got = co_await client.call(cmd("GET", "absent"), 1s);
        EXPECT_TRUE(got && got->type == Reply::Type::kNil);
        got = co_await client.call(cmd("RPUSH", "l", "a", "b"), 1s);
        got = co_await client.call(cmd("LRANGE", "l", "0", "-1"), 1s);
        EXPECT_TRUE(got && got->type == Reply::Type::kArray && got->elements.size() == 2u);
        if (got && got->elements.size() == 2u) {
            EXPECT_EQ(got->elements[1].text, "b");
        }
        got = co_await client.call(cmd("NOSUCHCOMMAND"), 1s);
        EXPECT_TRUE(got && got->is_error()) << "an error reply is a reply";
        got = co_await client.call(cmd("PING"), 1s);
        EXPECT_TRUE(got && got->text == "PONG") << "the connection goes on after an error reply";
        client.stop();
    });
}

// A reply later than its deadline fails that call only; the late reply is read and dropped, and
// the next call gets its own.
TEST(RedisClient, ADeadlineFailsOnlyItsCall) {
    RedisServer server;
    run([&](net::any_io_executor ex) -> net::awaitable<void> {
        Client client(ex, Url::parse(server.url()), nullptr);
        client.start();
        EXPECT_TRUE(co_await until_up(ex, client));
        const auto started = std::chrono::steady_clock::now();
        auto late = co_await client.call(cmd("BLPOP", "nothing", "1"), 100ms);
        EXPECT_FALSE(late);
        EXPECT_EQ(late.error(), net::error::timed_out);
        EXPECT_LT(std::chrono::steady_clock::now() - started, 500ms);
        auto next = co_await client.call(cmd("ECHO", "mine"), 3s);
        EXPECT_TRUE(next && next->text == "mine");
        client.stop();
    });
}

TEST(RedisClient, CallsFailAtOnceWhileRedisIsAwayAndWorkWhenItIsBack) {
    RedisServer server;
    run([&](net::any_io_executor ex) -> net::awaitable<void> {
        Client client(ex, Url::parse(server.url()), nullptr);
        client.start();
        EXPECT_TRUE(co_await until_up(ex, client));
        server.kill();
        auto failed = co_await client.call(cmd("PING"), 2s);
        EXPECT_FALSE(failed);
        co_await sleep(ex, 50ms);
        EXPECT_FALSE(client.up());
        const auto asked = std::chrono::steady_clock::now();
        failed = co_await client.call(cmd("PING"), 2s);
        EXPECT_EQ(failed.error(), net::error::not_connected);
        EXPECT_LT(std::chrono::steady_clock::now() - asked, 50ms) << "a call waited on a server that is away";
        server.start();
        EXPECT_TRUE(co_await until_up(ex, client, 8s)) << "no reconnection";
        auto back = co_await client.call(cmd("PING"), 1s);
        EXPECT_TRUE(back && back->text == "PONG");
        client.stop();
    });
}

TEST(RedisClient, AuthenticatesAndSelectsTheDatabase) {
    RedisServer server(RedisServer::Options{"s3cret-pass", "", ""});
    run([&](net::any_io_executor ex) -> net::awaitable<void> {
        Client client(ex, Url::parse(server.url(3)), nullptr);
        client.start();
        EXPECT_TRUE(co_await until_up(ex, client));
        co_await client.call(cmd("SET", "where", "three"), 1s);
        Client zero(ex, Url::parse(server.url(0)), nullptr);
        zero.start();
        EXPECT_TRUE(co_await until_up(ex, zero));
        auto got = co_await zero.call(cmd("GET", "where"), 1s);
        EXPECT_TRUE(got && got->type == Reply::Type::kNil) << "SELECT was not sent";
        Client wrong(ex, Url::parse("redis://:wrong@127.0.0.1:" + std::to_string(server.port())), nullptr);
        wrong.start();
        EXPECT_FALSE(co_await until_up(ex, wrong, 500ms)) << "a wrong password was taken";
        client.stop();
        zero.stop();
        wrong.stop();
    });
}

TEST(RedisClient, SpeaksTlsAndChecksTheCertificate) {
    const auto cert = testing::make_test_cert("DNS:localhost,IP:127.0.0.1");
    RedisServer server(RedisServer::Options{"", cert.cert_pem, cert.key_pem});
    net::ssl::context trusting(net::ssl::context::tls_client);
    trusting.set_verify_mode(net::ssl::verify_peer);
    trusting.add_certificate_authority(net::buffer(cert.cert_pem));
    net::ssl::context other(net::ssl::context::tls_client);
    other.set_verify_mode(net::ssl::verify_peer);
    other.add_certificate_authority(net::buffer(testing::make_test_cert().cert_pem));
    run([&](net::any_io_executor ex) -> net::awaitable<void> {
        Client client(ex, Url::parse(server.url()), &trusting);
        client.start();
        EXPECT_TRUE(co_await until_up(ex, client));
        auto got = co_await client.call(cmd("PING"), 1s);
        EXPECT_TRUE(got && got->text == "PONG");
        Client untrusting(ex, Url::parse(server.url()), &other);
        untrusting.start();
        EXPECT_FALSE(co_await until_up(ex, untrusting, 500ms)) << "a certificate from an unknown CA was taken";
        client.stop();
        untrusting.stop();
    });
}

}  // namespace
}  // namespace nexus::redis
