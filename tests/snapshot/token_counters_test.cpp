#include "snapshot/token_counters.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace nexus::snapshot {
namespace {

using Clock = TokenCounters::Clock;
using Refusal = TokenCounters::Refusal;
using namespace std::chrono_literals;

// A second boundary well inside a second: the tests step time themselves.
Clock::time_point at(int second) {
    return Clock::time_point(std::chrono::seconds(1'000'000 + second) + 500ms);
}

TEST(TokenCounters, RpmNeverAdmitsMoreThanTheLimitInAnySixtySeconds) {
    TokenCounters c;
    const TokenCounters::Limits limits{false, 3, 0, 0};
    std::vector<int> admitted;
    for (int s = 0; s < 200; ++s) {
        const auto a = c.admit(limits, {}, at(s));
        if (a.refusal == Refusal::kNone) {
            admitted.push_back(s);
            c.settle(limits, {}, a.second, 0, 0);
        } else {
            EXPECT_EQ(a.refusal, Refusal::kRequests);
            EXPECT_GT(a.retry_after.count(), 0);
        }
    }
    for (std::size_t i = 3; i < admitted.size(); ++i) {
        EXPECT_GE(admitted[i] - admitted[i - 3], 60) << "four calls inside one minute";
    }
    EXPECT_GE(admitted.size(), 9u) << "slots come back";
}

TEST(TokenCounters, TpmAdmitsWhatFitsAndSettlesToTheRealCount) {
    TokenCounters c;
    const TokenCounters::Limits limits{false, 0, 100, 0};
    const TokenCounters::Want want{0, 60};
    auto a = c.admit(limits, want, at(0));
    ASSERT_EQ(a.refusal, Refusal::kNone);
    EXPECT_EQ(a.tokens_remaining, 40);
    EXPECT_EQ(c.admit(limits, want, at(0)).refusal, Refusal::kTokens) << "60 + 60 > 100";
    c.settle(limits, want, a.second, 0, 10);
    a = c.admit(limits, want, at(1));
    EXPECT_EQ(a.refusal, Refusal::kNone) << "10 + 60 fits once the first settled to 10";
    EXPECT_EQ(c.admit(limits, {0, 101}, at(1)).refusal, Refusal::kTokensNeverFit);
}

TEST(TokenCounters, QuotaReservationsNeverOverdrawUnderRaces) {
    TokenCounters c;
    c.set_stored(1000);
    const TokenCounters::Limits limits{true, 0, 0, 0};
    std::atomic<std::int64_t> taken{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 1000; ++i) {
                const TokenCounters::Want want{7, 0};
                const auto a = c.admit(limits, want, Clock::now());
                if (a.refusal == Refusal::kNone) taken += c.settle(limits, want, a.second, 5 + i % 5, 0);
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_LE(taken.load(), 1000);
    EXPECT_GT(taken.load(), 990) << "all but the last few units are spent";
    EXPECT_EQ(c.unwritten(), taken.load());
    c.written(taken.load());
    EXPECT_EQ(c.unwritten(), 0);
    EXPECT_EQ(c.admit(limits, {1000 - taken.load() + 1, 0}, Clock::now()).refusal, Refusal::kQuota);
}

TEST(TokenCounters, ACallOverItsReservationIsChargedAtMostWhatIsLeft) {
    TokenCounters c;
    c.set_stored(100);
    const TokenCounters::Limits limits{true, 0, 0, 0};
    const auto a = c.admit(limits, {40, 0}, Clock::now());
    ASSERT_EQ(a.refusal, Refusal::kNone);
    EXPECT_EQ(c.settle(limits, {40, 0}, a.second, 250, 0), 100);
    EXPECT_EQ(c.admit(limits, {1, 0}, Clock::now()).refusal, Refusal::kQuota);
    EXPECT_EQ(c.admit(limits, {0, 0}, Clock::now()).refusal, Refusal::kNone) << "a free call always fits";
}

TEST(TokenCounters, ConcurrencySlotsComeBackOnSettle) {
    TokenCounters c;
    const TokenCounters::Limits limits{false, 0, 0, 2};
    const auto a = c.admit(limits, {}, Clock::now());
    const auto b = c.admit(limits, {}, Clock::now());
    EXPECT_EQ(c.admit(limits, {}, Clock::now()).refusal, Refusal::kConcurrency);
    c.settle(limits, {}, a.second, 0, 0);
    EXPECT_EQ(c.admit(limits, {}, Clock::now()).refusal, Refusal::kNone);
    (void)b;
}

}  // namespace
}  // namespace nexus::snapshot
