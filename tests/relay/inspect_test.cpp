#include "relay/inspect.hpp"

#include <gtest/gtest.h>

namespace nexus::relay {
namespace {

TEST(InspectChatRequest, ReadsModelAndStream) {
    const auto r = inspect_chat_request(
        R"({"model":"Qwen/Qwen2.5-7B-Instruct","messages":[{"role":"user","content":"hi"}],"stream":true,
            "stream_options":{"include_usage":true}})");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->model, "Qwen/Qwen2.5-7B-Instruct");
    EXPECT_TRUE(r->stream);
    EXPECT_TRUE(r->include_usage);
}

TEST(InspectChatRequest, StreamDefaultsToFalse) {
    const auto r = inspect_chat_request(R"({"model":"m","messages":[{"role":"user","content":"hi"}],"stream":null})");
    ASSERT_TRUE(r.has_value());
    EXPECT_FALSE(r->stream);
}

struct BadCase {
    const char* body;
    const char* param;  // "" for none
};

class InspectChatRequestBad : public ::testing::TestWithParam<BadCase> {};

TEST_P(InspectChatRequestBad, Answers400NamingTheField) {
    const auto r = inspect_chat_request(GetParam().body);
    ASSERT_FALSE(r.has_value()) << GetParam().body;
    EXPECT_EQ(r.error().status, 400);
    EXPECT_EQ(r.error().type, "invalid_request_error");
    EXPECT_EQ(r.error().param, GetParam().param);
    EXPECT_FALSE(r.error().message.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Bodies, InspectChatRequestBad,
    ::testing::Values(BadCase{"", ""}, BadCase{"{", ""}, BadCase{"not json", ""}, BadCase{"[1,2]", ""},
                      BadCase{"\"str\"", ""}, BadCase{"null", ""}, BadCase{R"({"messages":[{}]})", "model"},
                      BadCase{R"({"model":3,"messages":[{}]})", "model"},
                      BadCase{R"({"model":"","messages":[{}]})", "model"}, BadCase{R"({"model":"m"})", "messages"},
                      BadCase{R"({"model":"m","messages":{}})", "messages"},
                      BadCase{R"({"model":"m","messages":[]})", "messages"},
                      BadCase{R"({"model":"m","messages":[{}],"stream":"yes"})", "stream"},
                      BadCase{R"({"model":"m","messages":[{}]} trailing)", ""},
                      BadCase{"{\"model\":\"\xff\",\"messages\":[{}]}", ""}));

TEST(InspectChatRequest, DeepNestingIsRefusedNotCrashed) {
    std::string deep(100000, '[');
    const auto r = inspect_chat_request(deep);
    EXPECT_FALSE(r.has_value());
}

TEST(InspectChatRequest, LargeBodySpillsToHeap) {
    std::string content(200000, 'x');
    const auto r = inspect_chat_request(R"({"model":"m","messages":[{"role":"user","content":")" + content + "\"}]}");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->model, "m");
}

}  // namespace
}  // namespace nexus::relay
