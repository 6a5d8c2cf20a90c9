// GET /v1/models and /v1/models/{model...}: the models the caller's channels serve.
#include "core/clock.hpp"
#include "http/router.hpp"
#include "relay/inspect.hpp"
#include "relay/relay.hpp"

namespace nexus::relay {

namespace bhttp = beast::http;

net::awaitable<void> Relay::list_models(http::Exchange& exchange) {
    const auto snap = snapshots_.get();
    if (co_await authenticate(exchange, *snap, core::WireProtocol::kOpenAI, core::unix_seconds()) == nullptr) co_return;
    const auto models = co_await models_.models(snap);
    co_await exchange.send(bhttp::status::ok, render_model_list(models), "application/json");
}

net::awaitable<void> Relay::get_model(http::Exchange& exchange) {
    const auto snap = snapshots_.get();
    if (co_await authenticate(exchange, *snap, core::WireProtocol::kOpenAI, core::unix_seconds()) == nullptr) co_return;
    // The id may hold slashes, raw or percent-encoded; a malformed escape names no model.
    const std::string id = http::percent_decoded(exchange.param("model")).value_or(std::string());
    if (auto e = check_model_length(id)) {
        co_await exchange.send_error(*e);
        co_return;
    }
    exchange.record().model = id;
    for (const auto& m : co_await models_.models(snap)) {
        if (m.id == id) {
            co_await exchange.send(bhttp::status::ok, render_model(m), "application/json");
            co_return;
        }
    }
    auto e = core::Error::not_found("The model '" + id + "' does not exist or no channel serves it.");
    e.code = "model_not_found";
    e.param = "model";
    co_await exchange.send_error(e);
}

}  // namespace nexus::relay
