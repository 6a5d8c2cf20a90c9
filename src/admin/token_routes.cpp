// /api/token: the clients' credentials. A key is shown in full once, in the answer to its creation.
#include <boost/json/serialize.hpp>

#include <algorithm>

#include "admin/admin_api.hpp"
#include "admin/query.hpp"
#include "admin/resources.hpp"
#include "core/crypto.hpp"

namespace nexus::admin {

namespace json = boost::json;
using core::Error;

namespace {

AdminApi::Reply one(int status, const store::Token& t, std::string_view full_key = {}) {
    return {status, json::serialize(token_json(t, full_key)), {}};
}

AdminApi::Reply missing(std::string_view id) {
    return error_reply(Error::not_found("No token with id " + std::string(id.substr(0, 32)) + "."));
}

// Whom a token written by `caller` belongs to: a user's are his own (he may not name another);
// an admin's go to the user_id he names, which must exist (database thread).
std::optional<Error> owner_of(store::Store& store, const Caller& caller, const boost::json::object& body,
                              std::int64_t& owner) {
    const auto* named = body.if_contains("user_id");
    if (caller.grant == accounts::Grant::kOwn) {
        if (named && !(named->is_int64() && named->get_int64() == caller.user_id)) {
            return Error::forbidden("You may hold tokens only of your own.", "permission_denied");
        }
        owner = caller.user_id;
        return std::nullopt;
    }
    if (!named) {
        if (owner == 0) owner = caller.user_id;
        return std::nullopt;
    }
    const auto id = named->is_int64() ? named->get_int64() : 0;
    if (id <= 0 || !store.get_user(id)) return Error::bad_request("'user_id' names no user.", "user_id", "invalid_value");
    owner = id;
    return std::nullopt;
}

}  // namespace

store::Token AdminApi::live(store::Token t) const {
    const auto unwritten = options_.token_unwritten ? options_.token_unwritten(t.id) : 0;
    t.used_quota += unwritten;
    if (t.remain_quota >= 0) t.remain_quota = std::max<std::int64_t>(t.remain_quota - unwritten, 0);
    return t;
}

std::optional<store::Token> AdminApi::visible_token(const Caller& caller, std::int64_t id) {
    auto t = store_.get_token(id);
    // Another user's token is answered as if it did not exist: ids cannot be probed.
    if (t && caller.grant == accounts::Grant::kOwn && t->user_id != caller.user_id) return std::nullopt;
    return t;
}

net::awaitable<void> AdminApi::list_tokens(http::Exchange& exchange) {
    auto q = parse_list_query(query_of(exchange));
    if (!q) co_return co_await answer(exchange, error_reply(q.error()));
    if (const auto& caller = caller_of(exchange); caller.grant == accounts::Grant::kOwn) q->user_id = caller.user_id;
    co_await answer(exchange, co_await on_db([&] {
        return list_reply(store_.list_tokens(*q), q->page, q->page_size,
                          [this](const store::Token& t) { return token_json(live(t)); });
    }));
}

net::awaitable<void> AdminApi::create_token(http::Exchange& exchange) {
    const auto parsed = co_await read_object(exchange);
    if (!parsed) co_return;
    auto input = apply_token(*parsed, store::Token{}, true);
    if (!input) co_return co_await answer(exchange, error_reply(input.error()));
    const std::string key = input->key.empty() ? "sk-" + core::random_token(48) : input->key;
    input->token.key_hash = core::sha256_hex(key);
    input->token.key_preview = store::mask_key(key);
    const auto& caller = caller_of(exchange);
    co_await answer(exchange, co_await on_db([&] {
        std::int64_t owner = 0;
        if (auto e = owner_of(store_, caller, *parsed, owner)) return error_reply(*e);
        input->token.user_id = owner;
        try {
            const auto stored = store_.insert_token(input->token);
            auto reply = one(201, stored, key);
            reply.location = "/api/token/" + std::to_string(stored.id);
            return reply;
        } catch (const store::Conflict&) {
            return error_reply(Error::conflict("A token with this key exists already.", "key", "token_exists"));
        }
    }));
}

net::awaitable<void> AdminApi::get_token(http::Exchange& exchange) {
    const auto id = parse_id(exchange.param("id"));
    if (!id) co_return co_await answer(exchange, missing(exchange.param("id")));
    const auto& caller = caller_of(exchange);
    co_await answer(exchange, co_await on_db([&] {
        const auto t = visible_token(caller, *id);
        return t ? one(200, live(*t)) : missing(exchange.param("id"));
    }));
}

net::awaitable<void> AdminApi::update_token(http::Exchange& exchange) {
    const auto id = parse_id(exchange.param("id"));
    if (!id) co_return co_await answer(exchange, missing(exchange.param("id")));
    const auto parsed = co_await read_object(exchange);
    if (!parsed) co_return;
    const auto& caller = caller_of(exchange);
    co_await answer(exchange, co_await on_db([&] {
        auto current = visible_token(caller, *id);
        if (!current) return missing(exchange.param("id"));
        std::int64_t owner = current->user_id;
        if (auto e = owner_of(store_, caller, *parsed, owner)) return error_reply(*e);
        auto changed = apply_token(*parsed, std::move(*current), false);
        if (!changed) return error_reply(changed.error());
        changed->token.user_id = owner;
        // A remain_quota sent is what the token has left from now on: calls this node settled
        // but has not yet written are still to be taken from the stored value, so they are
        // added to it here (this thread writes them, so none lands in between).
        if (parsed->contains("remain_quota") && changed->token.remain_quota >= 0 && options_.token_unwritten) {
            changed->token.remain_quota += options_.token_unwritten(*id);
        }
        const auto stored = store_.update_token(changed->token);
        return stored ? one(200, live(*stored)) : missing(exchange.param("id"));
    }));
}

net::awaitable<void> AdminApi::delete_token(http::Exchange& exchange) {
    const auto id = parse_id(exchange.param("id"));
    if (!id) co_return co_await answer(exchange, missing(exchange.param("id")));
    const auto& caller = caller_of(exchange);
    co_await answer(exchange, co_await on_db([&] {
        if (!visible_token(caller, *id)) return missing(exchange.param("id"));
        return store_.delete_token(*id) ? Reply{204, {}, {}} : missing(exchange.param("id"));
    }));
}

net::awaitable<bool> AdminApi::act_as_own_token(http::Exchange& exchange) {
    const std::string_view header = exchange.request()["X-Nexus-Token-Id"];
    const auto id = parse_id(header);
    if (!id) {
        co_await answer(exchange, error_reply(Error::bad_request("Send the id of one of your tokens as 'X-Nexus-Token-Id'.",
                                                                 "X-Nexus-Token-Id", "invalid_value")));
        co_return false;
    }
    const auto& caller = caller_of(exchange);
    std::string key_hash;
    const auto refused = co_await on_db([&] {
        // His own tokens only, admins included: nobody spends another's quota from a browser.
        const auto t = store_.get_token(*id);
        if (!t || t->user_id != caller.user_id) return missing(header);
        key_hash = t->key_hash;
        return Reply{};
    });
    if (key_hash.empty()) {
        co_await answer(exchange, refused);
        co_return false;
    }
    exchange.act_as_token(std::move(key_hash));
    co_return true;
}

}  // namespace nexus::admin
