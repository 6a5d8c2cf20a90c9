#include "core/request_id.hpp"

#include <gtest/gtest.h>

#include <set>

namespace nexus::core {
namespace {

TEST(RequestId, SaneIdsAccepted) {
    EXPECT_TRUE(is_sane_request_id("abc-123_X.y:z"));
    EXPECT_TRUE(is_sane_request_id(std::string(128, 'a')));
}

TEST(RequestId, InsaneIdsRefused) {
    EXPECT_FALSE(is_sane_request_id(""));
    EXPECT_FALSE(is_sane_request_id(std::string(129, 'a')));
    EXPECT_FALSE(is_sane_request_id("has space"));
    EXPECT_FALSE(is_sane_request_id("quote\""));
    EXPECT_FALSE(is_sane_request_id("new\nline"));
}

TEST(RequestId, GeneratedAreHexAndDistinct) {
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        const auto id = make_request_id();
        ASSERT_EQ(id.size(), 32u);
        ASSERT_TRUE(is_sane_request_id(id));
        ASSERT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
        seen.insert(id);
    }
    EXPECT_EQ(seen.size(), 1000u);
}

}  // namespace
}  // namespace nexus::core
