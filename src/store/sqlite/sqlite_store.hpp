#pragma once
#include <memory>
#include <mutex>
#include <string>

#include "core/crypto.hpp"
#include "store/store.hpp"

struct sqlite3;

namespace nexus::store::sqlite {

/// The newest schema version this build knows.
inline constexpr int kSchemaVersion = 3;

/// Opens (creating if needed) a SQLite database file: WAL journal, 5 s busy timeout, foreign keys
/// on; applies pending migrations in one transaction each, recorded in `schema_version`. A
/// database from a newer nexus-api is refused (std::runtime_error), never touched.
/// The master key is checked against the database: a wrong key throws, nothing is overwritten.
/// One connection, serialised by a mutex: the store runs on the admin/database thread, never on
/// the I/O threads that serve /v1/*.
class SqliteStore final : public Store {
public:
    SqliteStore(const std::string& path, core::SecretBox secrets);
    ~SqliteStore() override;

    /// Whether a database file already holds encrypted values (a master key check), without
    /// changing it. Used at start-up to refuse generating a new master key for an old database.
    static bool holds_secrets(const std::string& path);

    Page<Channel> list_channels(const ListQuery& query) override;
    std::optional<Channel> get_channel(std::int64_t id) override;
    Channel insert_channel(const Channel& channel) override;
    std::optional<Channel> update_channel(const Channel& c) override;
    bool delete_channel(std::int64_t id) override;
    std::vector<Channel> channels_with_keys() override;
    std::optional<Channel> get_channel_with_key(std::int64_t id) override;

    Page<Token> list_tokens(const ListQuery& query) override;
    std::optional<Token> get_token(std::int64_t id) override;
    Token insert_token(const Token& token) override;
    std::optional<Token> update_token(const Token& token) override;
    bool delete_token(std::int64_t id) override;
    std::vector<Token> all_tokens() override;

    bool set_channel_status(std::int64_t id, int status, std::string_view reason) override;
    bool record_channel_test(std::int64_t id, std::int64_t response_time_ms) override;
    void insert_usage(const std::vector<UsageRecord>& records) override;
    Page<UsageRecord> list_usage(const UsageQuery& query) override;
    std::int64_t prune_usage(std::int64_t before) override;
    void touch_tokens(const std::vector<std::pair<std::int64_t, std::int64_t>>& accessed) override;

    std::optional<std::string> get_setting(std::string_view name) override;
    void put_setting(std::string_view name, std::string_view value) override;

private:
    void migrate();
    void check_master_key();
    std::optional<Channel> get_channel_locked(std::int64_t id);
    std::optional<Token> get_token_locked(std::int64_t id);

    std::mutex mutex_;
    sqlite3* db_ = nullptr;
    core::SecretBox secrets_;
};

}  // namespace nexus::store::sqlite
