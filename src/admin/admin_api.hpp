#pragma once
#include <chrono>
#include <functional>
#include <string>

#include "admin/auth_throttle.hpp"
#include "http/exchange.hpp"
#include "store/store.hpp"

namespace nexus::admin {

/// Hash of the admin key as stored: SHA-256 hex.
std::string admin_key_hash(std::string_view key);

/// Decides the admin key at start-up. `configured` (NEXUS_ADMIN_KEY) wins and its hash is stored;
/// else the stored hash is used; else a new key is generated, printed once to stderr in a
/// marked banner, and only its hash stored. Returns the hash to check requests against.
std::string ensure_admin_key(store::Store& store, const std::string& configured);

/// The REST API under /api/: channels and tokens. Every call needs
/// `Authorization: Bearer <admin key>` (compared in constant time). Handlers run on the I/O
/// thread that took the request; every database call runs on `db_executor` (a thread of its
/// own), so /v1/* traffic on the same thread never waits on the database.
class AdminApi {
public:
    /// Runs a channel test on the calling I/O thread (the relay's upstream client).
    using ChannelTester = std::function<net::awaitable<store::ChannelTestResult>(const store::Channel&)>;

    /// One AdminApi per I/O thread; `throttle` is shared by all of them.
    AdminApi(store::Store& store, net::any_io_executor db_executor, std::string admin_key_hash,
             AuthThrottle& throttle, ChannelTester tester);

    net::awaitable<void> handle(http::Exchange& exchange);

    /// Largest admin request body; larger → 413.
    static constexpr std::size_t kMaxBody = 1 << 20;

private:
    struct Reply {
        int status = 200;
        std::string body;
        std::string location;
    };
    Reply route(const std::string& method, std::string_view path, std::string_view query, std::string_view body);
    Reply channels(const std::string& method, std::optional<std::int64_t> id, std::string_view query,
                   std::string_view body);
    Reply tokens(const std::string& method, std::optional<std::int64_t> id, std::string_view query,
                 std::string_view body);

    Reply usage_logs(const std::string& method, std::string_view query);
    net::awaitable<Reply> test_channel(std::int64_t id);
    template <class F>
    net::awaitable<Reply> on_db(F work);

    store::Store& store_;
    net::any_io_executor db_;
    std::string admin_key_hash_;
    AuthThrottle& throttle_;
    ChannelTester tester_;
};

}  // namespace nexus::admin
