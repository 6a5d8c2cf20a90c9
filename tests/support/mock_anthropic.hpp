#pragma once
// The mock upstream's answers in Anthropic's wire shapes (POST /v1/messages), and its OpenAI
// tool-calling answers: what it says, apart from how it says it (mock_upstream.cpp).
#include <optional>
#include <string>
#include <vector>

#include "support/mock_answers.hpp"

namespace nexus::testing::mock {

/// The names of the tools a request (either API) offers, in order.
std::vector<std::string> tool_names(const boost::json::value& doc);

/// OpenAI chat, whole: for `mock-tool-call`, reasoning and one tool call per offered tool (at
/// most two; arguments {"city":"Paris"}); for a conversation whose last message is a tool
/// result, "Tool said: <result>". Nullopt otherwise.
std::optional<Response> tool_answer(const std::string& model, const boost::json::value& doc);
/// The same as stream chunk data, in order: the reasoning, then per tool its id and name, and
/// its arguments in two pieces (the second tool's name and first piece in one chunk, as some
/// providers send them), then the finish with usage. Nullopt when tool_answer would be.
std::optional<std::vector<std::string>> tool_chunks(const std::string& model, const boost::json::value& doc);

/// Anthropic: 401 for a bad x-api-key, in Anthropic's error shape.
Response anthropic_auth_error();
/// Anthropic: 400 when anthropic-version is missing.
Response anthropic_version_error();
/// Anthropic's error answers by model: mock-rate-limit (429, retry-after 7), mock-overloaded
/// (529), mock-unknown-model (404), mock-bad-request (400 "prompt is too long…"); else nullopt.
std::optional<Response> anthropic_error(const std::string& model);
/// Anthropic: a whole message. Text "Hello from Claude mock" (or a thinking block and one
/// tool_use per offered tool for mock-tool-call; "Tool said: …" after a tool_result), usage
/// 10 in (2 of them read from cache) and 4 out.
Response anthropic_message(const std::string& model, const boost::json::value& doc);
/// Anthropic: the same as a stream's events ("event: …\ndata: …\n\n" each), with a ping after
/// message_start, `frames` text deltas, and a message_delta with the usage.
std::vector<std::string> anthropic_events(const std::string& model, const boost::json::value& doc, int frames);

}  // namespace nexus::testing::mock
