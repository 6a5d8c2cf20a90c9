#include "core/metrics.hpp"

#include <gtest/gtest.h>

#include <memory>

namespace nexus::core {
namespace {

TEST(Metrics, RenderSumsEveryThread) {
    auto a = std::make_unique<Metrics>();
    auto b = std::make_unique<Metrics>();
    a->record_request(Route::kChatCompletions, 200, std::chrono::milliseconds(3));
    b->record_request(Route::kChatCompletions, 200, std::chrono::milliseconds(700));
    b->record_request(Route::kOther, 404, std::chrono::microseconds(100));
    a->record_attempt(AttemptOutcome::kSuccess);
    b->record_attempt(AttemptOutcome::kTimeout);
    a->stream_opened();
    b->stream_opened();
    b->stream_closed();
    const Metrics* all[] = {a.get(), b.get()};
    const auto text = Metrics::render(all);
    EXPECT_NE(text.find("nexus_http_requests_total{route=\"/v1/chat/completions\",status=\"200\"} 2\n"),
              std::string::npos);
    EXPECT_NE(text.find("nexus_http_requests_total{route=\"other\",status=\"404\"} 1\n"), std::string::npos);
    EXPECT_NE(text.find("nexus_http_request_duration_seconds_bucket{route=\"/v1/chat/completions\",le=\"0.005\"} 1\n"),
              std::string::npos);
    EXPECT_NE(text.find("nexus_http_request_duration_seconds_bucket{route=\"/v1/chat/completions\",le=\"1\"} 2\n"),
              std::string::npos);
    EXPECT_NE(text.find("nexus_http_request_duration_seconds_count{route=\"/v1/chat/completions\"} 2\n"),
              std::string::npos);
    EXPECT_NE(text.find("nexus_upstream_attempts_total{outcome=\"success\"} 1\n"), std::string::npos);
    EXPECT_NE(text.find("nexus_upstream_attempts_total{outcome=\"timeout\"} 1\n"), std::string::npos);
    EXPECT_NE(text.find("nexus_open_streams 1\n"), std::string::npos);
    EXPECT_NE(text.find("nexus_usage_records_dropped_total 0\n"), std::string::npos);
    a->usage_records_dropped(1);
    b->usage_records_dropped(2);
    EXPECT_NE(Metrics::render(all).find("nexus_usage_records_dropped_total 3\n"), std::string::npos);
}

}  // namespace
}  // namespace nexus::core
