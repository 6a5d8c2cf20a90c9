#include "protocol/anthropic/response.hpp"

#include <boost/json.hpp>

#include "core/json.hpp"
#include "protocol/anthropic/estimate.hpp"
#include "protocol/anthropic/json_access.hpp"
#include "protocol/anthropic/mapping.hpp"

namespace nexus::protocol::anthropic {

namespace json = boost::json;
using namespace detail;

namespace {

core::Result<json::object> parse_object(std::string_view body, std::string_view what) {
    json::error_code ec;
    auto doc = json::parse(body, ec, {}, core::json_parse_options());
    if (ec || !doc.is_object()) {
        return core::Error::bad_gateway("The upstream's answer was not " + std::string(what) + ".", ec.message());
    }
    return std::move(doc.get_object());
}

}  // namespace

TokenCounts counts_of_usage(const json::object& usage) {
    TokenCounts c;
    const auto read = int_of(usage, "cache_read_input_tokens");
    c.prompt = int_of(usage, "input_tokens") + read + int_of(usage, "cache_creation_input_tokens");
    c.completion = int_of(usage, "output_tokens");
    c.cached = read;
    c.reported = true;
    return c;
}

TokenCounts counts_of_openai_usage(const json::object& usage) {
    TokenCounts c;
    c.prompt = int_of(usage, "prompt_tokens");
    c.completion = int_of(usage, "completion_tokens");
    c.cached = int_of(usage, "prompt_cache_hit_tokens");
    if (const auto* details = object_of(usage, "prompt_tokens_details")) {
        c.cached = std::max(c.cached, int_of(*details, "cached_tokens"));
    }
    c.reported = true;
    return c;
}

json::object anthropic_usage(const TokenCounts& counts) {
    return json::object{{"input_tokens", std::max<std::int64_t>(0, counts.prompt - counts.cached)},
                        {"cache_creation_input_tokens", 0},
                        {"cache_read_input_tokens", counts.cached},
                        {"output_tokens", counts.completion}};
}

json::object openai_usage(const TokenCounts& counts) {
    json::object u{{"prompt_tokens", counts.prompt},
                   {"completion_tokens", counts.completion},
                   {"total_tokens", counts.prompt + counts.completion}};
    if (counts.cached > 0) u["prompt_tokens_details"] = json::object{{"cached_tokens", counts.cached}};
    return u;
}

core::Result<std::string> message_from_completion(std::string_view completion, std::string_view model,
                                                  const ToolNames& names, std::int64_t input_estimate,
                                                  TokenCounts& counts) {
    auto parsed = parse_object(completion, "a chat completion");
    if (!parsed) return parsed.error();
    const auto& doc = *parsed;
    const auto* choices = array_of(doc, "choices");
    const json::object* choice = choices != nullptr && !choices->empty() && (*choices)[0].is_object()
                                     ? &(*choices)[0].get_object() : nullptr;
    const json::object* message = choice != nullptr ? object_of(*choice, "message") : nullptr;
    if (message == nullptr) return core::Error::bad_gateway("The upstream's answer held no message.");

    json::array content;
    std::int64_t output_chars = 0;
    if (const auto r = string_of(*message, "reasoning_content"); !r.empty()) {
        content.push_back(json::object{{"type", "thinking"}, {"thinking", r}, {"signature", ""}});
        output_chars += estimate_tokens(r);
    }
    if (const auto t = string_of(*message, "content"); !t.empty()) {
        content.push_back(json::object{{"type", "text"}, {"text", t}});
        output_chars += estimate_tokens(t);
    }
    if (const auto* calls = array_of(*message, "tool_calls")) {
        for (const auto& c : *calls) {
            if (!c.is_object()) continue;
            const auto* function = object_of(c.get_object(), "function");
            if (function == nullptr) continue;
            const auto arguments = string_of(*function, "arguments");
            json::error_code ec;
            json::value input = arguments.empty() ? json::value(json::object{})
                                                  : json::parse(arguments, ec, {}, core::json_parse_options());
            if (ec || !input.is_object()) input = json::object{};
            content.push_back(json::object{{"type", "tool_use"},
                                           {"id", string_of(c.get_object(), "id")},
                                           {"name", names.restore(string_of(*function, "name"))},
                                           {"input", std::move(input)}});
            output_chars += estimate_tokens(arguments);
        }
    }
    if (const auto* usage = object_of(doc, "usage")) {
        counts = counts_of_openai_usage(*usage);
    } else {
        counts = TokenCounts{input_estimate, output_chars, 0, false};
    }
    std::string id = "msg_";
    id.append(string_of(doc, "id"));
    json::object out{{"id", std::move(id)},
                     {"type", "message"},
                     {"role", "assistant"},
                     {"model", model},
                     {"content", std::move(content)},
                     {"stop_reason", stop_reason_of(string_of(*choice, "finish_reason"))},
                     {"stop_sequence", nullptr},
                     {"usage", anthropic_usage(counts)}};
    return json::serialize(out);
}

core::Result<std::string> completion_from_message(std::string_view message, std::int64_t created,
                                                  TokenCounts& counts) {
    auto parsed = parse_object(message, "a message");
    if (!parsed) return parsed.error();
    const auto& doc = *parsed;
    const auto* blocks = array_of(doc, "content");
    if (blocks == nullptr) return core::Error::bad_gateway("The upstream's answer held no content.");
    std::string text;
    std::string reasoning;
    json::array tool_calls;
    for (const auto& b : *blocks) {
        if (!b.is_object()) continue;
        const auto& block = b.get_object();
        const auto type = string_of(block, "type");
        if (type == "text") {
            text.append(string_of(block, "text"));
        } else if (type == "thinking") {
            reasoning.append(string_of(block, "thinking"));
        } else if (type == "tool_use") {
            const auto* input = member(block, "input");
            tool_calls.push_back(json::object{
                {"id", string_of(block, "id")},
                {"type", "function"},
                {"function", json::object{{"name", string_of(block, "name")},
                                          {"arguments", input != nullptr ? json::serialize(*input) : std::string("{}")}}}});
        }
    }
    json::object msg{{"role", "assistant"}};
    msg["content"] = text.empty() && !tool_calls.empty() ? json::value(nullptr) : json::value(text);
    if (!reasoning.empty()) msg["reasoning_content"] = std::move(reasoning);
    if (!tool_calls.empty()) msg["tool_calls"] = std::move(tool_calls);
    const auto* usage = object_of(doc, "usage");
    counts = usage != nullptr ? counts_of_usage(*usage) : TokenCounts{};
    json::object out{{"id", string_of(doc, "id")},
                     {"object", "chat.completion"},
                     {"created", created},
                     {"model", string_of(doc, "model")},
                     {"choices", json::array{json::object{{"index", 0},
                                                          {"message", std::move(msg)},
                                                          {"logprobs", nullptr},
                                                          {"finish_reason", finish_reason_of(string_of(doc, "stop_reason"))}}}}};
    if (usage != nullptr) out["usage"] = openai_usage(counts);
    return json::serialize(out);
}

}  // namespace nexus::protocol::anthropic
