#pragma once
#include <boost/json/object.hpp>

#include <cstdint>
#include <string_view>

namespace nexus::protocol::anthropic {

/// A local estimate of the tokens `text` takes: one per 4 bytes of ASCII (English runs at about
/// 4 characters a token) and one per other character (a Chinese character is about one token).
/// Never 0 for a text that is not empty.
std::int64_t estimate_tokens(std::string_view text);

/// The input tokens of an Anthropic Messages request, estimated locally: its system prompt,
/// every block of every message (text, tool calls' inputs, tool results, a flat cost per
/// image), its tools' names, descriptions and schemas, plus the framing each turn costs.
/// Grows with the text; never 0. What count_tokens answers and what message_start carries.
std::int64_t estimate_input_tokens(const boost::json::object& request);

}  // namespace nexus::protocol::anthropic
