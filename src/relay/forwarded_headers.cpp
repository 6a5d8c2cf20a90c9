#include "relay/forwarded_headers.hpp"

#include <boost/beast/core/string.hpp>

#include <algorithm>
#include <iterator>

#include "core/wire.hpp"

namespace nexus::relay {

namespace {

// Both names on the upstream list are known to Beast: a parsed field is matched by its tag.
constexpr boost::beast::http::field kToUpstream[] = {boost::beast::http::field::content_type,
                                                     boost::beast::http::field::accept};
constexpr std::string_view kToClient[] = {"retry-after", "retry-after-ms", "openai-processing-ms", "openai-model",
                                          "x-siliconcloud-trace-id"};
constexpr std::string_view kToClientPrefix = "x-ratelimit-";
constexpr std::string_view kAnthropicVersion = "2023-06-01";

bool any_of(std::span<const std::string_view> names, std::string_view name) {
    for (const auto n : names) {
        if (boost::beast::iequals(name, n)) return true;
    }
    return false;
}

}  // namespace

bool forwarded_to_upstream(boost::beast::http::field name) {
    return std::find(std::begin(kToUpstream), std::end(kToUpstream), name) != std::end(kToUpstream);
}

namespace {

// forwarded_to_client for a parsed field: of the names on its list only Retry-After is a known
// one; the others (and the X-RateLimit-* prefix) are compared as text, and only for the fields
// Beast did not know.
bool forwarded_to_client(const core::FlatFields::Field& f, bool rate_limits) {
    using boost::beast::http::field;
    if (f.name() == field::retry_after) return true;
    return f.name() == field::unknown && relay::forwarded_to_client(f.name_string(), rate_limits);
}

}  // namespace

bool forwarded_to_client(std::string_view name, bool rate_limits) {
    return any_of(kToClient, name) ||
           (rate_limits && name.size() > kToClientPrefix.size() &&
            boost::beast::iequals(name.substr(0, kToClientPrefix.size()), kToClientPrefix));
}

void append_forwarded_request_fields(std::string& out, const http::Request& client) {
    for (const auto& f : client) {
        if (forwarded_to_upstream(f.name())) core::append_field(out, f.name_string(), f.value());
    }
}

std::string upstream_request_fields(const snapshot::ChannelView& channel, std::string_view request_id,
                                    const http::Request* client) {
    static constexpr std::string_view kUserAgent = "nexus-api/" PROJECT_VERSION_STRING;
    std::string fields;
    fields.reserve(256);
    if (client != nullptr) append_forwarded_request_fields(fields, *client);
    if (client == nullptr || (*client)[boost::beast::http::field::content_type].empty()) {
        core::append_field(fields, "Content-Type", "application/json");
    }
    fields.append(channel.provider->auth_header).append(": ").append(channel.provider->auth_prefix);
    fields.append(channel.key).append("\r\n");
    if (channel.provider->protocol == core::WireProtocol::kAnthropic) {
        // Anthropic wants its API version on every call: the client's when it speaks Anthropic's
        // API (its betas with it), else the version our translation is written for.
        const std::string_view version = client != nullptr ? std::string_view((*client)["anthropic-version"]) : std::string_view();
        core::append_field(fields, "anthropic-version", version.empty() ? kAnthropicVersion : version);
        if (client != nullptr) {
            const std::string_view beta = (*client)["anthropic-beta"];
            if (!beta.empty()) core::append_field(fields, "anthropic-beta", beta);
        }
    }
    core::append_field(fields, "X-Request-Id", request_id);
    core::append_field(fields, "User-Agent", kUserAgent);
    return fields;
}

void append_forwarded_response_fields(std::string& out, const upstream::Head& upstream, bool rate_limits) {
    for (const auto& f : upstream) {
        if (forwarded_to_client(f, rate_limits)) core::append_field(out, f.name_string(), f.value());
    }
}

}  // namespace nexus::relay
