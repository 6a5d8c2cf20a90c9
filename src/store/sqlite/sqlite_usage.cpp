// The SQLite backend's ledger: usage_logs (with the tokens' quota they account for) and prices.
#include <optional>
#include <string>

#include "store/columns.hpp"
#include "store/ledger.hpp"
#include "store/sqlite/sqlite_backend.hpp"
#include "store/sqlite/statement.hpp"

namespace nexus::store::sqlite {

namespace {

using Connection = SqliteBackend::Connection;

constexpr const char* kUsageColumns = columns::kUsage;
constexpr auto usage_from = columns::usage_from<Statement>;

constexpr std::size_t kInsertColumns = 21;
constexpr std::size_t kRowsPerInsert = 32;  // 672 parameters, well inside SQLite's 32,766

// OR ROLLBACK: a row that breaks a constraint ends the whole batch's transaction, as the
// exception it raises would anyway. Under the default (ABORT), SQLite keeps a statement journal
// for every multi-row INSERT to undo that statement alone; a batch's journal outgrew its memory
// and went to a temporary file, page by page: 58 % of the database thread's writes.
std::string insert_sql(std::size_t rows) {
    std::string sql = std::string("INSERT OR ROLLBACK INTO usage_logs (") + columns::kUsageInsert + ") VALUES ";
    for (std::size_t r = 0; r < rows; ++r) {
        sql += r == 0 ? "(" : ",(";
        for (std::size_t c = 0; c < kInsertColumns; ++c) sql += c == 0 ? "?" : ",?";
        sql += ')';
    }
    return sql;
}

// Binds records[at, at + count) to `s`, a statement of insert_sql(count), and runs it.
void insert_rows(Statement& s, const std::vector<UsageRecord>& records, std::size_t at, std::size_t count) {
    sqlite3_reset(s.handle());
    int i = 1;
    for (std::size_t n = 0; n < count; ++n) {
        const auto& r = records[at + n];
        s.bind(i, r.created_time).bind(i + 1, r.request_id).bind(i + 2, r.token_id).bind(i + 3, r.channel_id);
        s.bind(i + 4, r.model).bind(i + 5, static_cast<std::int64_t>(r.stream));
        s.bind(i + 6, static_cast<std::int64_t>(r.status)).bind(i + 7, r.latency_ms).bind(i + 8, r.ttfb_ms);
        s.bind(i + 9, static_cast<std::int64_t>(r.attempts)).bind(i + 10, r.prompt_tokens);
        s.bind(i + 11, r.completion_tokens).bind(i + 12, r.total_tokens).bind(i + 13, r.cached_tokens);
        s.bind(i + 14, r.quota).bind(i + 15, r.price.input).bind(i + 16, r.price.output);
        s.bind(i + 17, r.price.cached_input).bind(i + 18, r.price.per_request);
        s.bind(i + 19, static_cast<std::int64_t>(r.estimated)).bind(i + 20, r.user_id);
        i += static_cast<int>(kInsertColumns);
    }
    s.step();
}

class Usage final : public UsageRows {
public:
    explicit Usage(Connection& c) : c_(c) {}

    void insert(const std::vector<UsageRecord>& records, std::string_view batch_id) override {
        std::lock_guard lock(c_.mutex);
        Transaction tx(c_.db, Transaction::Sync::kNormal);
        {
            if (!batch_id.empty()) {
                Statement batch(c_.db, "INSERT INTO usage_batches (id, created_time) VALUES (?, ?) ON CONFLICT DO NOTHING");
                batch.bind(1, batch_id).bind(2, records.front().created_time).step();
                if (sqlite3_changes(c_.db) == 0) return;  // written before: the rollback changes nothing
            }
            // Rows go in kRowsPerInsert at a time, through one statement prepared once: a row's
            // cost is then its B-tree inserts, not a statement's start, bindings and end.
            std::size_t at = 0;
            for (; records.size() - at >= kRowsPerInsert; at += kRowsPerInsert) {
                if (!many_) many_.emplace(c_.db, insert_sql(kRowsPerInsert));
                insert_rows(*many_, records, at, kRowsPerInsert);
            }
            for (; at < records.size(); ++at) {
                if (!one_) one_.emplace(c_.db, insert_sql(1));
                insert_rows(*one_, records, at, 1);
            }
            const auto sums = ledger::sums_of(records);
            Statement used(c_.db, "UPDATE channels SET used_tokens = used_tokens + ? WHERE id = ?");
            for (const auto& [channel_id, tokens] : sums.tokens_by_channel) {
                sqlite3_reset(used.handle());
                used.bind(1, tokens).bind(2, channel_id).step();
            }
            Statement spent(c_.db,
                            "UPDATE tokens SET used_quota = used_quota + ?1, remain_quota = CASE WHEN remain_quota < 0 "
                            "THEN remain_quota ELSE remain_quota - ?1 END WHERE id = ?2");
            for (const auto& [token_id, quota] : sums.quota_by_token) {
                sqlite3_reset(spent.handle());
                spent.bind(1, quota).bind(2, token_id).step();
            }
            Statement owed(c_.db,
                           "UPDATE users SET used_quota = used_quota + ?1, remain_quota = CASE WHEN remain_quota < 0 "
                           "THEN remain_quota ELSE remain_quota - ?1 END WHERE id = ?2");
            for (const auto& [user_id, quota] : sums.quota_by_user) {
                sqlite3_reset(owed.handle());
                owed.bind(1, quota).bind(2, user_id).step();
            }
        }
        tx.commit();
    }

