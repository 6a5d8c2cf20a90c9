// /api/user: the people who sign in. Admins manage accounts of role user; root manages all.
// /api/user/self: one's own account, for everyone.
#include <boost/json/serialize.hpp>

#include <algorithm>

#include "accounts/password.hpp"
#include "admin/admin_api.hpp"
#include "admin/query.hpp"
#include "admin/resources.hpp"

namespace nexus::admin {

namespace json = boost::json;
using accounts::Grant;
using core::Error;

namespace {

AdminApi::Reply one(int status, const store::User& u) { return {status, json::serialize(user_json(u)), {}}; }

AdminApi::Reply missing(std::string_view id) {
    return error_reply(Error::not_found("No user with id " + std::string(id.substr(0, 32)) + "."));
}

// Nor may an admin make anyone more than a user.
std::optional<Error> may_assign(const Caller& caller, std::string_view role) {
    if (caller.grant == Grant::kAll || role == "user") return std::nullopt;
    return Error::forbidden("Only root may give the role '" + std::string(role) + "'.", "permission_denied");
}

// A root account never goes away, so the gateway always has one who may do everything.
Error root_is_kept() {
    return Error::forbidden("A root account cannot be deleted, disabled or given another role.", "root_account");
}

}  // namespace

std::optional<Error> may_write(const Caller& caller, const store::User& target) {
    if (caller.grant == Grant::kAll || target.role == "user") return std::nullopt;
    return Error::forbidden("Admins manage only accounts of role 'user'.", "permission_denied");
}

store::User AdminApi::live(store::User u) const {
    const auto unwritten = options_.user_unwritten ? options_.user_unwritten(u.id) : 0;
    u.used_quota += unwritten;
    if (u.remain_quota >= 0) u.remain_quota = std::max<std::int64_t>(u.remain_quota - unwritten, 0);
    return u;
}

net::awaitable<void> AdminApi::list_users(http::Exchange& exchange) {
    const auto q = parse_user_query(query_of(exchange));
    if (!q) co_return co_await answer(exchange, error_reply(q.error()));
    co_await answer(exchange, co_await on_db([&] {
        return list_reply(store_.list_users(*q), q->page, q->page_size,
                          [this](const store::User& u) { return user_json(live(u)); });
    }));
}

net::awaitable<void> AdminApi::create_user(http::Exchange& exchange) {
    const auto parsed = co_await read_object(exchange);
    if (!parsed) co_return;
    auto input = apply_user(*parsed, store::User{}, true);
    if (!input) co_return co_await answer(exchange, error_reply(input.error()));
    if (auto e = may_assign(caller_of(exchange), input->user.role)) co_return co_await answer(exchange, error_reply(*e));
    co_await answer(exchange, co_await on_db([&] {
        input->user.password_hash = accounts::hash_password(input->password);
        try {
            const auto stored = store_.insert_user(input->user);
            auto reply = one(201, stored);
            reply.location = "/api/user/" + std::to_string(stored.id);
            return reply;
        } catch (const store::Conflict&) {
            return error_reply(Error::conflict("The username '" + input->user.username + "' is taken.", "username",
                                               "username_taken"));
        }
    }));
}

net::awaitable<void> AdminApi::get_user(http::Exchange& exchange) {
    const auto id = parse_id(exchange.param("id"));
    if (!id) co_return co_await answer(exchange, missing(exchange.param("id")));
    co_await answer(exchange, co_await on_db([&] {
        const auto u = store_.get_user(*id);
        return u ? one(200, live(*u)) : missing(exchange.param("id"));
    }));
}

net::awaitable<void> AdminApi::update_user(http::Exchange& exchange) {
    const auto id = parse_id(exchange.param("id"));
    if (!id) co_return co_await answer(exchange, missing(exchange.param("id")));
    const auto parsed = co_await read_object(exchange);
    if (!parsed) co_return;
    const auto& caller = caller_of(exchange);
    co_await answer(exchange, co_await on_db([&] {
        const auto current = store_.get_user(*id);
        if (!current) return missing(exchange.param("id"));
        if (auto e = may_write(caller, *current)) return error_reply(*e);
        auto changed = apply_user(*parsed, *current, false);
        if (!changed) return error_reply(changed.error());
        auto& u = changed->user;
        if (u.role != current->role) {
            if (auto e = may_assign(caller, u.role)) return error_reply(*e);
            if (current->role == "root") return error_reply(root_is_kept());
        }
        if (current->role == "root" && u.status != store::kUserEnabled) return error_reply(root_is_kept());
        // As for tokens: a remain_quota sent is what he has left from now on, so calls settled
        // on this node but not yet written are added to it.
        if (parsed->contains("remain_quota") && u.remain_quota >= 0 && options_.user_unwritten) {
            u.remain_quota += options_.user_unwritten(*id);
        }
        const auto stored = store_.update_user(u);
        if (!stored) return missing(exchange.param("id"));
        if (stored->status != store::kUserEnabled) store_.end_sessions(*id);
        return one(200, live(*stored));
    }));
}

net::awaitable<void> AdminApi::delete_user(http::Exchange& exchange) {
    const auto id = parse_id(exchange.param("id"));
    if (!id) co_return co_await answer(exchange, missing(exchange.param("id")));
    const auto& caller = caller_of(exchange);
    co_await answer(exchange, co_await on_db([&] {
        const auto current = store_.get_user(*id);
        if (!current) return missing(exchange.param("id"));
        if (auto e = may_write(caller, *current)) return error_reply(*e);
        if (current->role == "root") return error_reply(root_is_kept());
        return store_.delete_user(*id) ? Reply{204, {}, {}} : missing(exchange.param("id"));
    }));
}

net::awaitable<void> AdminApi::set_user_password(http::Exchange& exchange) {
    const auto id = parse_id(exchange.param("id"));
    if (!id) co_return co_await answer(exchange, missing(exchange.param("id")));
    const auto parsed = co_await read_object(exchange);
    if (!parsed) co_return;
    const auto secret = string_field(*parsed, "password");
    if (!secret) co_return co_await answer(exchange, error_reply(missing_field("password")));
    if (auto e = accounts::check_password(*secret)) co_return co_await answer(exchange, error_reply(*e));
    const auto& caller = caller_of(exchange);
    co_await answer(exchange, co_await on_db([&] {
        const auto current = store_.get_user(*id);
        if (!current) return missing(exchange.param("id"));
        if (auto e = may_write(caller, *current)) return error_reply(*e);
        store_.set_user_password(*id, accounts::hash_password(*secret));
        store_.end_sessions(*id);  // whoever knew the old one is signed out
        return Reply{204, {}};
    }));
}

net::awaitable<void> AdminApi::get_self(http::Exchange& exchange) {
    const auto& caller = caller_of(exchange);
    co_await answer(exchange, co_await on_db([&] {
        const auto u = store_.get_user(caller.user_id);
        return u ? one(200, live(*u)) : error_reply(Error::not_found("Your account no longer exists."));
    }));
}

net::awaitable<void> AdminApi::update_self(http::Exchange& exchange) {
    const auto parsed = co_await read_object(exchange);
    if (!parsed) co_return;
    // What an admin decides about an account is not his own to change (unknown fields are 400 below).
    for (const auto& [name, value] : *parsed) {
        if (name == "role" || name == "remain_quota" || name == "used_quota" || name == "status" || name == "group" ||
            name == "username" || name == "password") {
            co_return co_await answer(exchange, error_reply(Error::forbidden(
                                                    "You may change only your own display_name here.", "permission_denied")));
        }
    }
    const auto& caller = caller_of(exchange);
    co_await answer(exchange, co_await on_db([&] {
        const auto current = store_.get_user(caller.user_id);
        if (!current) return error_reply(Error::not_found("Your account no longer exists."));
        auto changed = apply_user(*parsed, *current, false);
        if (!changed) return error_reply(changed.error());
        const auto stored = store_.update_user(changed->user);
        return stored ? one(200, live(*stored)) : error_reply(Error::not_found("Your account no longer exists."));
    }));
}

net::awaitable<void> AdminApi::change_own_password(http::Exchange& exchange) {
    const auto parsed = co_await read_object(exchange);
    if (!parsed) co_return;
    const auto old_secret = string_field(*parsed, "old_password");
    const auto new_secret = string_field(*parsed, "new_password");
    if (!old_secret) co_return co_await answer(exchange, error_reply(missing_field("old_password")));
    if (!new_secret) co_return co_await answer(exchange, error_reply(missing_field("new_password")));
    if (auto e = accounts::check_password(*new_secret, "new_password")) co_return co_await answer(exchange, error_reply(*e));
    const auto& caller = caller_of(exchange);
    co_await answer(exchange, co_await on_db([&] {
        const auto current = store_.get_user(caller.user_id);
        if (!current) return error_reply(Error::not_found("Your account no longer exists."));
        if (!accounts::verify_password(current->password_hash, *old_secret)) {
            return error_reply(Error::forbidden("The old password is wrong.", "wrong_password"));
        }
        store_.set_user_password(current->id, accounts::hash_password(*new_secret));
        store_.end_sessions(current->id, caller.session_hash);  // every other browser signs in again
        return Reply{204, {}};
    }));
}

}  // namespace nexus::admin
