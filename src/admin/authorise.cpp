// Who is calling /api, and what may he do: the one guard before every admin route, and the
// audit log of what the callers wrote.
#include <spdlog/spdlog.h>

#include "accounts/session.hpp"
#include "admin/admin_api.hpp"
#include "admin/query.hpp"
#include "admin/resources.hpp"
#include "core/clock.hpp"
#include "core/crypto.hpp"
#include "core/ip_range.hpp"

namespace nexus::admin {

namespace bhttp = beast::http;
using accounts::Grant;
using accounts::Resource;
using core::Error;

namespace {

// A session's last request is written at most once a minute: reads stay reads.
constexpr std::int64_t kSeenResolution = 60;

std::string client_ip(http::Exchange& exchange) {
    return core::client_address(exchange.remote_ip(), http::forwarded_for(exchange.request()),
                                exchange.config().trusted_proxies)
        .to_string();
}

Error session_ended() {
    return Error::unauthorized("Your session has ended; sign in again.", "session_expired", "authentication_error");
}

std::string_view object_type_of(Resource resource) {
    switch (resource) {
        case Resource::kChannel: return "channel";
        case Resource::kPrice: return "price";
        case Resource::kUser:
        case Resource::kSelf: return "user";
        case Resource::kToken: return "token";
        case Resource::kAuth: return "session";
        case Resource::kLog:
        case Resource::kAudit:
        case Resource::kOther: break;
    }
    return "other";
}

}  // namespace

Caller& caller_of(http::Exchange& exchange) { return std::any_cast<Caller&>(exchange.caller()); }

net::awaitable<bool> AdminApi::authorise(http::Exchange& exchange, const http::RouteInfo& route) {
    const auto& request = exchange.request();
    const auto resource = static_cast<Resource>(route.scope);
    Caller caller;
    caller.ip = client_ip(exchange);
    const auto credential = http::bearer_token(request);
    const auto cookie_header = request[bhttp::field::cookie];
    const auto session_id = accounts::cookie_value(cookie_header, accounts::kSessionCookie);
    if (credential) {
        // 1. The admin key acts as root. Only wrong keys count as failures, and only they are
        //    slowed down (a request with no credential at all is a plain 401, not a guess).
        if (!core::constant_time_equal(admin_key_hash(*credential), options_.admin_key_hash)) {
            const auto client = exchange.remote_ip();
            if (const int wait = throttles_.admin_key.blocked_for(client); wait > 0) {
                co_await exchange.send_error(Error::too_many_requests(
                    "Too many failed admin logins from this address; try again later.", "too_many_failed_logins", wait));
                co_return false;
            }
            throttles_.admin_key.record_failure(client);
            co_await exchange.send_error(
                Error::unauthorized("The admin key is wrong.", "invalid_admin_key", "authentication_error"));
            co_return false;
        }
        caller.user_id = options_.root_id;
        caller.name = "admin-key";
        caller.role = accounts::Role::kRoot;
        caller.admin_key = true;
    } else if (session_id && !session_id->empty()) {
        // 2. A signed-in browser: its session, its user, and on a write the CSRF defence.
        const std::string id(*session_id);
        const bool write = route.csrf;
        // A failed lookup (the database down) is a 500 that lets nobody in.
        auto looked_up = co_await on_db([&] {
            auto found = session_caller(id, write, exchange.request(), exchange.config());
            if (!found) return error_reply(found.error());
            found->ip = caller.ip;
            caller = std::move(*found);
            return Reply{};
        });
        if (looked_up.status != 200) {
            co_await answer(exchange, std::move(looked_up));
            co_return false;
        }
    } else {
        co_await exchange.send_error(Error::unauthorized(
            "Sign in (POST /api/auth/login), or send 'Authorization: Bearer <admin key>'.", "not_signed_in",
            "authentication_error"));
        co_return false;
    }
    // 3. The role × route table.
    caller.grant = accounts::grant(caller.role, resource);
    if (caller.grant == Grant::kDeny) {
        co_await exchange.send_error(
            Error::forbidden("Your role (" + std::string(accounts::role_name(caller.role)) + ") may not use this.",
                             "permission_denied"));
        co_return false;
    }
    exchange.caller() = std::move(caller);
    co_return true;
}

core::Result<Caller> AdminApi::session_caller(std::string_view session_id, bool write, const http::Request& request,
                                              const config::Config& config) {
    const auto hash = accounts::session_hash(session_id);
    const auto session = store_.get_session(hash);
    if (!session) return session_ended();
    const auto now = core::unix_seconds();
    if (accounts::session_expired(*session, now, {config.session_idle_seconds, config.session_max_seconds})) {
        store_.delete_session(hash);
        return session_ended();
    }
    const auto user = store_.get_user(session->user_id);
    if (!user || user->status != store::kUserEnabled) {
        store_.end_sessions(session->user_id);
        return session_ended();
    }
    if (write) {
        // A cross-site page can make the browser send the cookie, but can neither read the
        // CSRF token nor forge the Origin.
        const auto token = request["X-CSRF-Token"];
        if (token.empty() || !core::constant_time_equal(token, session->csrf_token)) {
            return Error::forbidden("This write needs the X-CSRF-Token header of your session.", "csrf_failed");
        }
        const auto origin = request[bhttp::field::origin];
        if (!origin.empty() && !accounts::origin_allowed(origin, config.public_url, request[bhttp::field::host])) {
            return Error::forbidden("This write comes from another site (Origin " +
                                        std::string(origin.substr(0, 100)) + ").",
                                    "csrf_failed");
        }
    }
    if (now - session->seen_time >= kSeenResolution) store_.touch_session(hash, now);
    Caller caller;
    caller.user_id = user->id;
    caller.name = user->username;
    caller.role = accounts::parse_role(user->role).value_or(accounts::Role::kUser);
    caller.session_hash = hash;
    caller.csrf_token = session->csrf_token;
    return caller;
}

net::awaitable<void> AdminApi::audit_write(http::Exchange& exchange, const Caller& caller, Resource resource) {
    const auto method = exchange.request().method();
    std::string action = method == bhttp::verb::post     ? "create"
                         : method == bhttp::verb::delete_ ? "delete"
                                                          : "update";
    const std::string_view target = exchange.request().target();
    const auto path = target.substr(0, target.find('?'));
    if (path.ends_with("/password")) action = "password";
    if (path.ends_with("/test")) action = "test";
    if (path.find("/totp") != std::string_view::npos) action = method == bhttp::verb::delete_ ? "totp_off" : "totp_on";
    std::string object_id(exchange.param("id"));
    if (object_id.empty()) object_id = exchange.param("model");
    if (object_id.empty()) object_id = caller.object_id;
    if (object_id.empty() && resource == Resource::kSelf) object_id = std::to_string(caller.user_id);
    auto type = std::string(object_type_of(resource));
    co_await on_db([&] {
        record_audit(caller, action, type, object_id, caller.fields);
        return Reply{};
    });
}

void AdminApi::record_audit(const Caller& caller, std::string action, std::string object_type, std::string object_id,
                            std::vector<std::string> fields) {
    store::AuditEntry e;
    e.time = core::unix_seconds();
    e.actor_id = caller.admin_key ? 0 : caller.user_id;
    e.actor_name = caller.name;
    e.action = std::move(action);
    e.object_type = std::move(object_type);
    e.object_id = std::move(object_id);
    e.fields = std::move(fields);
    e.ip = caller.ip;
    try {
        store_.audit(e);
    } catch (const std::exception& ex) {
        spdlog::error("audit: writing '{}' of {} {} failed: {}", e.action, e.object_type, e.object_id, ex.what());
    }
}

net::awaitable<void> AdminApi::list_audit(http::Exchange& exchange) {
    const auto q = parse_audit_query(query_of(exchange));
    if (!q) co_return co_await answer(exchange, error_reply(q.error()));
    co_await answer(exchange, co_await on_db([&] { return list_reply(store_.list_audit(*q), q->page, q->page_size, audit_json); }));
}

}  // namespace nexus::admin
