#include "admin/resources.hpp"

#include <boost/json/parse.hpp>

#include <chrono>

#include "accounts/password.hpp"
#include "accounts/roles.hpp"
#include "core/clock.hpp"
#include "core/ip_range.hpp"
#include "core/json.hpp"
#include "core/origin.hpp"
#include "core/provider.hpp"

namespace nexus::admin {

namespace json = boost::json;
using core::Error;

namespace {

constexpr std::size_t kMaxName = 256;
constexpr std::size_t kMaxKey = 4096;
// Bounded so that the weights of every channel add up without overflow.
constexpr std::int64_t kMaxWeight = 1'000'000;
constexpr std::int64_t kMaxPriority = 1'000'000;
constexpr std::int64_t kMaxLimit = 1'000'000'000;

Error bad(std::string field, std::string message) {
    return Error::bad_request(std::move(message), std::move(field), "invalid_value");
}

// "'<field>'" + text. Built with append: GCC 12 warns falsely on chains of operator+ (bug 105651).
std::string quoted_field(std::string_view field, std::string_view text) {
    std::string out;
    out.reserve(field.size() + text.size() + 2);
    out += '\'';
    out.append(field);
    out += '\'';
    out.append(text);
    return out;
}

bool printable_without_space(std::string_view s) {
    for (const unsigned char c : s) {
        if (c <= 0x20 || c == 0x7f) return false;
    }
    return true;
}

std::optional<Error> read_string(const json::value& v, std::string_view field, std::string& out, std::size_t max,
                                 bool allow_empty = false) {
    if (!v.is_string()) return bad(std::string(field), quoted_field(field, " must be a string."));
    const auto& s = v.get_string();
    if (!allow_empty && s.empty()) return bad(std::string(field), quoted_field(field, " must not be empty."));
    if (s.size() > max) {
        std::string message = quoted_field(field, " is longer than ");
        message.append(std::to_string(max)).append(" characters.");
        return bad(std::string(field), std::move(message));
    }
    out.assign(s.data(), s.size());
    return std::nullopt;
}

std::optional<Error> read_int(const json::value& v, std::string_view field, std::int64_t& out) {
    if (v.is_int64()) {
        out = v.get_int64();
    } else if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
        out = static_cast<std::int64_t>(v.get_uint64());
    } else if (v.is_double() && v.get_double() == static_cast<double>(static_cast<std::int64_t>(v.get_double())) &&
               std::abs(v.get_double()) < 9e15) {
        out = static_cast<std::int64_t>(v.get_double());
    } else {
        return bad(std::string(field), quoted_field(field, " must be an integer."));
    }
    return std::nullopt;
}

// An array of non-empty strings: model names, or (`what`) addresses.
std::optional<Error> read_models(const json::value& v, std::string_view field, std::vector<std::string>& out,
                                 std::string_view what = "model names") {
    if (!v.is_array()) {
        std::string text = " must be an array of ";
        text.append(what).append(".");
        return bad(std::string(field), quoted_field(field, text));
    }
    out.clear();
    for (const auto& m : v.get_array()) {
        if (!m.is_string() || m.get_string().empty() || m.get_string().size() > kMaxName) {
            std::string text = " must hold non-empty ";
            text.append(what).append(" (strings).");
            return bad(std::string(field), quoted_field(field, text));
        }
        out.emplace_back(m.get_string());
    }
    return std::nullopt;
}

}  // namespace

bool is_channel_type(std::string_view type) { return core::find_provider(type) != nullptr; }

std::string_view default_base_url(std::string_view type) {
    const auto* p = core::find_provider(type);
    return p ? p->default_base_url : std::string_view();
}

core::Result<json::object> parse_object(std::string_view body) {
    json::error_code ec;
    auto v = json::parse(body, ec, {}, core::json_parse_options());
    if (ec) return Error::bad_request("The request body is not valid JSON.", {}, "invalid_json");
    if (!v.is_object()) return Error::bad_request("The request body must be a JSON object.", {}, "invalid_json");
    return std::move(v.get_object());
}

