// The PostgreSQL backend's ledger: usage_logs (with the tokens' quota they account for) and prices.
#include <algorithm>
#include <array>

#include "store/columns.hpp"
#include "store/ledger.hpp"
#include "store/postgres/postgres_backend.hpp"

namespace nexus::store::postgres {

namespace {

constexpr auto usage_from = columns::usage_from<Result::Row>;
constexpr auto price_from = columns::price_from<Result::Row>;

// A PostgreSQL array literal, built one element at a time: numbers as they are, text quoted with
// its quotes and backslashes escaped.
class ArrayLiteral {
public:
    void add(std::int64_t v) {
        separate();
        text_ += std::to_string(v);
    }
    void add(std::string_view v) {
        separate();
        text_ += '"';
        for (const char ch : v) {
            if (ch == '"' || ch == '\\') text_ += '\\';
            text_ += ch;
        }
        text_ += '"';
    }
    std::string done() { return std::move(text_) + '}'; }

private:
    void separate() { text_ += text_.size() > 1 ? "," : ""; }
    std::string text_ = "{";
};

// Every row of a batch in one statement: each column goes as one array, and unnest() turns the
// arrays back into rows. The statement's text is the same for any batch size.
const std::string kInsertSql =
    std::string("INSERT INTO usage_logs (") + columns::kUsageInsert +
    ") SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::text[], $6::bigint[], "
    "$7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], "
    "$14::bigint[], $15::bigint[], $16::bigint[], $17::bigint[], $18::bigint[], $19::bigint[], $20::bigint[], "
    "$21::bigint[])";

Params insert_params(const std::vector<UsageRecord>& records) {
    std::array<ArrayLiteral, 21> a;
    for (const auto& r : records) {
        a[0].add(r.created_time);
        a[1].add(r.request_id);
        a[2].add(r.token_id);
        a[3].add(r.channel_id);
        a[4].add(r.model);
        a[5].add(std::int64_t{r.stream});
        a[6].add(std::int64_t{r.status});
        a[7].add(r.latency_ms);
        a[8].add(r.ttfb_ms);
        a[9].add(std::int64_t{r.attempts});
        a[10].add(r.prompt_tokens);
        a[11].add(r.completion_tokens);
        a[12].add(r.total_tokens);
        a[13].add(r.cached_tokens);
        a[14].add(r.quota);
        a[15].add(r.price.input);
        a[16].add(r.price.output);
        a[17].add(r.price.cached_input);
        a[18].add(r.price.per_request);
        a[19].add(std::int64_t{r.estimated});
        a[20].add(r.user_id);
    }
    Params p;
    for (auto& column : a) p.add(column.done());
    return p;
}

// Adds each sum to its row of `table`, in id order: batches from several nodes lock the same rows
// in the same order, so they wait for each other but never deadlock.
void add_sums(Connection& c, const char* sql, const std::unordered_map<std::int64_t, std::int64_t>& sums) {
    std::vector<std::pair<std::int64_t, std::int64_t>> sorted(sums.begin(), sums.end());
    std::sort(sorted.begin(), sorted.end());
    for (const auto& [id, amount] : sorted) c.exec(sql, Params().add(amount).add(id));
}

class Usage final : public UsageRows {
public:
    explicit Usage(Connection& c) : c_(c) {}

