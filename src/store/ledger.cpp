#include "store/ledger.hpp"

#include <algorithm>

namespace nexus::store::ledger {

namespace {

// The nearest-rank percentile `p` (0..100) of `values`, which it reorders.
std::int64_t percentile(std::vector<std::int64_t>& values, int p) {
    if (values.empty()) return 0;
    const auto rank = (values.size() * static_cast<std::size_t>(p) + 99) / 100;  // ceil(p% of n), ≥ 1
    const auto at = values.begin() + static_cast<std::ptrdiff_t>(std::max<std::size_t>(rank, 1) - 1);
    std::nth_element(values.begin(), at, values.end());
    return *at;
}

}  // namespace

BatchSums sums_of(const std::vector<UsageRecord>& records) {
    BatchSums sums;
    for (const auto& r : records) {
        if (r.channel_id > 0 && r.total_tokens > 0) sums.tokens_by_channel[r.channel_id] += r.total_tokens;
        if (r.quota > 0) sums.quota_by_token[r.token_id] += r.quota;
        if (r.quota > 0 && r.user_id > 0) sums.quota_by_user[r.user_id] += r.quota;
    }
    return sums;
}

std::string_view group_key(UsageGroup group) {
    switch (group) {
        case UsageGroup::kHour: return "created_time - created_time % 3600";
        case UsageGroup::kDay: return "created_time - created_time % 86400";
        case UsageGroup::kModel: return "model";
        case UsageGroup::kToken: return "token_id";
        case UsageGroup::kChannel: return "channel_id";
    }
    return "token_id";
}

void Summary::add(std::int64_t key_number, std::string key_text, std::int64_t status, std::int64_t prompt_tokens,
                  std::int64_t completion_tokens, std::int64_t quota, std::int64_t latency_ms) {
    auto& g = groups_[{key_number, std::move(key_text)}];
    g.sums.calls += 1;
    g.sums.errors += (status < 200 || status > 299) ? 1 : 0;
    g.sums.prompt_tokens += prompt_tokens;
    g.sums.completion_tokens += completion_tokens;
    g.sums.quota += quota;
    g.latencies.push_back(latency_ms);
}

std::vector<UsageSummary> Summary::finish() {
    std::vector<UsageSummary> out;
    out.reserve(groups_.size());
    for (auto& [k, g] : groups_) {
        g.sums.key_number = k.first;
        g.sums.key_text = k.second;
        g.sums.latency_p50_ms = percentile(g.latencies, 50);
        g.sums.latency_p99_ms = percentile(g.latencies, 99);
        out.push_back(std::move(g.sums));
    }
    groups_.clear();
    return out;
}

}  // namespace nexus::store::ledger
