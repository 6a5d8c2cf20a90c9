#include "core/error.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace nexus::core {
namespace {

TEST(ErrorJson, HasOpenAIShapeWithNulls) {
    const auto e = Error::not_found("Unknown path: /x");
    const auto doc = boost::json::parse(to_json(e));
    const auto& inner = doc.at("error");
    EXPECT_EQ(inner.at("message"), "Unknown path: /x");
    EXPECT_EQ(inner.at("type"), "invalid_request_error");
    EXPECT_TRUE(inner.at("param").is_null());
    EXPECT_EQ(inner.at("code"), "not_found");
    EXPECT_EQ(e.status, 404);
}

TEST(ErrorJson, NamesParamAndEscapes) {
    const auto e = Error::bad_request("bad \"quote\"\n and \\ slash", "model");
    const auto doc = boost::json::parse(to_json(e));
    EXPECT_EQ(doc.at("error").at("message"), "bad \"quote\"\n and \\ slash");
    EXPECT_EQ(doc.at("error").at("param"), "model");
    EXPECT_TRUE(doc.at("error").at("code").is_null());
}

TEST(Error, StatusesAndFallbacks) {
    EXPECT_EQ(Error::method_not_allowed("x").status, 405);
    EXPECT_EQ(Error::payload_too_large("x").status, 413);
    EXPECT_EQ(Error::header_too_large().status, 431);
    EXPECT_EQ(Error::internal("x").status, 500);
    EXPECT_FALSE(Error::internal("x").allow_fallbacks);
    EXPECT_EQ(Error::bad_gateway("x").status, 502);
    EXPECT_TRUE(Error::bad_gateway("x").allow_fallbacks);
    EXPECT_EQ(Error::gateway_timeout("x").status, 504);
    EXPECT_TRUE(Error::gateway_timeout("x").allow_fallbacks);
}

TEST(ErrorJson, DetailNeverReachesTheClient) {
    const auto e = Error::bad_gateway("Could not connect.", "10.0.0.1:443 secret-detail");
    EXPECT_EQ(to_json(e).find("secret-detail"), std::string::npos);
}

}  // namespace
}  // namespace nexus::core
