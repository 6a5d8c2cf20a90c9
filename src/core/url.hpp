#pragma once
#include <string_view>

namespace nexus::core {

/// True for an absolute http:// or https:// URL with a host and no user info, query or fragment:
/// what a channel's base URL may be.
bool is_http_base_url(std::string_view url);

}  // namespace nexus::core