std::optional<std::string> string_field(const json::object& body, std::string_view name, std::size_t max) {
    const auto* v = body.if_contains(name);
    if (!v || !v->is_string()) return std::nullopt;
    return std::string(v->get_string().subview().substr(0, max));
}

Error missing_field(std::string_view name) {
    return Error::bad_request("Missing required field '" + std::string(name) + "'.", std::string(name),
                              "missing_required_parameter");
}

core::Result<store::Channel> apply_channel(const json::object& body, store::Channel c, bool creating) {
    for (const auto& [name, v] : body) {
        std::optional<Error> e;
        if (name == "type") {
            e = read_string(v, name, c.type, 64);
            if (!e && !is_channel_type(c.type)) {
                e = bad("type", "Unknown channel type '" + c.type + "': use OpenAI, SiliconFlow, OpenAI-Compatible or Anthropic.");
            }
        } else if (name == "name") {
            e = read_string(v, name, c.name, kMaxName);
        } else if (name == "key") {
            e = read_string(v, name, c.key, kMaxKey);
            if (!e && !printable_without_space(c.key)) e = bad("key", "'key' must not hold spaces or control characters.");
        } else if (name == "base_url") {
            e = read_string(v, name, c.base_url, 2048, true);
            if (!e && !c.base_url.empty() && !core::is_http_base_url(c.base_url)) {
                e = bad("base_url", "'base_url' must be an http:// or https:// URL with a host and no query.");
            }
        } else if (name == "models") {
            e = read_models(v, name, c.models);
        } else if (name == "model_mapping") {
            if (!v.is_object()) {
                e = bad("model_mapping", "'model_mapping' must be an object of model name → upstream model name.");
            } else {
                c.model_mapping.clear();
                for (const auto& [from, to] : v.get_object()) {
                    if (from.empty() || !to.is_string() || to.get_string().empty()) {
                        e = bad("model_mapping", "'model_mapping' must map non-empty names to non-empty names.");
                        break;
                    }
                    c.model_mapping.emplace_back(std::string(from), std::string(to.get_string()));
                }
            }
        } else if (name == "priority") {
            e = read_int(v, name, c.priority);
            if (!e && (c.priority < -kMaxPriority || c.priority > kMaxPriority)) {
                e = bad("priority", "'priority' must be from -1000000 to 1000000.");
            }
        } else if (name == "weight") {
            e = read_int(v, name, c.weight);
            if (!e && (c.weight < 0 || c.weight > kMaxWeight)) e = bad("weight", "'weight' must be from 0 to 1000000.");
        } else if (name == "status") {
            std::int64_t s = 0;
            e = read_int(v, name, s);
            if (!e && s != store::kChannelEnabled && s != store::kChannelDisabledByAdmin) {
                e = bad("status", "'status' must be 1 (enabled) or 2 (disabled).");
            }
            if (!e && s != c.status) {
                c.status = static_cast<int>(s);
                c.status_reason = s == store::kChannelEnabled ? "" : "disabled by an admin";
                c.status_time = core::unix_seconds();
            }
        } else {
            e = Error::bad_request("Unknown field '" + std::string(name) + "'.", std::string(name), "unknown_field");
        }
        if (e) return *e;
    }
    if (creating) {
        for (const char* required : {"type", "name", "key"}) {
            if (!body.contains(required)) {
                return Error::bad_request(std::string("Missing required field '") + required + "'.", required,
                                          "missing_required_parameter");
            }
        }
    }
    if (c.base_url.empty()) {
        const auto fallback = default_base_url(c.type);
        if (fallback.empty()) return bad("base_url", "'base_url' is required for type " + c.type + ".");
        c.base_url = std::string(fallback);
    }
    return c;
}

