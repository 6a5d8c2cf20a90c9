#include "protocol/anthropic/estimate.hpp"

#include <boost/json.hpp>

#include "protocol/anthropic/json_access.hpp"

namespace nexus::protocol::anthropic {

namespace json = boost::json;
using namespace detail;

namespace {

constexpr std::int64_t kRequestFraming = 7;  // the prompt's opening and the assistant's turn
constexpr std::int64_t kTurnFraming = 3;     // role markers around each turn
constexpr std::int64_t kImage = 1600;        // Anthropic's figure for a ~1.15 megapixel image
constexpr std::int64_t kToolFraming = 20;    // the tool-use preamble per tool

std::int64_t of_value(const json::value& v);

std::int64_t of_block(const json::object& block) {
    const auto type = string_of(block, "type");
    if (type == "text") return estimate_tokens(string_of(block, "text"));
    if (type == "image") return kImage;
    if (type == "thinking") return estimate_tokens(string_of(block, "thinking"));
    if (type == "tool_use") {
        const auto* input = member(block, "input");
        return estimate_tokens(string_of(block, "name")) + (input != nullptr ? estimate_tokens(json::serialize(*input)) : 0);
    }
    if (type == "tool_result") {
        const auto* content = member(block, "content");
        return kTurnFraming + (content != nullptr ? of_value(*content) : 0);
    }
    if (type == "document") {
        const auto* source = object_of(block, "source");
        return source != nullptr ? estimate_tokens(string_of(*source, "data")) : 0;
    }
    return estimate_tokens(json::serialize(block));
}

// A string, or an array of blocks.
std::int64_t of_value(const json::value& v) {
    if (v.is_string()) return estimate_tokens(v.get_string());
    std::int64_t n = 0;
    if (v.is_array()) {
        for (const auto& b : v.get_array()) {
            if (b.is_object()) n += of_block(b.get_object());
        }
    }
    return n;
}

}  // namespace

std::int64_t estimate_tokens(std::string_view text) {
    std::int64_t ascii = 0;
    std::int64_t other = 0;
    for (const unsigned char c : text) {
        if (c < 0x80) {
            ++ascii;
        } else if ((c & 0xC0) != 0x80) {
            ++other;  // the first byte of a multi-byte character
        }
    }
    return (ascii + 3) / 4 + other;
}

std::int64_t estimate_input_tokens(const json::object& request) {
    std::int64_t n = kRequestFraming;
    if (const auto* system = member(request, "system")) n += of_value(*system);
    if (const auto* turns = array_of(request, "messages")) {
        for (const auto& t : *turns) {
            if (!t.is_object()) continue;
            n += kTurnFraming;
            if (const auto* content = member(t.get_object(), "content")) n += of_value(*content);
        }
    }
    if (const auto* tools = array_of(request, "tools")) {
        for (const auto& t : *tools) {
            if (!t.is_object()) continue;
            const auto& tool = t.get_object();
            n += kToolFraming + estimate_tokens(string_of(tool, "name")) + estimate_tokens(string_of(tool, "description"));
            if (const auto* schema = member(tool, "input_schema")) n += estimate_tokens(json::serialize(*schema));
        }
    }
    return n;
}

}  // namespace nexus::protocol::anthropic
