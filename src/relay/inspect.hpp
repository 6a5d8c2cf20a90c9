#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "relay/endpoint.hpp"

namespace nexus::relay {

/// What the relay needs to know of a request. The body itself is forwarded as the client sent
/// it (but for a mapped model name).
struct RequestInfo {
    std::string model;
    bool stream = false;
    bool include_usage = false;  ///< stream_options.include_usage
    /// max_tokens or max_completion_tokens (the larger, when both), when given as an integer ≥ 0.
    std::optional<std::int64_t> max_tokens;
    /// multipart only: where the `model` field's value lies in the body, to rewrite a mapped name.
    std::size_t model_offset = 0;
};

/// The longest model name a request may carry.
inline constexpr std::size_t kMaxModelBytes = 256;

/// A model name is echoed into logs, usage rows and error messages, so it is bounded: a 400
/// naming `model` (and not echoing it) when it is longer than kMaxModelBytes.
std::optional<core::Error> check_model_length(std::string_view model);

/// Checks a request body for `endpoint`. JSON endpoints: a JSON object with a non-empty string
/// `model` of at most kMaxModelBytes, the endpoint's required fields in their shapes, and
/// `stream` boolean or absent (true only where the endpoint streams). Multipart endpoints: a
/// multipart/form-data body with a non-empty `model` field (at most kMaxModelBytes) and the
/// required parts. Any other shape → a 400 Error whose `param` names the field. Never throws.
core::Result<RequestInfo> inspect_request(const Endpoint& endpoint, std::string_view body,
                                          std::string_view content_type);

}  // namespace nexus::relay
