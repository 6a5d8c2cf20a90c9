#pragma once
#include <cstdint>
#include <string_view>

#include "core/error.hpp"

namespace nexus::relay {

/// Whom an upstream's failure blames, decided here and nowhere else.
enum class FailureKind : std::uint8_t {
    kClientFault,  ///< the request itself is wrong (400, 404, 413, 422…): relayed at once, no other channel
    kKeyRejected,  ///< 401: the channel's key may be at fault; a probe with the key alone decides
    kBalance,      ///< 402, or a balance code: the account may be unable to pay; a probe decides
    kRefused,      ///< 403 for another reason: another channel may be allowed; no blame
    kRateLimited,  ///< 429: another channel may have room; this one is not rested (a client's
                   ///< oversized request draws 429s too)
    kTransient,    ///< 5xx, and connection, TLS, timeout and protocol failures: another channel,
                   ///< and the breaker counts it
};

/// The kind of an upstream's non-2xx answer with `status`, `translated` by translate_upstream_error.
FailureKind classify_upstream_failure(int status, const core::Error& translated);

/// Turns an upstream's non-2xx answer into our Error, keeping the upstream's status and its
/// message. Understands OpenAI's `{"error":{…}}`, SiliconFlow's `{"code","message","data"}`, a bare
/// JSON string ("Invalid token"), and plain text. A 401/403 says the upstream rejected the
/// channel's key. `secret` (the channel key) is scrubbed from the message, code, type and param
/// should the upstream echo it, before any of them is cut to length. allow_fallbacks is set for key, balance, rate-limit and server failures.
/// `request_refused`: a probe showed the channel's key is good, so a 401/402/403 is about this
/// request, and the message says so instead of blaming the key.
core::Error translate_upstream_error(int status, std::string_view body, std::string_view secret,
                                     bool request_refused = false);

}  // namespace nexus::relay
