#pragma once
#include <memory>
#include <mutex>
#include <string>

#include "store/rows.hpp"
#include "store/sqlite/migrations.hpp"

struct sqlite3;

namespace nexus::store::sqlite {

/// The SQLite backend: one database file, WAL journal, 5 s busy timeout, foreign keys on;
/// pending migrations applied at open, one transaction each, recorded in `schema_version` (a
/// database from a newer nexus-api is refused, never touched). One connection, serialised by a
/// mutex: the store runs on the database thread, never on the I/O threads that serve /v1/*.
/// Admin writes are synced before they return (synchronous=FULL); usage batches are not
/// (NORMAL: none is lost to a crash of the process once committed, a power loss could).
class SqliteBackend final : public OwnedTables {
public:
    explicit SqliteBackend(const std::string& path);
    ~SqliteBackend() override;

    std::int64_t reseal(const std::function<std::string(const std::string&)>& reseal) override;

    /// Whether the database file at `path` already holds sealed values (a master-key check),
    /// without changing it: a new master key must not be generated for such a database.
    static bool holds_secrets(const std::string& path);

    /// The connection and the lock every row object takes (sqlite_rows.cpp).
    struct Connection {
        sqlite3* db = nullptr;
        std::mutex mutex;
    };

private:
    void migrate(const std::string& path);

    Connection connection_;
};

/// The row objects over one connection (sqlite_rows.cpp; usage and prices in sqlite_usage.cpp).
std::unique_ptr<ChannelRows> make_channel_rows(SqliteBackend::Connection& connection);
std::unique_ptr<TokenRows> make_token_rows(SqliteBackend::Connection& connection);
std::unique_ptr<UsageRows> make_usage_rows(SqliteBackend::Connection& connection);
std::unique_ptr<PriceRows> make_price_rows(SqliteBackend::Connection& connection);
std::unique_ptr<SettingRows> make_setting_rows(SqliteBackend::Connection& connection);
/// Users, sessions and the audit log (sqlite_accounts.cpp).
std::unique_ptr<UserRows> make_user_rows(SqliteBackend::Connection& connection);
std::unique_ptr<SessionRows> make_session_rows(SqliteBackend::Connection& connection);
std::unique_ptr<AuditRows> make_audit_rows(SqliteBackend::Connection& connection);

}  // namespace nexus::store::sqlite
