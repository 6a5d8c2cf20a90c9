// The PostgreSQL backend's tables: channels, tokens, settings (usage_logs and prices:
// postgres_usage.cpp; accounts: postgres_accounts.cpp).
#include <algorithm>

#include "store/columns.hpp"
#include "store/postgres/postgres_backend.hpp"

namespace nexus::store::postgres {

namespace {

template <class Row, class Read>
std::optional<Row> select_by_id(Connection& c, const char* table, const char* columns, std::int64_t id, Read read) {
    const auto result = c.exec(std::string("SELECT ") + columns + " FROM " + table + " WHERE id = $1", Params().add(id));
    if (result.rows() == 0) return std::nullopt;
    return read(result.at(0));
}

template <class Row, class Read>
std::vector<Row> select_all(Connection& c, const char* table, const char* columns, Read read) {
    const auto result = c.exec(std::string("SELECT ") + columns + " FROM " + table + " ORDER BY id");
    std::vector<Row> out;
    out.reserve(static_cast<std::size_t>(result.rows()));
    for (int r = 0; r < result.rows(); ++r) out.push_back(read(result.at(r)));
    return out;
}

// A list page of `table`: the ListQuery's filters (status, a part of the name, the owner), by id.
template <class Row, class Read>
Page<Row> list_page(Connection& c, const char* table, const char* columns, const ListQuery& q, Read read) {
    Filters f;
    if (q.status) f.add("status = ?", std::int64_t{*q.status});
    if (!q.name_contains.empty()) f.add("strpos(name, ?) > 0", q.name_contains);
    if (q.user_id) f.add("user_id = ?", *q.user_id);  // (tokens only)
    return select_page<Row>(c, columns, table, f, "id", q.page, q.page_size, read);
}

// The id of the row an INSERT … RETURNING id made.
std::int64_t inserted_id(const Result& result) { return result.at(0).integer(0); }

constexpr auto channel_from = columns::channel_from<Result::Row>;
constexpr auto token_from = columns::token_from<Result::Row>;

class Channels final : public ChannelRows {
public:
    explicit Channels(Connection& c) : c_(c) {}

    Page<ChannelRow> list(const ListQuery& query) override {
        std::lock_guard lock(c_.mutex);
        return list_page<ChannelRow>(c_, "channels", columns::kChannel, query, channel_from);
    }
    std::optional<ChannelRow> get(std::int64_t id) override {
        std::lock_guard lock(c_.mutex);
        return select_by_id<ChannelRow>(c_, "channels", columns::kChannel, id, channel_from);
    }
    std::vector<ChannelRow> all() override {
        std::lock_guard lock(c_.mutex);
        return select_all<ChannelRow>(c_, "channels", columns::kChannel, channel_from);
    }
    std::int64_t insert(const ChannelRow& row) override {
        std::lock_guard lock(c_.mutex);
        const auto& c = row.channel;
        Params p;
        p.add(c.type).add(c.name).add(row.key_sealed).add(c.key_preview).add(c.base_url).add(row.models);
        p.add(row.model_mapping).add(c.priority).add(c.weight).add(std::int64_t{c.status}).add(c.status_reason);
        p.add(c.status_time).add(c.created_time).add(c.updated_time);
        return inserted_id(c_.exec("INSERT INTO channels (type, name, key_encrypted, key_preview, base_url, models, "
                                   "model_mapping, priority, weight, status, status_reason, status_time, created_time, "
                                   "updated_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) "
                                   "RETURNING id",
                                   p));
    }
    bool update(const ChannelRow& row, bool with_key) override {
        std::lock_guard lock(c_.mutex);
        const auto& c = row.channel;
        Params p;
        p.add(c.type).add(c.name).add(c.base_url).add(row.models).add(row.model_mapping).add(c.priority);
        p.add(c.weight).add(std::int64_t{c.status}).add(c.status_reason).add(c.status_time).add(c.test_time);
        p.add(c.response_time_ms).add(c.updated_time).add(c.id);
        std::string sql =
            "UPDATE channels SET type = $1, name = $2, base_url = $3, models = $4, model_mapping = $5, priority = $6, "
            "weight = $7, status = $8, status_reason = $9, status_time = $10, test_time = $11, "
            "response_time_ms = $12, updated_time = $13";
        if (with_key) {  // one statement: the fields and a rotated key land together
            sql += ", key_encrypted = $15, key_preview = $16";
            p.add(row.key_sealed).add(c.key_preview);
        }
        return c_.exec(sql + " WHERE id = $14", p).affected() > 0;
    }
    bool remove(std::int64_t id) override {
        std::lock_guard lock(c_.mutex);
        return c_.exec("DELETE FROM channels WHERE id = $1", Params().add(id)).affected() > 0;
    }
    bool set_status(std::int64_t id, int status, std::string_view reason, std::int64_t time) override {
        std::lock_guard lock(c_.mutex);
        return c_.exec("UPDATE channels SET status = $1, status_reason = $2, status_time = $3, updated_time = $3 "
                       "WHERE id = $4",
                       Params().add(std::int64_t{status}).add(reason).add(time).add(id))
                   .affected() > 0;
    }
    bool record_test(std::int64_t id, std::int64_t response_time_ms, std::int64_t time) override {
        std::lock_guard lock(c_.mutex);
        return c_.exec("UPDATE channels SET test_time = $1, response_time_ms = $2 WHERE id = $3",
                       Params().add(time).add(response_time_ms).add(id))
                   .affected() > 0;
    }

private:
    Connection& c_;
};

class Tokens final : public TokenRows {
public:
    explicit Tokens(Connection& c) : c_(c) {}

