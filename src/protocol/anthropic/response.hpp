#pragma once
#include <boost/json/object.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "protocol/anthropic/request.hpp"
#include "protocol/counts.hpp"

namespace nexus::protocol::anthropic {

/// Anthropic's `usage` (input, output, cache read, cache creation) in OpenAI's sense: the prompt
/// is all three inputs, its cached part the cache read.
TokenCounts counts_of_usage(const boost::json::object& usage);
/// OpenAI's `usage` (prompt_tokens_details.cached_tokens, or SiliconFlow's prompt_cache_hit_tokens).
TokenCounts counts_of_openai_usage(const boost::json::object& usage);
/// TokenCounts as Anthropic's usage object.
boost::json::object anthropic_usage(const TokenCounts& counts);
/// TokenCounts as OpenAI's usage object.
boost::json::object openai_usage(const TokenCounts& counts);

/// An OpenAI chat.completion as an Anthropic message for a client that asked for `model`:
/// reasoning_content → a thinking block, content → a text block, tool_calls → tool_use blocks
/// (arguments parsed; names restored by `names`), finish_reason → stop_reason, usage. With no
/// usage in the answer, `input_estimate` and an estimate of the output stand in. `counts` gets
/// what it was billed on. A body that is not a completion is a 502.
core::Result<std::string> message_from_completion(std::string_view completion, std::string_view model,
                                                  const ToolNames& names, std::int64_t input_estimate,
                                                  TokenCounts& counts);

/// An Anthropic message as an OpenAI chat.completion: text blocks joined into content,
/// thinking → reasoning_content, tool_use → tool_calls (input serialised), stop_reason →
/// finish_reason, usage. A body that is not a message is a 502.
core::Result<std::string> completion_from_message(std::string_view message, std::int64_t created,
                                                  TokenCounts& counts);

}  // namespace nexus::protocol::anthropic
