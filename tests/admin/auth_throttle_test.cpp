#include "admin/auth_throttle.hpp"

#include <gtest/gtest.h>

namespace nexus::admin {
namespace {

using boost::asio::ip::make_address;
using namespace std::chrono_literals;

TEST(AuthThrottle, BlocksAfterTheLimitUntilTheWindowEnds) {
    AuthThrottle t(3);
    const auto a = make_address("192.0.2.7");
    const auto now = AuthThrottle::Clock::now();
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(t.blocked_for(a, now), 0);
        t.record_failure(a, now);
    }
    EXPECT_GT(t.blocked_for(a, now + 10s), 0);
    EXPECT_LE(t.blocked_for(a, now + 10s), 51);
    EXPECT_EQ(t.blocked_for(make_address("192.0.2.8"), now), 0) << "another address is not blocked";
    EXPECT_EQ(t.blocked_for(a, now + 61s), 0);
}

TEST(AuthThrottle, CountsAnIpv6Slash64AsOneClient) {
    AuthThrottle t(2);
    const auto now = AuthThrottle::Clock::now();
    t.record_failure(make_address("2001:db8:1:2::1"), now);
    t.record_failure(make_address("2001:db8:1:2:ffff:ffff:ffff:ffff"), now);
    EXPECT_GT(t.blocked_for(make_address("2001:db8:1:2:abcd::9"), now), 0) << "same /64";
    EXPECT_EQ(t.blocked_for(make_address("2001:db8:1:3::1"), now), 0) << "another /64";
    EXPECT_EQ(t.size(), 1u);
    EXPECT_EQ(AuthThrottle::client_key(make_address("::ffff:192.0.2.7")), "192.0.2.7");
}

TEST(AuthThrottle, TheTableIsBoundedAndForgetsTheLeastRecentlySeen) {
    AuthThrottle t(1, std::chrono::minutes(1), 3);
    const auto now = AuthThrottle::Clock::now();
    for (const auto* ip : {"10.0.0.1", "10.0.0.2", "10.0.0.3"}) t.record_failure(make_address(ip), now);
    t.record_failure(make_address("10.0.0.1"), now);  // seen again: now the most recent
    t.record_failure(make_address("10.0.0.4"), now);  // the table is full: 10.0.0.2 goes
    EXPECT_EQ(t.size(), 3u);
    EXPECT_EQ(t.blocked_for(make_address("10.0.0.2"), now), 0);
    EXPECT_GT(t.blocked_for(make_address("10.0.0.1"), now), 0);
    EXPECT_GT(t.blocked_for(make_address("10.0.0.3"), now), 0);
    EXPECT_GT(t.blocked_for(make_address("10.0.0.4"), now), 0);
    for (int i = 0; i < 10'000; ++i) t.record_failure(make_address("10.1." + std::to_string(i / 256) + "." + std::to_string(i % 256)), now);
    EXPECT_EQ(t.size(), 3u);
}

}  // namespace
}  // namespace nexus::admin
