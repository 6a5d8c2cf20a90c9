#pragma once
// What an Anthropic Messages stream must look like to the SDKs and Claude Code
// (../shared/reference/anthropic.md), checked on a translator's whole output. Shared by the unit
// tests and the stream translator's fuzz target.
#include <boost/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nexus::testing {

struct AnthropicEvent {
    std::string name;
    boost::json::object data;
};

/// The events of `text` ("event: x\ndata: {...}\n\n" each); nullopt-free: an event without its
/// event line, or whose data is not an object, is returned with an empty name or data.
inline std::vector<AnthropicEvent> split_events(std::string_view text) {
    std::vector<AnthropicEvent> out;
    std::size_t at = 0;
    while (at < text.size()) {
        const auto end = text.find("\n\n", at);
        const auto block = text.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
        at = end == std::string_view::npos ? text.size() : end + 2;
        AnthropicEvent e;
        std::size_t line_at = 0;
        while (line_at < block.size()) {
            auto nl = block.find('\n', line_at);
            if (nl == std::string_view::npos) nl = block.size();
            const auto line = block.substr(line_at, nl - line_at);
            line_at = nl + 1;
            if (line.starts_with("event: ")) e.name = line.substr(7);
            if (line.starts_with("data: ")) {
                boost::json::error_code ec;
                auto v = boost::json::parse(line.substr(6), ec);
                if (!ec && v.is_object()) e.data = v.get_object();
            }
        }
        out.push_back(std::move(e));
    }
    return out;
}

/// The first rule `text` breaks, or nullopt when it is a well-formed Anthropic stream: every
/// event named, its `type` its name; message_start first and once; blocks indexed 0..n-1,
/// one open at a time, started before their deltas (of the block's kind) and stopped before
/// the next starts; no text block without text; message_delta with usage.output_tokens, then
/// message_stop last. With `complete` false the stream may stop early or end on an error event.
inline std::optional<std::string> anthropic_stream_violation(std::string_view text, bool complete = true) {
    const auto events = split_events(text);
    if (events.empty()) return "no events";
    std::int64_t next = 0;
    bool open = false;
    std::string kind;
    bool had_text = false;
    bool delta_sent = false;
    bool stopped = false;
    for (std::size_t i = 0; i < events.size(); ++i) {
        const auto& e = events[i];
        if (e.name.empty()) return "event " + std::to_string(i) + " has no event line";
        const auto* type = e.data.if_contains("type");
        if (type == nullptr || !type->is_string() || type->get_string() != e.name) {
            return "event " + std::to_string(i) + " (" + e.name + ") has another type";
        }
        if (stopped) return "an event after message_stop";
        if (i == 0 && e.name != "message_start") return "the first event is " + e.name;
        if (i > 0 && e.name == "message_start") return "a second message_start";
        if (e.name == "message_start") {
            const auto& usage = e.data.at("message").at("usage").as_object();
            if (usage.at("input_tokens").as_int64() + usage.at("cache_read_input_tokens").as_int64() <= 0) {
                return "message_start's input estimate is 0";
            }
        } else if (e.name == "content_block_start") {
            if (open) return "a block started while another is open";
            if (e.data.at("index").as_int64() != next) return "block index " + std::to_string(next) + " skipped";
            const auto& block = e.data.at("content_block").as_object();
            kind = block.at("type").as_string();
            if (kind == "text" && block.at("text").as_string() != "") return "a text block starts with text";
            if (kind == "tool_use" && (!block.at("input").is_object() || !block.at("input").as_object().empty())) {
                return "a tool_use block starts without an empty input";
            }
            open = true;
            had_text = false;
        } else if (e.name == "content_block_delta") {
            if (!open || e.data.at("index").as_int64() != next) return "a delta for a block not open";
            const auto delta_type = e.data.at("delta").at("type").as_string();
            const bool fits = (kind == "text" && delta_type == "text_delta") ||
                              (kind == "thinking" && (delta_type == "thinking_delta" || delta_type == "signature_delta")) ||
                              (kind == "tool_use" && delta_type == "input_json_delta");
            if (!fits) return std::string("a ") + std::string(delta_type) + " in a " + kind + " block";
            if (delta_type == "text_delta" && !e.data.at("delta").at("text").as_string().empty()) had_text = true;
        } else if (e.name == "content_block_stop") {
            if (!open || e.data.at("index").as_int64() != next) return "a stop for a block not open";
            if (kind == "text" && !had_text) return "an empty text block";
            open = false;
            ++next;
        } else if (e.name == "message_delta") {
            if (open) return "message_delta while a block is open";
            if (delta_sent) return "a second message_delta";
            const auto* usage = e.data.if_contains("usage");
            if (usage == nullptr || !usage->is_object() || !usage->as_object().contains("output_tokens")) {
                return "message_delta without usage.output_tokens";
            }
            if (e.data.at("delta").at("stop_reason").as_string().empty()) return "message_delta without stop_reason";
            delta_sent = true;
        } else if (e.name == "message_stop") {
            if (!delta_sent) return "message_stop before message_delta";
            stopped = true;
        } else if (e.name == "error") {
            if (complete) return "an error event";
            stopped = true;
        } else if (e.name != "ping") {
            return "an unknown event " + e.name;
        }
    }
    if (complete && !stopped) return "no message_stop";
    return std::nullopt;
}

}  // namespace nexus::testing