    Page<UsageRecord> list(const UsageQuery& q) override {
        std::lock_guard lock(c_.mutex);
        Filters f;
        if (q.user_id) f.add("user_id = ?", {*q.user_id});
        if (q.token_id) f.add("token_id = ?", {*q.token_id});
        if (q.channel_id) f.add("channel_id = ?", {*q.channel_id});
        if (!q.model.empty()) f.add("model = ?", {q.model});
        if (q.status) f.add("status = ?", {std::int64_t{*q.status}});
        if (q.start_time) f.add("created_time >= ?", {*q.start_time});
        if (q.end_time) f.add("created_time <= ?", {*q.end_time});
        return select_page<UsageRecord>(c_.db, kUsageColumns, "usage_logs", f, "id DESC", q.page, q.page_size, usage_from);
    }

    std::vector<UsageSummary> summarize(UsageGroup group, std::int64_t start, std::int64_t end,
                                        std::optional<std::int64_t> user_id) override {
        ledger::Summary summary(group);
        std::lock_guard lock(c_.mutex);
        Statement s(c_.db, std::string("SELECT ").append(ledger::group_key(group)) + ", " + ledger::kSummaryColumns +
                               " FROM usage_logs WHERE created_time >= ? AND created_time <= ?" +
                               (user_id ? " AND user_id = ?" : ""));
        s.bind(1, start).bind(2, end);
        if (user_id) s.bind(3, *user_id);
        while (s.step()) {
            const bool text = summary.text_keys();
            summary.add(text ? 0 : s.integer(0), text ? s.text(0) : std::string(), s.integer(1), s.integer(2),
                        s.integer(3), s.integer(4), s.integer(5));
        }
        return summary.finish();
    }

    std::int64_t prune(std::int64_t before) override {
        std::lock_guard lock(c_.mutex);
        Statement s(c_.db, "DELETE FROM usage_logs WHERE created_time < ?");
        s.bind(1, before).step();
        const auto rows = sqlite3_changes(c_.db);
        Statement batches(c_.db, "DELETE FROM usage_batches WHERE created_time < ?");
        batches.bind(1, before).step();
        return rows;
    }

private:
    Connection& c_;
    // Prepared on first use and kept, under c_.mutex like every use of the connection.
    std::optional<Statement> many_;
    std::optional<Statement> one_;
};

constexpr const char* kPriceColumns = columns::kPrice;

constexpr auto price_from = columns::price_from<Statement>;

class Prices final : public PriceRows {
public:
    explicit Prices(Connection& c) : c_(c) {}

    std::vector<ModelPrice> all() override {
        std::lock_guard lock(c_.mutex);
        std::vector<ModelPrice> out;
        Statement s(c_.db, std::string("SELECT ") + kPriceColumns + " FROM prices ORDER BY model");
        while (s.step()) out.push_back(price_from(s));
        return out;
    }
    std::optional<ModelPrice> get(std::string_view model) override {
        std::lock_guard lock(c_.mutex);
        Statement s(c_.db, std::string("SELECT ") + kPriceColumns + " FROM prices WHERE model = ?");
        s.bind(1, model);
        if (!s.step()) return std::nullopt;
        return price_from(s);
    }
    void put(const ModelPrice& p) override {
        std::lock_guard lock(c_.mutex);
        Statement s(c_.db,
                    "INSERT INTO prices (model, input, output, cached_input, per_request, updated_time) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(model) DO UPDATE SET input = excluded.input, "
                    "output = excluded.output, cached_input = excluded.cached_input, "
                    "per_request = excluded.per_request, updated_time = excluded.updated_time");
        s.bind(1, p.model).bind(2, p.price.input).bind(3, p.price.output).bind(4, p.price.cached_input);
        s.bind(5, p.price.per_request);
        s.bind(6, p.updated_time).step();
    }
    bool remove(std::string_view model) override {
        std::lock_guard lock(c_.mutex);
        Statement s(c_.db, "DELETE FROM prices WHERE model = ?");
        s.bind(1, model).step();
        return sqlite3_changes(c_.db) > 0;
    }

private:
    Connection& c_;
};

}  // namespace

std::unique_ptr<UsageRows> make_usage_rows(Connection& c) { return std::make_unique<Usage>(c); }
std::unique_ptr<PriceRows> make_price_rows(Connection& c) { return std::make_unique<Prices>(c); }

}  // namespace nexus::store::sqlite
