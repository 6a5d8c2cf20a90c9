#include "admin/admin_api.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <spdlog/spdlog.h>

#include <charconv>
#include <iostream>
#include <limits>

#include "admin/resources.hpp"
#include "core/crypto.hpp"

namespace nexus::admin {

namespace json = boost::json;
namespace bhttp = beast::http;
using core::Error;

namespace {

constexpr std::string_view kAdminKeySetting = "admin_key_hash";

// The whole of `text` as an integer in [min, max], or nullopt.
std::optional<std::int64_t> parse_int(std::string_view text, std::int64_t min, std::int64_t max) {
    std::int64_t v = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || ptr != text.data() + text.size() || v < min || v > max) return std::nullopt;
    return v;
}

std::optional<std::int64_t> parse_id(std::string_view text) {
    return parse_int(text, 1, std::numeric_limits<std::int64_t>::max());
}

// ?page=&page_size=&status=&q= → ListQuery, or a 400 naming the parameter.
core::Result<store::ListQuery> parse_list_query(std::string_view query) {
    store::ListQuery q;
    const std::string ref = "?" + std::string(query);
    const auto url = boost::urls::parse_relative_ref(ref);
    if (!url) return Error::bad_request("The query string is malformed.");
    for (const auto& p : url->params()) {
        auto int_param = [&](std::int64_t min, std::int64_t max) { return parse_int(p.value, min, max); };
        if (p.key == "page") {
            const auto v = int_param(1, 1'000'000);
            if (!v) return Error::bad_request("'page' must be an integer from 1.", "page", "invalid_value");
            q.page = *v;
        } else if (p.key == "page_size") {
            const auto v = int_param(1, 100);
            if (!v) return Error::bad_request("'page_size' must be an integer from 1 to 100.", "page_size", "invalid_value");
            q.page_size = *v;
        } else if (p.key == "status") {
            const auto v = int_param(0, 3);
            if (!v) return Error::bad_request("'status' must be an integer from 0 to 3.", "status", "invalid_value");
            q.status = static_cast<int>(*v);
        } else if (p.key == "q") {
            q.name_contains = p.value;
        }
    }
    return q;
}

template <class T, class ToJson>
std::string list_body(const store::Page<T>& page, const store::ListQuery& q, ToJson to_json) {
    json::array data;
    for (const auto& item : page.items) data.emplace_back(to_json(item));
    return json::serialize(json::object{{"object", "list"},
                                        {"data", std::move(data)},
                                        {"total", page.total},
                                        {"page", q.page},
                                        {"page_size", q.page_size}});
}

// 429 for a client that guessed too often; `wait` seconds until it may try again.
Error too_many_failures(int wait) {
    Error e;
    e.status = 429;
    e.type = "rate_limit_error";
    e.code = "too_many_failed_logins";
    e.message = "Too many failed admin logins from this address; try again later.";
    e.headers.emplace_back("Retry-After", std::to_string(wait));
    return e;
}

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
                   AuthThrottle& throttle, ChannelTester tester)
    : store_(store),
      db_(std::move(db_executor)),
      admin_key_hash_(std::move(admin_key_hash)),
      throttle_(throttle),
      tester_(std::move(tester)) {}

// Runs `work` (which returns a Reply) on the database thread; this coroutine waits without
// blocking its I/O thread. A database failure becomes a 500 that says nothing was changed.
template <class F>
net::awaitable<AdminApi::Reply> AdminApi::on_db(F work) {
    co_return co_await net::co_spawn(
        db_,
        [&]() -> net::awaitable<Reply> {
            try {
                co_return work();
            } catch (const std::exception& ex) {
                spdlog::error("admin: database failure: {}", ex.what());
                const auto e = Error::internal("The database failed; nothing was changed.");
                co_return Reply{e.status, core::to_json(e), {}};
            }
        },
        net::use_awaitable);
}

// POST /api/channel/{id}/test: read the channel (database thread), call it (this I/O thread),
// record the time it took (database thread).
net::awaitable<AdminApi::Reply> AdminApi::test_channel(std::int64_t id) {
    std::optional<store::Channel> channel;
    auto found = co_await on_db([&] {
        channel = store_.get_channel_with_key(id);
        return channel ? Reply{200, {}, {}}
                       : Reply{404, core::to_json(Error::not_found("No channel with id " + std::to_string(id) + ".")), {}};
    });
    if (found.status != 200) co_return found;
    const auto result = co_await tester_(*channel);
    co_return co_await on_db([&] {
        store_.record_channel_test(id, result.response_time_ms);
        return Reply{200,
                     json::serialize(json::object{{"success", result.success},
                                                  {"status", result.status},
                                                  {"message", result.message},
                                                  {"response_time", result.response_time_ms}}),
                     {}};
    });
}

