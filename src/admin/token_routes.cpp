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
    return error_reply(Error::not_found("No token with id " + std::string(id) + "."));
}

}  // namespace

store::Token AdminApi::live(store::Token t) const {
    const auto unwritten = unwritten_ ? unwritten_(t.id) : 0;
    t.used_quota += unwritten;
    if (t.remain_quota >= 0) t.remain_quota = std::max<std::int64_t>(t.remain_quota - unwritten, 0);
    return t;
}

net::awaitable<void> AdminApi::list_tokens(http::Exchange& exchange) {
    const auto q = parse_list_query(query_of(exchange));
    if (!q) co_return co_await answer(exchange, error_reply(q.error()));
    co_await answer(exchange, co_await on_db([&] {
        return list_reply(store_.list_tokens(*q), q->page, q->page_size,
                          [this](const store::Token& t) { return token_json(live(t)); });
    }));
}

net::awaitable<void> AdminApi::create_token(http::Exchange& exchange) {
    if (!co_await read_body(exchange)) co_return;
    const auto parsed = parse_object(exchange.request().body());
    if (!parsed) co_return co_await answer(exchange, error_reply(parsed.error()));
    auto input = apply_token(*parsed, store::Token{}, true);
    if (!input) co_return co_await answer(exchange, error_reply(input.error()));
    const std::string key = input->key.empty() ? "sk-" + core::random_token(48) : input->key;
    input->token.key_hash = core::sha256_hex(key);
    input->token.key_preview = store::mask_key(key);
    co_await answer(exchange, co_await on_db([&] {
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
    co_await answer(exchange, co_await on_db([&] {
        const auto t = store_.get_token(*id);
        return t ? one(200, live(*t)) : missing(exchange.param("id"));
    }));
}

net::awaitable<void> AdminApi::update_token(http::Exchange& exchange) {
    const auto id = parse_id(exchange.param("id"));
    if (!id) co_return co_await answer(exchange, missing(exchange.param("id")));
    if (!co_await read_body(exchange)) co_return;
    const auto parsed = parse_object(exchange.request().body());
    if (!parsed) co_return co_await answer(exchange, error_reply(parsed.error()));
    co_await answer(exchange, co_await on_db([&] {
        auto current = store_.get_token(*id);
        if (!current) return missing(exchange.param("id"));
        auto changed = apply_token(*parsed, std::move(*current), false);
        if (!changed) return error_reply(changed.error());
        // A remain_quota sent is what the token has left from now on: calls this node settled
        // but has not yet written are still to be taken from the stored value, so they are
        // added to it here (this thread writes them, so none lands in between).
        if (parsed->contains("remain_quota") && changed->token.remain_quota >= 0 && unwritten_) {
            changed->token.remain_quota += unwritten_(*id);
        }
        const auto stored = store_.update_token(changed->token);
        return stored ? one(200, live(*stored)) : missing(exchange.param("id"));
    }));
}

net::awaitable<void> AdminApi::delete_token(http::Exchange& exchange) {
    const auto id = parse_id(exchange.param("id"));
    if (!id) co_return co_await answer(exchange, missing(exchange.param("id")));
    co_await answer(exchange, co_await on_db([&] {
        return store_.delete_token(*id) ? Reply{204, {}, {}} : missing(exchange.param("id"));
    }));
}

}  // namespace nexus::admin
