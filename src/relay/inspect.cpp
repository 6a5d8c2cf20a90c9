#include "relay/inspect.hpp"

#include <boost/json/basic_parser_impl.hpp>

#include <algorithm>
#include <array>
#include <cstdint>

#include "core/json.hpp"
#include "relay/multipart.hpp"

namespace nexus::relay {

namespace json = boost::json;

namespace {

std::string quoted(std::string_view name) {
    std::string out(1, '\'');
    out.append(name).push_back('\'');
    return out;
}

core::Error missing(std::string_view name) {
    return core::Error::bad_request("Missing required parameter: " + quoted(name) + ".", std::string(name),
                                    "missing_required_parameter");
}

// What a request body's top-level field held, as far as inspection cares.
struct Seen {
    enum class Kind : std::uint8_t { kAbsent, kString, kArray, kObject, kInt, kUint, kBool, kNull, kOther };
    Kind kind = Kind::kAbsent;
    std::size_t size = 0;  ///< a string's bytes, an array's elements
    std::int64_t number = 0;
    bool flag = false;
};

// Reads a JSON request body in one SAX pass, keeping only what inspection needs of its top-level
// fields: no DOM, so a long conversation's text is never copied. A key given twice counts with its
// last value, as a DOM parse keeps it.
class InspectHandler : public core::UnboundedSaxLimits {
public:
    explicit InspectHandler(const Endpoint& endpoint) : endpoint_(endpoint) {}

    bool top_is_object = false;
    std::string model_text;             ///< the model's name, up to one byte past kMaxModelBytes
    std::optional<bool> include_usage;  ///< stream_options.include_usage

    /// What the top-level field `name` held.
    const Seen& field(std::string_view name) const {
        static constexpr Seen kAbsent;
        const auto i = index_of(name);
        return i ? seen_[*i] : kAbsent;
    }

    bool on_document_begin(json::error_code&) { return true; }
    bool on_document_end(json::error_code&) { return true; }
    bool on_object_begin(json::error_code&) {
        if (depth_ == 0) top_is_object = true;
        if (depth_ == 1) {
            value_begins(Seen::Kind::kObject);
            in_stream_options_ = target_ == &seen_[kStreamOptions];
        }
        ++depth_;
        return true;
    }
    bool on_object_end(std::size_t, json::error_code&) {
        if (--depth_ == 1) value_ends();
        return true;
    }
    bool on_array_begin(json::error_code&) {
        if (depth_ == 1) value_begins(Seen::Kind::kArray);
        ++depth_;
        return true;
    }
    bool on_array_end(std::size_t n, json::error_code&) {
        if (--depth_ == 1) {
            if (target_ != nullptr) target_->size = n;
            value_ends();
        }
        return true;
    }
    bool on_key_part(std::string_view part, std::size_t, json::error_code&) {
        if (depth_ <= 2) key_.append(part);
        return true;
    }
    bool on_key(std::string_view part, std::size_t, json::error_code&) {
        if (depth_ > 2) return true;
        std::string_view k = part;
        if (!key_.empty()) k = key_.append(part);
        if (depth_ == 1) {
            const auto i = index_of(k);
            target_ = i ? &seen_[*i] : nullptr;
        }
        if (depth_ == 2 && in_stream_options_) {
            usage_key_ = k == "include_usage";
            if (usage_key_) include_usage.reset();  // the last one counts, if it is a boolean
        }
        key_.clear();
        return true;
    }
    bool on_string_part(std::string_view part, std::size_t n, json::error_code&) {
        if (depth_ == 1 && target_ == &seen_[kModel]) model_part(part, n);
        return true;
    }
    bool on_string(std::string_view part, std::size_t n, json::error_code&) {
        if (depth_ != 1) return scalar_ends();
        if (target_ == &seen_[kModel]) model_part(part, n);
        if (auto* seen = value_begins(Seen::Kind::kString)) seen->size = n;
        return value_ends();
    }
    bool on_number_part(std::string_view, json::error_code&) { return true; }
    bool on_int64(std::int64_t v, std::string_view, json::error_code&) {
        if (depth_ != 1) return scalar_ends();
        if (auto* seen = value_begins(Seen::Kind::kInt)) seen->number = v;
        return value_ends();
    }
    bool on_uint64(std::uint64_t, std::string_view, json::error_code&) { return scalar(Seen::Kind::kUint); }
    bool on_double(double, std::string_view, json::error_code&) { return scalar(Seen::Kind::kOther); }
    bool on_bool(bool b, json::error_code&) {
        if (depth_ == 2 && usage_key_) include_usage = b;
        if (depth_ != 1) return scalar_ends();
        if (auto* seen = value_begins(Seen::Kind::kBool)) seen->flag = b;
        return value_ends();
    }
    bool on_null(json::error_code&) { return scalar(Seen::Kind::kNull); }
    bool on_comment_part(std::string_view, json::error_code&) { return true; }
    bool on_comment(std::string_view, json::error_code&) { return true; }

private:
    enum Known : std::uint8_t { kModel, kStream, kMaxTokens, kMaxCompletionTokens, kStreamOptions, kKnown };
    static constexpr std::array<std::string_view, kKnown> kKnownNames{"model", "stream", "max_tokens",
                                                                      "max_completion_tokens", "stream_options"};

