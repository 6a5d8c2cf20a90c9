#pragma once
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace nexus::protocol::anthropic {

/// The one table of what maps to what between OpenAI's chat completions and Anthropic's
/// Messages API, where a value maps to a value. Structure (roles, blocks, tools) is mapped by
/// the translators in request.cpp, response.cpp and stream.cpp; every enumerated value goes
/// through these rows, so a test can walk them entry by entry.
struct ValueMapping {
    enum class Kind : std::uint8_t {
        kStopReason,  ///< finish_reason ⇄ stop_reason
        kToolChoice,  ///< tool_choice string ⇄ tool_choice.type
        kEffort,      ///< reasoning_effort → thinking.budget_tokens (`anthropic` holds the budget)
    };
    Kind kind;
    std::string_view openai;
    std::string_view anthropic;
    bool to_anthropic;  ///< used from OpenAI to Anthropic
    bool to_openai;     ///< used from Anthropic to OpenAI
};
std::span<const ValueMapping> value_mappings();

/// finish_reason → stop_reason ("end_turn" for anything unknown, a null included).
std::string_view stop_reason_of(std::string_view finish_reason);
/// stop_reason → finish_reason ("stop" for anything unknown).
std::string_view finish_reason_of(std::string_view stop_reason);
/// tool_choice ("auto", "required", "none") → its Anthropic type; nullopt when unknown.
std::optional<std::string_view> tool_choice_type_of(std::string_view openai_choice);
/// Anthropic's tool_choice.type → OpenAI's tool_choice; nullopt for "tool" and unknown types.
std::optional<std::string_view> tool_choice_of(std::string_view anthropic_type);
/// reasoning_effort → thinking budget in tokens; nullopt when unknown (no thinking asked).
std::optional<std::int64_t> thinking_budget_of(std::string_view effort);

/// Anthropic's error type for an HTTP status (its documented map; 4xx it does not list are
/// "invalid_request_error", 5xx "api_error").
std::string_view error_type_of(int status);

}  // namespace nexus::protocol::anthropic
