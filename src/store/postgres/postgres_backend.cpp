#include "store/postgres/postgres_backend.hpp"

#include <spdlog/spdlog.h>

#include "store/postgres/change_feed.hpp"
#include "store/postgres/migrations.hpp"

namespace nexus::store::postgres {

PostgresBackend::PostgresBackend(const std::string& url) : url_(url), connection_(url) {
    migrate();
    channels_ = make_channel_rows(connection_);
    tokens_ = make_token_rows(connection_);
    usage_ = make_usage_rows(connection_);
    prices_ = make_price_rows(connection_);
    settings_ = make_setting_rows(connection_);
    users_ = make_user_rows(connection_);
    sessions_ = make_session_rows(connection_);
    audit_ = make_audit_rows(connection_);
}

PostgresBackend::~PostgresBackend() = default;

std::unique_ptr<ChangeWatch> PostgresBackend::watch(std::function<void()> changed, std::chrono::milliseconds poll_every) {
    return std::make_unique<ChangeFeed>(url_, std::move(changed), poll_every);
}

void PostgresBackend::migrate() {
    std::lock_guard lock(connection_.mutex);
    auto& c = connection_;
    const auto lock_key = std::to_string(kMigrationLock);
    c.exec("SELECT pg_advisory_lock(" + lock_key + ")");
    struct Unlock {
        Connection& c;
        std::string key;
        ~Unlock() {
            try {
                c.exec("SELECT pg_advisory_unlock(" + key + ")");
            } catch (const std::exception&) {
                // the connection is gone, and the lock with it
            }
        }
    } unlock{c, lock_key};
    c.exec_script("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
    const auto found = c.exec("SELECT coalesce(max(version), 0) FROM schema_version");
    const auto version = static_cast<int>(found.at(0).integer(0));
    if (version > kSchemaVersion) {
        throw std::runtime_error("the database schema is version " + std::to_string(version) +
                                 ", newer than this nexus-api knows (" + std::to_string(kSchemaVersion) +
                                 "); run a newer nexus-api. The database was not changed.");
    }
    for (int v = version; v < kSchemaVersion; ++v) {
        Transaction tx(c);
        c.exec_script(kMigrations[v]);
        c.exec("INSERT INTO schema_version (version) VALUES ($1)", Params().add(std::int64_t{v + 1}));
        tx.commit();
    }
    if (version == 0) {
        spdlog::info("database: PostgreSQL schema created at version {}", kSchemaVersion);
    } else if (version < kSchemaVersion) {
        spdlog::info("database: PostgreSQL schema migrated from version {} to {}", version, kSchemaVersion);
    }
}

std::int64_t PostgresBackend::reseal(const std::function<std::string(const std::string&)>& reseal) {
    // Every table that holds a sealed value: how to read them (key, value) and to write one back.
    struct Column {
        const char* select;
        const char* update;
    };
    static constexpr Column kSealed[] = {
        {"SELECT id::text, key_encrypted FROM channels FOR UPDATE", "UPDATE channels SET key_encrypted = $1 WHERE id = $2"},
        {"SELECT id::text, totp_sealed FROM users WHERE totp_sealed <> '' FOR UPDATE",
         "UPDATE users SET totp_sealed = $1 WHERE id = $2"},
        {"SELECT name, value FROM settings WHERE name = 'master_key_check' FOR UPDATE",
         "UPDATE settings SET value = $1 WHERE name = $2"},
    };
    static_assert(kMasterKeyCheckSetting == "master_key_check");
    std::lock_guard lock(connection_.mutex);
    Transaction tx(connection_);
    std::int64_t count = 0;
    for (const auto& column : kSealed) {
        const auto rows = connection_.exec(column.select);
        for (int r = 0; r < rows.rows(); ++r) {
            const auto row = rows.at(r);
            connection_.exec(column.update, Params().add(reseal(row.text(1))).add(row.text(0)));
            ++count;
        }
    }
    tx.commit();
    return count;
}

}  // namespace nexus::store::postgres
