#include "snapshot/quota_counter.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace nexus::snapshot {
namespace {

TEST(QuotaCounter, ReservesOnlyWhatIsLeft) {
    QuotaCounter q;
    q.set_stored(100);
    EXPECT_TRUE(q.reserve(60));
    EXPECT_FALSE(q.reserve(50)) << "60 held, 40 left";
    EXPECT_TRUE(q.reserve(40));
    q.release(40);
    EXPECT_EQ(q.settle(60, 25), 25);
    EXPECT_EQ(q.unwritten(), 25);
    EXPECT_TRUE(q.reserve(75));
    EXPECT_FALSE(q.reserve(1));
}

TEST(QuotaCounter, ASettlementNeverTakesMoreThanIsLeft) {
    QuotaCounter q;
    q.set_stored(10);
    ASSERT_TRUE(q.reserve(4));
    EXPECT_EQ(q.settle(4, 50), 10) << "a call that cost more than it reserved takes what is left, no more";
    EXPECT_FALSE(q.reserve(1));
    q.refund(3);
    EXPECT_EQ(q.unwritten(), 7);
    q.written(7);
    EXPECT_EQ(q.unwritten(), 0);
    EXPECT_TRUE(q.reserve(3)) << "stored 3 now";
    EXPECT_FALSE(q.reserve(1));
}

TEST(QuotaCounter, AnUnlimitedUserCountsWithoutLimit) {
    QuotaCounter q;
    EXPECT_TRUE(q.reserve(1'000'000));
    q.release(1'000'000);
    EXPECT_EQ(q.settle(0, 500), 500);
    EXPECT_EQ(q.unwritten(), 500);
    q.dropped(500);
    EXPECT_EQ(q.unwritten(), 0);
}

TEST(QuotaCounter, RacingReservationsNeverOverdraw) {
    QuotaCounter q;
    q.set_stored(1000);
    std::atomic<int> granted{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 1000; ++i) {
                if (q.reserve(7)) ++granted;
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(granted.load(), 1000 / 7);
}

}  // namespace
}  // namespace nexus::snapshot
