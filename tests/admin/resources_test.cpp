#include "admin/resources.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace nexus::admin {
namespace {

namespace json = boost::json;

core::Result<store::Channel> create(std::string_view body) {
    const auto o = parse_object(body);
    if (!o) return o.error();
    return apply_channel(*o, store::Channel{}, true);
}

TEST(ApplyChannel, CreateWithDefaults) {
    const auto c = create(R"({"type":"OpenAI","name":"我的备用key","key":"sk-xxxx"})");
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->base_url, "https://api.openai.com");
    EXPECT_EQ(c->priority, 0);
    EXPECT_EQ(c->weight, 1);
    EXPECT_EQ(c->status, store::kChannelEnabled);
    EXPECT_EQ(create(R"({"type":"SiliconFlow","name":"n","key":"k"})")->base_url, "https://api.siliconflow.cn");
}

struct Bad {
    const char* body;
    const char* param;
};
class ApplyChannelBad : public ::testing::TestWithParam<Bad> {};

TEST_P(ApplyChannelBad, Is400NamingTheField) {
    const auto c = create(GetParam().body);
    ASSERT_FALSE(c.has_value()) << GetParam().body;
    EXPECT_EQ(c.error().status, 400);
    EXPECT_EQ(c.error().param, GetParam().param) << GetParam().body;
    EXPECT_FALSE(c.error().message.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Bodies, ApplyChannelBad,
    ::testing::Values(Bad{R"({"type":"OpenAI","name":"n"})", "key"}, Bad{R"({"type":"OpenAI","key":"k"})", "name"},
                      Bad{R"({"name":"n","key":"k"})", "type"}, Bad{R"({"type":"Claude","name":"n","key":"k"})", "type"},
                      Bad{R"({"type":"OpenAI-Compatible","name":"n","key":"k"})", "base_url"},
                      Bad{R"({"type":"OpenAI","name":"n","key":"k","base_url":"ftp://x"})", "base_url"},
                      Bad{R"({"type":"OpenAI","name":"n","key":"k","base_url":"not a url"})", "base_url"},
                      Bad{R"({"type":"OpenAI","name":"n","key":"k","weight":-1})", "weight"},
                      Bad{R"({"type":"OpenAI","name":"n","key":"k","weight":"3"})", "weight"},
                      Bad{R"({"type":"OpenAI","name":"n","key":"k","weight":1000001})", "weight"},
                      Bad{R"({"type":"OpenAI","name":"n","key":"k","weight":9223372036854775807})", "weight"},
                      Bad{R"({"type":"OpenAI","name":"n","key":"k","priority":1000001})", "priority"},
                      Bad{R"({"type":"OpenAI","name":"n","key":"k","priority":-1000001})", "priority"},
                      Bad{R"({"type":"OpenAI","name":"n","key":"k","base_url":"http://h:65536"})", "base_url"},
                      Bad{R"({"type":"OpenAI","name":"n","key":"k","base_url":"http://h:99999999999999999999"})",
                          "base_url"},
                      Bad{R"({"type":"OpenAI","name":"n","key":"k","priority":1.5})", "priority"},
                      Bad{R"({"type":"OpenAI","name":"n","key":"k","models":"gpt-4"})", "models"},
                      Bad{R"({"type":"OpenAI","name":"n","key":"k","models":[1]})", "models"},
                      Bad{R"({"type":"OpenAI","name":"n","key":"k","model_mapping":{"a":1}})", "model_mapping"},
                      Bad{R"({"type":"OpenAI","name":"n","key":"k","status":3})", "status"},
                      Bad{R"({"type":"OpenAI","name":"n","key":"k","colour":"red"})", "colour"},
                      Bad{R"({"type":"OpenAI","name":"","key":"k"})", "name"},
                      Bad{R"({"type":"OpenAI","name":"n","key":"has space"})", "key"},
                      Bad{R"({"type":7,"name":"n","key":"k"})", "type"}, Bad{"[1]", ""}, Bad{"{", ""}));

TEST(ApplyChannel, UpdateChangesOnlyGivenFields) {
    auto base = create(R"({"type":"SiliconFlow","name":"old","key":"sk-1234567890abcdef","priority":2})").value();
    base.key.clear();
    const auto o = parse_object(R"({"name":"我的主力Key"})").value();
    const auto c = apply_channel(o, base, false);
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->name, "我的主力Key");
    EXPECT_EQ(c->priority, 2);
    EXPECT_TRUE(c->key.empty()) << "no key in the body: the stored key stays";
}

TEST(ApplyChannel, DisablingRecordsReason) {
    auto base = create(R"({"type":"SiliconFlow","name":"n","key":"k"})").value();
    const auto c = apply_channel(parse_object(R"({"status":2})").value(), base, false).value();
    EXPECT_EQ(c.status, store::kChannelDisabledByAdmin);
    EXPECT_FALSE(c.status_reason.empty());
    EXPECT_GT(c.status_time, 0);
}

TEST(ApplyToken, CreateAndRules) {
    auto t = apply_token(parse_object(R"({"name":"app","key":"sk-nexus-abc"})").value(), {}, true);
    ASSERT_TRUE(t.has_value());
    EXPECT_EQ(t->key, "sk-nexus-abc");
    EXPECT_FALSE(apply_token(parse_object(R"({"key":"sk-nexus-abc"})").value(), {}, true).has_value());
    EXPECT_EQ(apply_token(parse_object(R"({"name":"a","key":"short"})").value(), {}, true).error().param, "key");
    EXPECT_EQ(apply_token(parse_object(R"({"name":"a","status":2})").value(), {}, true).error().param, "status");
    EXPECT_EQ(apply_token(parse_object(R"({"name":"a","expired_time":-5})").value(), {}, true).error().param,
              "expired_time");
    EXPECT_EQ(apply_token(parse_object(R"({"key":"sk-another-1"})").value(), {}, false).error().param, "key");
    EXPECT_EQ(apply_token(parse_object(R"({"name":"a","extra":1})").value(), {}, true).error().param, "extra");
}

TEST(ChannelJson, NeverHoldsTheKey) {
    store::Channel c;
    c.key = "sk-full-secret-key-123456";
    c.key_preview = store::mask_key(c.key);
    const auto text = json::serialize(channel_json(c));
    EXPECT_EQ(text.find("full-secret"), std::string::npos);
    EXPECT_NE(text.find("sk-full...3456"), std::string::npos);
}

}  // namespace
}  // namespace nexus::admin