    Page<TokenRow> list(const ListQuery& query) override {
        std::lock_guard lock(c_.mutex);
        return list_page<TokenRow>(c_, "tokens", columns::kToken, query, token_from);
    }
    std::optional<TokenRow> get(std::int64_t id) override {
        std::lock_guard lock(c_.mutex);
        return select_by_id<TokenRow>(c_, "tokens", columns::kToken, id, token_from);
    }
    std::vector<TokenRow> all() override {
        std::lock_guard lock(c_.mutex);
        return select_all<TokenRow>(c_, "tokens", columns::kToken, token_from);
    }
    std::int64_t insert(const TokenRow& row) override {
        std::lock_guard lock(c_.mutex);
        const auto& t = row.token;
        Params p;
        p.add(t.name).add(t.key_hash).add(t.key_preview).add(std::int64_t{t.status}).add(t.user_id);
        p.add(t.created_time).add(t.expired_time).add(t.remain_quota).add(row.models).add(row.allow_ips);
        p.add(t.rpm).add(t.tpm).add(t.max_concurrency);
        return inserted_id(c_.exec("INSERT INTO tokens (name, key_hash, key_preview, status, user_id, created_time, "
                                   "expired_time, remain_quota, models, allow_ips, rpm, tpm, max_concurrency) "
                                   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
                                   p));
    }
    bool update(const TokenRow& row) override {
        std::lock_guard lock(c_.mutex);
        const auto& t = row.token;
        Params p;
        p.add(t.name).add(std::int64_t{t.status}).add(t.user_id).add(t.expired_time).add(t.remain_quota);
        p.add(row.models).add(row.allow_ips).add(t.rpm).add(t.tpm).add(t.max_concurrency).add(t.id);
        return c_.exec("UPDATE tokens SET name = $1, status = $2, user_id = $3, expired_time = $4, remain_quota = $5, "
                       "quota_epoch = quota_epoch + CASE WHEN remain_quota <> $5 THEN 1 ELSE 0 END, "
                       "models = $6, allow_ips = $7, rpm = $8, tpm = $9, max_concurrency = $10 WHERE id = $11",
                       p)
                   .affected() > 0;
    }
    bool remove(std::int64_t id) override {
        std::lock_guard lock(c_.mutex);
        return c_.exec("DELETE FROM tokens WHERE id = $1", Params().add(id)).affected() > 0;
    }
    void touch(const std::vector<std::pair<std::int64_t, std::int64_t>>& accessed) override {
        if (accessed.empty()) return;
        // One statement for the whole list, in id order (rows locked in the same order by every node).
        auto sorted = accessed;
        std::sort(sorted.begin(), sorted.end());
        std::string ids = "{";
        std::string times = "{";
        for (const auto& [id, time] : sorted) {
            ids.append(ids.size() > 1 ? "," : "").append(std::to_string(id));
            times.append(times.size() > 1 ? "," : "").append(std::to_string(time));
        }
        ids += '}';
        times += '}';
        std::lock_guard lock(c_.mutex);
        c_.exec("UPDATE tokens SET accessed_time = GREATEST(tokens.accessed_time, a.time) "
                "FROM unnest($1::bigint[], $2::bigint[]) AS a(id, time) WHERE tokens.id = a.id",
                Params().add(ids).add(times));
    }

private:
    Connection& c_;
};

class Settings final : public SettingRows {
public:
    explicit Settings(Connection& c) : c_(c) {}

    std::optional<std::string> get(std::string_view name) override {
        std::lock_guard lock(c_.mutex);
        const auto result = c_.exec("SELECT value FROM settings WHERE name = $1", Params().add(name));
        if (result.rows() == 0) return std::nullopt;
        return result.at(0).text(0);
    }
    void put(std::string_view name, std::string_view value) override {
        std::lock_guard lock(c_.mutex);
        c_.exec("INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = "
                "excluded.value",
                Params().add(name).add(value));
    }
    void put_new(std::string_view name, std::string_view value) override {
        std::lock_guard lock(c_.mutex);
        c_.exec("INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                Params().add(name).add(value));
    }

private:
    Connection& c_;
};

}  // namespace

std::unique_ptr<ChannelRows> make_channel_rows(Connection& c) { return std::make_unique<Channels>(c); }
std::unique_ptr<TokenRows> make_token_rows(Connection& c) { return std::make_unique<Tokens>(c); }
std::unique_ptr<SettingRows> make_setting_rows(Connection& c) { return std::make_unique<Settings>(c); }

}  // namespace nexus::store::postgres