    void insert(const std::vector<UsageRecord>& records, std::string_view batch_id) override {
        std::lock_guard lock(c_.mutex);
        Transaction tx(c_, false);
        if (!batch_id.empty() &&
            c_.exec("INSERT INTO usage_batches (id, created_time) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    Params().add(batch_id).add(records.front().created_time))
                    .affected() == 0) {
            return;  // written before: the rollback changes nothing
        }
        c_.exec(kInsertSql, insert_params(records));
        const auto sums = ledger::sums_of(records);
        add_sums(c_, "UPDATE channels SET used_tokens = used_tokens + $1 WHERE id = $2", sums.tokens_by_channel);
        add_sums(c_,
                 "UPDATE tokens SET used_quota = used_quota + $1, remain_quota = CASE WHEN remain_quota < 0 "
                 "THEN remain_quota ELSE remain_quota - $1 END WHERE id = $2",
                 sums.quota_by_token);
        add_sums(c_,
                 "UPDATE users SET used_quota = used_quota + $1, remain_quota = CASE WHEN remain_quota < 0 "
                 "THEN remain_quota ELSE remain_quota - $1 END WHERE id = $2",
                 sums.quota_by_user);
        tx.commit();
    }

    Page<UsageRecord> list(const UsageQuery& q) override {
        std::lock_guard lock(c_.mutex);
        Filters f;
        if (q.user_id) f.add("user_id = ?", *q.user_id);
        if (q.token_id) f.add("token_id = ?", *q.token_id);
        if (q.channel_id) f.add("channel_id = ?", *q.channel_id);
        if (!q.model.empty()) f.add("model = ?", q.model);
        if (q.status) f.add("status = ?", std::int64_t{*q.status});
        if (q.start_time) f.add("created_time >= ?", *q.start_time);
        if (q.end_time) f.add("created_time <= ?", *q.end_time);
        return select_page<UsageRecord>(c_, columns::kUsage, "usage_logs", f, "id DESC", q.page, q.page_size,
                                        usage_from);
    }

    std::vector<UsageSummary> summarize(UsageGroup group, std::int64_t start, std::int64_t end,
                                        std::optional<std::int64_t> user_id) override {
        ledger::Summary summary(group);
        Params p;
        p.add(start).add(end);
        if (user_id) p.add(*user_id);
        std::lock_guard lock(c_.mutex);
        const auto result = c_.exec(std::string("SELECT ").append(ledger::group_key(group)) + ", " +
                                        ledger::kSummaryColumns +
                                        " FROM usage_logs WHERE created_time >= $1 AND created_time <= $2" +
                                        (user_id ? " AND user_id = $3" : ""),
                                    p);
        for (int r = 0; r < result.rows(); ++r) {
            const auto s = result.at(r);
            const bool text = summary.text_keys();
            summary.add(text ? 0 : s.integer(0), text ? s.text(0) : std::string(), s.integer(1), s.integer(2),
                        s.integer(3), s.integer(4), s.integer(5));
        }
        return summary.finish();
    }

    std::int64_t prune(std::int64_t before) override {
        std::lock_guard lock(c_.mutex);
        const auto rows = c_.exec("DELETE FROM usage_logs WHERE created_time < $1", Params().add(before)).affected();
        c_.exec("DELETE FROM usage_batches WHERE created_time < $1", Params().add(before));
        return rows;
    }

private:
    Connection& c_;
};

class Prices final : public PriceRows {
public:
    explicit Prices(Connection& c) : c_(c) {}

    std::vector<ModelPrice> all() override {
        std::lock_guard lock(c_.mutex);
        const auto result = c_.exec(std::string("SELECT ") + columns::kPrice + " FROM prices ORDER BY model");
        std::vector<ModelPrice> out;
        for (int r = 0; r < result.rows(); ++r) out.push_back(price_from(result.at(r)));
        return out;
    }
    std::optional<ModelPrice> get(std::string_view model) override {
        std::lock_guard lock(c_.mutex);
        const auto result =
            c_.exec(std::string("SELECT ") + columns::kPrice + " FROM prices WHERE model = $1", Params().add(model));
        if (result.rows() == 0) return std::nullopt;
        return price_from(result.at(0));
    }
    void put(const ModelPrice& p) override {
        std::lock_guard lock(c_.mutex);
        c_.exec("INSERT INTO prices (model, input, output, cached_input, per_request, updated_time) "
                "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (model) DO UPDATE SET input = excluded.input, "
                "output = excluded.output, cached_input = excluded.cached_input, "
                "per_request = excluded.per_request, updated_time = excluded.updated_time",
                Params()
                    .add(p.model)
                    .add(p.price.input)
                    .add(p.price.output)
                    .add(p.price.cached_input)
                    .add(p.price.per_request)
                    .add(p.updated_time));
    }
    bool remove(std::string_view model) override {
        std::lock_guard lock(c_.mutex);
        return c_.exec("DELETE FROM prices WHERE model = $1", Params().add(model)).affected() > 0;
    }

private:
    Connection& c_;
};

}  // namespace

std::unique_ptr<UsageRows> make_usage_rows(Connection& c) { return std::make_unique<Usage>(c); }
std::unique_ptr<PriceRows> make_price_rows(Connection& c) { return std::make_unique<Prices>(c); }

}  // namespace nexus::store::postgres
