#include "relay/usage.hpp"

#include <boost/json.hpp>

namespace nexus::relay {

namespace json = boost::json;

namespace {

std::int64_t int_field(const json::object& o, std::string_view name) {
    const auto* v = o.if_contains(name);
    if (v == nullptr) return 0;
    if (v->is_int64()) return v->get_int64();
    if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64());
    return 0;
}

std::optional<Usage> usage_in(const json::object& doc) {
    if (const auto* u = doc.if_contains("usage"); u != nullptr && u->is_object()) {
        const auto& o = u->get_object();
        Usage out{int_field(o, "prompt_tokens"), int_field(o, "completion_tokens"), int_field(o, "total_tokens")};
        if (out.total_tokens == 0) out.total_tokens = out.prompt_tokens + out.completion_tokens;
        return out;
    }
    if (const auto* t = doc.if_contains("tokens"); t != nullptr && t->is_object()) {
        const auto& o = t->get_object();
        Usage out{int_field(o, "input_tokens"), int_field(o, "output_tokens"), 0};
        out.total_tokens = out.prompt_tokens + out.completion_tokens;
        return out;
    }
    return std::nullopt;
}

}  // namespace

std::optional<Usage> usage_of(std::string_view text) {
    if (text.find("\"usage\"") == std::string_view::npos && text.find("\"tokens\"") == std::string_view::npos) {
        return std::nullopt;
    }
    json::error_code ec;
    const auto doc = json::parse(text, ec);
    if (ec || !doc.is_object()) return std::nullopt;
    return usage_in(doc.get_object());
}

void StreamUsage::observe(std::string_view data) {
    if (!include_usage_) {
        if (auto u = usage_of(data)) usage_ = *u;
        return;
    }
    json::error_code ec;
    auto doc = json::parse(data, ec);
    if (ec || !doc.is_object()) return;
    auto& chunk = doc.as_object();
    auto u = usage_in(chunk);
    if (!u) return;
    usage_ = *u;
    usage_json_ = std::move(chunk["usage"]);
    const auto* choices = chunk.if_contains("choices");
    if (choices != nullptr && choices->is_array() && choices->get_array().empty()) upstream_sent_ = true;
    if (id_.is_null()) {
        id_ = chunk["id"];
        created_ = chunk["created"];
        model_ = chunk["model"];
        object_ = chunk["object"];
    }
}

std::string StreamUsage::final_event() {
    if (!include_usage_ || upstream_sent_ || sent_ || usage_json_.is_null()) return {};
    sent_ = true;
    json::object chunk;
    chunk["id"] = id_;
    chunk["object"] = object_.is_null() ? json::value("chat.completion.chunk") : object_;
    chunk["created"] = created_;
    chunk["model"] = model_;
    chunk["choices"] = json::array();
    chunk["usage"] = usage_json_;
    return "data: " + json::serialize(chunk) + "\n\n";
}

}  // namespace nexus::relay
