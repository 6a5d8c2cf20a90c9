#pragma once
#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <string>

#include "support/http_client.hpp"
#include "support/mock_upstream.hpp"
#include "support/nexus_process.hpp"

namespace nexus::testing {

/// A chat completion body as OpenAI clients send it; `frames` and `interval_ms` (when not 0)
/// pace the mock upstream's stream (the relay forwards the body as it is).
inline std::string chat_body(const std::string& model, bool stream = false, int frames = 0, int interval_ms = 0) {
    boost::json::object body{{"model", model},
                             {"messages", boost::json::array{boost::json::object{{"role", "user"}, {"content", "hi"}}}}};
    if (stream) body["stream"] = true;
    if (frames > 0) body["mock_frames"] = frames;
    if (interval_ms > 0) body["mock_interval_ms"] = interval_ms;
    return boost::json::serialize(body);
}

/// The nexus token the chat helpers send unless a test sets Authorization itself.
inline constexpr const char* kTestToken = "sk-nexus-test-token";

/// A chat call as raw HTTP/1.1 bytes, with the test token and `extra` header lines
/// ("Name: value\r\n" each), for tests that drive a RawConnection.
inline std::string raw_chat_request(const std::string& body, const std::string& extra = {}) {
    return "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + std::string(kTestToken) +
           "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + extra +
           "\r\n" + body;
}

/// Mock upstream options, the defaults changed by `change`.
template <class Change>
MockUpstream::Options mock_options(Change change) {
    MockUpstream::Options o;
    change(o);
    return o;
}

/// The `error` object of an OpenAI-shaped error body (fails the test when the shape is wrong).
inline boost::json::object error_of(const std::string& body) {
    boost::json::error_code ec;
    auto doc = boost::json::parse(body, ec);
    EXPECT_FALSE(ec) << body;
    if (ec || !doc.is_object() || !doc.as_object().contains("error")) {
        ADD_FAILURE() << "not an OpenAI error body: " << body;
        return {};
    }
    const auto& e = doc.at("error").as_object();
    EXPECT_TRUE(e.contains("message") && e.at("message").is_string()) << body;
    EXPECT_TRUE(e.contains("type") && e.contains("param") && e.contains("code")) << body;
    return e;
}


/// Calls the admin API with the test admin key.
inline HttpResponse admin_call(std::uint16_t port, const std::string& method, const std::string& target,
                               const std::string& body = {}) {
    return http_request(port, method, target, body, {{"Authorization", std::string("Bearer ") + kTestAdminKey}});
}

/// Creates a token (enabled unless `status` says otherwise); returns its id.
inline std::int64_t add_token(std::uint16_t port, const std::string& key = kTestToken, int status = 1) {
    const auto res = admin_call(port, "POST", "/api/token",
                                R"({"name":"test","key":")" + key + R"(","status":)" + std::to_string(status) + "}");
    EXPECT_EQ(res.status, 201) << res.body;
    return res.status == 201 ? boost::json::parse(res.body).at("id").as_int64() : 0;
}

/// Creates a channel from a JSON body; returns its id.
inline std::int64_t add_channel(std::uint16_t port, const std::string& body) {
    const auto res = admin_call(port, "POST", "/api/channel", body);
    EXPECT_EQ(res.status, 201) << res.body;
    return res.status == 201 ? boost::json::parse(res.body).at("id").as_int64() : 0;
}

inline std::string message_of(const std::string& body) {
    const auto e = error_of(body);
    return e.contains("message") ? std::string(e.at("message").as_string()) : std::string();
}

}  // namespace nexus::testing
