#include "relay/usage.hpp"

#include <boost/json.hpp>
#include <boost/json/basic_parser_impl.hpp>

#include <algorithm>
#include <cstdint>

#include "core/json.hpp"

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
        out.cached_tokens = int_field(o, "prompt_cache_hit_tokens");
        if (const auto* d = o.if_contains("prompt_tokens_details"); d != nullptr && d->is_object()) {
            out.cached_tokens = std::max(out.cached_tokens, int_field(d->get_object(), "cached_tokens"));
        }
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

// A SAX handler that reads only the top-level `usage` (or `tokens`) object's counts, so a
// whole answer is checked for JSON validity without building its DOM (that was the costliest
// step of relaying a completion).
class UsageHandler : public core::UnboundedSaxLimits {
public:
    bool found = false;
    bool top_is_object = false;
    Usage usage;

    bool on_document_begin(json::error_code&) { return true; }
    bool on_document_end(json::error_code&) { return true; }
    bool on_object_begin(json::error_code&) {
        if (depth_ == 0) top_is_object = true;
        ++depth_;
        if (depth_ == 2 && (key_ == Key::kUsage || key_ == Key::kTokens)) {
            in_usage_ = true;
            rerank_ = key_ == Key::kTokens;
            usage = {};
            anthropic_ = {};
        }
        if (depth_ == 3 && in_usage_ && key_ == Key::kPromptDetails) in_details_ = true;
        key_ = Key::kOther;
        return true;
    }
    bool on_object_end(std::size_t, json::error_code&) {
        if (depth_ == 3) in_details_ = false;
        if (depth_ == 2 && in_usage_) {
            in_usage_ = false;
            found = true;
            if (anthropic_.seen) {
                // Anthropic's usage: the prompt is every input, its cached part the cache read.
                usage.prompt_tokens = anthropic_.input + anthropic_.cache_read + anthropic_.cache_creation;
                usage.cached_tokens = anthropic_.cache_read;
                usage.total_tokens = 0;
            }
            if (rerank_ || usage.total_tokens == 0) usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
        }
        --depth_;
        return true;
    }
    bool on_array_begin(json::error_code&) {
        ++depth_;
        key_ = Key::kOther;
        return true;
    }
    bool on_array_end(std::size_t, json::error_code&) {
        --depth_;
        return true;
    }
    bool on_key_part(std::string_view part, std::size_t, json::error_code&) {
        key_buf_.append(part);
        return true;
    }
    bool on_key(std::string_view part, std::size_t, json::error_code&) {
        std::string_view k = part;
        if (!key_buf_.empty()) {
            key_buf_.append(part);
            k = key_buf_;
        }
        key_ = classify(k);
        key_buf_.clear();
        return true;
    }
    bool on_string_part(std::string_view, std::size_t, json::error_code&) { return true; }
    bool on_string(std::string_view, std::size_t, json::error_code&) { return value_done(); }
    bool on_number_part(std::string_view, json::error_code&) { return true; }
    bool on_int64(std::int64_t v, std::string_view, json::error_code&) { return count(v); }
    bool on_uint64(std::uint64_t v, std::string_view, json::error_code&) {
        return count(static_cast<std::int64_t>(std::min<std::uint64_t>(v, INT64_MAX)));
    }
    bool on_double(double, std::string_view, json::error_code&) { return value_done(); }
    bool on_bool(bool, json::error_code&) { return value_done(); }
    bool on_null(json::error_code&) { return value_done(); }
    bool on_comment_part(std::string_view, json::error_code&) { return true; }
    bool on_comment(std::string_view, json::error_code&) { return true; }

private:
    enum class Key : std::uint8_t {
        kOther, kUsage, kTokens, kPrompt, kCompletion, kTotal, kPromptDetails, kCached,
        kAnthropicInput, kAnthropicOutput, kCacheRead, kCacheCreation  // an Anthropic message's usage
    };
    Key classify(std::string_view k) const {
        if (depth_ == 1) return k == "usage" ? Key::kUsage : k == "tokens" ? Key::kTokens : Key::kOther;
        if (depth_ == 2 && in_usage_) {
            if (k == (rerank_ ? "input_tokens" : "prompt_tokens")) return Key::kPrompt;
            if (k == (rerank_ ? "output_tokens" : "completion_tokens")) return Key::kCompletion;
            if (!rerank_ && k == "total_tokens") return Key::kTotal;
            if (!rerank_ && k == "prompt_tokens_details") return Key::kPromptDetails;
            if (!rerank_ && k == "prompt_cache_hit_tokens") return Key::kCached;
            if (!rerank_ && k == "input_tokens") return Key::kAnthropicInput;
            if (!rerank_ && k == "output_tokens") return Key::kAnthropicOutput;
            if (!rerank_ && k == "cache_read_input_tokens") return Key::kCacheRead;
            if (!rerank_ && k == "cache_creation_input_tokens") return Key::kCacheCreation;
        }
        if (depth_ == 3 && in_details_ && k == "cached_tokens") return Key::kCached;
        return Key::kOther;
    }
    bool count(std::int64_t v) {
        if (in_usage_ && depth_ == 2) {
            if (key_ == Key::kPrompt) usage.prompt_tokens = v;
            if (key_ == Key::kCompletion) usage.completion_tokens = v;
            if (key_ == Key::kTotal) usage.total_tokens = v;
            if (key_ == Key::kAnthropicInput) anthropic_.input = v;
            if (key_ == Key::kAnthropicOutput) usage.completion_tokens = v;
            if (key_ == Key::kCacheRead) anthropic_.cache_read = v;
            if (key_ == Key::kCacheCreation) anthropic_.cache_creation = v;
            if (key_ >= Key::kAnthropicInput) anthropic_.seen = true;
        }
        if (key_ == Key::kCached && in_usage_ && (depth_ == 2 || (depth_ == 3 && in_details_))) {
            usage.cached_tokens = std::max(usage.cached_tokens, v);
        }
        return value_done();
    }
    bool value_done() {
        key_ = Key::kOther;
        return true;
    }