net::awaitable<void> AdminApi::handle(http::Exchange& exchange) {
    auto& request = exchange.request();
    // A correct admin key is always let in: only wrong keys count, and only they are slowed
    // down (a request with no credential at all is a plain 401, not a guess).
    const auto credential = http::bearer_token(request);
    if (!credential || !core::constant_time_equal(admin_key_hash(*credential), admin_key_hash_)) {
        Error e;
        e.status = 401;
        e.type = "authentication_error";
        e.code = "invalid_admin_key";
        e.message = credential ? "The admin key is wrong." : "The admin API needs 'Authorization: Bearer <admin key>'.";
        if (credential) {
            const auto client = exchange.remote_ip();
            if (const int wait = throttle_.blocked_for(client); wait > 0) {
                co_await exchange.send_error(too_many_failures(wait));
                co_return;
            }
            throttle_.record_failure(client);
        }
        co_await exchange.send_error(e);
        co_return;
    }
    // Only now, with the caller known, is the body read.
    if (!co_await exchange.read_body(kMaxBody)) co_return;

    const std::string method(request.method_string());
    const std::string_view target = request.target();
    const auto qmark = target.find('?');
    const std::string path(target.substr(0, qmark));
    const std::string query(qmark == std::string_view::npos ? std::string_view() : target.substr(qmark + 1));
    const std::string& body = request.body();

    Reply reply;
    constexpr std::string_view kChannelPrefix = "/api/channel/";
    constexpr std::string_view kTestSuffix = "/test";
    if (path.starts_with(kChannelPrefix) && path.ends_with(kTestSuffix) &&
        path.size() > kChannelPrefix.size() + kTestSuffix.size()) {
        const auto id = parse_id(std::string_view(path).substr(
            kChannelPrefix.size(), path.size() - kChannelPrefix.size() - kTestSuffix.size()));
        if (!id) {
            reply = Reply{404, core::to_json(Error::not_found("No such resource: " + path)), {}};
        } else if (method != "POST") {
            reply = Reply{405, core::to_json(Error::method_not_allowed("Use POST to test a channel.")), {}};
        } else {
            reply = co_await test_channel(*id);
        }
    } else {
        reply = co_await on_db([&] { return route(method, path, query, body); });
    }

    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(reply.status), 11};
    if (reply.status != 204) {
        res.set(bhttp::field::content_type, "application/json");
        res.body() = std::move(reply.body);
    }
    if (!reply.location.empty()) res.set(bhttp::field::location, reply.location);
    co_await exchange.send(std::move(res));
}

AdminApi::Reply AdminApi::route(const std::string& method, std::string_view path, std::string_view query,
                                std::string_view body) {
    auto error = [](const Error& e) { return Reply{e.status, core::to_json(e), {}}; };
    // /api/<collection>[/<id>]
    std::string_view rest = path.substr(std::string_view("/api/").size());
    const auto slash = rest.find('/');
    const std::string_view collection = rest.substr(0, slash);
    std::optional<std::int64_t> id;
    if (slash != std::string_view::npos) {
        const auto id_text = rest.substr(slash + 1);
        id = parse_id(id_text);
        if (!id) {
            return error(Error::not_found("No such resource: " + std::string(path) +
                                          " (ids are positive integers)."));
        }
    }
    if (collection == "channel") return channels(method, id, query, body);
    if (collection == "token") return tokens(method, id, query, body);
    if (collection == "log" && !id) return usage_logs(method, query);
    return error(Error::not_found("Unknown path: " + std::string(path)));
}

AdminApi::Reply AdminApi::channels(const std::string& method, std::optional<std::int64_t> id, std::string_view query,
                                   std::string_view body) {
    auto error = [](const Error& e) { return Reply{e.status, core::to_json(e), {}}; };
    auto missing = [&] { return error(Error::not_found("No channel with id " + std::to_string(*id) + ".")); };
    auto one = [](int status, const store::Channel& c) {
        return Reply{status, json::serialize(channel_json(c)), {}};
    };
    if (!id) {
        if (method == "GET") {
            const auto q = parse_list_query(query);
            if (!q) return error(q.error());
            return Reply{200, list_body(store_.list_channels(*q), *q, channel_json), {}};
        }
        if (method == "POST") {
            const auto parsed = parse_object(body);
            if (!parsed) return error(parsed.error());
            const auto channel = apply_channel(*parsed, store::Channel{}, true);
            if (!channel) return error(channel.error());
            const auto stored = store_.insert_channel(*channel);
            auto reply = one(201, stored);
            reply.location = "/api/channel/" + std::to_string(stored.id);
            return reply;
        }
        return error(Error::method_not_allowed("Use GET or POST on /api/channel."));
    }
    if (method == "GET") {
        const auto c = store_.get_channel(*id);
        return c ? one(200, *c) : missing();
    }
    if (method == "PUT" || method == "PATCH") {
        const auto parsed = parse_object(body);
        if (!parsed) return error(parsed.error());
        auto current = store_.get_channel(*id);
        if (!current) return missing();
        current->key.clear();  // only a key in the body rotates it
        const auto changed = apply_channel(*parsed, std::move(*current), false);
        if (!changed) return error(changed.error());
        const auto stored = store_.update_channel(*changed);
        return stored ? one(200, *stored) : missing();
    }
    if (method == "DELETE") return store_.delete_channel(*id) ? Reply{204, {}, {}} : missing();
    return error(Error::method_not_allowed("Use GET, PUT or DELETE on /api/channel/{id}."));
}