core::Result<TokenInput> apply_token(const json::object& body, store::Token t, bool creating) {
    TokenInput out;
    for (const auto& [name, v] : body) {
        std::optional<Error> e;
        if (name == "name") {
            e = read_string(v, name, t.name, kMaxName);
        } else if (name == "key") {
            if (!creating) {
                e = bad("key", "A token's key cannot be changed; create a new token.");
            } else {
                e = read_string(v, name, out.key, 256);
                if (!e && (out.key.size() < 8 || !printable_without_space(out.key))) {
                    e = bad("key", "'key' must be at least 8 characters without spaces.");
                }
            }
        } else if (name == "status") {
            std::int64_t s = 0;
            e = read_int(v, name, s);
            if (!e && s != store::kTokenEnabled && s != store::kTokenDisabled) {
                e = bad("status", "'status' must be 1 (enabled) or 0 (disabled).");
            }
            t.status = static_cast<int>(s);
        } else if (name == "user_id") {
            e = read_int(v, name, t.user_id);
            if (!e && t.user_id < 0) e = bad("user_id", "'user_id' must be 0 or more.");
        } else if (name == "expired_time") {
            e = read_int(v, name, t.expired_time);
            if (!e && t.expired_time < -1) e = bad("expired_time", "'expired_time' must be -1 (never) or unix seconds.");
        } else if (name == "remain_quota") {
            e = read_int(v, name, t.remain_quota);
            if (!e && t.remain_quota < -1) e = bad("remain_quota", "'remain_quota' must be -1 (unlimited) or more.");
        } else if (name == "models") {
            e = read_models(v, name, t.models);
        } else if (name == "allow_ips") {
            e = read_models(v, name, t.allow_ips, "IP addresses or CIDRs");
            for (const auto& a : t.allow_ips) {
                if (!e && !core::IpRange::parse(a)) {
                    std::string text = "'allow_ips' holds '";
                    text.append(a.substr(0, 64)).append("', neither an IP address nor a CIDR.");
                    e = bad("allow_ips", std::move(text));
                }
            }
        } else if (name == "rpm" || name == "tpm" || name == "max_concurrency") {
            auto& field = name == "rpm" ? t.rpm : name == "tpm" ? t.tpm : t.max_concurrency;
            e = read_int(v, name, field);
            if (!e && (field < 0 || field > kMaxLimit)) {
                e = bad(std::string(name), quoted_field(name, " must be from 0 (no limit) to 1000000000."));
            }
        } else if (name == "used_quota") {
            e = bad("used_quota", "'used_quota' is kept by nexus-api and cannot be set.");
        } else {
            e = Error::bad_request("Unknown field '" + std::string(name) + "'.", std::string(name), "unknown_field");
        }
        if (e) return *e;
    }
    if (creating && !body.contains("name")) {
        return Error::bad_request("Missing required field 'name'.", "name", "missing_required_parameter");
    }
    out.token = std::move(t);
    return out;
}

json::object channel_json(const store::Channel& c) {
    json::array models;
    for (const auto& m : c.models) models.emplace_back(m);
    json::object mapping;
    for (const auto& [from, to] : c.model_mapping) mapping[from] = to;
    return json::object{{"id", c.id},
                        {"type", c.type},
                        {"name", c.name},
                        {"key", c.key_preview},
                        {"base_url", c.base_url},
                        {"models", std::move(models)},
                        {"model_mapping", std::move(mapping)},
                        {"priority", c.priority},
                        {"weight", c.weight},
                        {"status", c.status},
                        {"status_reason", c.status_reason},
                        {"status_time", c.status_time},
                        {"created_time", c.created_time},
                        {"updated_time", c.updated_time},
                        {"test_time", c.test_time},
                        {"response_time", c.response_time_ms},
                        {"used_tokens", c.used_tokens}};
}

