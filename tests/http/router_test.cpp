#include "http/server.hpp"

#include <gtest/gtest.h>

namespace nexus::http {
namespace {

net::awaitable<void> noop(Exchange&) { co_return; }

TEST(Router, MatchesMethodAndPathIgnoringQuery) {
    Router r;
    r.add(bhttp::verb::post, "/v1/chat/completions", core::Route::kChatCompletions, noop);
    r.add(bhttp::verb::get, "/healthz", core::Route::kHealthz, noop);
    const auto m = r.find(bhttp::verb::post, "/v1/chat/completions?x=1");
    EXPECT_NE(m.handler, nullptr);
    EXPECT_EQ(m.route, core::Route::kChatCompletions);
}

TEST(Router, KnownPathOtherMethodIsNotAllowed) {
    Router r;
    r.add(bhttp::verb::post, "/v1/chat/completions", core::Route::kChatCompletions, noop);
    const auto m = r.find(bhttp::verb::get, "/v1/chat/completions");
    EXPECT_EQ(m.handler, nullptr);
    EXPECT_TRUE(m.path_known);
}

TEST(Router, UnknownPath) {
    Router r;
    r.add(bhttp::verb::get, "/healthz", core::Route::kHealthz, noop);
    const auto m = r.find(bhttp::verb::get, "/healthz/");
    EXPECT_EQ(m.handler, nullptr);
    EXPECT_FALSE(m.path_known);
    EXPECT_EQ(m.route, core::Route::kOther);
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
