#include "admin/admin_api.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <iostream>

#include "core/crypto.hpp"
#include "core/wire.hpp"

namespace nexus::admin {

namespace bhttp = beast::http;
using core::Error;
using http::Access;

namespace {
constexpr std::string_view kAdminKeySetting = "admin_key_hash";
}  // namespace

std::string admin_key_hash(std::string_view key) { return core::sha256_hex(key); }

std::string ensure_admin_key(store::Store& store, const std::string& configured) {
    if (!configured.empty()) {
        const auto hash = admin_key_hash(configured);
        store.put_setting(kAdminKeySetting, hash);
        return hash;
    }
    if (auto stored = store.get_setting(kAdminKeySetting)) return *stored;
    const std::string key = "nexus-admin-" + core::random_token(40);
    const auto hash = admin_key_hash(key);
    store.put_setting(kAdminKeySetting, hash);
    std::cerr << "\n"
                 "==================================================================\n"
                 "  nexus-api admin key (shown once; only its hash is stored):\n"
                 "\n"
                 "    " << key << "\n"
                 "\n"
                 "  Use it as: Authorization: Bearer <admin key>  on /api/*\n"
                 "  Set NEXUS_ADMIN_KEY to choose your own.\n"
                 "==================================================================\n"
              << std::endl;
    return hash;
}

AdminApi::AdminApi(store::Store& store, net::any_io_executor db_executor, std::string admin_key_hash,
                   AuthThrottle& throttle, ChannelTester tester, UnwrittenQuota unwritten)
    : store_(store),
      db_(std::move(db_executor)),
      admin_key_hash_(std::move(admin_key_hash)),
      throttle_(throttle),
      tester_(std::move(tester)),
      unwritten_(std::move(unwritten)) {}

void AdminApi::add_routes(http::Router& router) {
    using bhttp::verb;
    // A write made with a session cookie will need the CSRF token (the users issue); a read will not.
    auto route = [&](verb method, std::string_view pattern, net::awaitable<void> (AdminApi::*handler)(http::Exchange&)) {
        const http::RouteInfo admin{core::Route::kAdmin, Access::kAdmin, method != verb::get};
        router.add(method, pattern, admin, [this, handler](http::Exchange& ex) { return (this->*handler)(ex); });
    };
    route(verb::get, "/api/channel", &AdminApi::list_channels);
    route(verb::post, "/api/channel", &AdminApi::create_channel);
    route(verb::get, "/api/channel/{id}", &AdminApi::get_channel);
    route(verb::put, "/api/channel/{id}", &AdminApi::update_channel);
    route(verb::patch, "/api/channel/{id}", &AdminApi::update_channel);
    route(verb::delete_, "/api/channel/{id}", &AdminApi::delete_channel);
    route(verb::post, "/api/channel/{id}/test", &AdminApi::test_channel);
    route(verb::get, "/api/token", &AdminApi::list_tokens);
    route(verb::post, "/api/token", &AdminApi::create_token);
    route(verb::get, "/api/token/{id}", &AdminApi::get_token);
    route(verb::put, "/api/token/{id}", &AdminApi::update_token);
    route(verb::patch, "/api/token/{id}", &AdminApi::update_token);
    route(verb::delete_, "/api/token/{id}", &AdminApi::delete_token);
    route(verb::get, "/api/price", &AdminApi::list_prices);
    route(verb::get, "/api/price/{model...}", &AdminApi::get_price);
    route(verb::put, "/api/price/{model...}", &AdminApi::put_price);
    route(verb::delete_, "/api/price/{model...}", &AdminApi::delete_price);
    route(verb::get, "/api/log", &AdminApi::list_usage);
    route(verb::get, "/api/usage", &AdminApi::summarize_usage);
    // Any other path under /api: a JSON 404, after the guard like every /api route.
    router.add(verb::unknown, "/api/{path...}", {core::Route::kAdmin, Access::kAdmin}, [](http::Exchange& ex) -> net::awaitable<void> {
        const std::string_view target = ex.request().target();
        co_await ex.send_error(Error::not_found("Unknown path: " + std::string(target.substr(0, target.find('?')))));
    });
    router.set_guard(Access::kAdmin, [this](http::Exchange& ex) { return authorise(ex); });
}

net::awaitable<bool> AdminApi::authorise(http::Exchange& exchange) {
    // A correct admin key is always let in: only wrong keys count, and only they are slowed
    // down (a request with no credential at all is a plain 401, not a guess).
    const auto credential = http::bearer_token(exchange.request());
    if (credential && core::constant_time_equal(admin_key_hash(*credential), admin_key_hash_)) co_return true;
    if (credential) {
        const auto client = exchange.remote_ip();
        if (const int wait = throttle_.blocked_for(client); wait > 0) {
            co_await exchange.send_error(Error::too_many_requests(
                "Too many failed admin logins from this address; try again later.", "too_many_failed_logins", wait));
            co_return false;
        }
        throttle_.record_failure(client);
    }
    co_await exchange.send_error(Error::unauthorized(
        credential ? "The admin key is wrong." : "The admin API needs 'Authorization: Bearer <admin key>'.",
        "invalid_admin_key", "authentication_error"));
    co_return false;
}

net::awaitable<AdminApi::Reply> AdminApi::on_db(std::function<Reply()> work) {
    co_return co_await net::co_spawn(
        db_,
        [&]() -> net::awaitable<Reply> {
            try {
                co_return work();
            } catch (const std::exception& ex) {
                spdlog::error("admin: database failure: {}", ex.what());
                co_return error_reply(Error::internal("The database failed; nothing was changed."));
            }
        },
        net::use_awaitable);
}

net::awaitable<void> AdminApi::answer(http::Exchange& exchange, Reply reply) {
    std::string fields;
    if (reply.status != 204) core::append_field(fields, "Content-Type", "application/json");
    if (!reply.location.empty()) core::append_field(fields, "Location", reply.location);
    co_await exchange.send(static_cast<unsigned>(reply.status), fields, reply.body);
}

AdminApi::Reply error_reply(const Error& e) { return {e.status, core::to_json(e), {}}; }

std::string_view query_of(http::Exchange& exchange) {
    const std::string_view target = exchange.request().target();
    const auto qmark = target.find('?');
    return qmark == std::string_view::npos ? std::string_view() : target.substr(qmark + 1);
}

}  // namespace nexus::admin
