#include "upstream/sse.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace nexus::upstream::sse {
namespace {

std::vector<std::string> events_of(std::string_view text) {
    std::vector<std::string> out;
    std::string scratch;
    for_each_event(text.substr(0, complete_prefix(text)), scratch,
                   [&](std::string_view d) { out.emplace_back(d); });
    return out;
}

TEST(SseCompletePrefix, EmptyAndPartial) {
    EXPECT_EQ(complete_prefix(""), 0u);
    EXPECT_EQ(complete_prefix("data: {\"a\":1}"), 0u);
    EXPECT_EQ(complete_prefix("data: {\"a\":1}\n"), 0u);
}

TEST(SseCompletePrefix, StopsAfterLastBlankLine) {
    const std::string text = "data: 1\n\ndata: 2\n\ndata: 3";
    EXPECT_EQ(complete_prefix(text), std::string("data: 1\n\ndata: 2\n\n").size());
}

TEST(SseCompletePrefix, CrLfLineEnds) {
    const std::string text = "data: 1\r\n\r\ndata: 2\r\n";
    EXPECT_EQ(complete_prefix(text), std::string("data: 1\r\n\r\n").size());
}

TEST(SseCompletePrefix, LoneCrAtEndWaits) {
    // "\r" may be the first half of "\r\n": the event is not known to be complete yet.
    EXPECT_EQ(complete_prefix("data: 1\r\n\r"), 0u);
}

TEST(SseForEachEvent, OneLineData) {
    EXPECT_EQ(events_of("data: {\"x\":1}\n\ndata: [DONE]\n\n"), (std::vector<std::string>{"{\"x\":1}", "[DONE]"}));
}

TEST(SseForEachEvent, JoinsMultiLineData) { EXPECT_EQ(events_of("data: a\ndata: b\n\n"), (std::vector<std::string>{"a\nb"})); }

TEST(SseForEachEvent, SkipsCommentsAndOtherFields) {
    EXPECT_EQ(events_of(": keep-alive\n\nevent: x\nid: 3\ndata: v\n\n"), (std::vector<std::string>{"v"}));
}

TEST(SseForEachEvent, DataWithoutSpace) { EXPECT_EQ(events_of("data:v\n\n"), (std::vector<std::string>{"v"})); }

TEST(SseForEachEvent, SameEventsWhateverTheChunking) {
    const std::string text = "data: one\r\n\r\n: c\n\ndata: two\ndata: 2b\n\ndata: three\n\n";
    const auto whole = events_of(text);
    ASSERT_EQ(whole.size(), 3u);
    for (std::size_t split = 0; split <= text.size(); ++split) {
        // Feed in two reads as a relay does: forward the complete prefix, keep the rest.
        std::string pending = text.substr(0, split);
        std::vector<std::string> got;
        std::string scratch;
        auto drain = [&] {
            const auto cut = complete_prefix(pending);
            for_each_event(std::string_view(pending).substr(0, cut), scratch,
                           [&](std::string_view d) { got.emplace_back(d); });
            pending.erase(0, cut);
        };
        drain();
        pending += text.substr(split);
        drain();
        EXPECT_EQ(got, whole) << "split at " << split;
        EXPECT_TRUE(pending.empty());
    }
}

TEST(SseParseField, Shapes) {
    EXPECT_EQ(parse_field("data: x").name, "data");
    EXPECT_EQ(parse_field("data: x").value, "x");
    EXPECT_EQ(parse_field("data:  x").value, " x");
    EXPECT_EQ(parse_field("data").name, "data");
    EXPECT_EQ(parse_field("data").value, "");
    EXPECT_EQ(parse_field(": comment").name, "");
}

}  // namespace
}  // namespace nexus::upstream::sse
