#include "protocol/anthropic/error.hpp"

#include "core/json.hpp"
#include "protocol/anthropic/mapping.hpp"

namespace nexus::protocol::anthropic {

namespace {

void append_error_object(std::string& out, const core::Error& error) {
    out.append(R"({"type":)");
    core::append_json_string(out, error_type_of(error.status));
    out.append(R"(,"message":)");
    core::append_json_string(out, error.upstream_message.empty() ? error.message : error.upstream_message);
    out.append("}");
}

}  // namespace

std::string error_body(const core::Error& error, std::string_view request_id) {
    std::string out = R"({"type":"error","error":)";
    append_error_object(out, error);
    out.append(R"(,"request_id":)");
    core::append_json_string(out, request_id);
    out.append("}");
    return out;
}

std::string error_event(const core::Error& error) {
    std::string out = "event: error\ndata: {\"type\":\"error\",\"error\":";
    append_error_object(out, error);
    out.append("}\n\n");
    return out;
}

}  // namespace nexus::protocol::anthropic
