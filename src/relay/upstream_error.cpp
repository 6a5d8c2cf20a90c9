#include "relay/upstream_error.hpp"

#include <boost/json/parse.hpp>

#include <string>

#include "core/json.hpp"

namespace nexus::relay {

namespace json = boost::json;

namespace {

// SiliconFlow says "your account cannot pay" with this code (on a 403).
constexpr std::string_view kSiliconFlowBalanceCode = "30001";
constexpr std::size_t kMaxMessage = 1024;  // of the upstream's message, after scrubbing
constexpr std::size_t kMaxField = 256;     // of its code, type and param

std::string code_text(const json::value* v) {
    if (v == nullptr) return {};
    if (v->is_string()) return std::string(v->get_string());
    if (v->is_int64()) return std::to_string(v->get_int64());
    if (v->is_uint64()) return std::to_string(v->get_uint64());
    return {};
}

std::string trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\n' || s.front() == '\r' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return std::string(s);
}

void scrub(std::string& text, std::string_view secret) {
    if (secret.size() < 4) return;
    for (auto pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos)) {
        text.replace(pos, secret.size(), "[redacted]");
    }
}

}  // namespace

core::Error translate_upstream_error(int status, std::string_view body, std::string_view secret, bool request_refused) {
    core::Error e;
    e.status = status;
    std::string upstream_message;
    std::string upstream_code;
    std::string upstream_type;
    std::string upstream_param;

    json::error_code ec;
    const auto doc = json::parse(body, ec, {}, core::json_parse_options());
    if (!ec && doc.is_object()) {
        const auto& o = doc.get_object();
        if (const auto* inner = o.if_contains("error"); inner && inner->is_object()) {
            const auto& eo = inner->get_object();
            if (const auto* m = eo.if_contains("message"); m && m->is_string()) upstream_message = m->get_string();
            if (const auto* t = eo.if_contains("type"); t && t->is_string()) upstream_type = t->get_string();
            if (const auto* p = eo.if_contains("param"); p && p->is_string()) upstream_param = p->get_string();
            upstream_code = code_text(eo.if_contains("code"));
        } else if (inner && inner->is_string()) {
            upstream_message = inner->get_string();
        } else {
            if (const auto* m = o.if_contains("message"); m && m->is_string()) upstream_message = m->get_string();
            upstream_code = code_text(o.if_contains("code"));
        }
    } else if (!ec && doc.is_string()) {
        upstream_message = doc.get_string();
    } else {
        upstream_message = trim(body);
    }
    // Scrub before cutting: a key that straddles the cut would otherwise leave its head behind.
    for (auto* field : {&upstream_message, &upstream_code, &upstream_type, &upstream_param}) {
        scrub(*field, secret);
    }
    if (upstream_message.empty()) upstream_message = "no message";
    if (upstream_message.size() > kMaxMessage) upstream_message.resize(kMaxMessage);
    for (auto* field : {&upstream_code, &upstream_type, &upstream_param}) {
        if (field->size() > kMaxField) field->resize(kMaxField);
    }

    const bool balance = upstream_code == kSiliconFlowBalanceCode;
    switch (status) {
        case 400:
            e.type = "invalid_request_error";
            break;
        case 401:
            e.type = "authentication_error";
            e.message = "The upstream rejected the channel's API key: ";
            e.allow_fallbacks = true;
            if (upstream_code.empty()) upstream_code = "invalid_api_key";
            break;
        case 402:
            e.type = "insufficient_quota";
            e.message = "The upstream account behind this channel cannot pay for the call: ";
            e.allow_fallbacks = true;
            break;
        case 403:
            e.type = "permission_error";
            e.message = balance ? "The upstream account behind this channel cannot pay for the call: "
                                : "The upstream refused the channel's API key for this call: ";
            e.allow_fallbacks = true;
            break;
        case 404:
            e.type = "invalid_request_error";
            if (upstream_code.empty()) upstream_code = "not_found";
            break;
        case 408:
        case 409:
        case 422:
            e.type = "invalid_request_error";
            break;
        case 429:
            e.type = "rate_limit_error";
            e.allow_fallbacks = true;
            if (upstream_code.empty()) upstream_code = "rate_limit_exceeded";
            break;
        default:
            e.type = status >= 500 ? "api_error" : "invalid_request_error";
            e.allow_fallbacks = status >= 500;
            if (status >= 500) e.message = "The upstream failed: ";
    }
    if (request_refused && (status == 401 || status == 402 || status == 403)) {
        e.message = "The upstream refused this request (the channel's key is valid): ";
    }
    if (!upstream_type.empty() && status != 401 && status != 403) e.type = upstream_type;
    e.upstream_message = upstream_message;
    e.message += upstream_message;
    e.code = upstream_code;
    e.param = upstream_param;
    e.detail = "upstream status " + std::to_string(status);
    return e;
}

FailureKind classify_upstream_failure(int status, const core::Error& translated) {
    if (status == 401) return FailureKind::kKeyRejected;
    if (status == 402 || translated.code == kSiliconFlowBalanceCode) return FailureKind::kBalance;
    if (status == 403) return FailureKind::kRefused;
    if (status == 429) return FailureKind::kRateLimited;
    if (status >= 500) return FailureKind::kTransient;
    return FailureKind::kClientFault;
}

}  // namespace nexus::relay
