#include "core/origin.hpp"

#include <gtest/gtest.h>

namespace nexus::core {
namespace {

TEST(Origin, HttpsDefaults) {
    const auto o = Origin::parse("https://api.siliconflow.cn");
    ASSERT_TRUE(o);
    EXPECT_TRUE(o->tls);
    EXPECT_EQ(o->host, "api.siliconflow.cn");
    EXPECT_EQ(o->port, "443");
    EXPECT_EQ(o->base_path, "");
    EXPECT_EQ(o->key, "https://api.siliconflow.cn:443");
    EXPECT_EQ(o->host_header, "api.siliconflow.cn");
    EXPECT_EQ(o->target("/v1/chat/completions"), "/v1/chat/completions");
}

TEST(Origin, TrailingV1AndSlashTolerated) {
    for (const auto* url : {"https://api.siliconflow.cn/v1", "https://api.siliconflow.cn/v1/",
                            "https://api.siliconflow.cn/"}) {
        const auto o = Origin::parse(url);
        ASSERT_TRUE(o) << url;
        EXPECT_EQ(o->target("/v1/chat/completions"), "/v1/chat/completions") << url;
    }
}

TEST(Origin, HttpWithPortAndPrefix) {
    const auto o = Origin::parse("http://127.0.0.1:8080/proxy/v1");
    ASSERT_TRUE(o);
    EXPECT_FALSE(o->tls);
    EXPECT_EQ(o->port, "8080");
    EXPECT_EQ(o->host_header, "127.0.0.1:8080");
    EXPECT_EQ(o->target("/v1/chat/completions"), "/proxy/v1/chat/completions");
}

TEST(Origin, Ipv6) {
    const auto o = Origin::parse("http://[::1]:9000");
    ASSERT_TRUE(o);
    EXPECT_EQ(o->host, "::1");
    EXPECT_EQ(o->host_header, "[::1]:9000");
}

TEST(Origin, RefusesOtherShapes) {
    for (const auto* url : {"ftp://x.com", "https://", "api.siliconflow.cn", "https://u:p@x.com", "https://x.com/?q=1",
                            "https://x.com:0", "https://x.com:99999", "", "not a url"}) {
        EXPECT_FALSE(Origin::parse(url)) << url;
    }
}

TEST(Origin, PortsOutOfRangeAreRefusedWithoutThrowing) {
    for (const auto* url : {"http://127.0.0.1:65536", "http://127.0.0.1:99999999999999999999",
                            "https://x.com:18446744073709551616"}) {
        EXPECT_NO_THROW(EXPECT_FALSE(Origin::parse(url)) << url);
    }
    EXPECT_TRUE(Origin::parse("http://127.0.0.1:65535"));
}

}  // namespace
}  // namespace nexus::core
