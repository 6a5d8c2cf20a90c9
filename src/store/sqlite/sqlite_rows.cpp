// The SQLite backend's tables: channels, tokens, settings (usage_logs and prices: sqlite_usage.cpp).

#include "store/columns.hpp"
#include "store/sqlite/sqlite_backend.hpp"
#include "store/sqlite/statement.hpp"

namespace nexus::store::sqlite {

namespace {

using Connection = SqliteBackend::Connection;

constexpr const char* kChannelColumns = columns::kChannel;
constexpr const char* kTokenColumns = columns::kToken;
constexpr auto channel_from = columns::channel_from<Statement>;
constexpr auto token_from = columns::token_from<Statement>;

// A list page of `table`: the ListQuery's filters (status, a part of the name, the owner), by id.
template <class Row, class Read>
Page<Row> list_page(sqlite3* db, const char* table, const char* columns, const ListQuery& q, Read read) {
    Filters f;
    if (q.status) f.add("status = ?", {std::int64_t{*q.status}});
    if (!q.name_contains.empty()) f.add("instr(name, ?) > 0", {q.name_contains});
    if (q.user_id) f.add("user_id = ?", {*q.user_id});  // (tokens only)
    return select_page<Row>(db, columns, table, f, "id", q.page, q.page_size, read);
}

template <class Row, class Read>
std::optional<Row> select_by_id(sqlite3* db, const char* table, const char* columns, std::int64_t id, Read read) {
    Statement s(db, std::string("SELECT ") + columns + " FROM " + table + " WHERE id = ?");
    s.bind(1, id);
    if (!s.step()) return std::nullopt;
    return read(s);
}

template <class Row, class Read>
std::vector<Row> select_all(sqlite3* db, const char* table, const char* columns, Read read) {
    std::vector<Row> out;
    Statement s(db, std::string("SELECT ") + columns + " FROM " + table + " ORDER BY id");
    while (s.step()) out.push_back(read(s));
    return out;
}

// Deletes row `id` of `table`; whether there was one.
bool delete_by_id(sqlite3* db, const char* table, std::int64_t id) {
    Statement s(db, std::string("DELETE FROM ") + table + " WHERE id = ?");
    s.bind(1, id).step();
    return sqlite3_changes(db) > 0;
}

class Channels final : public ChannelRows {
public:
    explicit Channels(Connection& c) : c_(c) {}

    Page<ChannelRow> list(const ListQuery& query) override {
        std::lock_guard lock(c_.mutex);
        return list_page<ChannelRow>(c_.db, "channels", kChannelColumns, query, channel_from);
    }
    std::optional<ChannelRow> get(std::int64_t id) override {
        std::lock_guard lock(c_.mutex);
        return select_by_id<ChannelRow>(c_.db, "channels", kChannelColumns, id, channel_from);
    }
    std::vector<ChannelRow> all() override {
        std::lock_guard lock(c_.mutex);
        return select_all<ChannelRow>(c_.db, "channels", kChannelColumns, channel_from);
    }
    std::int64_t insert(const ChannelRow& row) override {
        std::lock_guard lock(c_.mutex);
        const auto& c = row.channel;
        Statement s(c_.db,
                    "INSERT INTO channels (type, name, key_encrypted, key_preview, base_url, models, model_mapping, "
                    "priority, weight, status, status_reason, status_time, created_time, updated_time) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        s.bind(1, c.type).bind(2, c.name).bind(3, row.key_sealed).bind(4, c.key_preview).bind(5, c.base_url);
        s.bind(6, row.models).bind(7, row.model_mapping).bind(8, c.priority).bind(9, c.weight);
        s.bind(10, static_cast<std::int64_t>(c.status)).bind(11, c.status_reason).bind(12, c.status_time);
        s.bind(13, c.created_time).bind(14, c.updated_time);
        s.step();
        return sqlite3_last_insert_rowid(c_.db);
    }
    bool update(const ChannelRow& row, bool with_key) override {
        std::lock_guard lock(c_.mutex);
        const auto& c = row.channel;
        Transaction tx(c_.db, Transaction::Sync::kFull);  // the fields and a rotated key land together
        Statement s(c_.db,
                    "UPDATE channels SET type = ?, name = ?, base_url = ?, models = ?, model_mapping = ?, priority = ?, "
                    "weight = ?, status = ?, status_reason = ?, status_time = ?, test_time = ?, response_time_ms = ?, "
                    "updated_time = ? WHERE id = ?");
        s.bind(1, c.type).bind(2, c.name).bind(3, c.base_url).bind(4, row.models);
        s.bind(5, row.model_mapping).bind(6, c.priority).bind(7, c.weight);
        s.bind(8, static_cast<std::int64_t>(c.status)).bind(9, c.status_reason).bind(10, c.status_time);
        s.bind(11, c.test_time).bind(12, c.response_time_ms).bind(13, c.updated_time).bind(14, c.id);
        s.step();
        if (sqlite3_changes(c_.db) == 0) return false;
        if (with_key) {
            Statement k(c_.db, "UPDATE channels SET key_encrypted = ?, key_preview = ? WHERE id = ?");
            k.bind(1, row.key_sealed).bind(2, c.key_preview).bind(3, c.id).step();
        }
        tx.commit();
        return true;
    }
    bool remove(std::int64_t id) override {
        std::lock_guard lock(c_.mutex);
        return delete_by_id(c_.db, "channels", id);
    }
    bool set_status(std::int64_t id, int status, std::string_view reason, std::int64_t time) override {
        std::lock_guard lock(c_.mutex);
        Statement s(c_.db,
                    "UPDATE channels SET status = ?, status_reason = ?, status_time = ?, updated_time = ? WHERE id = ?");
        s.bind(1, static_cast<std::int64_t>(status)).bind(2, reason).bind(3, time).bind(4, time).bind(5, id).step();
        return sqlite3_changes(c_.db) > 0;
    }
    bool record_test(std::int64_t id, std::int64_t response_time_ms, std::int64_t time) override {
        std::lock_guard lock(c_.mutex);
        Statement s(c_.db, "UPDATE channels SET test_time = ?, response_time_ms = ? WHERE id = ?");
        s.bind(1, time).bind(2, response_time_ms).bind(3, id).step();
        return sqlite3_changes(c_.db) > 0;
    }

private:
    Connection& c_;
};

class Tokens final : public TokenRows {
public:
    explicit Tokens(Connection& c) : c_(c) {}

