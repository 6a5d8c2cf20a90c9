#pragma once
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace nexus::protocol::anthropic {

/// `error` in Anthropic's shape: {"type":"error","error":{"type","message"},"request_id"}. The
/// type follows the status (error_type_of); the message is the upstream's own, unchanged,
/// when the error came from one (clients such as Claude Code match on its wording).
std::string error_body(const core::Error& error, std::string_view request_id);
/// `error` as the `error` event that ends an Anthropic stream.
std::string error_event(const core::Error& error);

}  // namespace nexus::protocol::anthropic
