#include "http/server.hpp"

#include <gtest/gtest.h>

namespace nexus::http {
namespace {

net::awaitable<void> noop(Exchange&) { co_return; }

TEST(Router, MatchesMethodAndPathIgnoringQuery) {
    Router r;
    r.add(bhttp::verb::post, "/v1/chat/completions", {core::Route::kChatCompletions}, noop);
    r.add(bhttp::verb::get, "/healthz", {core::Route::kHealthz}, noop);
    const auto m = r.find(bhttp::verb::post, "/v1/chat/completions?x=1");
    EXPECT_NE(m.handler, nullptr);
    EXPECT_EQ(m.info.metric, core::Route::kChatCompletions);
}

TEST(Router, KnownPathOtherMethodIsNotAllowed) {
    Router r;
    r.add(bhttp::verb::post, "/v1/chat/completions", {core::Route::kChatCompletions}, noop);
    const auto m = r.find(bhttp::verb::get, "/v1/chat/completions");
    EXPECT_EQ(m.handler, nullptr);
    EXPECT_TRUE(m.path_known);
}

TEST(Router, UnknownPath) {
    Router r;
    r.add(bhttp::verb::get, "/healthz", {core::Route::kHealthz}, noop);
    const auto m = r.find(bhttp::verb::get, "/healthz/");
    EXPECT_EQ(m.handler, nullptr);
    EXPECT_FALSE(m.path_known);
    EXPECT_EQ(m.info.metric, core::Route::kOther);
}

TEST(Router, ParametersMatchOneSegmentOrTheRest) {
    Router r;
    r.add(bhttp::verb::get, "/api/channel/{id}", {core::Route::kAdmin}, noop);
    r.add(bhttp::verb::post, "/api/channel/{id}/test", {core::Route::kAdmin}, noop);
    r.add(bhttp::verb::get, "/v1/models/{model...}", {core::Route::kModels}, noop);
    auto m = r.find(bhttp::verb::get, "/api/channel/42?x=1");
    ASSERT_NE(m.handler, nullptr);
    EXPECT_EQ(m.params, (std::vector<std::pair<std::string, std::string>>{{"id", "42"}}));
    m = r.find(bhttp::verb::post, "/api/channel/42/test");
    ASSERT_NE(m.handler, nullptr);
    EXPECT_EQ(m.params.at(0).second, "42");
    EXPECT_EQ(r.find(bhttp::verb::get, "/api/channel/").handler, nullptr) << "an empty segment is no id";
    m = r.find(bhttp::verb::get, "/v1/models/Qwen/Qwen2.5-7B-Instruct");
    ASSERT_NE(m.handler, nullptr);
    EXPECT_EQ(m.params.at(0), (std::pair<std::string, std::string>{"model", "Qwen/Qwen2.5-7B-Instruct"}));
    EXPECT_EQ(r.find(bhttp::verb::get, "/v1/models/").handler, nullptr) << "the rest is at least one segment";
    EXPECT_TRUE(r.find(bhttp::verb::delete_, "/v1/models/x").path_known);
}

TEST(Router, ExactPathsBeforePatternsAndMoreLiteralPatternsFirst) {
    // Each route carries another metric label, to tell which one matched.
    Router r;
    r.add(bhttp::verb::unknown, "/api/{path...}", {core::Route::kOther}, noop);
    r.add(bhttp::verb::get, "/api/{kind}/{id}", {core::Route::kModels}, noop);
    r.add(bhttp::verb::get, "/api/channel/{id}", {core::Route::kAdmin}, noop);
    r.add(bhttp::verb::get, "/api/channel/all", {core::Route::kMetrics}, noop);
    auto which = [&](std::string_view target) { return r.find(bhttp::verb::get, target).info.metric; };
    EXPECT_EQ(which("/api/channel/all"), core::Route::kMetrics);
    EXPECT_EQ(which("/api/channel/7"), core::Route::kAdmin);
    EXPECT_EQ(which("/api/token/7"), core::Route::kModels);
    EXPECT_EQ(which("/api/anything/else/entirely"), core::Route::kOther);
    EXPECT_NE(r.find(bhttp::verb::get, "/api/anything/else/entirely").handler, nullptr);
}

TEST(Router, AFallbackTakesOnlyWhatNoRouteTakes) {
    Router r;
    r.add(bhttp::verb::get, "/healthz", {core::Route::kHealthz}, noop);
    r.add(bhttp::verb::post, "/v1/chat/completions", {core::Route::kChatCompletions}, noop);
    r.add(bhttp::verb::unknown, "/api/{path...}", {core::Route::kAdmin, Access::kAdmin}, noop);
    r.set_fallback({core::Route::kOther}, noop);
    EXPECT_EQ(r.find(bhttp::verb::get, "/channels").info.metric, core::Route::kOther);
    EXPECT_NE(r.find(bhttp::verb::get, "/channels").handler, nullptr);
    EXPECT_EQ(r.find(bhttp::verb::get, "/healthz").info.metric, core::Route::kHealthz);
    EXPECT_EQ(r.find(bhttp::verb::get, "/api/nothing").info.access, Access::kAdmin) << "the fallback took /api";
    const auto other_method = r.find(bhttp::verb::get, "/v1/chat/completions");
    EXPECT_EQ(other_method.handler, nullptr) << "the fallback took a known path's 405";
    EXPECT_TRUE(other_method.path_known);
}

TEST(Router, GuardsAreFoundByTheRoutesAccess) {
    Router r;
    r.add(bhttp::verb::get, "/api/channel", {core::Route::kAdmin, Access::kAdmin}, noop);
    r.add(bhttp::verb::get, "/healthz", {core::Route::kHealthz}, noop);
    r.set_guard(Access::kAdmin, [](Exchange&, const RouteInfo&) -> net::awaitable<bool> { co_return false; });
    EXPECT_NE(r.find(bhttp::verb::get, "/api/channel").guard, nullptr);
    EXPECT_NE(r.find(bhttp::verb::delete_, "/api/channel").guard, nullptr) << "a 405 is guarded too";
    EXPECT_EQ(r.find(bhttp::verb::get, "/healthz").guard, nullptr);
}

TEST(PercentDecoded, DecodesAndRefusesMalformedEscapes) {
    EXPECT_EQ(percent_decoded("Qwen%2FQwQ-32B"), "Qwen/QwQ-32B");
    EXPECT_EQ(percent_decoded("plain"), "plain");
    EXPECT_FALSE(percent_decoded("Qwen%2"));
}

}  // namespace
}  // namespace nexus::http

namespace nexus::http {
namespace {

TEST(BearerToken, ReadsTheCredential) {
    Request r;
    EXPECT_FALSE(bearer_token(r));
    r.set(bhttp::field::authorization, "Bearer sk-abc");
    EXPECT_EQ(bearer_token(r), "sk-abc");
    r.set(bhttp::field::authorization, "bearer sk-abc");
    EXPECT_EQ(bearer_token(r), "sk-abc") << "the scheme is case-insensitive";
    r.set(bhttp::field::authorization, "Bearer ");
    EXPECT_FALSE(bearer_token(r));
    r.set(bhttp::field::authorization, "Basic dXNlcjpwYXNz");
    EXPECT_FALSE(bearer_token(r));
    r.set(bhttp::field::authorization, "Bearersk-abc");
    EXPECT_FALSE(bearer_token(r));
}

}  // namespace
}  // namespace nexus::http
