#include "core/json.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace nexus::core {
namespace {

std::string quote(std::string_view s) {
    std::string out;
    append_json_string(out, s);
    return out;
}

TEST(AppendJsonString, EscapesSpecials) {
    EXPECT_EQ(quote("a\"b\\c"), R"("a\"b\\c")");
    EXPECT_EQ(quote("\n\r\t"), R"("\n\r\t")");
    EXPECT_EQ(quote(std::string("\x01\x1f", 2)), R"("\u0001\u001f")");
}

TEST(AppendJsonString, KeepsValidUtf8) { EXPECT_EQ(quote("我的备用key"), "\"我的备用key\""); }

TEST(AppendJsonString, ReplacesInvalidUtf8SoOutputParses) {
    for (const std::string& bad : {std::string("\xff"), std::string("\xc3"), std::string("a\xe6\x88"),
                                  std::string("\xed\xa0\x80"), std::string("\xc0\xaf")}) {
        const auto out = quote(bad);
        boost::json::error_code ec;
        const auto v = boost::json::parse(out, ec);
        ASSERT_FALSE(ec) << out;
        EXPECT_NE(v.as_string().find("\xef\xbf\xbd"), boost::json::string::npos);
    }
}

}  // namespace
}  // namespace nexus::core
