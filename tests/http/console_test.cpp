#include "http/console.hpp"

#include <gtest/gtest.h>

namespace nexus::http {
namespace {

using beast::http::verb;

const ConsoleAsset kFiles[] = {
    {"/index.html", "text/html; charset=utf-8", "<!doctype html>", "gz-index", "\"i1\""},
    {"/assets/index-abc123.js", "text/javascript; charset=utf-8", "js", "gz-js", "\"j1\""},
    {"/favicon.svg", "image/svg+xml", "<svg/>", {}, "\"f1\""},
};

constexpr std::string_view kHtml = "text/html,application/xhtml+xml,*/*;q=0.8";

TEST(Console, ServesFilesByPathAndTheRootAsIndex) {
    const Console c(kFiles);
    EXPECT_EQ(c.find(verb::get, "/", "*/*"), &kFiles[0]);
    EXPECT_EQ(c.find(verb::get, "/?lang=en", ""), &kFiles[0]);
    EXPECT_EQ(c.find(verb::get, "/assets/index-abc123.js", "*/*"), &kFiles[1]);
    EXPECT_EQ(c.find(verb::head, "/favicon.svg", ""), &kFiles[2]);
}

TEST(Console, AnyOtherPageOfABrowserIsIndex) {
    const Console c(kFiles);
    EXPECT_EQ(c.find(verb::get, "/channels", kHtml), &kFiles[0]);
    EXPECT_EQ(c.find(verb::get, "/logs?page=2", kHtml), &kFiles[0]);
    // Asked by a script (no text/html), it is the JSON 404.
    EXPECT_EQ(c.find(verb::get, "/channels", "application/json"), nullptr);
    EXPECT_EQ(c.find(verb::get, "/channels", ""), nullptr);
    EXPECT_EQ(c.find(verb::post, "/channels", kHtml), nullptr);
}

TEST(Console, ApiPathsAndMissingAssetsAreNeverAPage) {
    const Console c(kFiles);
    for (const auto* path : {"/api", "/api/nope", "/v1", "/v1/nope", "/healthz", "/readyz", "/metrics", "/metrics/x",
                             "/assets/index-old.js"}) {
        EXPECT_EQ(c.find(verb::get, path, kHtml), nullptr) << path;
    }
    // Only whole segments count: /apiary is a page.
    EXPECT_EQ(c.find(verb::get, "/apiary", kHtml), &kFiles[0]);
}

TEST(Console, WithoutAnEmbeddedBuildNothingIsServed) {
    const Console c({});
    EXPECT_TRUE(c.empty());
    EXPECT_EQ(c.find(verb::get, "/", kHtml), nullptr);
}

TEST(Console, HashedFilesAreCachedForAYearAndIndexIsRevalidated) {
    const auto js = Console::fields(kFiles[1], true);
    EXPECT_NE(js.find("Cache-Control: public, max-age=31536000, immutable\r\n"), std::string::npos);
    EXPECT_NE(js.find("Content-Encoding: gzip\r\n"), std::string::npos);
    EXPECT_NE(js.find("Vary: Accept-Encoding\r\n"), std::string::npos);
    const auto index = Console::fields(kFiles[0], false);
    EXPECT_NE(index.find("Cache-Control: no-cache\r\n"), std::string::npos);
    EXPECT_NE(index.find("ETag: \"i1\"\r\n"), std::string::npos);
    EXPECT_EQ(index.find("Content-Encoding"), std::string::npos);
    for (const auto* field : {"Content-Security-Policy: default-src 'self'; script-src 'self';",
                              "frame-ancestors 'none'", "X-Content-Type-Options: nosniff\r\n",
                              "Referrer-Policy: same-origin\r\n"}) {
        EXPECT_NE(index.find(field), std::string::npos) << field;
    }
    // A file without a gzip form varies by nothing.
    EXPECT_EQ(Console::fields(kFiles[2], false).find("Vary"), std::string::npos);
}

TEST(Console, AcceptEncodingIsReadByItsCodingsAndWeights) {
    EXPECT_TRUE(accepts_gzip("gzip"));
    EXPECT_TRUE(accepts_gzip("gzip, deflate, br, zstd"));
    EXPECT_TRUE(accepts_gzip("br;q=1.0, GZIP;q=0.5"));
    EXPECT_TRUE(accepts_gzip("x-gzip"));
    EXPECT_FALSE(accepts_gzip(""));
    EXPECT_FALSE(accepts_gzip("br, deflate"));
    EXPECT_FALSE(accepts_gzip("gzip;q=0"));
    EXPECT_FALSE(accepts_gzip("gzip; q=0.000"));
    EXPECT_FALSE(accepts_gzip("gzipped"));
}

}  // namespace
}  // namespace nexus::http
