#pragma once
// The parts of the usage ledger every SQL backend computes the same way: what a batch adds to each
// channel, token and owner, and the sums of a usage summary with their latency percentiles.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "store/types.hpp"

namespace nexus::store::ledger {

/// What one batch of usage records adds: tokens used per channel, quota spent per token and per
/// owner. One update per channel, token and owner per batch, not per record.
struct BatchSums {
    std::unordered_map<std::int64_t, std::int64_t> tokens_by_channel;
    std::unordered_map<std::int64_t, std::int64_t> quota_by_token;
    std::unordered_map<std::int64_t, std::int64_t> quota_by_user;
};
BatchSums sums_of(const std::vector<UsageRecord>& records);

/// The SQL expression (over usage_logs' columns) that a summary by `group` groups on. The same
/// in SQLite and PostgreSQL.
std::string_view group_key(UsageGroup group);

/// Sums usage rows into groups, kept in key order; fed one row at a time as a query returns them.
class Summary {
public:
    explicit Summary(UsageGroup group) : text_keys_(group == UsageGroup::kModel) {}
    /// Whether the group's key is text (a model), read with text(0), or a number, read with integer(0).
    bool text_keys() const { return text_keys_; }
    void add(std::int64_t key_number, std::string key_text, std::int64_t status, std::int64_t prompt_tokens,
             std::int64_t completion_tokens, std::int64_t quota, std::int64_t latency_ms);
    std::vector<UsageSummary> finish();

private:
    struct Group {
        UsageSummary sums;
        std::vector<std::int64_t> latencies;
    };
    bool text_keys_;
    std::map<std::pair<std::int64_t, std::string>, Group> groups_;
};

/// The columns a summary query selects after the group key, in the order Summary::add takes them.
inline constexpr const char* kSummaryColumns = "status, prompt_tokens, completion_tokens, quota, latency_ms";

}  // namespace nexus::store::ledger
