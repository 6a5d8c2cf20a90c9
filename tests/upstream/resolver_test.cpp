#include "upstream/resolver.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <map>
#include <mutex>

namespace nexus::upstream {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A lookup the test controls: "slow.test" never answers until the gate opens, "missing.test"
// is not found, any other name is 127.0.0.1 at once. Counts the calls per name.
struct FakeDns {
    std::shared_future<void> gate;
    std::shared_ptr<std::mutex> mutex = std::make_shared<std::mutex>();
    std::shared_ptr<std::map<std::string, int>> calls = std::make_shared<std::map<std::string, int>>();

    Resolver::Lookup lookup() const {
        return [gate = gate, mutex = mutex, calls = calls](const std::string& host, const std::string& port)
                   -> std::variant<Resolver::Endpoints, std::string> {
            {
                std::lock_guard lock(*mutex);
                ++(*calls)[host];
            }
            if (host == "slow.test") gate.wait();
            if (host == "missing.test") return std::string("Name or service not known");
            return Resolver::Endpoints{{net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(std::stoi(port))}};
        };
    }
    int calls_of(const std::string& host) const {
        std::lock_guard lock(*mutex);
        return calls->contains(host) ? calls->at(host) : 0;
    }
};

class ResolverTest : public ::testing::Test {
protected:
    void TearDown() override { open_gate.set_value(); }  // lets the blocked lookup threads end
    std::promise<void> open_gate;
    FakeDns dns{open_gate.get_future().share()};
    net::io_context ioc;

    // Runs `resolve` of `host` in a coroutine; the result and when it came land in the out-params.
    void spawn(Resolver& r, std::string host, Clock::duration budget, Resolver::Result& out, Clock::time_point& at,
               core::Cancellation* cancel = nullptr) {
        net::co_spawn(ioc, [&r, host, budget, &out, &at, cancel]() -> net::awaitable<void> {
            out = co_await r.resolve(host, "443", Clock::now() + budget, cancel);
            at = Clock::now();
        }, [](std::exception_ptr e) { if (e) std::rethrow_exception(e); });
    }
};

TEST_F(ResolverTest, ANameThatNeverAnswersTimesOutAndDelaysNoOtherName) {
    Resolver r(ioc.get_executor(), dns.lookup());
    Resolver::Result slow, fast;
    Clock::time_point slow_at, fast_at;
    const auto start = Clock::now();
    spawn(r, "slow.test", 300ms, slow, slow_at);
    spawn(r, "fast.test", 10s, fast, fast_at);
    ioc.run();
    ASSERT_TRUE(fast.ok());
    EXPECT_EQ(fast.endpoints.front().port(), 443);
    EXPECT_LT(fast_at - start, 200ms) << "the slow name delayed another one";
    EXPECT_FALSE(slow.ok());
    EXPECT_EQ(slow.failure, Resolver::Failure::kTimeout);
    EXPECT_GE(slow_at - start, 300ms);
    EXPECT_LT(slow_at - start, 2s) << "the deadline did not bound the lookup";
}

TEST_F(ResolverTest, CancelStopsTheWaitAtOnce) {
    Resolver r(ioc.get_executor(), dns.lookup());
    core::Cancellation cancel;
    Resolver::Result result;
    Clock::time_point at;
    const auto start = Clock::now();
    spawn(r, "slow.test", 30s, result, at, &cancel);
    net::steady_timer timer(ioc, 100ms);
    timer.async_wait([&](error_code) { cancel.cancel(); });
    ioc.run();
    EXPECT_EQ(result.failure, Resolver::Failure::kCancelled);
    EXPECT_LT(at - start, 2s);
}

TEST_F(ResolverTest, AnswersAreCachedAndOneLookupServesConcurrentCallers) {
    Resolver r(ioc.get_executor(), dns.lookup(), {.ttl = 60s, .negative_ttl = 60s, .max_lookups = 32});
    Resolver::Result a, b, c, missing1, missing2;
    Clock::time_point ta, tb, tc, tm1, tm2;
    spawn(r, "api.test", 5s, a, ta);
    spawn(r, "api.test", 5s, b, tb);
    spawn(r, "missing.test", 5s, missing1, tm1);
    ioc.run();
    ioc.restart();
    spawn(r, "api.test", 5s, c, tc);
    spawn(r, "missing.test", 5s, missing2, tm2);
    ioc.run();
    EXPECT_TRUE(a.ok() && b.ok() && c.ok());
    EXPECT_EQ(dns.calls_of("api.test"), 1) << "two concurrent callers and a later one: one lookup";
    EXPECT_EQ(missing1.failure, Resolver::Failure::kNotFound);
    EXPECT_EQ(missing2.failure, Resolver::Failure::kNotFound);
    EXPECT_EQ(missing2.detail, "Name or service not known");
    EXPECT_EQ(dns.calls_of("missing.test"), 1) << "a failure is cached too";
}

TEST_F(ResolverTest, ExpiredAnswersAreLookedUpAgain) {
    Resolver r(ioc.get_executor(), dns.lookup(), {.ttl = 0ms, .negative_ttl = 0ms, .max_lookups = 32});
    Resolver::Result a, b;
    Clock::time_point ta, tb;
    spawn(r, "api.test", 5s, a, ta);
    ioc.run();
    ioc.restart();
    spawn(r, "api.test", 5s, b, tb);
    ioc.run();
    EXPECT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(dns.calls_of("api.test"), 2);
}

TEST_F(ResolverTest, LookupsInFlightAreBounded) {
    Resolver r(ioc.get_executor(), dns.lookup(), {.ttl = 60s, .negative_ttl = 60s, .max_lookups = 1});
    Resolver::Result slow, other;
    Clock::time_point ts, to;
    spawn(r, "slow.test", 200ms, slow, ts);
    spawn(r, "other.test", 5s, other, to);
    ioc.run();
    EXPECT_EQ(other.failure, Resolver::Failure::kTooManyLookups);
}

TEST(SystemLookup, ResolvesLocalhostAndFailsOnAnInvalidName) {
    const auto found = Resolver::system_lookup("localhost", "8080");
    ASSERT_TRUE(std::holds_alternative<Resolver::Endpoints>(found)) << std::get<std::string>(found);
    EXPECT_EQ(std::get<Resolver::Endpoints>(found).front().port(), 8080);
    EXPECT_TRUE(std::holds_alternative<std::string>(Resolver::system_lookup("no-such-host.invalid", "80")));
}

}  // namespace
}  // namespace nexus::upstream
