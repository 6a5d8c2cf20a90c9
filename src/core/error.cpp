#include "core/error.hpp"

#include "core/json.hpp"

namespace nexus::core {

namespace {
Error make(int status, std::string type, std::string code, std::string message, std::string param = {},
           std::string detail = {}) {
    Error e;
    e.status = status;
    e.type = std::move(type);
    e.code = std::move(code);
    e.message = std::move(message);
    e.param = std::move(param);
    e.detail = std::move(detail);
    return e;
}
}  // namespace

Error Error::bad_request(std::string message, std::string param, std::string code) {
    return make(400, "invalid_request_error", std::move(code), std::move(message), std::move(param));
}
Error Error::unauthorized(std::string message, std::string code, std::string type) {
    return make(401, std::move(type), std::move(code), std::move(message));
}
Error Error::forbidden(std::string message, std::string code) {
    return make(403, "permission_error", std::move(code), std::move(message));
}
Error Error::conflict(std::string message, std::string param, std::string code) {
    return make(409, "invalid_request_error", std::move(code), std::move(message), std::move(param));
}
Error Error::too_many_requests(std::string message, std::string code, int retry_after_seconds) {
    auto e = make(429, "rate_limit_error", std::move(code), std::move(message));
    e.headers.emplace_back("Retry-After", std::to_string(retry_after_seconds));
    return e;
}
Error Error::no_channel(std::string message) {
    return make(500, "api_error", "no_available_channel", std::move(message));
}
Error Error::not_found(std::string message) {
    return make(404, "invalid_request_error", "not_found", std::move(message));
}
Error Error::method_not_allowed(std::string message) {
    return make(405, "invalid_request_error", "method_not_allowed", std::move(message));
}
Error Error::payload_too_large(std::string message) {
    return make(413, "invalid_request_error", "request_too_large", std::move(message));
}
Error Error::header_too_large() {
    return make(431, "invalid_request_error", "headers_too_large", "Request header fields are too large.");
}
Error Error::bad_gateway(std::string message, std::string detail) {
    auto e = make(502, "api_error", "upstream_unreachable", std::move(message), {}, std::move(detail));
    e.allow_fallbacks = true;
    return e;
}
Error Error::gateway_timeout(std::string message, std::string detail) {
    auto e = make(504, "api_error", "upstream_timeout", std::move(message), {}, std::move(detail));
    e.allow_fallbacks = true;
    return e;
}
Error Error::internal(std::string message, std::string detail) {
    return make(500, "api_error", "internal_error", std::move(message), {}, std::move(detail));
}

Error Error::overloaded(std::string message, std::string detail) {
    return make(503, "api_error", "overloaded", std::move(message), {}, std::move(detail));
}

Error Error::unavailable(std::string message, std::string code, int retry_after_seconds) {
    auto e = make(503, "api_error", std::move(code), std::move(message), {}, {});
    e.headers.emplace_back("Retry-After", std::to_string(retry_after_seconds));
    return e;
}

std::string to_json(const Error& error) {
    std::string out;
    out.reserve(96 + error.message.size());
    out += R"({"error":{"message":)";
    append_json_string(out, error.message);
    out += R"(,"type":)";
    append_json_string(out, error.type);
    out += R"(,"param":)";
    if (error.param.empty()) {
        out += "null";
    } else {
        append_json_string(out, error.param);
    }
    out += R"(,"code":)";
    if (error.code.empty()) {
        out += "null";
    } else {
        append_json_string(out, error.code);
    }
    out += "}}";
    return out;
}

}  // namespace nexus::core
