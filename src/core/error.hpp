#pragma once
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace nexus::core {

/// The one error type of nexus-api. It carries what the client may see (status, type, code,
/// message, param) apart from what only the log may see (detail), and whether another channel
/// may be tried after it (allow_fallbacks).
struct Error {
    int status = 500;
    std::string type = "api_error";  ///< OpenAI error type, e.g. "invalid_request_error"
    std::string code;                ///< OpenAI error code, e.g. "invalid_api_key"; empty → null
    std::string message;             ///< safe for clients: never a key, a token or a body
    std::string param;               ///< the offending field; empty → null
    std::string detail;              ///< for logs only
    /// An upstream's failure: its own message (scrubbed of the key, bounded) as it sent it,
    /// for the APIs whose clients match on an upstream's wording (Anthropic's).
    std::string upstream_message;
    bool allow_fallbacks = false;    ///< whether the next channel may be tried after this failure
    std::vector<std::pair<std::string, std::string>> headers;  ///< sent with the answer (e.g. Retry-After)

    static Error bad_request(std::string message, std::string param = {}, std::string code = {});
    /// 401: who is calling is not known (a missing, wrong, disabled or expired credential).
    static Error unauthorized(std::string message, std::string code, std::string type = "invalid_request_error");
    /// 403: known, but not allowed this.
    static Error forbidden(std::string message, std::string code);
    /// 409: the write conflicts with what is stored (a key in use).
    static Error conflict(std::string message, std::string param, std::string code);
    /// 429 with Retry-After: `retry_after_seconds`.
    static Error too_many_requests(std::string message, std::string code, int retry_after_seconds);
    /// 500 `no_available_channel`: no channel serves the model (or none is usable right now).
    static Error no_channel(std::string message);
    static Error not_found(std::string message);
    static Error method_not_allowed(std::string message);
    static Error payload_too_large(std::string message);
    static Error header_too_large();
    static Error bad_gateway(std::string message, std::string detail = {});
    static Error gateway_timeout(std::string message, std::string detail = {});
    static Error internal(std::string message, std::string detail = {});
    /// 503 `overloaded`: this server is out of a resource of its own (connections, descriptors);
    /// no channel is to blame and none is tried.
    static Error overloaded(std::string message, std::string detail = {});
    /// 503 with Retry-After: `retry_after_seconds`: something this server depends on (its
    /// database) cannot be reached for now.
    static Error unavailable(std::string message, std::string code, int retry_after_seconds);
};

/// Renders `{"error":{"message","type","param","code"}}`, OpenAI's error shape.
std::string to_json(const Error& error);

}  // namespace nexus::core