json::object token_json(const store::Token& t, std::string_view full_key) {
    json::array models;
    for (const auto& m : t.models) models.emplace_back(m);
    json::array allow_ips;
    for (const auto& a : t.allow_ips) allow_ips.emplace_back(a);
    return json::object{{"id", t.id},
                        {"name", t.name},
                        {"key", full_key.empty() ? std::string_view(t.key_preview) : full_key},
                        {"status", t.status},
                        {"user_id", t.user_id},
                        {"created_time", t.created_time},
                        {"accessed_time", t.accessed_time},
                        {"expired_time", t.expired_time},
                        {"remain_quota", t.remain_quota},
                        {"used_quota", t.used_quota},
                        {"models", std::move(models)},
                        {"allow_ips", std::move(allow_ips)},
                        {"rpm", t.rpm},
                        {"tpm", t.tpm},
                        {"max_concurrency", t.max_concurrency}};
}

core::Result<UserInput> apply_user(const json::object& body, store::User u, bool creating) {
    UserInput out;
    for (const auto& [name, v] : body) {
        std::optional<Error> e;
        if (name == "username") {
            if (!creating) {
                e = bad("username", "A username cannot be changed.");
            } else {
                e = read_string(v, name, u.username, 32);
                if (!e) e = accounts::check_username(u.username);
            }
        } else if (name == "password") {
            if (!creating) {
                e = bad("password", "Set a password with POST /api/user/{id}/password.");
            } else {
                e = read_string(v, name, out.password, 128);
                if (!e) e = accounts::check_password(out.password);
            }
        } else if (name == "display_name") {
            e = read_string(v, name, u.display_name, 64, true);
        } else if (name == "role") {
            e = read_string(v, name, u.role, 16);
            if (!e && !accounts::parse_role(u.role)) e = bad("role", "'role' must be root, admin or user.");
        } else if (name == "status") {
            std::int64_t s = 0;
            e = read_int(v, name, s);
            if (!e && s != store::kUserEnabled && s != store::kUserDisabled) {
                e = bad("status", "'status' must be 1 (enabled) or 2 (disabled).");
            }
            u.status = static_cast<int>(s);
        } else if (name == "group") {
            e = read_string(v, name, u.group, 64);
        } else if (name == "remain_quota") {
            e = read_int(v, name, u.remain_quota);
            if (!e && u.remain_quota < -1) e = bad("remain_quota", "'remain_quota' must be -1 (unlimited) or more.");
        } else if (name == "used_quota") {
            e = bad("used_quota", "'used_quota' is kept by nexus-api and cannot be set.");
        } else {
            e = Error::bad_request("Unknown field '" + std::string(name) + "'.", std::string(name), "unknown_field");
        }
        if (e) return *e;
    }
    if (creating) {
        for (const char* required : {"username", "password"}) {
            if (!body.contains(required)) {
                return Error::bad_request("Missing required field '" + std::string(required) + "'.", required,
                                          "missing_required_parameter");
            }
        }
    }
    out.user = std::move(u);
    return out;
}

json::object user_json(const store::User& u) {
    return json::object{{"id", u.id},
                        {"username", u.username},
                        {"display_name", u.display_name},
                        {"role", u.role},
                        {"status", u.status},
                        {"group", u.group},
                        {"remain_quota", u.remain_quota},
                        {"used_quota", u.used_quota},
                        {"created_time", u.created_time},
                        {"last_login_time", u.last_login_time},
                        {"totp_enabled", u.totp_enabled}};
}

json::object audit_json(const store::AuditEntry& a) {
    json::array fields;
    for (const auto& f : a.fields) fields.emplace_back(f);
    return json::object{{"id", a.id},
                        {"time", a.time},
                        {"actor_id", a.actor_id},
                        {"actor_name", a.actor_name},
                        {"action", a.action},
                        {"object_type", a.object_type},
                        {"object_id", a.object_id},
                        {"fields", std::move(fields)},
                        {"ip", a.ip}};
}

}  // namespace nexus::admin
