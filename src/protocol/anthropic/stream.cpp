#include "protocol/anthropic/stream.hpp"

#include <boost/json.hpp>

#include "core/json.hpp"
#include "protocol/anthropic/error.hpp"
#include "protocol/anthropic/json_access.hpp"
#include "protocol/anthropic/mapping.hpp"
#include "protocol/anthropic/response.hpp"

namespace nexus::protocol::anthropic {

namespace json = boost::json;
using namespace detail;

namespace {

void event(std::string& out, std::string_view name, const json::object& data) {
    out.append("event: ").append(name).append("\ndata: ").append(json::serialize(data)).append("\n\n");
}

std::optional<json::object> parse_event(std::string_view data) {
    json::error_code ec;
    auto doc = json::parse(data, ec, {}, core::json_parse_options());
    if (ec || !doc.is_object()) return std::nullopt;
    return std::move(doc.get_object());
}

}  // namespace

std::string_view ping_event() { return "event: ping\ndata: {\"type\":\"ping\"}\n\n"; }

// --- OpenAI chunks → Anthropic events --------------------------------------------------------

ToAnthropicStream::ToAnthropicStream(std::string message_id, std::string model, std::int64_t input_estimate,
                                     const ToolNames& names)
    : id_(std::move(message_id)), model_(std::move(model)), names_(names), input_estimate_(input_estimate) {
    counts_.prompt = input_estimate_;
}

void ToAnthropicStream::start(std::string& out) {
    if (started_) return;
    started_ = true;
    auto usage = anthropic_usage(TokenCounts{input_estimate_, 1, 0, false});
    event(out, "message_start",
          json::object{{"type", "message_start"},
                       {"message", json::object{{"id", id_},
                                                {"type", "message"},
                                                {"role", "assistant"},
                                                {"content", json::array{}},
                                                {"model", model_},
                                                {"stop_reason", nullptr},
                                                {"stop_sequence", nullptr},
                                                {"usage", std::move(usage)}}}});
}

void ToAnthropicStream::open(Block kind, json::object content_block, std::string& out) {
    close(out);
    open_ = kind;
    event(out, "content_block_start",
          json::object{{"type", "content_block_start"}, {"index", next_index_}, {"content_block", std::move(content_block)}});
}

void ToAnthropicStream::close(std::string& out) {
    if (open_ == Block::kNone) return;
    event(out, "content_block_stop", json::object{{"type", "content_block_stop"}, {"index", next_index_}});
    ++next_index_;
    open_ = Block::kNone;
    tool_index_ = -1;
}

void ToAnthropicStream::delta(json::object d, std::string& out) {
    ++events_;
    event(out, "content_block_delta",
          json::object{{"type", "content_block_delta"}, {"index", next_index_}, {"delta", std::move(d)}});
}

void ToAnthropicStream::on_event(std::string_view data, std::string& out) {
    if (ended_) return;
    start(out);
    if (data == "[DONE]") {
        end_message(out);
        return;
    }
    const auto doc = parse_event(data);
    if (!doc) return;
    if (const auto* error = object_of(*doc, "error")) {
        // An upstream that reports a failure inside its stream.
        core::Error e = core::Error::bad_gateway(std::string(string_of(*error, "message")));
        e.upstream_message = e.message;
        fail(e, out);
        return;
    }
    if (const auto* usage = object_of(*doc, "usage")) counts_ = counts_of_openai_usage(*usage);
    const auto* choices = array_of(*doc, "choices");
    const json::object* choice = choices != nullptr && !choices->empty() && (*choices)[0].is_object()
                                     ? &(*choices)[0].get_object() : nullptr;
    if (choice != nullptr) {
        if (const auto* d = object_of(*choice, "delta")) {
            if (const auto r = string_of(*d, "reasoning_content"); !r.empty()) {
                if (open_ != Block::kThinking) {
                    open(Block::kThinking, json::object{{"type", "thinking"}, {"thinking", ""}, {"signature", ""}}, out);
                }
                delta(json::object{{"type", "thinking_delta"}, {"thinking", r}}, out);
            }
            if (const auto t = string_of(*d, "content"); !t.empty()) {
                if (open_ != Block::kText) open(Block::kText, json::object{{"type", "text"}, {"text", ""}}, out);
                delta(json::object{{"type", "text_delta"}, {"text", t}}, out);
            }
            if (const auto* calls = array_of(*d, "tool_calls")) {
                for (const auto& c : *calls) {
                    if (!c.is_object()) continue;
                    const auto& call = c.get_object();
                    const auto index = member(call, "index") != nullptr ? int_of(call, "index") : 0;
                    const auto* function = object_of(call, "function");
                    if (open_ != Block::kTool || tool_index_ != index) {
                        std::string id(string_of(call, "id"));
                        if (id.empty()) id = "toolu_" + id_ + "_" + std::to_string(index);
                        const auto name = function != nullptr ? string_of(*function, "name") : std::string_view();
                        open(Block::kTool,
                             json::object{{"type", "tool_use"}, {"id", id}, {"name", names_.restore(name)},
                                          {"input", json::object{}}},
                             out);
                        tool_index_ = index;
                    }
                    if (function == nullptr) continue;
                    if (const auto args = string_of(*function, "arguments"); !args.empty()) {
                        delta(json::object{{"type", "input_json_delta"}, {"partial_json", args}}, out);
                    }
                }
            }
        }
        if (const auto reason = string_of(*choice, "finish_reason"); !reason.empty()) {
            close(out);
            stop_reason_ = stop_reason_of(reason);
        }
    }
    // message_delta carries the usage: it waits for it, unless the stream ends first.
    if (!stop_reason_.empty() && counts_.reported) end_message(out);
}

void ToAnthropicStream::end_message(std::string& out) {
    if (ended_) return;
    start(out);
    close(out);
    ended_ = true;
    if (!counts_.reported) counts_.completion = events_;  // an estimate: about a token a delta
    auto usage = anthropic_usage(counts_);
    event(out, "message_delta",
          json::object{{"type", "message_delta"},
                       {"delta", json::object{{"stop_reason", stop_reason_.empty() ? std::string("end_turn") : stop_reason_},
                                              {"stop_sequence", nullptr}}},
                       {"usage", std::move(usage)}});
    event(out, "message_stop", json::object{{"type", "message_stop"}});
}

void ToAnthropicStream::finish(std::string& out) { end_message(out); }

void ToAnthropicStream::fail(const core::Error& error, std::string& out) {
    if (ended_) return;
    start(out);
    ended_ = true;
    out.append(error_event(error));
}

// --- Anthropic events → OpenAI chunks --------------------------------------------------------

void ToOpenAIStream::chunk(json::object delta, std::string_view finish_reason, std::string& out) {
    json::object choice{{"index", 0}, {"delta", std::move(delta)}, {"logprobs", nullptr}};
    choice["finish_reason"] = finish_reason.empty() ? json::value(nullptr) : json::value(finish_reason);
    json::object c{{"id", id_}, {"object", "chat.completion.chunk"}, {"created", created_}, {"model", model_},
                   {"choices", json::array{std::move(choice)}}};
    out.append("data: ").append(json::serialize(c)).append("\n\n");
}

void ToOpenAIStream::merge_usage(const json::object& usage) {
    for (const auto& [key, value] : usage) usage_[key] = value;
    counts_ = counts_of_usage(usage_);
}

void ToOpenAIStream::on_event(std::string_view data, std::string& out) {
    if (ended_) return;
    const auto doc = parse_event(data);
    if (!doc) return;
    const auto type = string_of(*doc, "type");
    if (type == "message_start") {
        if (const auto* message = object_of(*doc, "message")) {
            id_ = string_of(*message, "id");
            model_ = string_of(*message, "model");
            if (const auto* usage = object_of(*message, "usage")) merge_usage(*usage);
        }
        chunk(json::object{{"role", "assistant"}, {"content", ""}}, {}, out);
    } else if (type == "content_block_start") {
        const auto index = int_of(*doc, "index");
        const auto* block = object_of(*doc, "content_block");
        if (index < 0 || index > 4096 || block == nullptr) return;
        if (tool_of_block_.size() <= static_cast<std::size_t>(index)) tool_of_block_.resize(static_cast<std::size_t>(index) + 1, -1);
        const auto kind = string_of(*block, "type");
        if (kind == "tool_use") {
            const auto k = tools_++;
            tool_of_block_[static_cast<std::size_t>(index)] = k;
            ++events_;
            chunk(json::object{{"tool_calls",
                                json::array{json::object{{"index", k},
                                                         {"id", string_of(*block, "id")},
                                                         {"type", "function"},
                                                         {"function", json::object{{"name", string_of(*block, "name")},
                                                                                   {"arguments", ""}}}}}}},
                  {}, out);
        } else if (kind == "text") {
            if (const auto t = string_of(*block, "text"); !t.empty()) chunk(json::object{{"content", t}}, {}, out);
        }
    } else if (type == "content_block_delta") {
        const auto* d = object_of(*doc, "delta");
        if (d == nullptr) return;
        const auto kind = string_of(*d, "type");
        if (kind == "text_delta") {
            ++events_;
            chunk(json::object{{"content", string_of(*d, "text")}}, {}, out);
        } else if (kind == "thinking_delta") {
            ++events_;
            chunk(json::object{{"reasoning_content", string_of(*d, "thinking")}}, {}, out);
        } else if (kind == "input_json_delta") {
            const auto index = static_cast<std::size_t>(int_of(*doc, "index"));
            const auto partial = string_of(*d, "partial_json");
            if (partial.empty() || index >= tool_of_block_.size() || tool_of_block_[index] < 0) return;
            ++events_;
            chunk(json::object{{"tool_calls", json::array{json::object{
                                                  {"index", tool_of_block_[index]},
                                                  {"function", json::object{{"arguments", partial}}}}}}},
                  {}, out);
        }
    } else if (type == "message_delta") {
        if (const auto* usage = object_of(*doc, "usage")) merge_usage(*usage);
        const auto* d = object_of(*doc, "delta");
        const auto reason = d != nullptr ? string_of(*d, "stop_reason") : std::string_view();
        if (!reason.empty() && !finished_) {
            finished_ = true;
            chunk(json::object{}, finish_reason_of(reason), out);
        }
    } else if (type == "message_stop") {
        end(out);
    } else if (type == "error") {
        const auto* error = object_of(*doc, "error");
        core::Error e = core::Error::bad_gateway(error != nullptr ? std::string(string_of(*error, "message"))
                                                                  : std::string("The upstream failed mid-stream."));
        if (error != nullptr && !string_of(*error, "type").empty()) e.type = string_of(*error, "type");
        fail(e, out);
    }
}

void ToOpenAIStream::end(std::string& out) {
    if (ended_) return;
    ended_ = true;
    if (!finished_) {
        finished_ = true;
        chunk(json::object{}, "stop", out);
    }
    if (include_usage_) {
        json::object c{{"id", id_}, {"object", "chat.completion.chunk"}, {"created", created_}, {"model", model_},
                       {"choices", json::array{}}, {"usage", openai_usage(counts_)}};
        out.append("data: ").append(json::serialize(c)).append("\n\n");
    }
    out.append("data: [DONE]\n\n");
}

void ToOpenAIStream::finish(std::string& out) { end(out); }

void ToOpenAIStream::fail(const core::Error& error, std::string& out) {
    if (ended_) return;
    ended_ = true;
    out.append("data: ").append(core::to_json(error)).append("\n\n");
}

// --- an Anthropic stream relayed as it is ----------------------------------------------------

void EventUsage::observe(std::string_view data) {
    // Only the events that carry usage are parsed; deltas are counted by their type alone.
    if (data.find("\"content_block_delta\"") != std::string_view::npos) {
        ++events_;
        return;
    }
    if (data.find("\"usage\"") == std::string_view::npos) return;
    const auto doc = parse_event(data);
    if (!doc) return;
    const json::object* usage = object_of(*doc, "usage");
    if (const auto* message = object_of(*doc, "message")) usage = object_of(*message, "usage");
    if (usage == nullptr) return;
    for (const auto& [key, value] : *usage) usage_[key] = value;
    counts_ = counts_of_usage(usage_);
}

}  // namespace nexus::protocol::anthropic
