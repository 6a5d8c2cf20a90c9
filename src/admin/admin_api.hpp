#pragma once
#include <boost/json/object.hpp>

#include <functional>
#include <optional>
#include <string>

#include "accounts/roles.hpp"
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

/// Replaces the stored admin key with a new random one; returns the new key (its hash only is
/// stored). The running server reads the hash at start-up: it takes effect on the next start.
std::string reset_admin_key(store::Store& store);

/// Who is calling an /api route, as its guard found out: kept in the Exchange for the handler.
struct Caller {
    std::int64_t user_id = 0;  ///< root's id for the admin key
    std::string name;          ///< the username, or "admin-key"
    accounts::Role role = accounts::Role::kUser;
    accounts::Grant grant = accounts::Grant::kDeny;  ///< the route's, from the role × route table
    bool admin_key = false;
    std::string session_hash;  ///< the session's, when signed in with a cookie
    std::string csrf_token;
    std::string object_id;  ///< what a create made (for the audit log)
    std::vector<std::string> fields;  ///< the names in the write's body (for the audit log; never values)
    std::string ip;         ///< the client's address (behind trusted proxies: the one they name)
    /// Set on a write route: what to audit when its answer is a success. The row is written
    /// before the answer leaves, so whoever reads the audit log after the answer finds it.
    std::optional<accounts::Resource> audited;
};

/// The failed-login counters every I/O thread shares.
struct Throttles {
    AuthThrottle admin_key{10, std::chrono::minutes(1)};  ///< wrong admin keys, per address
    AuthThrottle logins{10, std::chrono::minutes(10)};    ///< wrong passwords, per username and per address
};

/// The REST API under /api/: sign-in, users, channels, tokens, prices, the usage log and its
/// sums, the audit log. Every route declares the Resource it acts on; one guard (authorise)
/// runs before each of them, their 405s and unknown /api paths included: it finds the caller
/// (the admin key, acting as root, or a session cookie with its CSRF token on writes) and asks
/// the role × route table (accounts/roles.cpp) what the caller's role may do there. Handlers
/// apply the grant (their own objects only, or lower roles only). Every successful write is
/// written to the audit log. One function per route; each reads its body itself, only once the
/// caller is known. Handlers run on the I/O thread that took the request; every database call
/// (and password hashing) runs on `db_executor` (a thread of its own), so /v1/* traffic on the
/// same thread never waits on it.
class AdminApi {
public:
    /// Runs a channel test on the calling I/O thread (the relay's upstream client).
    using ChannelTester = std::function<net::awaitable<store::ChannelTestResult>(const store::Channel&)>;

    /// The quota a token (or user) spent on this node that the database does not hold yet (database thread).
    using UnwrittenQuota = std::function<std::int64_t(std::int64_t id)>;

    struct Options {
        std::string admin_key_hash;
        std::int64_t root_id = 0;  ///< the account the admin key acts as
        ChannelTester tester;
        UnwrittenQuota token_unwritten;
        UnwrittenQuota user_unwritten;
    };

    /// One AdminApi per I/O thread; `throttles` is shared by all of them.
    AdminApi(store::Store& store, net::any_io_executor db_executor, Throttles& throttles, Options options);

    /// Adds every /api route to `router`, and this API's guard for access kAdmin.
    void add_routes(http::Router& router);

    /// The guard: finds the caller and checks the role × route table; answers 401 (no or a wrong
    /// credential, an ended session), 403 (the role may not, a missing CSRF token, a foreign
    /// Origin) or 429 (too many wrong admin keys) and returns false; else keeps the Caller in
    /// the exchange and returns true.
    net::awaitable<bool> authorise(http::Exchange& exchange, const http::RouteInfo& route);

    /// The Playground's routes (/api/playground/*, registered with the relay's handlers): makes
    /// the exchange act as the caller's own token named by `X-Nexus-Token-Id`, or answers 400
    /// (no or a malformed id) or 404 (no such token of his) and returns false.
    net::awaitable<bool> act_as_own_token(http::Exchange& exchange);

    /// Largest admin request body; larger → 413.
    static constexpr std::size_t kMaxBody = 1 << 20;

    /// What a handler answers: a status, a JSON body (none for 204), a Location, a Set-Cookie, more fields.
    struct Reply {
        Reply(int status_code = 200, std::string json = {}, std::string where = {})
            : status(status_code), body(std::move(json)), location(std::move(where)) {}
        int status;
        std::string body;
        std::string location;
        std::string cookie;
        std::vector<std::pair<std::string, std::string>> headers;  ///< an error's own (Retry-After)
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
    /// The token `id` when the caller may see it (his own, for a user), else nullopt (database thread).
    std::optional<store::Token> visible_token(const Caller& caller, std::int64_t id);
    // user_routes.cpp
    net::awaitable<void> list_users(http::Exchange& exchange);
    net::awaitable<void> create_user(http::Exchange& exchange);
    net::awaitable<void> get_user(http::Exchange& exchange);
    net::awaitable<void> update_user(http::Exchange& exchange);
    net::awaitable<void> delete_user(http::Exchange& exchange);
    net::awaitable<void> set_user_password(http::Exchange& exchange);
    net::awaitable<void> get_self(http::Exchange& exchange);
    net::awaitable<void> update_self(http::Exchange& exchange);
    net::awaitable<void> change_own_password(http::Exchange& exchange);
    store::User live(store::User u) const;
    // totp_routes.cpp
    net::awaitable<void> begin_totp(http::Exchange& exchange);
    net::awaitable<void> enable_totp(http::Exchange& exchange);
    net::awaitable<void> disable_own_totp(http::Exchange& exchange);
    net::awaitable<void> disable_user_totp(http::Exchange& exchange);
    /// Nullopt when user `user_id` has no second factor, or `body` holds a good one (a TOTP code,
    /// or a recovery code, used up here); else the 401 to answer (database thread).
    std::optional<core::Error> second_factor(std::int64_t user_id, const boost::json::object& body);
    // auth_routes.cpp
    net::awaitable<void> login(http::Exchange& exchange);
    net::awaitable<void> logout(http::Exchange& exchange);
    net::awaitable<void> me(http::Exchange& exchange);
    // authorise.cpp
    /// The caller of a cookie-authenticated request, or the Error to answer (database thread).
    core::Result<Caller> session_caller(std::string_view session_id, bool write, const http::Request& request,
                                        const config::Config& config);
    /// Writes an audit row for a write `caller` made (database thread; a failure is logged only).
    void record_audit(const Caller& caller, std::string action, std::string object_type, std::string object_id,
                      std::vector<std::string> fields);
    net::awaitable<void> list_audit(http::Exchange& exchange);
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
    /// Reads the body of a write as a JSON object; nullopt when it was answered instead (413, 400).
    net::awaitable<std::optional<boost::json::object>> read_object(http::Exchange& exchange);
    /// Sends a handler's reply; a successful write is audited first.
    net::awaitable<void> answer(http::Exchange& exchange, Reply reply);
    /// Audits a successful write: who, what, which fields (names only).
    net::awaitable<void> audit_write(http::Exchange& exchange, const Caller& caller, accounts::Resource resource);

    store::Store& store_;
    net::any_io_executor db_;
    Throttles& throttles_;
    Options options_;
};

/// The caller the guard found (it always runs first, so handlers may take it for granted).
Caller& caller_of(http::Exchange& exchange);

/// Nullopt when `caller` may write `target`'s account (root: any; an admin: role user only),
/// else the 403 to answer.
std::optional<core::Error> may_write(const Caller& caller, const store::User& target);

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
