#include "relay/inspect.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/static_resource.hpp>

namespace nexus::relay {

namespace json = boost::json;

core::Result<ChatRequest> inspect_chat_request(std::string_view body) {
    // Most request bodies are small: parse them in a stack buffer, spilling to the heap beyond it.
    unsigned char stack[4096];
    json::monotonic_resource resource(stack, sizeof(stack));
    json::parse_options options;
    options.max_depth = 64;
    json::error_code ec;
    const json::value doc = json::parse(body, ec, &resource, options);
    if (ec) {
        return core::Error::bad_request(
            "The request body is not valid JSON. Send a JSON object with \"model\" and \"messages\".", {},
            "invalid_json");
    }
    const auto* object = doc.if_object();
    if (object == nullptr) {
        return core::Error::bad_request("The request body must be a JSON object.", {}, "invalid_json");
    }

    ChatRequest out;
    const auto* model = object->if_contains("model");
    if (model == nullptr) {
        return core::Error::bad_request("Missing required parameter: 'model'.", "model", "missing_required_parameter");
    }
    if (!model->is_string() || model->get_string().empty()) {
        return core::Error::bad_request("'model' must be a non-empty string.", "model", "invalid_type");
    }
    out.model = std::string(model->get_string());

    const auto* messages = object->if_contains("messages");
    if (messages == nullptr) {
        return core::Error::bad_request("Missing required parameter: 'messages'.", "messages",
                                        "missing_required_parameter");
    }
    if (!messages->is_array()) {
        return core::Error::bad_request("'messages' must be an array of message objects.", "messages",
                                        "invalid_type");
    }
    if (messages->get_array().empty()) {
        return core::Error::bad_request("'messages' must hold at least one message.", "messages", "invalid_value");
    }

    if (const auto* stream = object->if_contains("stream"); stream != nullptr && !stream->is_null()) {
        if (!stream->is_bool()) {
            return core::Error::bad_request("'stream' must be a boolean.", "stream", "invalid_type");
        }
        out.stream = stream->get_bool();
    }
    if (const auto* opts = object->if_contains("stream_options"); opts != nullptr && opts->is_object()) {
        if (const auto* usage = opts->get_object().if_contains("include_usage"); usage && usage->is_bool()) {
            out.include_usage = usage->get_bool();
        }
    }
    return out;
}

}  // namespace nexus::relay
