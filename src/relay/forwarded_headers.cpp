#include "relay/forwarded_headers.hpp"

#include <boost/beast/core/string.hpp>

#include "core/wire.hpp"

namespace nexus::relay {

namespace {

constexpr std::string_view kToUpstream[] = {"content-type", "accept"};
constexpr std::string_view kToClient[] = {"retry-after", "retry-after-ms", "openai-processing-ms", "openai-model",
                                          "x-siliconcloud-trace-id"};
constexpr std::string_view kToClientPrefix = "x-ratelimit-";

bool any_of(std::span<const std::string_view> names, std::string_view name) {
    for (const auto n : names) {
        if (boost::beast::iequals(name, n)) return true;
    }
    return false;
}

}  // namespace

bool forwarded_to_upstream(std::string_view name) { return any_of(kToUpstream, name); }

bool forwarded_to_client(std::string_view name) {
    return any_of(kToClient, name) ||
           (name.size() > kToClientPrefix.size() && boost::beast::iequals(name.substr(0, kToClientPrefix.size()), kToClientPrefix));
}

void append_forwarded_request_fields(std::string& out, const boost::beast::http::fields& client) {
    for (const auto& f : client) {
        if (forwarded_to_upstream(f.name_string())) core::append_field(out, f.name_string(), f.value());
    }
}

void append_forwarded_response_fields(std::string& out, const boost::beast::http::fields& upstream) {
    for (const auto& f : upstream) {
        if (forwarded_to_client(f.name_string())) core::append_field(out, f.name_string(), f.value());
    }
}

}  // namespace nexus::relay