    Page<TokenRow> list(const ListQuery& query) override {
        std::lock_guard lock(c_.mutex);
        return list_page<TokenRow>(c_.db, "tokens", kTokenColumns, query, token_from);
    }
    std::optional<TokenRow> get(std::int64_t id) override {
        std::lock_guard lock(c_.mutex);
        return select_by_id<TokenRow>(c_.db, "tokens", kTokenColumns, id, token_from);
    }
    std::vector<TokenRow> all() override {
        std::lock_guard lock(c_.mutex);
        return select_all<TokenRow>(c_.db, "tokens", kTokenColumns, token_from);
    }
    std::int64_t insert(const TokenRow& row) override {
        std::lock_guard lock(c_.mutex);
        const auto& t = row.token;
        Statement s(c_.db,
                    "INSERT INTO tokens (name, key_hash, key_preview, status, user_id, created_time, expired_time, "
                    "remain_quota, models, allow_ips, rpm, tpm, max_concurrency) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        s.bind(1, t.name).bind(2, t.key_hash).bind(3, t.key_preview).bind(4, static_cast<std::int64_t>(t.status));
        s.bind(5, t.user_id).bind(6, t.created_time).bind(7, t.expired_time).bind(8, t.remain_quota);
        s.bind(9, row.models).bind(10, row.allow_ips).bind(11, t.rpm).bind(12, t.tpm).bind(13, t.max_concurrency);
        s.step();
        return sqlite3_last_insert_rowid(c_.db);
    }
    bool update(const TokenRow& row) override {
        std::lock_guard lock(c_.mutex);
        const auto& t = row.token;
        Statement s(c_.db,
                    "UPDATE tokens SET name = ?, status = ?, user_id = ?, expired_time = ?, "
                    "quota_epoch = quota_epoch + (remain_quota <> ?5), remain_quota = ?5, "
                    "models = ?, allow_ips = ?, rpm = ?, tpm = ?, max_concurrency = ? WHERE id = ?");
        s.bind(1, t.name).bind(2, static_cast<std::int64_t>(t.status)).bind(3, t.user_id).bind(4, t.expired_time);
        s.bind(5, t.remain_quota).bind(6, row.models).bind(7, row.allow_ips).bind(8, t.rpm).bind(9, t.tpm);
        s.bind(10, t.max_concurrency).bind(11, t.id);
        s.step();
        return sqlite3_changes(c_.db) > 0;
    }
    bool remove(std::int64_t id) override {
        std::lock_guard lock(c_.mutex);
        return delete_by_id(c_.db, "tokens", id);
    }
    void touch(const std::vector<std::pair<std::int64_t, std::int64_t>>& accessed) override {
        std::lock_guard lock(c_.mutex);
        Transaction tx(c_.db, Transaction::Sync::kNormal);
        {
            Statement s(c_.db, "UPDATE tokens SET accessed_time = max(accessed_time, ?) WHERE id = ?");
            for (const auto& [id, time] : accessed) {
                sqlite3_reset(s.handle());
                s.bind(1, time).bind(2, id).step();
            }
        }
        tx.commit();
    }

private:
    Connection& c_;
};

class Settings final : public SettingRows {
public:
    explicit Settings(Connection& c) : c_(c) {}

    std::optional<std::string> get(std::string_view name) override {
        std::lock_guard lock(c_.mutex);
        Statement s(c_.db, "SELECT value FROM settings WHERE name = ?");
        s.bind(1, name);
        if (!s.step()) return std::nullopt;
        return s.text(0);
    }
    void put(std::string_view name, std::string_view value) override {
        std::lock_guard lock(c_.mutex);
        Statement s(c_.db,
                    "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value");
        s.bind(1, name).bind(2, value).step();
    }
    void put_new(std::string_view name, std::string_view value) override {
        std::lock_guard lock(c_.mutex);
        Statement s(c_.db, "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT(name) DO NOTHING");
        s.bind(1, name).bind(2, value).step();
    }

private:
    Connection& c_;
};

}  // namespace

std::unique_ptr<ChannelRows> make_channel_rows(Connection& c) { return std::make_unique<Channels>(c); }
std::unique_ptr<TokenRows> make_token_rows(Connection& c) { return std::make_unique<Tokens>(c); }
std::unique_ptr<SettingRows> make_setting_rows(Connection& c) { return std::make_unique<Settings>(c); }

}  // namespace nexus::store::sqlite