AdminApi::Reply AdminApi::usage_logs(const std::string& method, std::string_view query) {
    auto error = [](const Error& e) { return Reply{e.status, core::to_json(e), {}}; };
    if (method != "GET") return error(Error::method_not_allowed("Use GET on /api/log."));
    store::UsageQuery q;
    const std::string ref = "?" + std::string(query);
    const auto url = boost::urls::parse_relative_ref(ref);
    if (!url) return error(Error::bad_request("The query string is malformed."));
    constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
    for (const auto& p : url->params()) {
        auto bad = [&](const std::string& what) {
            return error(Error::bad_request("'" + p.key + "' must be " + what + ".", p.key, "invalid_value"));
        };
        if (p.key == "page") {
            const auto v = parse_int(p.value, 1, 1'000'000);
            if (!v) return bad("an integer from 1");
            q.page = *v;
        } else if (p.key == "page_size") {
            const auto v = parse_int(p.value, 1, 100);
            if (!v) return bad("an integer from 1 to 100");
            q.page_size = *v;
        } else if (p.key == "token_id") {
            q.token_id = parse_id(p.value);
            if (!q.token_id) return bad("a token id");
        } else if (p.key == "channel_id") {
            q.channel_id = parse_id(p.value);
            if (!q.channel_id) return bad("a channel id");
        } else if (p.key == "start_time") {
            q.start_time = parse_int(p.value, 0, kMax);
            if (!q.start_time) return bad("unix seconds");
        } else if (p.key == "end_time") {
            q.end_time = parse_int(p.value, 0, kMax);
            if (!q.end_time) return bad("unix seconds");
        } else if (p.key == "model") {
            q.model = p.value;
        }
    }
    const auto page = store_.list_usage(q);
    json::array data;
    for (const auto& r : page.items) {
        data.emplace_back(json::object{{"id", r.id},
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
                                       {"total_tokens", r.total_tokens}});
    }
    return Reply{200,
                 json::serialize(json::object{{"object", "list"},
                                              {"data", std::move(data)},
                                              {"total", page.total},
                                              {"page", q.page},
                                              {"page_size", q.page_size}}),
                 {}};
}

AdminApi::Reply AdminApi::tokens(const std::string& method, std::optional<std::int64_t> id, std::string_view query,
                                 std::string_view body) {
    auto error = [](const Error& e) { return Reply{e.status, core::to_json(e), {}}; };
    auto missing = [&] { return error(Error::not_found("No token with id " + std::to_string(*id) + ".")); };
    auto one = [](int status, const store::Token& t, std::string_view full_key = {}) {
        return Reply{status, json::serialize(token_json(t, full_key)), {}};
    };
    if (!id) {
        if (method == "GET") {
            const auto q = parse_list_query(query);
            if (!q) return error(q.error());
            return Reply{200, list_body(store_.list_tokens(*q), *q, [](const store::Token& t) { return token_json(t); }),
                         {}};
        }
        if (method == "POST") {
            const auto parsed = parse_object(body);
            if (!parsed) return error(parsed.error());
            auto input = apply_token(*parsed, store::Token{}, true);
            if (!input) return error(input.error());
            const std::string key = input->key.empty() ? "sk-" + core::random_token(48) : input->key;
            input->token.key_hash = core::sha256_hex(key);
            input->token.key_preview = store::mask_key(key);
            try {
                const auto stored = store_.insert_token(input->token);
                auto reply = one(201, stored, key);
                reply.location = "/api/token/" + std::to_string(stored.id);
                return reply;
            } catch (const store::Conflict&) {
                Error e = Error::bad_request("A token with this key exists already.", "key", "token_exists");
                e.status = 409;
                return error(e);
            }
        }
        return error(Error::method_not_allowed("Use GET or POST on /api/token."));
    }
    if (method == "GET") {
        const auto t = store_.get_token(*id);
        return t ? one(200, *t) : missing();
    }
    if (method == "PUT" || method == "PATCH") {
        const auto parsed = parse_object(body);
        if (!parsed) return error(parsed.error());
        auto current = store_.get_token(*id);
        if (!current) return missing();
        const auto changed = apply_token(*parsed, std::move(*current), false);
        if (!changed) return error(changed.error());
        const auto stored = store_.update_token(changed->token);
        return stored ? one(200, *stored) : missing();
    }
    if (method == "DELETE") return store_.delete_token(*id) ? Reply{204, {}, {}} : missing();
    return error(Error::method_not_allowed("Use GET, PUT or DELETE on /api/token/{id}."));
}

}  // namespace nexus::admin
