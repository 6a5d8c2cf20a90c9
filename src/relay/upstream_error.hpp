#pragma once
#include <string_view>

#include "core/error.hpp"

namespace nexus::relay {

/// Turns an upstream's non-2xx answer into our Error, keeping the upstream's status and its
/// message. Understands OpenAI's `{"error":{…}}`, SiliconFlow's `{"code","message","data"}`, a bare
/// JSON string ("Invalid token"), and plain text. A 401/403 says the upstream rejected the
/// channel's key. `secret` (the channel key) is scrubbed from the message, code, type and param
/// should the upstream echo it, before any of them is cut to length. allow_fallbacks is set for key, balance, rate-limit and server failures.
core::Error translate_upstream_error(int status, std::string_view body, std::string_view secret);

}  // namespace nexus::relay
