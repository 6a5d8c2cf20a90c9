#pragma once
#include <functional>
#include <string>

#include "admin/auth_throttle.hpp"
#include "http/exchange.hpp"
#include "http/router.hpp"
#include "store/store.hpp"

namespace nexus::admin {

/// Hash of the admin key as stored: SHA-256 hex.
std::string admin_key_hash(std::string_view key);

/// Decides the admin key at start-up. `configured` (NEXUS_ADMIN_KEY) wins and its hash is stored;
/// else the stored hash is used; else a new key is generated, printed once to stderr in a
/// marked banner, and only its hash stored. Returns the hash to check requests against.
std::string ensure_admin_key(store::Store& store, const std::string& configured);

/// The REST API under /api/: channels, tokens, prices, the usage log and its sums. Its routes are added to a router
/// with access kAdmin, and its guard (authorise) lets through `Authorization: Bearer <admin
/// key>` (compared in constant time) before any of them runs, their 405s and unknown /api paths
/// included. One function per route; each reads its body itself, only once the caller is
/// known. Handlers run on the I/O thread that took the request; every database call runs on
/// `db_executor` (a thread of its own), so /v1/* traffic on the same thread never waits on it.
class AdminApi {
public:
    /// Runs a channel test on the calling I/O thread (the relay's upstream client).
    using ChannelTester = std::function<net::awaitable<store::ChannelTestResult>(const store::Channel&)>;

    /// The quota a token spent on this node that the database does not hold yet (database thread).
    using UnwrittenQuota = std::function<std::int64_t(std::int64_t token_id)>;

    /// One AdminApi per I/O thread; `throttle` is shared by all of them.
    AdminApi(store::Store& store, net::any_io_executor db_executor, std::string admin_key_hash,
             AuthThrottle& throttle, ChannelTester tester, UnwrittenQuota unwritten);

    /// Adds every /api route to `router`, and this API's guard for access kAdmin.
    void add_routes(http::Router& router);

    /// The guard: true when the caller holds the admin key; else answers 401 (429 after too many
    /// wrong keys from its address) and returns false.
    net::awaitable<bool> authorise(http::Exchange& exchange);

    /// Largest admin request body; larger → 413.
    static constexpr std::size_t kMaxBody = 1 << 20;

    /// What a handler answers: a status, a JSON body (none for 204), a Location.
    struct Reply {
        int status = 200;
        std::string body;
        std::string location;
    };

private:
    // channel_routes.cpp
    net::awaitable<void> list_channels(http::Exchange& exchange);
    net::awaitable<void> create_channel(http::Exchange& exchange);
    net::awaitable<void> get_channel(http::Exchange& exchange);
    net::awaitable<void> update_channel(http::Exchange& exchange);
    net::awaitable<void> delete_channel(http::Exchange& exchange);
    net::awaitable<void> test_channel(http::Exchange& exchange);
    // token_routes.cpp
    net::awaitable<void> list_tokens(http::Exchange& exchange);
    net::awaitable<void> create_token(http::Exchange& exchange);
    net::awaitable<void> get_token(http::Exchange& exchange);
    net::awaitable<void> update_token(http::Exchange& exchange);
    net::awaitable<void> delete_token(http::Exchange& exchange);
    /// `t` as it stands now: its stored quota with what this node spent and has not yet written.
    store::Token live(store::Token t) const;
    // price_routes.cpp
    net::awaitable<void> list_prices(http::Exchange& exchange);
    net::awaitable<void> get_price(http::Exchange& exchange);
    net::awaitable<void> put_price(http::Exchange& exchange);
    net::awaitable<void> delete_price(http::Exchange& exchange);
    // log_routes.cpp
    net::awaitable<void> list_usage(http::Exchange& exchange);
    net::awaitable<void> summarize_usage(http::Exchange& exchange);

    /// Runs `work` (returning a Reply) on the database thread, the calling coroutine waiting
    /// without blocking its I/O thread; a database failure becomes a 500 that says nothing was
    /// changed.
    net::awaitable<Reply> on_db(std::function<Reply()> work);
    /// Reads the body (at most kMaxBody) of a write; false when it was answered instead.
    static net::awaitable<bool> read_body(http::Exchange& exchange) { return exchange.read_body(kMaxBody); }
    static net::awaitable<void> answer(http::Exchange& exchange, Reply reply);

    store::Store& store_;
    net::any_io_executor db_;
    std::string admin_key_hash_;
    AuthThrottle& throttle_;
    ChannelTester tester_;
    UnwrittenQuota unwritten_;
};

/// Reply helpers shared by the route files.
AdminApi::Reply error_reply(const core::Error& e);
/// A list page as the API shows every list: {"object":"list","data":[…],"total","page","page_size"}.
template <class T, class ToJson>
AdminApi::Reply list_reply(const store::Page<T>& page, std::int64_t page_number, std::int64_t page_size,
                           ToJson to_json);
/// The query string of the request's target ("" when none).
std::string_view query_of(http::Exchange& exchange);

}  // namespace nexus::admin

#include "admin/admin_api_impl.hpp"
