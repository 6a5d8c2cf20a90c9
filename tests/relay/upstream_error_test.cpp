#include "relay/upstream_error.hpp"

#include <gtest/gtest.h>

namespace nexus::relay {
namespace {

TEST(TranslateUpstreamError, BareStringOn401SaysKeyRejected) {
    const auto e = translate_upstream_error(401, R"("Invalid token")", "sk-secret");
    EXPECT_EQ(e.status, 401);
    EXPECT_EQ(e.type, "authentication_error");
    EXPECT_EQ(e.code, "invalid_api_key");
    EXPECT_NE(e.message.find("rejected the channel's API key"), std::string::npos);
    EXPECT_NE(e.message.find("Invalid token"), std::string::npos);
    EXPECT_TRUE(e.allow_fallbacks);
}

TEST(TranslateUpstreamError, SiliconFlowCodeMessageData) {
    const auto e = translate_upstream_error(
        400, R"({"code":20012,"message":"Model does not exist. Please check it carefully.","data":null})", "k");
    EXPECT_EQ(e.status, 400);
    EXPECT_EQ(e.type, "invalid_request_error");
    EXPECT_EQ(e.code, "20012");
    EXPECT_EQ(e.message, "Model does not exist. Please check it carefully.");
    EXPECT_FALSE(e.allow_fallbacks);
}

TEST(TranslateUpstreamError, BalanceOn403) {
    const auto e = translate_upstream_error(403, R"({"code":30001,"message":"Sorry, your account balance is insufficient"})", "k");
    EXPECT_EQ(e.status, 403);
    EXPECT_EQ(e.code, "30001");
    EXPECT_NE(e.message.find("cannot pay"), std::string::npos);
    EXPECT_NE(e.message.find("balance is insufficient"), std::string::npos);
    EXPECT_TRUE(e.allow_fallbacks);
}

TEST(TranslateUpstreamError, RateLimit) {
    const auto e = translate_upstream_error(429, R"({"message":"Request was rejected due to rate limiting.","data":null})", "k");
    EXPECT_EQ(e.type, "rate_limit_error");
    EXPECT_EQ(e.code, "rate_limit_exceeded");
    EXPECT_TRUE(e.allow_fallbacks);
}

TEST(TranslateUpstreamError, PlainText404) {
    const auto e = translate_upstream_error(404, "404 page not found\n", "k");
    EXPECT_EQ(e.status, 404);
    EXPECT_EQ(e.message, "404 page not found");
    EXPECT_EQ(e.code, "not_found");
}

TEST(TranslateUpstreamError, OpenAIShapeKept) {
    const auto e = translate_upstream_error(
        400, R"({"error":{"message":"bad temp","type":"invalid_request_error","param":"temperature","code":"x"}})", "k");
    EXPECT_EQ(e.message, "bad temp");
    EXPECT_EQ(e.param, "temperature");
    EXPECT_EQ(e.code, "x");
}

TEST(TranslateUpstreamError, ServerErrorsAllowFallback) {
    const auto e = translate_upstream_error(503, R"({"code":50505,"message":"Model service overloaded.","data":null})", "k");
    EXPECT_EQ(e.type, "api_error");
    EXPECT_TRUE(e.allow_fallbacks);
    EXPECT_NE(e.message.find("overloaded"), std::string::npos);
}

TEST(TranslateUpstreamError, ScrubsTheKey) {
    const auto e = translate_upstream_error(401, R"({"message":"key sk-abcdef123456 is wrong"})", "sk-abcdef123456");
    EXPECT_EQ(e.message.find("sk-abcdef123456"), std::string::npos);
    EXPECT_NE(e.message.find("[redacted]"), std::string::npos);
}

TEST(TranslateUpstreamError, ScrubsBeforeCuttingSoNoHeadOfTheKeyIsLeft) {
    const std::string key = "sk-abcdefghijklmnopqrstuvwxyz123456";
    // The key starts just before the message limit: cut first, its head would survive unscrubbed.
    const std::string filler(1010, 'x');
    for (const auto& body : {R"({"message":")" + filler + key + R"("})", filler + key}) {
        const auto e = translate_upstream_error(400, body, key);
        EXPECT_EQ(e.message.find("sk-abcdefghij"), std::string::npos) << e.message.substr(1000);
        EXPECT_NE(e.message.find("[redacted]"), std::string::npos);
    }
}

TEST(TranslateUpstreamError, ScrubsTypeAndParamToo) {
    const std::string key = "sk-abcdef123456";
    const auto e = translate_upstream_error(
        400, R"({"error":{"message":"m","type":"t-)" + key + R"(","param":"p-)" + key + R"(","code":"c-)" + key + R"("}})",
        key);
    EXPECT_EQ(e.type, "t-[redacted]");
    EXPECT_EQ(e.param, "p-[redacted]");
    EXPECT_EQ(e.code, "c-[redacted]");
}

TEST(TranslateUpstreamError, EmptyAndHugeBodies) {
    EXPECT_EQ(translate_upstream_error(500, "", "k").message, "The upstream failed: no message");
    const auto e = translate_upstream_error(500, std::string(100000, 'x'), "k");
    EXPECT_LE(e.message.size(), 1100u);
}

}  // namespace
}  // namespace nexus::relay
