#include "core/price.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

namespace nexus::core {
namespace {

TEST(Price, CostIsPerRequestPlusTokensRoundedUp) {
    const Price p{300, 600, 100, 7};
    // 5 uncached × 300 + 0 + 3 × 600 = 3300 millionths → 1 unit, + 7.
    EXPECT_EQ(cost(p, 5, 0, 3), 8);
    // Cached prompt tokens at the cached price: (8 × 300 + 2 × 100 + 0) = 2600 → 1.
    EXPECT_EQ(cost(p, 10, 2, 0), 8);
    EXPECT_EQ(cost(Price{1'000'000, 0, 0, 0}, 1'000, 0, 0), 1'000) << "exact: no rounding up";
    EXPECT_EQ(cost(Price{1'000'000, 0, 0, 0}, 1'000, 1'000, 0), 0) << "all cached at a price of 0";
    EXPECT_EQ(cost(Price{}, 1'000'000, 0, 1'000'000), 0);
    EXPECT_EQ(cost(Price{0, 0, 0, 9}, 0, 0, 0), 9);
}

TEST(Price, CostNeverOverflowsAtTheLimits) {
    const Price p{kMaxPrice, kMaxPrice, kMaxPrice, kMaxPrice};
    // 1e9 tokens × 1e9 units per million = 1e12 units each way, plus the call.
    EXPECT_EQ(cost(p, INT64_MAX, 0, INT64_MAX), 2 * 1'000'000'000'000 + kMaxPrice);
    EXPECT_EQ(cost(p, -5, 3, -1), kMaxPrice) << "nonsense counts cost nothing beyond the call";
    EXPECT_EQ(cost(p, 10, 50, 0), kMaxPrice + 10'000) << "cached beyond the prompt is the prompt";
}

TEST(Price, ParseTakesTheFourFieldsAndNamesABadOne) {
    auto p = parse_price(boost::json::parse(R"({"input":1,"output":2,"cached_input":3,"per_request":4})").as_object());
    ASSERT_TRUE(p);
    EXPECT_EQ(*p, (Price{1, 2, 3, 4}));
    p = parse_price(boost::json::parse("{}").as_object());
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->free());
    for (const auto* bad : {R"({"input":-1})", R"({"output":1000000001})", R"({"cached_input":"1"})",
                            R"({"per_request":1.5})", R"({"other":1})"}) {
        const auto r = parse_price(boost::json::parse(bad).as_object());
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().status, 400);
        EXPECT_FALSE(r.error().param.empty()) << bad;
    }
}

}  // namespace
}  // namespace nexus::core
