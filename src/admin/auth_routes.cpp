// /api/auth: signing in and out with a username and a password; the session is a cookie.
#include <boost/json/serialize.hpp>

#include <algorithm>

#include "accounts/password.hpp"
#include "accounts/session.hpp"
#include "admin/admin_api.hpp"
#include "admin/resources.hpp"
#include "core/clock.hpp"
#include "core/ip_range.hpp"
#include "core/text.hpp"

namespace nexus::admin {

namespace json = boost::json;
namespace bhttp = beast::http;
using core::Error;

namespace {

// {"user":{…},"csrf_token":"…"}: what login and me answer.
std::string signed_in_json(const store::User& user, std::string_view csrf_token) {
    return json::serialize(json::object{{"user", user_json(user)},
                                        {"csrf_token", csrf_token.empty() ? json::value(nullptr) : json::value(csrf_token)}});
}

bool secure_cookie(const config::Config& config) { return config.public_url.starts_with("https://"); }

}  // namespace

net::awaitable<void> AdminApi::login(http::Exchange& exchange) {
    const auto& config = exchange.config();
    const auto origin = exchange.request()[bhttp::field::origin];
    if (!origin.empty() && !accounts::origin_allowed(origin, config.public_url, exchange.request()[bhttp::field::host])) {
        co_return co_await answer(exchange, error_reply(Error::forbidden("Sign in from this server's own pages.", "csrf_failed")));
    }
    const auto parsed = co_await read_object(exchange);
    if (!parsed) co_return;
    const auto name = string_field(*parsed, "username", 64);
    const auto secret = string_field(*parsed, "password");
    // No credentials is not a wrong guess: a plain 401 that counts as no failure.
    if (!name || !secret || name->empty() || secret->empty()) {
        co_return co_await answer(
            exchange, error_reply(Error::unauthorized("Send 'username' and 'password'.", "missing_credentials",
                                                      "authentication_error")));
    }
    const auto client = core::client_address(exchange.remote_ip(), http::forwarded_for(exchange.request()),
                                             config.trusted_proxies);
    const auto by_user = "user:" + core::ascii_lower(*name);
    const auto by_address = "addr:" + AuthThrottle::client_key(client);
    // Past 10 failures in 10 minutes for the name or the address, every login for it waits out
    // the window, right or wrong: a guesser learns nothing more.
    if (const int wait = std::max(throttles_.logins.blocked_for(by_user), throttles_.logins.blocked_for(by_address));
        wait > 0) {
        co_return co_await answer(exchange, error_reply(Error::too_many_requests(
                                                "Too many failed logins; try again later.", "too_many_failed_logins", wait)));
    }
    Caller who;
    who.ip = client.to_string();
    co_await answer(exchange, co_await on_db([&] {
        const auto user = store_.find_user(*name);
        // An unknown name costs one Argon2id verification too, and gets the same answer.
        const bool matches = accounts::verify_password(user ? user->password_hash : accounts::decoy_hash(), *secret);
        if (!user || !matches) {
            throttles_.logins.record_failure(by_user);
            throttles_.logins.record_failure(by_address);
            who.user_id = 0;
            who.name = accounts::check_username(*name) ? std::string("(invalid)") : *name;
            record_audit(who, "login_failed", "session", "", {"username"});
            return error_reply(
                Error::unauthorized("Incorrect username or password.", "invalid_credentials", "authentication_error"));
        }
        who.user_id = user->id;
        who.name = user->username;
        if (user->status != store::kUserEnabled) {
            record_audit(who, "login_failed", "session", "", {"status"});
            return error_reply(Error::forbidden("This account is disabled.", "user_disabled"));
        }
        // The second factor, when he has one: asking for it is no failure, a wrong code is.
        if (auto refused = second_factor(user->id, *parsed)) {
            if (refused->code != "totp_required") {
                throttles_.logins.record_failure(by_user);
                throttles_.logins.record_failure(by_address);
                record_audit(who, "login_failed", "session", "", {"totp_code"});
            }
            return error_reply(*refused);
        }
        const auto now = core::unix_seconds();
        auto session = accounts::new_session(user->id, now);
        store_.insert_session(session.row);
        store_.record_login(user->id);
        record_audit(who, "login", "session", "", {"username"});
        auto shown = *user;
        shown.last_login_time = now;
        Reply reply{200, signed_in_json(live(shown), session.row.csrf_token), {}};
        reply.cookie = accounts::session_set_cookie(session.id, config.session_max_seconds, secure_cookie(config));
        return reply;
    }));
}

net::awaitable<void> AdminApi::logout(http::Exchange& exchange) {
    const auto caller = caller_of(exchange);
    co_await answer(exchange, co_await on_db([&] {
        if (!caller.session_hash.empty()) {
            store_.delete_session(caller.session_hash);
            record_audit(caller, "logout", "session", "", {});
        }
        Reply reply{204, {}};
        reply.cookie = accounts::session_set_cookie({}, 0, secure_cookie(exchange.config()));
        return reply;
    }));
}

net::awaitable<void> AdminApi::me(http::Exchange& exchange) {
    const auto caller = caller_of(exchange);
    co_await answer(exchange, co_await on_db([&] {
        const auto user = store_.get_user(caller.user_id);
        if (!user) return error_reply(Error::not_found("Your account no longer exists."));
        return Reply{200, signed_in_json(live(*user), caller.csrf_token), {}};
    }));
}

}  // namespace nexus::admin
