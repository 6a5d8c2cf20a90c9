#include "protocol/anthropic/request.hpp"

#include <algorithm>

#include "core/crypto.hpp"
#include "core/json.hpp"
#include "protocol/anthropic/json_access.hpp"
#include "protocol/anthropic/mapping.hpp"

namespace nexus::protocol::anthropic {

namespace json = boost::json;
using namespace detail;

namespace {

constexpr std::string_view kPlaceholder = ".";  // Anthropic refuses empty text and empty turns

core::Error bad(std::string message, std::string param) {
    return core::Error::bad_request(std::move(message), std::move(param), "invalid_request");
}

// --- Anthropic → OpenAI ---------------------------------------------------------------------

// The text of a `system` or `tool_result.content`: a string, or blocks whose text blocks are
// joined. Nullopt when it is neither.
std::optional<std::string> text_of(const json::value& v, std::string_view separator) {
    if (v.is_string()) return std::string(v.get_string());
    if (!v.is_array()) return std::nullopt;
    std::string out;
    for (const auto& b : v.get_array()) {
        if (!b.is_object()) return std::nullopt;
        const auto& block = b.get_object();
        if (string_of(block, "type") != "text") continue;
        if (!out.empty()) out.append(separator);
        out.append(string_of(block, "text"));
    }
    return out;
}

// An image block's source as an OpenAI image_url part.
core::Result<json::value> image_part(const json::object& block, const std::string& param) {
    const auto* source = object_of(block, "source");
    if (source == nullptr) return bad("An image block needs a source.", param);
    const auto type = string_of(*source, "type");
    std::string url;
    if (type == "base64") {
        url.append("data:").append(string_of(*source, "media_type")).append(";base64,").append(string_of(*source, "data"));
    } else if (type == "url") {
        url = string_of(*source, "url");
    } else {
        return bad("Only base64 and url image sources can go to this model's provider.", param + ".source.type");
    }
    return json::value(json::object{{"type", "image_url"}, {"image_url", json::object{{"url", url}}}});
}

// One Anthropic turn as OpenAI messages, appended to `out`.
std::optional<core::Error> add_turn(const json::object& turn, std::size_t i, ToolNames& names, json::array& out) {
    const auto role = string_of(turn, "role");
    if (role != "user" && role != "assistant") {
        return bad("Each message's role must be \"user\" or \"assistant\".", at("messages", i, "role"));
    }
    const auto* content = member(turn, "content");
    if (content != nullptr && content->is_string()) {
        out.push_back(json::object{{"role", role}, {"content", content->get_string()}});
        return std::nullopt;
    }
    if (content == nullptr || !content->is_array()) {
        return bad("A message's content must be a string or an array of content blocks.", at("messages", i, "content"));
    }
    std::string text;
    json::array parts;  // user text and images, in order
    bool has_image = false;
    json::array tool_calls;
    std::string reasoning;
    const auto& blocks = content->get_array();
    for (std::size_t j = 0; j < blocks.size(); ++j) {
        const auto param = at(at("messages", i, "content"), j);
        if (!blocks[j].is_object()) return bad("A content block must be an object.", param);
        const auto& block = blocks[j].get_object();
        const auto type = string_of(block, "type");
        if (type == "text") {
            const auto t = string_of(block, "text");
            if (!text.empty()) text.append("\n");
            text.append(t);
            parts.push_back(json::object{{"type", "text"}, {"text", t}});
        } else if (type == "image" && role == "user") {
            auto part = image_part(block, param);
            if (!part) return part.error();
            parts.push_back(std::move(*part));
            has_image = true;
        } else if (type == "document" && role == "user") {
            const auto* source = object_of(block, "source");
            if (source == nullptr || string_of(*source, "type") != "text") {
                return bad("Only plain-text documents can go to this model's provider.", param);
            }
            const auto t = string_of(*source, "data");
            if (!text.empty()) text.append("\n");
            text.append(t);
            parts.push_back(json::object{{"type", "text"}, {"text", t}});
        } else if (type == "tool_result" && role == "user") {
            // OpenAI wants tool answers right after the assistant's calls: before this turn's text.
            const auto* c = member(block, "content");
            std::optional<std::string> result = c == nullptr ? std::optional<std::string>("") : text_of(*c, "\n");
            if (!result) return bad("A tool_result's content must be a string or text blocks.", param + ".content");
            const auto* is_error = member(block, "is_error");
            if (is_error != nullptr && is_error->is_bool() && is_error->get_bool() && result->empty()) *result = "error";
            out.push_back(json::object{
                {"role", "tool"}, {"tool_call_id", string_of(block, "tool_use_id")}, {"content", std::move(*result)}});
        } else if (type == "tool_use" && role == "assistant") {
            const auto* input = member(block, "input");
            tool_calls.push_back(json::object{
                {"id", string_of(block, "id")},
                {"type", "function"},
                {"function", json::object{{"name", names.shorten(string_of(block, "name"))},
                                          {"arguments", input ? json::serialize(*input) : std::string("{}")}}}});
        } else if (type == "thinking" && role == "assistant") {
            reasoning.append(string_of(block, "thinking"));
        } else if (type == "redacted_thinking" || type == "thinking") {
            continue;  // nothing an OpenAI upstream could read
        } else {
            return bad("A content block of type \"" + std::string(type).substr(0, 64) +
                           "\" cannot go to this model's provider.",
                       param + ".type");
        }
    }
    if (role == "user") {
        if (parts.empty()) return std::nullopt;  // a turn of tool results only
        if (has_image) {
            out.push_back(json::object{{"role", "user"}, {"content", std::move(parts)}});
        } else {
            out.push_back(json::object{{"role", "user"}, {"content", std::move(text)}});
        }
        return std::nullopt;
    }
    json::object message{{"role", "assistant"}};
    message["content"] = text.empty() && !tool_calls.empty() ? json::value(nullptr) : json::value(text);
    if (!tool_calls.empty()) message["tool_calls"] = std::move(tool_calls);
    if (!reasoning.empty()) message["reasoning_content"] = std::move(reasoning);
    out.push_back(std::move(message));
    return std::nullopt;
}

// --- OpenAI → Anthropic ---------------------------------------------------------------------

// A text-or-parts content as Anthropic blocks (text and images), appended to `blocks`.
std::optional<core::Error> add_content(const json::value* content, const std::string& param, json::array& blocks) {
    if (content == nullptr || content->is_null()) return std::nullopt;
    if (content->is_string()) {
        if (!content->get_string().empty()) blocks.push_back(json::object{{"type", "text"}, {"text", content->get_string()}});
        return std::nullopt;
    }
    if (!content->is_array()) return bad("A message's content must be a string or an array of parts.", param);
    const auto& parts = content->get_array();
    for (std::size_t j = 0; j < parts.size(); ++j) {
        if (!parts[j].is_object()) return bad("A content part must be an object.", at(param, j));
        const auto& part = parts[j].get_object();
        const auto type = string_of(part, "type");
        if (type == "text") {
            if (const auto t = string_of(part, "text"); !t.empty()) blocks.push_back(json::object{{"type", "text"}, {"text", t}});
        } else if (type == "image_url") {
            const auto* image = object_of(part, "image_url");
            const std::string_view url = image != nullptr ? string_of(*image, "url") : string_of(part, "image_url");
            if (url.starts_with("data:")) {
                const auto comma = url.find(',');
                const auto meta = url.substr(5, comma == std::string_view::npos ? 0 : comma - 5);
                if (comma == std::string_view::npos || !meta.ends_with(";base64")) {
                    return bad("An image data URL must be base64-encoded.", at(param, j, "image_url.url"));
                }
                blocks.push_back(json::object{
                    {"type", "image"},
                    {"source", json::object{{"type", "base64"},
                                            {"media_type", meta.substr(0, meta.size() - 7)},
                                            {"data", url.substr(comma + 1)}}}});
            } else if (url.starts_with("https://") || url.starts_with("http://")) {
                blocks.push_back(json::object{{"type", "image"}, {"source", json::object{{"type", "url"}, {"url", url}}}});
            } else {
                return bad("An image_url must be a data URL or an http(s) URL.", at(param, j, "image_url.url"));
            }
        } else {
            return bad("A content part of type \"" + std::string(type).substr(0, 64) +
                           "\" cannot go to this model's provider.",
                       at(param, j, "type"));
        }
    }
    return std::nullopt;
}

// Appends a turn, merging it into the last one when both have the same role.
void push_turn(json::array& messages, std::string_view role, json::array blocks) {
    if (blocks.empty()) blocks.push_back(json::object{{"type", "text"}, {"text", kPlaceholder}});
    if (!messages.empty() && string_of(messages.back().get_object(), "role") == role) {
        auto& last = messages.back().get_object()["content"].get_array();
        for (auto& b : blocks) last.push_back(std::move(b));
        return;
    }
    messages.push_back(json::object{{"role", role}, {"content", std::move(blocks)}});
}

std::optional<core::Error> add_tool_calls(const json::array& calls, std::size_t i, json::array& blocks) {
    for (std::size_t j = 0; j < calls.size(); ++j) {
        const auto param = at(at("messages", i, "tool_calls"), j);
        if (!calls[j].is_object()) return bad("A tool call must be an object.", param);
        const auto& call = calls[j].get_object();
        const auto* function = object_of(call, "function");
        if (function == nullptr) return bad("A tool call needs a function.", param + ".function");
        const auto arguments = string_of(*function, "arguments");
        json::value input = json::object{};
        if (!arguments.empty()) {
            json::error_code ec;
            input = json::parse(arguments, ec, {}, core::json_parse_options());
            if (ec || !input.is_object()) {
                return bad("A tool call's arguments must be a JSON object.", param + ".function.arguments");
            }
        }
        blocks.push_back(json::object{{"type", "tool_use"},
                                      {"id", string_of(call, "id")},
                                      {"name", string_of(*function, "name")},
                                      {"input", std::move(input)}});
    }
    return std::nullopt;
}

}  // namespace

std::string ToolNames::shorten(std::string_view name) {
    if (name.size() <= kMaxOpenAIName) return std::string(name);
    for (const auto& [sent, original] : shortened_) {
        if (original == name) return sent;
    }
    std::string sent(name.substr(0, 55));
    sent.append("_").append(core::sha256_hex(name).substr(0, 8));
    shortened_.emplace_back(sent, std::string(name));
    return sent;
}

std::string_view ToolNames::restore(std::string_view name) const {
    for (const auto& [sent, original] : shortened_) {
        if (sent == name) return original;
    }
    return name;
}

core::Result<std::string> request_to_openai(const json::object& request, std::string_view model, ToolNames& names) {
    json::object out;
    out["model"] = model;
    json::array messages;
    if (const auto* system = member(request, "system"); system != nullptr && !system->is_null()) {
        auto text = text_of(*system, "\n\n");
        if (!text) return bad("system must be a string or an array of text blocks.", "system");
        if (!text->empty()) messages.push_back(json::object{{"role", "system"}, {"content", std::move(*text)}});
    }
    const auto* turns = array_of(request, "messages");
    if (turns == nullptr) return bad("messages must be an array.", "messages");
    for (std::size_t i = 0; i < turns->size(); ++i) {
        if (!(*turns)[i].is_object()) return bad("Each message must be an object.", at("messages", i));
        if (auto e = add_turn((*turns)[i].get_object(), i, names, messages)) return std::move(*e);
    }
    out["messages"] = std::move(messages);
    if (const auto* v = member(request, "max_tokens")) out["max_tokens"] = *v;
    if (const auto* v = member(request, "stop_sequences"); v != nullptr && v->is_array() && !v->get_array().empty()) {
        out["stop"] = *v;
    }
    for (const auto* key : {"temperature", "top_p", "top_k"}) {
        if (const auto* v = member(request, key); v != nullptr && v->is_number()) out[key] = *v;
    }
    if (const auto* metadata = object_of(request, "metadata")) {
        if (const auto user = string_of(*metadata, "user_id"); !user.empty()) out["user"] = user;
    }
    if (const auto* tools = array_of(request, "tools")) {
        json::array functions;
        for (std::size_t i = 0; i < tools->size(); ++i) {
            if (!(*tools)[i].is_object()) return bad("Each tool must be an object.", at("tools", i));
            const auto& tool = (*tools)[i].get_object();
            const auto type = string_of(tool, "type");
            // Anthropic's server tools (web search, code execution…) run at Anthropic: an OpenAI
            // upstream has nothing to run them with, so they are not offered to it.
            if (!type.empty() && type != "custom") continue;
            json::object function{{"name", names.shorten(string_of(tool, "name"))}};
            if (const auto d = string_of(tool, "description"); !d.empty()) function["description"] = d;
            const auto* schema = object_of(tool, "input_schema");
            function["parameters"] = schema != nullptr ? json::value(*schema)
                                                       : json::value(json::object{{"type", "object"}, {"properties", json::object{}}});
            functions.push_back(json::object{{"type", "function"}, {"function", std::move(function)}});
        }
        if (!functions.empty()) out["tools"] = std::move(functions);
    }
    if (const auto* choice = object_of(request, "tool_choice"); choice != nullptr && out.contains("tools")) {
        const auto type = string_of(*choice, "type");
        if (type == "tool") {
            out["tool_choice"] = json::object{{"type", "function"},
                                              {"function", json::object{{"name", names.shorten(string_of(*choice, "name"))}}}};
        } else if (const auto mapped = tool_choice_of(type)) {
            out["tool_choice"] = *mapped;
        } else {
            return bad("tool_choice.type must be auto, any, none or tool.", "tool_choice.type");
        }
        if (const auto* d = member(*choice, "disable_parallel_tool_use"); d != nullptr && d->is_bool() && d->get_bool()) {
            out["parallel_tool_calls"] = false;
        }
    }
    const auto* stream = member(request, "stream");
    if (stream != nullptr && stream->is_bool() && stream->get_bool()) {
        out["stream"] = true;
        out["stream_options"] = json::object{{"include_usage", true}};
    }
    return json::serialize(out);
}

core::Result<std::string> request_to_anthropic(const json::object& request, std::string_view model,
                                               std::int64_t default_max_tokens) {
    json::object out;
    out["model"] = model;
    std::string system;
    json::array messages;
    bool history_has_tool_calls = false;
    const auto* turns = array_of(request, "messages");
    if (turns == nullptr) return bad("messages must be an array.", "messages");
    for (std::size_t i = 0; i < turns->size(); ++i) {
        if (!(*turns)[i].is_object()) return bad("Each message must be an object.", at("messages", i));
        const auto& turn = (*turns)[i].get_object();
        const auto role = string_of(turn, "role");
        const auto* content = member(turn, "content");
        json::array blocks;
        if (role == "system" || role == "developer") {
            if (auto e = add_content(content, at("messages", i, "content"), blocks)) return std::move(*e);
            for (const auto& b : blocks) {
                if (string_of(b.get_object(), "type") != "text") {
                    return bad("A system message may hold only text.", at("messages", i, "content"));
                }
                if (!system.empty()) system.append("\n\n");
                system.append(string_of(b.get_object(), "text"));
            }
        } else if (role == "user") {
            if (auto e = add_content(content, at("messages", i, "content"), blocks)) return std::move(*e);
            push_turn(messages, "user", std::move(blocks));
        } else if (role == "assistant") {
            if (auto e = add_content(content, at("messages", i, "content"), blocks)) return std::move(*e);
            if (const auto* calls = array_of(turn, "tool_calls"); calls != nullptr && !calls->empty()) {
                history_has_tool_calls = true;
                if (auto e = add_tool_calls(*calls, i, blocks)) return std::move(*e);
            }
            push_turn(messages, "assistant", std::move(blocks));
        } else if (role == "tool") {
            json::array text;
            if (auto e = add_content(content, at("messages", i, "content"), text)) return std::move(*e);
            json::object result{{"type", "tool_result"}, {"tool_use_id", string_of(turn, "tool_call_id")}};
            if (!text.empty()) result["content"] = std::move(text);
            json::array one;
            one.push_back(std::move(result));
            push_turn(messages, "user", std::move(one));
        } else {
            return bad("A message's role must be system, developer, user, assistant or tool.", at("messages", i, "role"));
        }
    }
    if (messages.empty() || string_of(messages.front().get_object(), "role") != "user") {
        json::array opening;
        opening.push_back(json::object{{"type", "text"}, {"text", kPlaceholder}});
        messages.insert(messages.begin(), json::object{{"role", "user"}, {"content", std::move(opening)}});
    }
    if (!system.empty()) out["system"] = std::move(system);
    out["messages"] = std::move(messages);

    std::int64_t max_tokens = default_max_tokens;
    for (const auto* key : {"max_completion_tokens", "max_tokens"}) {
        if (const auto* v = member(request, key); v != nullptr && (v->is_int64() || v->is_uint64())) {
            max_tokens = int_of(request, key);
            break;
        }
    }
    if (const auto* n = member(request, "n"); n != nullptr && int_of(request, "n") > 1) {
        return bad("This model's provider answers one choice per call: n must be 1.", "n");
    }
    if (const auto* stop = member(request, "stop"); stop != nullptr && !stop->is_null()) {
        json::array sequences;
        if (stop->is_string()) {
            sequences.push_back(stop->get_string());
        } else if (stop->is_array()) {
            for (const auto& s : stop->get_array()) {
                if (!s.is_string()) return bad("stop must be a string or an array of strings.", "stop");
                sequences.push_back(s);
            }
        } else {
            return bad("stop must be a string or an array of strings.", "stop");
        }
        if (!sequences.empty()) out["stop_sequences"] = std::move(sequences);
    }
    const auto effort = string_of(request, "reasoning_effort");
    const auto budget = history_has_tool_calls ? std::nullopt : thinking_budget_of(effort);
    if (budget) {
        // Thinking fits inside max_tokens and runs at Anthropic's fixed sampling.
        max_tokens = std::max(max_tokens, *budget + 1024);
        out["thinking"] = json::object{{"type", "enabled"}, {"budget_tokens", *budget}};
    } else {
        if (const auto* t = member(request, "temperature"); t != nullptr && t->is_number()) {
            out["temperature"] = std::clamp(t->to_number<double>(), 0.0, 1.0);
        }
        if (const auto* p = member(request, "top_p"); p != nullptr && p->is_number()) out["top_p"] = *p;
    }
    out["max_tokens"] = max_tokens;
    if (const auto user = string_of(request, "user"); !user.empty()) out["metadata"] = json::object{{"user_id", user}};

    if (const auto* tools = array_of(request, "tools"); tools != nullptr && !tools->empty()) {
        json::array converted;
        for (std::size_t i = 0; i < tools->size(); ++i) {
            const auto* tool = (*tools)[i].is_object() ? &(*tools)[i].get_object() : nullptr;
            const auto* function = tool != nullptr ? object_of(*tool, "function") : nullptr;
            if (function == nullptr) return bad("Each tool must be a function tool.", at("tools", i));
            json::object t{{"name", string_of(*function, "name")}};
            if (const auto d = string_of(*function, "description"); !d.empty()) t["description"] = d;
            const auto* schema = object_of(*function, "parameters");
            t["input_schema"] = schema != nullptr ? json::value(*schema)
                                                  : json::value(json::object{{"type", "object"}, {"properties", json::object{}}});
            converted.push_back(std::move(t));
        }
        out["tools"] = std::move(converted);
        json::object choice{{"type", "auto"}};
        if (const auto* c = member(request, "tool_choice"); c != nullptr && !c->is_null()) {
            if (c->is_string()) {
                const auto type = tool_choice_type_of(c->get_string());
                if (!type) return bad("tool_choice must be auto, required, none or a function.", "tool_choice");
                choice["type"] = *type;
            } else if (c->is_object() && object_of(c->get_object(), "function") != nullptr) {
                choice = json::object{{"type", "tool"}, {"name", string_of(*object_of(c->get_object(), "function"), "name")}};
            } else {
                return bad("tool_choice must be auto, required, none or a function.", "tool_choice");
            }
        }
        if (const auto* p = member(request, "parallel_tool_calls"); p != nullptr && p->is_bool() && !p->get_bool()) {
            if (string_of(choice, "type") != "none") choice["disable_parallel_tool_use"] = true;
        }
        out["tool_choice"] = std::move(choice);
    }
    const auto* stream = member(request, "stream");
    if (stream != nullptr && stream->is_bool() && stream->get_bool()) out["stream"] = true;
    return json::serialize(out);
}

}  // namespace nexus::protocol::anthropic
