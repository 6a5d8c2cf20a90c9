#include <gtest/gtest.h>

#include "relay/usage.hpp"

namespace nexus::relay {
namespace {

TEST(UsageOf, ReadsCompletionUsage) {
    const auto u = usage_of(R"({"id":"x","usage":{"prompt_tokens":5,"completion_tokens":3,"total_tokens":8}})");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->prompt_tokens, 5);
    EXPECT_EQ(u->completion_tokens, 3);
    EXPECT_EQ(u->total_tokens, 8);
}

TEST(UsageOf, NullOrMissingUsage) {
    EXPECT_FALSE(usage_of(R"({"choices":[]})"));
    EXPECT_FALSE(usage_of(R"({"usage":null})"));
    EXPECT_FALSE(usage_of("[DONE]"));
    EXPECT_FALSE(usage_of(R"({"usage":)"));
}

TEST(UsageOf, TotalDerivedWhenAbsent) {
    const auto u = usage_of(R"({"usage":{"prompt_tokens":2,"completion_tokens":4}})");
    ASSERT_TRUE(u);
    EXPECT_EQ(u->total_tokens, 6);
}

}  // namespace
}  // namespace nexus::relay
