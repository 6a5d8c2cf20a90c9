#include "admin/admin_api.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include <iostream>

#include "admin/resources.hpp"
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
    const std::string key = reset_admin_key(store);
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
    return admin_key_hash(key);
}

std::string reset_admin_key(store::Store& store) {
    std::string key = "nexus-admin-" + core::random_token(40);
    store.put_setting(kAdminKeySetting, admin_key_hash(key));
    return key;
}

AdminApi::AdminApi(store::Store& store, net::any_io_executor db_executor, Throttles& throttles, Options options)
    : store_(store), db_(std::move(db_executor)), throttles_(throttles), options_(std::move(options)) {}

void AdminApi::add_routes(http::Router& router) {
    using bhttp::verb;
    using R = accounts::Resource;
    // Every route names what it acts on; the guard decides from that and the caller's role. A
    // write (any method but GET) made with a session cookie needs the CSRF token, and is audited
    // when it succeeds, before its answer is sent.
    auto route = [&](verb method, std::string_view pattern, R resource,
                     net::awaitable<void> (AdminApi::*handler)(http::Exchange&)) {
        const bool write = method != verb::get;
        const http::RouteInfo info{core::Route::kAdmin, Access::kAdmin, write, static_cast<std::uint8_t>(resource)};
        router.add(method, pattern, info, [this, handler, write, resource](http::Exchange& ex) -> net::awaitable<void> {
            if (auto* caller = std::any_cast<Caller>(&ex.caller()); caller && write) caller->audited = resource;
            co_await (this->*handler)(ex);
        });
    };
    // Sign-in. Login is the one /api route open to anyone: it is how a caller gets an identity.
    router.add(verb::post, "/api/auth/login", {core::Route::kAdmin, Access::kPublic},
               [this](http::Exchange& ex) { return login(ex); });
    router.add(verb::post, "/api/auth/logout",
               {core::Route::kAdmin, Access::kAdmin, true, static_cast<std::uint8_t>(R::kAuth)},
               [this](http::Exchange& ex) { return logout(ex); });  // audited by itself
    route(verb::get, "/api/auth/me", R::kAuth, &AdminApi::me);
    route(verb::get, "/api/user/self", R::kSelf, &AdminApi::get_self);
    route(verb::put, "/api/user/self", R::kSelf, &AdminApi::update_self);
    route(verb::patch, "/api/user/self", R::kSelf, &AdminApi::update_self);
    route(verb::put, "/api/user/self/password", R::kSelf, &AdminApi::change_own_password);
    route(verb::post, "/api/user/self/totp", R::kSelf, &AdminApi::begin_totp);
    route(verb::post, "/api/user/self/totp/enable", R::kSelf, &AdminApi::enable_totp);
    route(verb::delete_, "/api/user/self/totp", R::kSelf, &AdminApi::disable_own_totp);
    route(verb::get, "/api/user", R::kUser, &AdminApi::list_users);
    route(verb::post, "/api/user", R::kUser, &AdminApi::create_user);
    route(verb::get, "/api/user/{id}", R::kUser, &AdminApi::get_user);
    route(verb::put, "/api/user/{id}", R::kUser, &AdminApi::update_user);
    route(verb::patch, "/api/user/{id}", R::kUser, &AdminApi::update_user);
    route(verb::delete_, "/api/user/{id}", R::kUser, &AdminApi::delete_user);
    route(verb::post, "/api/user/{id}/password", R::kUser, &AdminApi::set_user_password);
    route(verb::delete_, "/api/user/{id}/totp", R::kUser, &AdminApi::disable_user_totp);
    route(verb::get, "/api/channel", R::kChannel, &AdminApi::list_channels);
    route(verb::post, "/api/channel", R::kChannel, &AdminApi::create_channel);
    route(verb::get, "/api/channel/{id}", R::kChannel, &AdminApi::get_channel);
    route(verb::put, "/api/channel/{id}", R::kChannel, &AdminApi::update_channel);
    route(verb::patch, "/api/channel/{id}", R::kChannel, &AdminApi::update_channel);
    route(verb::delete_, "/api/channel/{id}", R::kChannel, &AdminApi::delete_channel);
    route(verb::post, "/api/channel/{id}/test", R::kChannel, &AdminApi::test_channel);
    route(verb::get, "/api/token", R::kToken, &AdminApi::list_tokens);
    route(verb::post, "/api/token", R::kToken, &AdminApi::create_token);
    route(verb::get, "/api/token/{id}", R::kToken, &AdminApi::get_token);
    route(verb::put, "/api/token/{id}", R::kToken, &AdminApi::update_token);
    route(verb::patch, "/api/token/{id}", R::kToken, &AdminApi::update_token);
    route(verb::delete_, "/api/token/{id}", R::kToken, &AdminApi::delete_token);
    route(verb::get, "/api/price", R::kPrice, &AdminApi::list_prices);
    route(verb::get, "/api/price/{model...}", R::kPrice, &AdminApi::get_price);
    route(verb::put, "/api/price/{model...}", R::kPrice, &AdminApi::put_price);
    route(verb::delete_, "/api/price/{model...}", R::kPrice, &AdminApi::delete_price);
    route(verb::get, "/api/log", R::kLog, &AdminApi::list_usage);
    route(verb::get, "/api/usage", R::kLog, &AdminApi::summarize_usage);
    route(verb::get, "/api/audit", R::kAudit, &AdminApi::list_audit);
    // Any other path under /api: a JSON 404, after the guard like every /api route.
    router.add(verb::unknown, "/api/{path...}",
               {core::Route::kAdmin, Access::kAdmin, false, static_cast<std::uint8_t>(R::kOther)},
               [](http::Exchange& ex) -> net::awaitable<void> {
                   const std::string_view target = ex.request().target();
                   co_await ex.send_error(
                       Error::not_found("Unknown path: " + std::string(target.substr(0, target.find('?')))));
               });
    router.set_guard(Access::kAdmin,
                     [this](http::Exchange& ex, const http::RouteInfo& info) { return authorise(ex, info); });
}

