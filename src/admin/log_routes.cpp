// /api/log: what each relayed call used, newest first; /api/usage: those records summed.
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "core/clock.hpp"

#include "admin/admin_api.hpp"
#include "admin/query.hpp"

namespace nexus::admin {

namespace json = boost::json;

namespace {

json::object usage_json(const store::UsageRecord& r) {
    return json::object{{"id", r.id},
                        {"created_time", r.created_time},
                        {"request_id", r.request_id},
                        {"token_id", r.token_id},
                        {"user_id", r.user_id},
                        {"channel_id", r.channel_id},
                        {"model", r.model},
                        {"stream", r.stream},
                        {"status", r.status},
                        {"latency_ms", r.latency_ms},
                        {"ttfb_ms", r.ttfb_ms},
                        {"attempts", r.attempts},
                        {"prompt_tokens", r.prompt_tokens},
                        {"completion_tokens", r.completion_tokens},
                        {"total_tokens", r.total_tokens},
                        {"cached_tokens", r.cached_tokens},
                        {"quota", r.quota},
                        {"price", core::price_json(r.price)},
                        {"estimated", r.estimated}};
}

json::object summary_json(const store::UsageSummary& s, store::UsageGroup group) {
    json::object o;
    if (group == store::UsageGroup::kModel) {
        o["key"] = s.key_text;
    } else {
        o["key"] = s.key_number;
    }
    o["calls"] = s.calls;
    o["errors"] = s.errors;
    o["prompt_tokens"] = s.prompt_tokens;
    o["completion_tokens"] = s.completion_tokens;
    o["quota"] = s.quota;
    o["latency_p50_ms"] = s.latency_p50_ms;
    o["latency_p99_ms"] = s.latency_p99_ms;
    return o;
}

}  // namespace

net::awaitable<void> AdminApi::list_usage(http::Exchange& exchange) {
    auto q = parse_usage_query(query_of(exchange));
    if (!q) co_return co_await answer(exchange, error_reply(q.error()));
    // A user sees the calls of his own tokens only, whatever he asked for.
    if (const auto& caller = caller_of(exchange); caller.grant == accounts::Grant::kOwn) q->user_id = caller.user_id;
    co_await answer(exchange,
                    co_await on_db([&] { return list_reply(store_.list_usage(*q), q->page, q->page_size, usage_json); }));
}

net::awaitable<void> AdminApi::summarize_usage(http::Exchange& exchange) {
    const auto q = parse_summary_query(query_of(exchange), core::unix_seconds());
    if (!q) co_return co_await answer(exchange, error_reply(q.error()));
    const auto& caller = caller_of(exchange);
    const auto owner = caller.grant == accounts::Grant::kOwn ? std::optional(caller.user_id) : std::nullopt;
    co_await answer(exchange, co_await on_db([&] {
        json::array data;
        for (const auto& s : store_.summarize_usage(q->group, q->start, q->end, owner)) {
            data.push_back(summary_json(s, q->group));
        }
        return Reply{200, json::serialize(json::object{{"object", "list"}, {"data", std::move(data)}}), {}};
    }));
}

}  // namespace nexus::admin
