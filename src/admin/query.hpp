#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "store/types.hpp"

namespace nexus::admin {

/// The query strings of the admin API, read in one place: each known parameter checked (a 400
/// naming it when its value is wrong), unknown ones ignored.

/// `?page=&page_size=&status=&q=` of a list of channels or tokens (and `user_id=` of tokens).
core::Result<store::ListQuery> parse_list_query(std::string_view query);
/// `?page=&page_size=&status=&role=&q=` of the users.
core::Result<store::UserQuery> parse_user_query(std::string_view query);
/// `?page=&page_size=&actor_id=&object_type=&object_id=&start_time=&end_time=` of the audit log.
core::Result<store::AuditQuery> parse_audit_query(std::string_view query);
/// `?page=&page_size=&user_id=&token_id=&channel_id=&model=&status=&start_time=&end_time=` of the usage log.
core::Result<store::UsageQuery> parse_usage_query(std::string_view query);

/// `?group_by=hour|day|model|token|channel&start=&end=` of /api/usage (unix seconds; end
/// defaults to `now`, start to a day before end; start ≤ end, at most 366 days apart).
struct SummaryQuery {
    store::UsageGroup group = store::UsageGroup::kDay;
    std::int64_t start = 0;
    std::int64_t end = 0;
};
core::Result<SummaryQuery> parse_summary_query(std::string_view query, std::int64_t now);

/// A resource id in a path: a positive integer, else nullopt.
std::optional<std::int64_t> parse_id(std::string_view text);

}  // namespace nexus::admin
