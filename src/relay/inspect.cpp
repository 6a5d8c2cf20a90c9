#include "relay/inspect.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>

#include <algorithm>
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

// Whether `v` has `shape`; the error names the field when not.
std::optional<core::Error> check_shape(const json::value& v, const RequiredField& field) {
    const auto name = std::string(field.name);
    switch (field.shape) {
        case FieldShape::kString:
            if (!v.is_string()) return core::Error::bad_request(quoted(name) + " must be a string.", name, "invalid_type");
            if (v.get_string().empty())
                return core::Error::bad_request(quoted(name) + " must not be empty.", name, "invalid_value");
            return std::nullopt;
        case FieldShape::kNonEmptyArray:
            if (!v.is_array()) return core::Error::bad_request(quoted(name) + " must be an array.", name, "invalid_type");
            if (v.get_array().empty())
                return core::Error::bad_request(quoted(name) + " must hold at least one element.", name, "invalid_value");
            return std::nullopt;
        case FieldShape::kStringOrArray:
            if (!v.is_string() && !v.is_array())
                return core::Error::bad_request(quoted(name) + " must be a string or an array.", name, "invalid_type");
            if ((v.is_string() && v.get_string().empty()) || (v.is_array() && v.get_array().empty()))
                return core::Error::bad_request(quoted(name) + " must not be empty.", name, "invalid_value");
            return std::nullopt;
        case FieldShape::kCount:
            if (!v.is_int64() && !v.is_uint64())
                return core::Error::bad_request(quoted(name) + " must be an integer.", name, "invalid_type");
            if (v.is_int64() && v.get_int64() < 0)
                return core::Error::bad_request(quoted(name) + " must not be negative.", name, "invalid_value");
            return std::nullopt;
    }
    return std::nullopt;
}

core::Result<RequestInfo> inspect_json(const Endpoint& endpoint, std::string_view body) {
    // Most request bodies are small: parse them in a stack buffer, spilling to the heap beyond it.
    unsigned char stack[4096];
    json::monotonic_resource resource(stack, sizeof(stack));
    json::error_code ec;
    const json::value doc = json::parse(body, ec, &resource, core::json_parse_options());
    if (ec) {
        return core::Error::bad_request("The request body is not valid JSON. Send a JSON object with \"model\".", {},
                                        "invalid_json");
    }
    const auto* object = doc.if_object();
    if (object == nullptr) {
        return core::Error::bad_request("The request body must be a JSON object.", {}, "invalid_json");
    }

    RequestInfo out;
    const auto* model = object->if_contains("model");
    if (model == nullptr) return missing("model");
    if (!model->is_string() || model->get_string().empty()) {
        return core::Error::bad_request("'model' must be a non-empty string.", "model", "invalid_type");
    }
    if (auto e = check_model_length(model->get_string())) return *e;
    out.model = std::string(model->get_string());

    for (const auto& field : endpoint.required) {
        const auto* v = object->if_contains(field.name);
        if (v == nullptr) return missing(field.name);
        if (auto e = check_shape(*v, field)) return *e;
    }

    if (const auto* stream = object->if_contains("stream"); stream != nullptr && !stream->is_null()) {
        if (!stream->is_bool()) {
            return core::Error::bad_request("'stream' must be a boolean.", "stream", "invalid_type");
        }
        out.stream = stream->get_bool();
        if (out.stream && !endpoint.streams) {
            return core::Error::bad_request(std::string(endpoint.path) + " does not stream; leave 'stream' out.",
                                            "stream", "invalid_value");
        }
    }
    for (const auto* name : {"max_tokens", "max_completion_tokens"}) {
        const auto* v = object->if_contains(name);
        if (v == nullptr) continue;
        std::int64_t n = -1;
        if (v->is_int64()) n = v->get_int64();
        if (v->is_uint64()) n = INT64_MAX;
        if (n >= 0) out.max_tokens = std::max(out.max_tokens.value_or(0), n);
    }
    if (const auto* opts = object->if_contains("stream_options"); opts != nullptr && opts->is_object()) {
        if (const auto* usage = opts->get_object().if_contains("include_usage"); usage && usage->is_bool()) {
            out.include_usage = usage->get_bool();
        }
    }
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