net::awaitable<AdminApi::Reply> AdminApi::on_db(std::function<Reply()> work) {
    co_return co_await net::co_spawn(
        db_,
        [&]() -> net::awaitable<Reply> {
            try {
                co_return work();
            } catch (const store::Unavailable& ex) {
                spdlog::error("admin: database unavailable: {}", ex.what());
                co_return error_reply(
                    Error::unavailable("The database cannot be reached; nothing was changed. Try again shortly.",
                                       "database_unavailable", 5));
            } catch (const std::exception& ex) {
                spdlog::error("admin: database failure: {}", ex.what());
                co_return error_reply(Error::internal("The database failed; nothing was changed."));
            }
        },
        net::use_awaitable);
}

net::awaitable<std::optional<boost::json::object>> AdminApi::read_object(http::Exchange& exchange) {
    if (!co_await read_body(exchange)) co_return std::nullopt;
    auto parsed = parse_object(exchange.request().body());
    if (!parsed) {
        co_await answer(exchange, error_reply(parsed.error()));
        co_return std::nullopt;
    }
    // What the write names, for its audit row: read here, where every write's body is parsed.
    if (auto* caller = std::any_cast<Caller>(&exchange.caller())) {
        for (const auto& field : *parsed) caller->fields.emplace_back(field.key().substr(0, 64));
    }
    co_return std::move(*parsed);
}

net::awaitable<void> AdminApi::answer(http::Exchange& exchange, Reply reply) {
    std::string fields;
    if (reply.status != 204) core::append_field(fields, "Content-Type", "application/json");
    if (!reply.location.empty()) {
        core::append_field(fields, "Location", reply.location);
        // What was created, for the audit log: the Location's last segment.
        if (auto* caller = std::any_cast<Caller>(&exchange.caller())) {
            caller->object_id = reply.location.substr(reply.location.rfind('/') + 1);
        }
    }
    if (!reply.cookie.empty()) core::append_field(fields, "Set-Cookie", reply.cookie);
    for (const auto& [name, value] : reply.headers) core::append_field(fields, name, value);
    if (const auto* caller = std::any_cast<Caller>(&exchange.caller());
        caller && caller->audited && reply.status >= 200 && reply.status <= 299) {
        co_await audit_write(exchange, *caller, *caller->audited);
    }
    // What an admin answer says is about one caller: no shared cache may keep it.
    core::append_field(fields, "Cache-Control", "no-store");
    co_await exchange.send(static_cast<unsigned>(reply.status), fields, reply.body);
}

AdminApi::Reply error_reply(const Error& e) {
    AdminApi::Reply reply{e.status, core::to_json(e)};
    reply.headers = e.headers;
    return reply;
}

std::string_view query_of(http::Exchange& exchange) {
    const std::string_view target = exchange.request().target();
    const auto qmark = target.find('?');
    return qmark == std::string_view::npos ? std::string_view() : target.substr(qmark + 1);
}

}  // namespace nexus::admin
