#include "core/cancellation.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

namespace nexus::core {
namespace {

using namespace std::chrono_literals;

TEST(Cancellation, RunsTheRegisteredActionOnceAndLaterOnesAtOnce) {
    Cancellation c;
    int first = 0, second = 0;
    {
        auto r = c.on_cancel([&] { ++first; });
        c.cancel();
        c.cancel();
    }
    EXPECT_EQ(first, 1);
    EXPECT_TRUE(c.cancelled());
    auto r = c.on_cancel([&] { ++second; });
    EXPECT_EQ(second, 1) << "a step registered after cancel() is cancelled at once";
}

TEST(Cancellation, AnActionIsForgottenWhenItsRegistrationGoes) {
    Cancellation c;
    int fired = 0;
    { auto r = c.on_cancel([&] { ++fired; }); }
    c.cancel();
    EXPECT_EQ(fired, 0);
}

TEST(OneShot, WakesEveryWaiterAndHonoursDeadlinesAndCancel) {
    net::io_context ioc;
    OneShot event(ioc.get_executor());
    Cancellation cancel;
    std::vector<int> woke;
    auto wait = [&](int id, std::chrono::milliseconds budget, Cancellation* c) {
        net::co_spawn(ioc, [&, id, budget, c]() -> net::awaitable<void> {
            if (co_await event.wait(OneShot::Clock::now() + budget, c)) woke.push_back(id);
            else woke.push_back(-id);
        }, net::detached);
    };
    wait(1, 5s, nullptr);
    wait(2, 5s, nullptr);
    wait(3, 10ms, nullptr);     // times out first
    wait(4, 5s, &cancel);       // cancelled
    net::steady_timer t1(ioc, 50ms), t2(ioc, 100ms);
    t1.async_wait([&](error_code) { cancel.cancel(); });
    t2.async_wait([&](error_code) { event.set(); });
    const auto start = OneShot::Clock::now();
    ioc.run();
    EXPECT_LT(OneShot::Clock::now() - start, 2s);
    EXPECT_EQ(woke, (std::vector<int>{-3, -4, 1, 2}));
}

}  // namespace
}  // namespace nexus::core
