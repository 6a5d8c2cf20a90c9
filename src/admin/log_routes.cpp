// /api/log: what each relayed call used, newest first.
#include <boost/json/object.hpp>

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
                        {"channel_id", r.channel_id},
                        {"model", r.model},
                        {"stream", r.stream},
                        {"status", r.status},
                        {"latency_ms", r.latency_ms},
                        {"ttfb_ms", r.ttfb_ms},
                        {"attempts", r.attempts},
                        {"prompt_tokens", r.prompt_tokens},
                        {"completion_tokens", r.completion_tokens},
                        {"total_tokens", r.total_tokens}};
}

}  // namespace

net::awaitable<void> AdminApi::list_usage(http::Exchange& exchange) {
    const auto q = parse_usage_query(query_of(exchange));
    if (!q) co_return co_await answer(exchange, error_reply(q.error()));
    co_await answer(exchange,
                    co_await on_db([&] { return list_reply(store_.list_usage(*q), q->page, q->page_size, usage_json); }));
}

}  // namespace nexus::admin
