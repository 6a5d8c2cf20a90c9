#include "support/mock_anthropic.hpp"

namespace nexus::testing::mock {

namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

constexpr std::string_view kArguments = R"({"city":"Paris"})";

const json::object* object_of(const json::value& doc) { return doc.is_object() ? &doc.get_object() : nullptr; }

// The text of the last message when it is a tool's answer (OpenAI `tool`, or an Anthropic user
// turn of tool_result blocks); nullopt otherwise.
std::optional<std::string> tool_result_text(const json::value& doc) {
    const auto* o = object_of(doc);
    const auto* messages = o ? o->if_contains("messages") : nullptr;
    if (messages == nullptr || !messages->is_array() || messages->get_array().empty()) return std::nullopt;
    const auto& last = messages->get_array().back();
    if (!last.is_object()) return std::nullopt;
    const auto& m = last.get_object();
    const auto* role = m.if_contains("role");
    const auto* content = m.if_contains("content");
    if (role == nullptr || content == nullptr) return std::nullopt;
    if (*role == "tool" && content->is_string()) return std::string(content->get_string());
    if (*role == "user" && content->is_array()) {
        for (const auto& b : content->get_array()) {
            if (!b.is_object() || b.get_object().if_contains("type") == nullptr) continue;
            if (b.get_object().at("type") != "tool_result") continue;
            const auto& c = b.get_object().at("content");
            if (c.is_string()) return std::string(c.get_string());
            if (c.is_array() && !c.get_array().empty() && c.get_array()[0].is_object()) {
                return std::string(c.get_array()[0].get_object().at("text").get_string());
            }
            return std::string();
        }
    }
    return std::nullopt;
}

std::string event(std::string_view name, const json::object& data) {
    return "event: " + std::string(name) + "\ndata: " + json::serialize(data) + "\n\n";
}

Response anthropic_json(http::status status, const json::object& body) {
    auto res = answer(status, json::serialize(body));
    res.set("request-id", "req_mock");
    return res;
}

json::object anthropic_error_body(std::string_view type, std::string_view message) {
    return json::object{{"type", "error"}, {"error", json::object{{"type", type}, {"message", message}}}};
}

json::object usage(int output) {
    return json::object{{"input_tokens", 8}, {"cache_creation_input_tokens", 0}, {"cache_read_input_tokens", 2},
                        {"output_tokens", output}};
}

}  // namespace

std::vector<std::string> tool_names(const json::value& doc) {
    std::vector<std::string> out;
    const auto* o = object_of(doc);
    const auto* tools = o ? o->if_contains("tools") : nullptr;
    if (tools == nullptr || !tools->is_array()) return out;
    for (const auto& t : tools->get_array()) {
        if (!t.is_object()) continue;
        const auto* f = t.get_object().if_contains("function");
        const auto& holder = f != nullptr && f->is_object() ? f->get_object() : t.get_object();
        if (const auto* name = holder.if_contains("name"); name && name->is_string()) out.emplace_back(name->get_string());
        if (out.size() == 2) break;
    }
    return out;
}

std::optional<Response> tool_answer(const std::string& model, const json::value& doc) {
    json::object message{{"role", "assistant"}};
    std::string finish = "stop";
    if (auto said = tool_result_text(doc)) {
        message["content"] = "Tool said: " + *said;
    } else if (model == "mock-tool-call") {
        message["content"] = nullptr;
        message["reasoning_content"] = "Thinking about the weather";
        json::array calls;
        const auto names = tool_names(doc);
        for (std::size_t i = 0; i < names.size(); ++i) {
            calls.push_back(json::object{{"id", "call_" + std::to_string(i)},
                                         {"type", "function"},
                                         {"function", json::object{{"name", names[i]}, {"arguments", kArguments}}}});
        }
        message["tool_calls"] = std::move(calls);
        finish = "tool_calls";
    } else {
        return std::nullopt;
    }
    return json_answer({{"id", "0123456789abcdef0123456789abcdef"},
                        {"object", "chat.completion"},
                        {"created", 1700000000},
                        {"model", model},
                        {"choices", json::array{json::object{{"index", 0}, {"message", std::move(message)},
                                                             {"finish_reason", finish}}}},
                        {"usage", json::object{{"prompt_tokens", 20}, {"completion_tokens", 9}, {"total_tokens", 29},
                                               {"prompt_tokens_details", json::object{{"cached_tokens", 4}}}}}});
}

