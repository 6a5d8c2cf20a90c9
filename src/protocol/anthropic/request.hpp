#pragma once
#include <boost/json/object.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace nexus::protocol::anthropic {

/// OpenAI caps a tool's name at 64 characters; Anthropic allows longer ones. A longer name goes
/// to an OpenAI upstream as its first 55 characters, "_" and 8 hex digits of its SHA-256, and
/// comes back as the name the client gave. One per call.
class ToolNames {
public:
    static constexpr std::size_t kMaxOpenAIName = 64;
    /// The name to send an OpenAI upstream for `name`.
    std::string shorten(std::string_view name);
    /// The client's name for a name an OpenAI upstream sent back.
    std::string_view restore(std::string_view name) const;

private:
    std::vector<std::pair<std::string, std::string>> shortened_;  ///< sent → original
};

/// An Anthropic Messages request (`request`, already checked to be an object with `model` and a
/// non-empty `messages` array) as an OpenAI chat completions request for `model`:
/// `system` → a system message; each turn's `tool_result` blocks → `tool` messages placed before
/// the rest of that turn; `tool_use` → `tool_calls`; images → `image_url` parts; `tools`,
/// `tool_choice`, `stop_sequences`, `metadata.user_id`, sampling; a stream asks for
/// `stream_options.include_usage`. `thinking` and Anthropic's server tools have no OpenAI
/// counterpart and are left out. A shape it cannot carry is a 400 naming the field.
core::Result<std::string> request_to_openai(const boost::json::object& request, std::string_view model,
                                            ToolNames& names);

/// An OpenAI chat completions request as an Anthropic Messages request for `model`:
/// system and developer messages → `system`; consecutive `tool` messages → one user turn of
/// `tool_result` blocks; `tool_calls` → `tool_use` (arguments parsed to an object); images;
/// `max_tokens` (or `default_max_tokens` when the client sent none); `stop`; temperature clamped
/// to 0–1; `reasoning_effort` → `thinking` (not when the history holds tool calls, which would
/// need signed thinking blocks). Consecutive turns of one role are merged, and a history that
/// does not open with a user turn gets one. A shape it cannot carry is a 400 naming the field.
core::Result<std::string> request_to_anthropic(const boost::json::object& request, std::string_view model,
                                               std::int64_t default_max_tokens);

}  // namespace nexus::protocol::anthropic
