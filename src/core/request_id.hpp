#pragma once
#include <string>
#include <string_view>

namespace nexus::core {

/// True for a client-sent request id we may echo: 1–128 characters of [A-Za-z0-9._:-].
bool is_sane_request_id(std::string_view id);

/// A new request id: 32 lowercase hex characters from a per-thread generator (not a secret).
std::string make_request_id();

}  // namespace nexus::core