    struct AnthropicInputs {
        std::int64_t input = 0;
        std::int64_t cache_read = 0;
        std::int64_t cache_creation = 0;
        bool seen = false;
    };
    AnthropicInputs anthropic_;
    int depth_ = 0;
    bool in_usage_ = false;
    bool in_details_ = false;
    bool rerank_ = false;
    Key key_ = Key::kOther;
    std::string key_buf_;
};

std::optional<Usage> usage_of(std::string_view text) {
    if (text.find("\"usage\"") == std::string_view::npos && text.find("\"tokens\"") == std::string_view::npos) {
        return std::nullopt;
    }
    json::basic_parser<UsageHandler> parser(core::json_parse_options());
    json::error_code ec;
    const auto n = parser.write_some(false, text.data(), text.size(), ec);
    const auto& h = parser.handler();
    if (ec || n != text.size() || !h.top_is_object || !h.found) return std::nullopt;
    return h.usage;
}

struct UsageReader::Impl {
    Impl() : parser(core::json_parse_options()) {}
    json::basic_parser<UsageHandler> parser;
    bool failed = false;
};

UsageReader::UsageReader() : impl_(std::make_unique<Impl>()) {}
UsageReader::~UsageReader() = default;

void UsageReader::feed(std::string_view piece) {
    if (impl_->failed || piece.empty()) return;
    json::error_code ec;
    impl_->parser.write_some(true, piece.data(), piece.size(), ec);
    if (ec) impl_->failed = true;
}

std::optional<Usage> UsageReader::finish() {
    if (impl_->failed) return std::nullopt;
    json::error_code ec;
    impl_->parser.write_some(false, nullptr, 0, ec);
    const auto& h = impl_->parser.handler();
    if (ec || !h.top_is_object || !h.found) return std::nullopt;
    return h.usage;
}

void StreamUsage::observe(std::string_view data) {
    if (!include_usage_) {
        if (auto u = usage_of(data)) {
            usage_ = *u;
            reported_ = true;
        }
        return;
    }
    json::error_code ec;
    auto doc = json::parse(data, ec, {}, core::json_parse_options());
    if (ec || !doc.is_object()) return;
    auto& chunk = doc.as_object();
    auto u = usage_in(chunk);
    if (!u) return;
    usage_ = *u;
    reported_ = true;
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