    // Where the top-level field `k` is kept: a field read by every endpoint, then this one's own.
    std::optional<std::size_t> index_of(std::string_view k) const {
        for (std::size_t i = 0; i < kKnown; ++i) {
            if (kKnownNames[i] == k) return i;
        }
        for (std::size_t i = 0; i < endpoint_.required.size(); ++i) {
            if (endpoint_.required[i].name == k) return kKnown + i;
        }
        return std::nullopt;
    }
    // A string's piece of the model's name; `n` counts its bytes so far. Past kMaxModelBytes the
    // name is refused, so one more byte is all that is kept.
    void model_part(std::string_view part, std::size_t n) {
        if (n == part.size()) model_text.clear();  // the string's first piece
        const auto room = kMaxModelBytes + 1 - std::min(model_text.size(), kMaxModelBytes + 1);
        model_text.append(part.substr(0, room));
    }
    // A top-level value begins: its field (if it is one inspection reads) now holds it alone.
    Seen* value_begins(Seen::Kind kind) {
        if (target_ == nullptr) return nullptr;
        if (target_ == &seen_[kStreamOptions]) include_usage.reset();
        *target_ = Seen{kind};
        return target_;
    }
    bool value_ends() {
        target_ = nullptr;
        in_stream_options_ = false;
        return true;
    }
    bool scalar(Seen::Kind kind) {
        if (depth_ != 1) return scalar_ends();
        value_begins(kind);
        return value_ends();
    }
    bool scalar_ends() {
        if (depth_ == 2) usage_key_ = false;
        return true;
    }

