#pragma once
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace nexus::relay {

/// What the relay needs to know of a chat completion request. The body itself is forwarded as
/// the client sent it.
struct ChatRequest {
    std::string model;
    bool stream = false;
    bool include_usage = false;  ///< stream_options.include_usage
};

/// Checks a POST /v1/chat/completions body: a JSON object with a non-empty string `model`, a
/// non-empty array `messages`, and `stream` boolean or absent. Any other shape → a 400 Error
/// whose `param` names the field. Never throws.
core::Result<ChatRequest> inspect_chat_request(std::string_view body);

}  // namespace nexus::relay
