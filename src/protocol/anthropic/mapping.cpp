#include "protocol/anthropic/mapping.hpp"

#include <array>
#include <charconv>

namespace nexus::protocol::anthropic {

namespace {

using enum ValueMapping::Kind;

// The first row of a value in a direction is the one used in that direction.
constexpr std::array kMappings{
    ValueMapping{kStopReason, "stop", "end_turn", true, true},
    ValueMapping{kStopReason, "stop", "stop_sequence", false, true},
    ValueMapping{kStopReason, "stop", "pause_turn", false, true},
    ValueMapping{kStopReason, "length", "max_tokens", true, true},
    ValueMapping{kStopReason, "length", "model_context_window_exceeded", false, true},
    ValueMapping{kStopReason, "tool_calls", "tool_use", true, true},
    ValueMapping{kStopReason, "function_call", "tool_use", true, false},
    ValueMapping{kStopReason, "content_filter", "refusal", true, true},
    ValueMapping{kToolChoice, "auto", "auto", true, true},
    ValueMapping{kToolChoice, "required", "any", true, true},
    ValueMapping{kToolChoice, "none", "none", true, true},
    ValueMapping{kEffort, "minimal", "1024", true, false},
    ValueMapping{kEffort, "low", "1280", true, false},
    ValueMapping{kEffort, "medium", "2048", true, false},
    ValueMapping{kEffort, "high", "4096", true, false},
};

std::optional<std::string_view> to_anthropic(ValueMapping::Kind kind, std::string_view openai) {
    for (const auto& m : kMappings) {
        if (m.kind == kind && m.to_anthropic && m.openai == openai) return m.anthropic;
    }
    return std::nullopt;
}

std::optional<std::string_view> to_openai(ValueMapping::Kind kind, std::string_view anthropic) {
    for (const auto& m : kMappings) {
        if (m.kind == kind && m.to_openai && m.anthropic == anthropic) return m.openai;
    }
    return std::nullopt;
}

}  // namespace

std::span<const ValueMapping> value_mappings() { return kMappings; }

std::string_view stop_reason_of(std::string_view finish_reason) {
    return to_anthropic(kStopReason, finish_reason).value_or("end_turn");
}

std::string_view finish_reason_of(std::string_view stop_reason) {
    return to_openai(kStopReason, stop_reason).value_or("stop");
}

std::optional<std::string_view> tool_choice_type_of(std::string_view openai_choice) {
    return to_anthropic(kToolChoice, openai_choice);
}

std::optional<std::string_view> tool_choice_of(std::string_view anthropic_type) {
    return to_openai(kToolChoice, anthropic_type);
}

std::optional<std::int64_t> thinking_budget_of(std::string_view effort) {
    const auto budget = to_anthropic(kEffort, effort);
    if (!budget) return std::nullopt;
    std::int64_t n = 0;
    std::from_chars(budget->data(), budget->data() + budget->size(), n);
    return n;
}

std::string_view error_type_of(int status) {
    switch (status) {
        case 400: return "invalid_request_error";
        case 401: return "authentication_error";
        case 402: return "billing_error";
        case 403: return "permission_error";
        case 404: return "not_found_error";
        case 413: return "request_too_large";
        case 429: return "rate_limit_error";
        case 500: return "api_error";
        case 503:
        case 529: return "overloaded_error";
        case 504: return "timeout_error";
        default: return status < 500 ? "invalid_request_error" : "api_error";
    }
}

}  // namespace nexus::protocol::anthropic