    const Endpoint& endpoint_;
    std::array<Seen, kKnown + kMaxRequiredFields> seen_{};
    Seen* target_ = nullptr;  ///< the field whose value comes next, or is open (depth 1)
    std::string key_;
    int depth_ = 0;
    bool in_stream_options_ = false;
    bool usage_key_ = false;
};

// Whether `v` has `shape`; the error names the field when not.
std::optional<core::Error> check_shape(const Seen& v, const RequiredField& field) {
    using Kind = Seen::Kind;
    const auto name = std::string(field.name);
    switch (field.shape) {
        case FieldShape::kString:
            if (v.kind != Kind::kString) return core::Error::bad_request(quoted(name) + " must be a string.", name, "invalid_type");
            if (v.size == 0) return core::Error::bad_request(quoted(name) + " must not be empty.", name, "invalid_value");
            return std::nullopt;
        case FieldShape::kNonEmptyArray:
            if (v.kind != Kind::kArray) return core::Error::bad_request(quoted(name) + " must be an array.", name, "invalid_type");
            if (v.size == 0)
                return core::Error::bad_request(quoted(name) + " must hold at least one element.", name, "invalid_value");
            return std::nullopt;
        case FieldShape::kStringOrArray:
            if (v.kind != Kind::kString && v.kind != Kind::kArray)
                return core::Error::bad_request(quoted(name) + " must be a string or an array.", name, "invalid_type");
            if (v.size == 0) return core::Error::bad_request(quoted(name) + " must not be empty.", name, "invalid_value");
            return std::nullopt;
        case FieldShape::kCount:
            if (v.kind != Kind::kInt && v.kind != Kind::kUint)
                return core::Error::bad_request(quoted(name) + " must be an integer.", name, "invalid_type");
            if (v.kind == Kind::kInt && v.number < 0)
                return core::Error::bad_request(quoted(name) + " must not be negative.", name, "invalid_value");
            return std::nullopt;
    }
    return std::nullopt;
}

core::Result<RequestInfo> inspect_json(const Endpoint& endpoint, std::string_view body) {
    using Kind = Seen::Kind;
    json::basic_parser<InspectHandler> parser(core::json_parse_options(), endpoint);
    json::error_code ec;
    const auto n = parser.write_some(false, body.data(), body.size(), ec);
    auto& h = parser.handler();
    if (ec || n != body.size()) {
        return core::Error::bad_request("The request body is not valid JSON. Send a JSON object with \"model\".", {},
                                        "invalid_json");
    }
    if (!h.top_is_object) {
        return core::Error::bad_request("The request body must be a JSON object.", {}, "invalid_json");
    }

    RequestInfo out;
    const auto& model = h.field("model");
    if (model.kind == Kind::kAbsent) return missing("model");
    if (model.kind != Kind::kString || model.size == 0) {
        return core::Error::bad_request("'model' must be a non-empty string.", "model", "invalid_type");
    }
    if (auto e = check_model_length(h.model_text)) return *e;
    out.model = std::move(h.model_text);

    for (const auto& field : endpoint.required) {
        const auto& v = h.field(field.name);
        if (v.kind == Kind::kAbsent) return missing(field.name);
        if (auto e = check_shape(v, field)) return *e;
    }

    if (const auto& stream = h.field("stream"); stream.kind != Kind::kAbsent && stream.kind != Kind::kNull) {
        if (stream.kind != Kind::kBool) {
            return core::Error::bad_request("'stream' must be a boolean.", "stream", "invalid_type");
        }
        out.stream = stream.flag;
        if (out.stream && !endpoint.streams) {
            return core::Error::bad_request(std::string(endpoint.path) + " does not stream; leave 'stream' out.",
                                            "stream", "invalid_value");
        }
    }
    for (const auto* v : {&h.field("max_tokens"), &h.field("max_completion_tokens")}) {
        std::int64_t n = -1;
        if (v->kind == Kind::kInt) n = v->number;
        if (v->kind == Kind::kUint) n = INT64_MAX;
        if (n >= 0) out.max_tokens = std::max(out.max_tokens.value_or(0), n);
    }
    out.include_usage = h.include_usage.value_or(false);
    return out;
}

core::Result<RequestInfo> inspect_form(const Endpoint& endpoint, std::string_view body, std::string_view content_type) {
    const auto boundary = form_boundary(content_type);
    if (!boundary) {
        return core::Error::bad_request(std::string(endpoint.path) +
                                            " takes a multipart/form-data body with a boundary in its Content-Type.",
                                        {}, "invalid_content_type");
    }
    auto parts = parse_form(body, *boundary);
    if (!parts) return parts.error();

    RequestInfo out;
    const FormPart* model = nullptr;
    for (const auto& p : *parts) {
        if (p.name == "model" && p.filename.empty()) model = &p;
    }
    if (model == nullptr) return missing("model");
    if (model->value.empty()) {
        return core::Error::bad_request("'model' must be a non-empty string.", "model", "invalid_value");
    }
    if (auto e = check_model_length(model->value)) return *e;
    out.model = std::string(model->value);
    out.model_offset = model->value_offset;
    for (const auto& field : endpoint.required) {
        bool found = false;
        for (const auto& p : *parts) found = found || (p.name == field.name && !p.value.empty());
        if (!found) return missing(field.name);
    }
    return out;
}

}  // namespace

std::optional<core::Error> check_model_length(std::string_view model) {
    if (model.size() <= kMaxModelBytes) return std::nullopt;
    return core::Error::bad_request("'model' is longer than " + std::to_string(kMaxModelBytes) + " bytes.", "model",
                                    "invalid_value");
}

core::Result<RequestInfo> inspect_request(const Endpoint& endpoint, std::string_view body,
                                          std::string_view content_type) {
    return endpoint.multipart ? inspect_form(endpoint, body, content_type) : inspect_json(endpoint, body);
}

}  // namespace nexus::relay
