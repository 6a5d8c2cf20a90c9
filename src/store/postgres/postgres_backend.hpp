#pragma once
#include <memory>
#include <string>

#include "core/crypto.hpp"
#include "store/postgres/connection.hpp"
#include "store/rows.hpp"
#include "store/store.hpp"

namespace nexus::store::postgres {

/// The PostgreSQL backend, for several nodes sharing one database (NEXUS_DATABASE_URL). Pending
/// migrations are applied at open, one transaction each, under an advisory lock so that nodes
/// starting together migrate once; a database from a newer nexus-api is refused, never touched.
/// One connection per node, serialised by a mutex, used from the database thread only: the
/// relay's hot path never waits on it. Every write that moves quota (a usage batch) is a single
/// relative UPDATE per token, owner and channel, in id order, so batches from several nodes
/// neither lose an addition nor deadlock.
class PostgresBackend final : public OwnedTables {
public:
    explicit PostgresBackend(const std::string& url);
    ~PostgresBackend() override;

    std::int64_t reseal(const std::function<std::string(const std::string&)>& reseal) override;
    /// A ChangeFeed on a connection of its own.
    std::unique_ptr<ChangeWatch> watch(std::function<void()> changed, std::chrono::milliseconds poll_every) override;

private:
    void migrate();

    std::string url_;
    Connection connection_;
};

/// A Store over the PostgreSQL database at `url`, its sealed values sealed with `secrets`.
class PostgresStore final : public Store {
public:
    PostgresStore(const std::string& url, core::SecretBox secrets)
        : Store(std::make_unique<PostgresBackend>(url), std::move(secrets)) {}
};

/// The row objects over one connection (postgres_rows.cpp; usage and prices in
/// postgres_usage.cpp; users, sessions and the audit log in postgres_accounts.cpp).
std::unique_ptr<ChannelRows> make_channel_rows(Connection& connection);
std::unique_ptr<TokenRows> make_token_rows(Connection& connection);
std::unique_ptr<SettingRows> make_setting_rows(Connection& connection);
std::unique_ptr<UsageRows> make_usage_rows(Connection& connection);
std::unique_ptr<PriceRows> make_price_rows(Connection& connection);
std::unique_ptr<UserRows> make_user_rows(Connection& connection);
std::unique_ptr<SessionRows> make_session_rows(Connection& connection);
std::unique_ptr<AuditRows> make_audit_rows(Connection& connection);

}  // namespace nexus::store::postgres
