// /api/channel: the upstream accounts. Keys are written (encrypted) and never shown in full.
#include <boost/json/serialize.hpp>

#include "admin/admin_api.hpp"
#include "admin/query.hpp"
#include "admin/resources.hpp"

namespace nexus::admin {

namespace json = boost::json;
using core::Error;

namespace {

AdminApi::Reply one(int status, const store::Channel& c) { return {status, json::serialize(channel_json(c)), {}}; }

AdminApi::Reply missing(std::string_view id) {
    return error_reply(Error::not_found("No channel with id " + std::string(id) + "."));
}

}  // namespace

net::awaitable<void> AdminApi::list_channels(http::Exchange& exchange) {
    const auto q = parse_list_query(query_of(exchange));
    if (!q) co_return co_await answer(exchange, error_reply(q.error()));
    co_await answer(exchange, co_await on_db([&] {
        return list_reply(store_.list_channels(*q), q->page, q->page_size, channel_json);
    }));
}

net::awaitable<void> AdminApi::create_channel(http::Exchange& exchange) {
    const auto parsed = co_await read_object(exchange);
    if (!parsed) co_return;
    const auto channel = apply_channel(*parsed, store::Channel{}, true);
    if (!channel) co_return co_await answer(exchange, error_reply(channel.error()));
    co_await answer(exchange, co_await on_db([&] {
        const auto stored = store_.insert_channel(*channel);
        auto reply = one(201, stored);
        reply.location = "/api/channel/" + std::to_string(stored.id);
        return reply;
    }));
}

net::awaitable<void> AdminApi::get_channel(http::Exchange& exchange) {
    const auto id = parse_id(exchange.param("id"));
    if (!id) co_return co_await answer(exchange, missing(exchange.param("id")));
    co_await answer(exchange, co_await on_db([&] {
        const auto c = store_.get_channel(*id);
        return c ? one(200, *c) : missing(exchange.param("id"));
    }));
}

net::awaitable<void> AdminApi::update_channel(http::Exchange& exchange) {
    const auto id = parse_id(exchange.param("id"));
    if (!id) co_return co_await answer(exchange, missing(exchange.param("id")));
    const auto parsed = co_await read_object(exchange);
    if (!parsed) co_return;
    co_await answer(exchange, co_await on_db([&] {
        auto current = store_.get_channel(*id);
        if (!current) return missing(exchange.param("id"));
        current->key.clear();  // only a key in the body rotates it
        const auto changed = apply_channel(*parsed, std::move(*current), false);
        if (!changed) return error_reply(changed.error());
        const auto stored = store_.update_channel(*changed);
        return stored ? one(200, *stored) : missing(exchange.param("id"));
    }));
}

net::awaitable<void> AdminApi::delete_channel(http::Exchange& exchange) {
    const auto id = parse_id(exchange.param("id"));
    if (!id) co_return co_await answer(exchange, missing(exchange.param("id")));
    co_await answer(exchange, co_await on_db([&] {
        return store_.delete_channel(*id) ? Reply{204, {}, {}} : missing(exchange.param("id"));
    }));
}

// Read the channel (database thread), call it (this I/O thread), record the time it took
// (database thread).
net::awaitable<void> AdminApi::test_channel(http::Exchange& exchange) {
    const auto id = parse_id(exchange.param("id"));
    if (!id) co_return co_await answer(exchange, missing(exchange.param("id")));
    std::optional<store::Channel> channel;
    const auto found = co_await on_db([&] {
        channel = store_.get_channel_with_key(*id);
        return channel ? Reply{} : missing(exchange.param("id"));
    });
    if (!channel) co_return co_await answer(exchange, found);
    const auto result = co_await options_.tester(*channel);
    co_await answer(exchange, co_await on_db([&] {
        store_.record_channel_test(*id, result.response_time_ms);
        return Reply{200,
                     json::serialize(json::object{{"success", result.success},
                                                  {"status", result.status},
                                                  {"message", result.message},
                                                  {"response_time", result.response_time_ms}}),
                     {}};
    }));
}

}  // namespace nexus::admin
