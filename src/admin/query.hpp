#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "store/types.hpp"

namespace nexus::admin {

/// The query strings of the admin API, read in one place: each known parameter checked (a 400
/// naming it when its value is wrong), unknown ones ignored.

/// `?page=&page_size=&status=&q=` of a list of channels or tokens.
core::Result<store::ListQuery> parse_list_query(std::string_view query);
/// `?page=&page_size=&token_id=&channel_id=&model=&start_time=&end_time=` of the usage log.
core::Result<store::UsageQuery> parse_usage_query(std::string_view query);

/// A resource id in a path: a positive integer, else nullopt.
std::optional<std::int64_t> parse_id(std::string_view text);

}  // namespace nexus::admin
