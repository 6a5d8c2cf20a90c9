#pragma once
#include <cstddef>
#include <span>
#include <string_view>

#include "core/metrics.hpp"
#include "core/provider.hpp"

namespace nexus::relay {

/// How a required body field must look.
enum class FieldShape : std::uint8_t {
    kString,            ///< a non-empty string
    kNonEmptyArray,     ///< an array with at least one element
    kStringOrArray,     ///< a non-empty string, or an array with at least one element
    kCount,             ///< an integer ≥ 0
};

struct RequiredField {
    std::string_view name;
    FieldShape shape;
};

/// The most required fields an endpoint lists (inspection keeps that many, checked in endpoint.cpp).
inline constexpr std::size_t kMaxRequiredFields = 4;

/// A relayed POST endpoint under /v1: what its body must hold and how its answer is treated.
/// Every endpoint goes through the same token check, channel choice, failover and usage record;
/// the table in endpoint.cpp is the one place that lists them.
struct Endpoint {
    std::string_view path;                    ///< client path, also the upstream path
    core::Route route;                        ///< metrics label
    bool multipart = false;                   ///< multipart/form-data (audio uploads); else JSON
    bool streams = false;                     ///< `stream: true` is allowed
    bool chunk_usage = false;                 ///< streamed chunks carry usage (include_usage applies)
    std::span<const RequiredField> required;  ///< besides `model`
    bool counts_tokens = true;                ///< answers report token usage (else: billed per call only)
    /// The API the client speaks here. A channel that speaks another serves the endpoint only
    /// when it is `translated` (chat completions ⇄ messages, through protocol/).
    core::WireProtocol protocol = core::WireProtocol::kOpenAI;
    bool translated = false;
};

/// The path an endpoint's calls take on a channel that speaks `protocol` (a translated call
/// goes to that API's own endpoint).
std::string_view upstream_path(const Endpoint& endpoint, core::WireProtocol protocol);
/// Whether a channel that speaks `protocol` can serve `endpoint`.
inline bool serves(const Endpoint& endpoint, core::WireProtocol protocol) {
    return endpoint.protocol == protocol || endpoint.translated;
}

/// POST /v1/messages/count_tokens: checked by the same inspection as a relayed endpoint, but
/// answered here (it is not in endpoints(), so never relayed).
const Endpoint& count_tokens_endpoint();
/// Every relayed POST endpoint.
std::span<const Endpoint> endpoints();
/// The endpoint for `path` (exact), or null.
const Endpoint* find_endpoint(std::string_view path);

}  // namespace nexus::relay
