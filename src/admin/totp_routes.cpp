// A second factor: TOTP (RFC 6238) with ten single-use recovery codes, set up by each user for
// himself; an admin can turn it off for someone who lost his device.
#include <boost/json/serialize.hpp>

#include "accounts/password.hpp"
#include "accounts/totp.hpp"
#include "admin/admin_api.hpp"
#include "admin/query.hpp"
#include "admin/resources.hpp"
#include "core/clock.hpp"

namespace nexus::admin {

namespace json = boost::json;
using core::Error;

namespace {

}  // namespace

std::optional<Error> AdminApi::second_factor(std::int64_t user_id, const json::object& body) {
    auto totp = store_.get_totp(user_id);
    if (!totp || !totp->enabled) return std::nullopt;
    const auto code = string_field(body, "totp_code");
    const auto recovery = string_field(body, "recovery_code");
    if (!code && !recovery) {
        return Error::unauthorized("This account needs its one-time code: send 'totp_code' (or a 'recovery_code').",
                                   "totp_required", "authentication_error");
    }
    if (code) {
        if (const auto step = accounts::verify_totp(totp->secret, *code, core::unix_seconds(), totp->last_step)) {
            totp->last_step = *step;
            store_.put_totp(user_id, *totp);
            return std::nullopt;
        }
    } else {
        const auto hash = accounts::recovery_hash(*recovery);
        const auto it = std::find(totp->recovery_hashes.begin(), totp->recovery_hashes.end(), hash);
        if (it != totp->recovery_hashes.end()) {
            totp->recovery_hashes.erase(it);  // good once
            store_.put_totp(user_id, *totp);
            return std::nullopt;
        }
    }
    return Error::unauthorized("The one-time code is wrong (or was used already).", "invalid_totp_code",
                               "authentication_error");
}

net::awaitable<void> AdminApi::begin_totp(http::Exchange& exchange) {
    const auto& caller = caller_of(exchange);
    co_await answer(exchange, co_await on_db([&] {
        const auto user = store_.get_user(caller.user_id);
        if (!user) return error_reply(Error::not_found("Your account no longer exists."));
        if (user->totp_enabled) {
            return error_reply(Error::conflict("A one-time code is on already; turn it off first.", "", "totp_enabled"));
        }
        store::Totp totp;
        totp.secret = accounts::new_totp_secret();
        store_.put_totp(user->id, totp);
        return Reply{200, json::serialize(json::object{{"secret", accounts::base32(totp.secret)},
                                                       {"uri", accounts::totp_uri(user->username, totp.secret)}})};
    }));
}

net::awaitable<void> AdminApi::enable_totp(http::Exchange& exchange) {
    const auto parsed = co_await read_object(exchange);
    if (!parsed) co_return;
    const auto code = string_field(*parsed, "totp_code");
    if (!code) co_return co_await answer(exchange, error_reply(missing_field("totp_code")));
    const auto& caller = caller_of(exchange);
    co_await answer(exchange, co_await on_db([&] {
        auto totp = store_.get_totp(caller.user_id);
        if (!totp) return error_reply(Error::not_found("Your account no longer exists."));
        if (totp->enabled) return error_reply(Error::conflict("A one-time code is on already.", "", "totp_enabled"));
        if (totp->secret.empty()) {
            return error_reply(Error::bad_request("Begin with POST /api/user/self/totp.", "", "totp_not_begun"));
        }
        const auto step = accounts::verify_totp(totp->secret, *code, core::unix_seconds(), 0);
        if (!step) {
            return error_reply(Error::bad_request("The code does not match: check the device's clock.", "totp_code",
                                                  "invalid_totp_code"));
        }
        const auto codes = accounts::new_recovery_codes();
        totp->enabled = true;
        totp->last_step = *step;
        totp->recovery_hashes.clear();
        for (const auto& c : codes) totp->recovery_hashes.push_back(accounts::recovery_hash(c));
        store_.put_totp(caller.user_id, *totp);
        json::array shown;
        for (const auto& c : codes) shown.emplace_back(c);
        return Reply{200, json::serialize(json::object{{"recovery_codes", std::move(shown)}})};
    }));
}

net::awaitable<void> AdminApi::disable_own_totp(http::Exchange& exchange) {
    const auto parsed = co_await read_object(exchange);
    if (!parsed) co_return;
    const auto password = string_field(*parsed, "password");
    if (!password) co_return co_await answer(exchange, error_reply(missing_field("password")));
    const auto& caller = caller_of(exchange);
    co_await answer(exchange, co_await on_db([&] {
        const auto user = store_.get_user(caller.user_id);
        if (!user) return error_reply(Error::not_found("Your account no longer exists."));
        if (!accounts::verify_password(user->password_hash, *password)) {
            return error_reply(Error::forbidden("The password is wrong.", "wrong_password"));
        }
        store_.put_totp(user->id, store::Totp{});
        return Reply{204};
    }));
}

net::awaitable<void> AdminApi::disable_user_totp(http::Exchange& exchange) {
    const auto id = parse_id(exchange.param("id"));
    if (!id) co_return co_await answer(exchange, error_reply(Error::not_found("No such user.")));
    const auto& caller = caller_of(exchange);
    co_await answer(exchange, co_await on_db([&] {
        const auto user = store_.get_user(*id);
        if (!user) return error_reply(Error::not_found("No such user."));
        if (auto e = may_write(caller, *user)) return error_reply(*e);
        store_.put_totp(*id, store::Totp{});
        return Reply{204};
    }));
}

}  // namespace nexus::admin