std::optional<std::vector<std::string>> tool_chunks(const std::string& model, const json::value& doc) {
    auto chunk = [&](json::object delta, json::value finish, bool with_usage = false) {
        json::object c{{"id", "0123456789abcdef0123456789abcdef"}, {"object", "chat.completion.chunk"},
                       {"created", 1700000000}, {"model", model},
                       {"choices", json::array{json::object{{"index", 0}, {"delta", std::move(delta)},
                                                            {"finish_reason", std::move(finish)}}}}};
        if (with_usage) c["usage"] = json::object{{"prompt_tokens", 20}, {"completion_tokens", 9}, {"total_tokens", 29}};
        return json::serialize(c);
    };
    std::vector<std::string> out;
    if (auto said = tool_result_text(doc)) {
        out.push_back(chunk({{"role", "assistant"}, {"content", "Tool said: "}}, nullptr));
        out.push_back(chunk({{"content", *said}}, nullptr));
        out.push_back(chunk({}, "stop", true));
        return out;
    }
    if (model != "mock-tool-call") return std::nullopt;
    out.push_back(chunk({{"role", "assistant"}, {"reasoning_content", "Thinking about the weather"}}, nullptr));
    const auto names = tool_names(doc);
    const std::string_view first = kArguments.substr(0, 8);
    const std::string_view rest = kArguments.substr(8);
    for (std::size_t i = 0; i < names.size(); ++i) {
        const json::object head{{"index", i}, {"id", "call_" + std::to_string(i)}, {"type", "function"}};
        if (i == 0) {
            auto call = head;
            call["function"] = json::object{{"name", names[i]}, {"arguments", ""}};
            out.push_back(chunk({{"tool_calls", json::array{call}}}, nullptr));
            out.push_back(chunk({{"tool_calls", json::array{json::object{{"index", i}, {"function", json::object{{"arguments", first}}}}}}}, nullptr));
        } else {
            auto call = head;  // name and the first piece of the arguments in one chunk
            call["function"] = json::object{{"name", names[i]}, {"arguments", first}};
            out.push_back(chunk({{"tool_calls", json::array{call}}}, nullptr));
        }
        out.push_back(chunk({{"tool_calls", json::array{json::object{{"index", i}, {"function", json::object{{"arguments", rest}}}}}}}, nullptr));
    }
    out.push_back(chunk({}, "tool_calls", true));
    return out;
}

Response anthropic_auth_error() {
    return anthropic_json(http::status::unauthorized, anthropic_error_body("authentication_error", "invalid x-api-key"));
}

Response anthropic_version_error() {
    return anthropic_json(http::status::bad_request,
                          anthropic_error_body("invalid_request_error", "anthropic-version: header is required"));
}

std::optional<Response> anthropic_error(const std::string& model) {
    if (model == "mock-rate-limit") {
        auto res = anthropic_json(http::status::too_many_requests,
                                  anthropic_error_body("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"));
        res.set("retry-after", "7");
        return res;
    }
    if (model == "mock-overloaded") {
        return anthropic_json(static_cast<http::status>(529), anthropic_error_body("overloaded_error", "Overloaded"));
    }
    if (model == "mock-unknown-model") {
        return anthropic_json(http::status::not_found, anthropic_error_body("not_found_error", "model: mock-unknown-model"));
    }
    if (model == "mock-bad-request") {
        return anthropic_json(http::status::bad_request,
                              anthropic_error_body("invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum"));
    }
    return std::nullopt;
}

