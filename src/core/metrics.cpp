#include "core/metrics.hpp"

#include <fmt/format.h>

namespace nexus::core {

std::string_view route_label(Route r) {
    switch (r) {
        case Route::kChatCompletions: return "/v1/chat/completions";
        case Route::kCompletions: return "/v1/completions";
        case Route::kEmbeddings: return "/v1/embeddings";
        case Route::kRerank: return "/v1/rerank";
        case Route::kImages: return "/v1/images";
        case Route::kAudio: return "/v1/audio";
        case Route::kModels: return "/v1/models";
        case Route::kMessages: return "/v1/messages";
        case Route::kCountTokens: return "/v1/messages/count_tokens";
        case Route::kAdmin: return "/api";
        case Route::kHealthz: return "/healthz";
        case Route::kReadyz: return "/readyz";
        case Route::kMetrics: return "/metrics";
        default: return "other";
    }
}

std::string_view outcome_label(AttemptOutcome o) {
    switch (o) {
        case AttemptOutcome::kSuccess: return "success";
        case AttemptOutcome::kClientError: return "upstream_4xx";
        case AttemptOutcome::kServerError: return "upstream_5xx";
        case AttemptOutcome::kConnectError: return "connect_error";
        case AttemptOutcome::kTlsError: return "tls_error";
        case AttemptOutcome::kTimeout: return "timeout";
        case AttemptOutcome::kProtocolError: return "protocol_error";
        default: return "io_error";
    }
}

std::string_view overload_label(Overload o) {
    return o == Overload::kConnections ? "connections" : "descriptors";
}

void Metrics::record_request(Route route, int status, std::chrono::nanoseconds latency) {
    const auto r = static_cast<std::size_t>(route);
    if (status >= kMinStatus && status < kMinStatus + kStatuses) {
        requests_[r][static_cast<std::size_t>(status - kMinStatus)].fetch_add(1, std::memory_order_relaxed);
    }
    const double seconds = std::chrono::duration<double>(latency).count();
    std::size_t b = 0;
    while (b < kLatencyBuckets.size() && seconds > kLatencyBuckets[b]) ++b;
    latency_buckets_[r][b].fetch_add(1, std::memory_order_relaxed);
    latency_sum_ns_[r].fetch_add(static_cast<std::uint64_t>(latency.count()), std::memory_order_relaxed);
}

void Metrics::record_attempt(AttemptOutcome outcome) {
    attempts_[static_cast<std::size_t>(outcome)].fetch_add(1, std::memory_order_relaxed);
}

std::string Metrics::render(std::span<const Metrics* const> all) {
    auto sum = [&](auto field) {
        std::uint64_t total = 0;
        for (const auto* m : all) total += field(*m).load(std::memory_order_relaxed);
        return total;
    };
    std::string out;
    out += "# HELP nexus_http_requests_total Requests answered, by route and status.\n";
    out += "# TYPE nexus_http_requests_total counter\n";
    for (std::size_t r = 0; r < kRoutes; ++r) {
        for (int s = 0; s < kStatuses; ++s) {
            const auto n = sum([&](const Metrics& m) -> const Counter& { return m.requests_[r][s]; });
            if (n == 0) continue;
            out += fmt::format("nexus_http_requests_total{{route=\"{}\",status=\"{}\"}} {}\n",
                               route_label(static_cast<Route>(r)), s + kMinStatus, n);
        }
    }
    out += "# HELP nexus_http_request_duration_seconds Time from the request's headers to the end of the answer.\n";
    out += "# TYPE nexus_http_request_duration_seconds histogram\n";
    for (std::size_t r = 0; r < kRoutes; ++r) {
        const auto label = route_label(static_cast<Route>(r));
        std::uint64_t cumulative = 0;
        for (std::size_t b = 0; b <= kLatencyBuckets.size(); ++b) {
            cumulative += sum([&](const Metrics& m) -> const Counter& { return m.latency_buckets_[r][b]; });
            const std::string le = b < kLatencyBuckets.size() ? fmt::format("{}", kLatencyBuckets[b]) : "+Inf";
            out += fmt::format("nexus_http_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}\n", label, le,
                               cumulative);
        }
        const auto ns = sum([&](const Metrics& m) -> const Counter& { return m.latency_sum_ns_[r]; });
        out += fmt::format("nexus_http_request_duration_seconds_sum{{route=\"{}\"}} {:.9f}\n", label,
                           static_cast<double>(ns) / 1e9);
        out += fmt::format("nexus_http_request_duration_seconds_count{{route=\"{}\"}} {}\n", label, cumulative);
    }
    out += "# HELP nexus_upstream_attempts_total Upstream attempts, by outcome.\n";
    out += "# TYPE nexus_upstream_attempts_total counter\n";
    for (std::size_t o = 0; o < static_cast<std::size_t>(AttemptOutcome::kCount); ++o) {
        out += fmt::format("nexus_upstream_attempts_total{{outcome=\"{}\"}} {}\n",
                           outcome_label(static_cast<AttemptOutcome>(o)),
                           sum([&](const Metrics& m) -> const Counter& { return m.attempts_[o]; }));
    }
    std::int64_t open = 0;
    for (const auto* m : all) open += m->open_streams_.load(std::memory_order_relaxed);
    out += "# HELP nexus_open_streams Streams being relayed now.\n";
    out += "# TYPE nexus_open_streams gauge\n";
    out += fmt::format("nexus_open_streams {}\n", open);
    out += "# HELP nexus_usage_records_dropped_total Usage records given up: the database fell too far behind, or refused them again and again.\n";
    out += "# TYPE nexus_usage_records_dropped_total counter\n";
    out += fmt::format("nexus_usage_records_dropped_total {}\n",
                       sum([](const Metrics& m) -> const Counter& { return m.usage_dropped_; }));
    std::int64_t waiting = 0;
    for (const auto* m : all) waiting += m->usage_waiting_.load(std::memory_order_relaxed);
    out += "# HELP nexus_usage_records_waiting Usage records not yet written: on their way, or held while the database cannot be reached.\n";
    out += "# TYPE nexus_usage_records_waiting gauge\n";
    out += fmt::format("nexus_usage_records_waiting {}\n", waiting);
    int redis = -1;
    for (const auto* m : all) {
        const auto up = m->redis_up_.load(std::memory_order_relaxed);
        if (up >= 0) redis = redis < 0 ? up : std::min(redis, up);
    }
    if (redis >= 0) {
        out += "# HELP nexus_redis_up Whether every I/O thread's connection to Redis is up (limits shared by every node).\n";
        out += "# TYPE nexus_redis_up gauge\n";
        out += fmt::format("nexus_redis_up {}\n", redis);
    }
    out += "# HELP nexus_overloaded_total Connections and calls refused (503 overloaded) because this server ran out of a resource.\n";
    out += "# TYPE nexus_overloaded_total counter\n";
    for (std::size_t o = 0; o < static_cast<std::size_t>(Overload::kCount); ++o) {
        out += fmt::format("nexus_overloaded_total{{cause=\"{}\"}} {}\n", overload_label(static_cast<Overload>(o)),
                           sum([&](const Metrics& m) -> const Counter& { return m.overloaded_[o]; }));
    }
    out += "# HELP nexus_busy_poll_total Times an I/O thread out of work polled its sockets for NEXUS_BUSY_POLL_MICROSECONDS, by whether an event came within it (found) or the thread then slept (slept).\n";
    out += "# TYPE nexus_busy_poll_total counter\n";
    out += fmt::format("nexus_busy_poll_total{{result=\"found\"}} {}\n",
                       sum([](const Metrics& m) -> const Counter& { return m.busy_poll_found_; }));
    out += fmt::format("nexus_busy_poll_total{{result=\"slept\"}} {}\n",
                       sum([](const Metrics& m) -> const Counter& { return m.busy_poll_slept_; }));
    return out;
}

}  // namespace nexus::core
