#pragma once
// The mock upstream's answers in SiliconFlow's wire shapes: what it says, apart from how it
// says it (tests/support/mock_upstream.cpp).
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace nexus::testing::mock {

using Response = boost::beast::http::response<boost::beast::http::string_body>;
using Request = boost::beast::http::request<boost::beast::http::string_body>;

/// A whole answer with `status`, `body` and its content type.
Response answer(boost::beast::http::status status, std::string body, std::string content_type = "application/json");
/// A 200 JSON answer with SiliconFlow's trace id (and a cookie and an internal header that must not pass).
Response json_answer(const boost::json::object& body);
/// One chunk of a chat (or, with `text`, a text completion) stream, with SiliconFlow's running usage.
std::string chunk_json(const std::string& model, int i, int frames, bool text = false);
/// A chat completion with "Hello from mock" and usage 5 + 3.
Response chat_completion(const std::string& model);
/// The model list: two models.
Response model_list();
/// The answers of the other endpoints (embeddings, completions, rerank, images, audio
/// transcriptions); nullopt for another target.
std::optional<Response> other_endpoint(std::string_view target, const std::string& model, const Request& req,
                                       const boost::json::value& doc);
/// The error answer of the error scenarios (mock-unknown-model, mock-rate-limit, …), or nullopt
/// when `model` names none. `key` is the key the call came with (mock-echo-key).
std::optional<Response> error_scenario(const std::string& model, const std::string& key);

}  // namespace nexus::testing::mock
