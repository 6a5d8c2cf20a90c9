// /api/price: what calls of each model cost, by the model name clients send (before any
// channel's mapping). The model is the rest of the path: slashes raw or percent-encoded.
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "admin/admin_api.hpp"
#include "admin/resources.hpp"

namespace nexus::admin {

namespace json = boost::json;
using core::Error;

namespace {

constexpr std::size_t kMaxModel = 256;

json::object price_entry(const store::ModelPrice& p) {
    json::object o{{"model", p.model}};
    for (const auto& [name, value] : core::price_json(p.price)) o[name] = value;
    o["updated_time"] = p.updated_time;
    return o;
}

// The model named by the path, or the 400/404 to answer.
core::Result<std::string> model_of(http::Exchange& exchange) {
    auto model = http::percent_decoded(exchange.param("model"));
    if (!model || model->empty()) return Error::not_found("No price for that model.");
    if (model->size() > kMaxModel) {
        return Error::bad_request("The model name is longer than 256 bytes.", "model", "invalid_value");
    }
    return std::move(*model);
}

AdminApi::Reply no_price(const std::string& model) {
    auto e = Error::not_found("No price is set for model '" + model + "'.");
    e.code = "price_not_found";
    return error_reply(e);
}

}  // namespace

net::awaitable<void> AdminApi::list_prices(http::Exchange& exchange) {
    co_await answer(exchange, co_await on_db([&] {
        json::array data;
        const auto prices = store_.all_prices();
        for (const auto& p : prices) data.push_back(price_entry(p));
        const auto total = static_cast<std::int64_t>(data.size());
        return Reply{200, json::serialize(json::object{{"object", "list"}, {"data", std::move(data)}, {"total", total}}), {}};
    }));
}

net::awaitable<void> AdminApi::get_price(http::Exchange& exchange) {
    const auto model = model_of(exchange);
    if (!model) co_return co_await answer(exchange, error_reply(model.error()));
    co_await answer(exchange, co_await on_db([&] {
        const auto p = store_.get_price(*model);
        return p ? Reply{200, json::serialize(price_entry(*p)), {}} : no_price(*model);
    }));
}

net::awaitable<void> AdminApi::put_price(http::Exchange& exchange) {
    const auto model = model_of(exchange);
    if (!model) co_return co_await answer(exchange, error_reply(model.error()));
    const auto parsed = co_await read_object(exchange);
    if (!parsed) co_return;
    const auto price = core::parse_price(*parsed);
    if (!price) co_return co_await answer(exchange, error_reply(price.error()));
    co_await answer(exchange, co_await on_db([&] {
        const auto stored = store_.put_price({*model, *price, 0});
        return Reply{200, json::serialize(price_entry(stored)), {}};
    }));
}

net::awaitable<void> AdminApi::delete_price(http::Exchange& exchange) {
    const auto model = model_of(exchange);
    if (!model) co_return co_await answer(exchange, error_reply(model.error()));
    co_await answer(exchange, co_await on_db([&] {
        return store_.delete_price(*model) ? Reply{204, {}, {}} : no_price(*model);
    }));
}

}  // namespace nexus::admin