Response anthropic_message(const std::string& model, const json::value& doc) {
    json::array content;
    std::string stop = "end_turn";
    if (auto said = tool_result_text(doc)) {
        content.push_back(json::object{{"type", "text"}, {"text", "Tool said: " + *said}});
    } else if (model == "mock-tool-call") {
        content.push_back(json::object{{"type", "thinking"}, {"thinking", "Thinking about the weather"}, {"signature", "sig"}});
        const auto names = tool_names(doc);
        for (std::size_t i = 0; i < names.size(); ++i) {
            content.push_back(json::object{{"type", "tool_use"}, {"id", "toolu_" + std::to_string(i)}, {"name", names[i]},
                                           {"input", json::parse(kArguments)}});
        }
        stop = "tool_use";
    } else {
        content.push_back(json::object{{"type", "text"}, {"text", "Hello from Claude mock"}});
    }
    return anthropic_json(http::status::ok, {{"id", "msg_mock1"}, {"type", "message"}, {"role", "assistant"},
                                             {"model", model}, {"content", std::move(content)},
                                             {"stop_reason", stop}, {"stop_sequence", nullptr}, {"usage", usage(4)}});
}

std::vector<std::string> anthropic_events(const std::string& model, const json::value& doc, int frames) {
    std::vector<std::string> out;
    json::object start_usage = usage(1);
    out.push_back(event("message_start",
                        {{"type", "message_start"},
                         {"message", json::object{{"id", "msg_mock1"}, {"type", "message"}, {"role", "assistant"},
                                                  {"model", model}, {"content", json::array{}}, {"stop_reason", nullptr},
                                                  {"stop_sequence", nullptr}, {"usage", start_usage}}}}));
    out.push_back(event("ping", {{"type", "ping"}}));
    int index = 0;
    int output = 0;
    std::string stop = "end_turn";
    auto block = [&](json::object start, const std::vector<json::object>& deltas) {
        out.push_back(event("content_block_start", {{"type", "content_block_start"}, {"index", index}, {"content_block", std::move(start)}}));
        for (const auto& d : deltas) {
            out.push_back(event("content_block_delta", {{"type", "content_block_delta"}, {"index", index}, {"delta", d}}));
            ++output;
        }
        out.push_back(event("content_block_stop", {{"type", "content_block_stop"}, {"index", index}}));
        ++index;
    };
    const auto said = tool_result_text(doc);
    if (!said && model == "mock-tool-call") {
        block({{"type", "thinking"}, {"thinking", ""}, {"signature", ""}},
              {{{"type", "thinking_delta"}, {"thinking", "Thinking about the weather"}},
               {{"type", "signature_delta"}, {"signature", "sig"}}});
        const auto names = tool_names(doc);
        for (std::size_t i = 0; i < names.size(); ++i) {
            block({{"type", "tool_use"}, {"id", "toolu_" + std::to_string(i)}, {"name", names[i]}, {"input", json::object{}}},
                  {{{"type", "input_json_delta"}, {"partial_json", ""}},
                   {{"type", "input_json_delta"}, {"partial_json", kArguments.substr(0, 8)}},
                   {{"type", "input_json_delta"}, {"partial_json", kArguments.substr(8)}}});
        }
        stop = "tool_use";
    } else {
        std::vector<json::object> deltas;
        if (said) deltas.push_back({{"type", "text_delta"}, {"text", "Tool said: " + *said}});
        for (int i = 0; !said && i < frames; ++i) {
            deltas.push_back({{"type", "text_delta"}, {"text", "tok" + std::to_string(i) + " "}});
        }
        block({{"type", "text"}, {"text", ""}}, deltas);
    }
    out.push_back(event("message_delta", {{"type", "message_delta"},
                                          {"delta", json::object{{"stop_reason", stop}, {"stop_sequence", nullptr}}},
                                          {"usage", json::object{{"output_tokens", output}}}}));
    out.push_back(event("message_stop", {{"type", "message_stop"}}));
    return out;
}

}  // namespace nexus::testing::mock
