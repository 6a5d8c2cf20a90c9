#include "store/sqlite/sqlite_store.hpp"

#include "core/clock.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <unordered_map>

namespace nexus::store::sqlite {

namespace json = boost::json;

namespace {

constexpr std::string_view kSecretCheckName = "master_key_check";
constexpr std::string_view kSecretCheckText = "nexus-api master key check";

// A prepared statement, finalised on scope exit. Binding is 1-based as in SQLite.
class Statement {
public:
    Statement(sqlite3* db, std::string_view sql) : db_(db) {
        if (sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &stmt_, nullptr) != SQLITE_OK) {
            throw std::runtime_error(std::string("database: prepare failed: ") + sqlite3_errmsg(db));
        }
    }
    ~Statement() { sqlite3_finalize(stmt_); }
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    Statement& bind(int i, std::int64_t v) {
        sqlite3_bind_int64(stmt_, i, v);
        return *this;
    }
    Statement& bind(int i, std::string_view v) {
        sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
        return *this;
    }
    /// Steps once: true when a row is ready, false when done.
    bool step() {
        const int rc = sqlite3_step(stmt_);
        if (rc == SQLITE_ROW) return true;
        if (rc == SQLITE_DONE) return false;
        if (rc == SQLITE_CONSTRAINT) throw Conflict(sqlite3_errmsg(db_));
        throw std::runtime_error(std::string("database: ") + sqlite3_errmsg(db_));
    }
    std::int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
    sqlite3_stmt* handle() const { return stmt_; }
    std::string text(int col) const {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
        return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
    }

private:
    sqlite3* db_;
    sqlite3_stmt* stmt_ = nullptr;
};

void exec(sqlite3* db, const char* sql) {
    char* error = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &error) != SQLITE_OK) {
        std::string message = error ? error : "unknown error";
        sqlite3_free(error);
        throw std::runtime_error("database: " + message);
    }
}

// One write transaction, rolled back unless commit() is reached (an exception, an early return).
// Sync::kFull: synchronous=FULL, the WAL synced before the commit returns, so what an admin was
// told is written survives a power loss, not only a crash of this process; usage batches take
// NORMAL (synced at checkpoints), and at most the batches since the last checkpoint are at the
// mercy of the operating system. The connection goes back to FULL after.
class Transaction {
public:
    enum class Sync { kFull, kNormal };
    Transaction(sqlite3* db, Sync sync) : db_(db), sync_(sync) {
        if (sync_ == Sync::kNormal) exec(db_, "PRAGMA synchronous=NORMAL");
        exec(db_, "BEGIN IMMEDIATE");
    }
    ~Transaction() {
        if (!committed_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        if (sync_ == Sync::kNormal) sqlite3_exec(db_, "PRAGMA synchronous=FULL", nullptr, nullptr, nullptr);
    }
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    void commit() {
        exec(db_, "COMMIT");
        committed_ = true;
    }

private:
    sqlite3* db_;
    Sync sync_;
    bool committed_ = false;
};

// Versioned migrations: index i holds the step from version i to i + 1.
constexpr const char* kMigrations[] = {
    R"sql(
CREATE TABLE channels (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  type TEXT NOT NULL,
  name TEXT NOT NULL,
  key_encrypted TEXT NOT NULL,
  key_preview TEXT NOT NULL,
  base_url TEXT NOT NULL,
  models TEXT NOT NULL DEFAULT '[]',
  model_mapping TEXT NOT NULL DEFAULT '{}',
  priority INTEGER NOT NULL DEFAULT 0,
  weight INTEGER NOT NULL DEFAULT 1,
  status INTEGER NOT NULL DEFAULT 1,
  status_reason TEXT NOT NULL DEFAULT '',
  status_time INTEGER NOT NULL DEFAULT 0,
  created_time INTEGER NOT NULL,
  updated_time INTEGER NOT NULL,
  test_time INTEGER NOT NULL DEFAULT 0,
  response_time_ms INTEGER NOT NULL DEFAULT 0,
  used_tokens INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE tokens (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  key_hash TEXT NOT NULL UNIQUE,
  key_preview TEXT NOT NULL,
  status INTEGER NOT NULL DEFAULT 1,
  user_id INTEGER NOT NULL DEFAULT 0,
  created_time INTEGER NOT NULL,
  accessed_time INTEGER NOT NULL DEFAULT 0,
  expired_time INTEGER NOT NULL DEFAULT -1,
  remain_quota INTEGER NOT NULL DEFAULT -1,
  used_quota INTEGER NOT NULL DEFAULT 0,
  models TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
)sql",
    R"sql(
CREATE TABLE usage_logs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  created_time INTEGER NOT NULL,
  request_id TEXT NOT NULL,
  token_id INTEGER NOT NULL,
  channel_id INTEGER NOT NULL,
  model TEXT NOT NULL,
  stream INTEGER NOT NULL,
  status INTEGER NOT NULL,
  latency_ms INTEGER NOT NULL,
  ttfb_ms INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  prompt_tokens INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  total_tokens INTEGER NOT NULL
);
CREATE INDEX usage_logs_time ON usage_logs (created_time);
CREATE INDEX usage_logs_token ON usage_logs (token_id, created_time);
CREATE INDEX usage_logs_channel ON usage_logs (channel_id, created_time);
)sql",
    // v3: usage_logs without AUTOINCREMENT. Every relayed call inserts a row; AUTOINCREMENT's
    // sqlite_sequence upkeep made that insert about 40% dearer (issue 5's profile). Row ids
    // still only grow while the table holds rows.
    R"sql(
CREATE TABLE usage_logs_v3 (
  id INTEGER PRIMARY KEY,
  created_time INTEGER NOT NULL,
  request_id TEXT NOT NULL,
  token_id INTEGER NOT NULL,
  channel_id INTEGER NOT NULL,
  model TEXT NOT NULL,
  stream INTEGER NOT NULL,
  status INTEGER NOT NULL,
  latency_ms INTEGER NOT NULL,
  ttfb_ms INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  prompt_tokens INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL,
  total_tokens INTEGER NOT NULL
);
INSERT INTO usage_logs_v3 SELECT * FROM usage_logs;
DROP TABLE usage_logs;
ALTER TABLE usage_logs_v3 RENAME TO usage_logs;
CREATE INDEX usage_logs_time ON usage_logs (created_time);
CREATE INDEX usage_logs_token ON usage_logs (token_id, created_time);
CREATE INDEX usage_logs_channel ON usage_logs (channel_id, created_time);
)sql",
};
static_assert(std::size(kMigrations) == kSchemaVersion);

std::string models_json(const std::vector<std::string>& models) {
    json::array a;
    for (const auto& m : models) a.emplace_back(m);
    return json::serialize(a);
}
std::vector<std::string> models_from(const std::string& text) {
    std::vector<std::string> out;
    json::error_code ec;
    const auto v = json::parse(text, ec);
    if (!ec && v.is_array()) {
        for (const auto& m : v.as_array()) {
            if (m.is_string()) out.emplace_back(m.as_string());
        }
    }
    return out;
}
std::string mapping_json(const std::vector<std::pair<std::string, std::string>>& mapping) {
    json::object o;
    for (const auto& [from, to] : mapping) o[from] = to;
    return json::serialize(o);
}
std::vector<std::pair<std::string, std::string>> mapping_from(const std::string& text) {
    std::vector<std::pair<std::string, std::string>> out;
    json::error_code ec;
    const auto v = json::parse(text, ec);
    if (!ec && v.is_object()) {
        for (const auto& [k, val] : v.as_object()) {
            if (val.is_string()) out.emplace_back(std::string(k), std::string(val.as_string()));
        }
    }
    return out;
}

constexpr const char* kChannelColumns =
    "id, type, name, key_preview, base_url, models, model_mapping, priority, weight, status, status_reason, "
    "status_time, created_time, updated_time, test_time, response_time_ms, used_tokens, key_encrypted";

Channel channel_from(const Statement& s) {
    Channel c;
    c.id = s.integer(0);
    c.type = s.text(1);
    c.name = s.text(2);
    c.key_preview = s.text(3);
    c.base_url = s.text(4);
    c.models = models_from(s.text(5));
    c.model_mapping = mapping_from(s.text(6));
    c.priority = s.integer(7);
    c.weight = s.integer(8);
    c.status = static_cast<int>(s.integer(9));
    c.status_reason = s.text(10);
    c.status_time = s.integer(11);
    c.created_time = s.integer(12);
    c.updated_time = s.integer(13);
    c.test_time = s.integer(14);
    c.response_time_ms = s.integer(15);
    c.used_tokens = s.integer(16);
    return c;
}

// A channel row (kChannelColumns) with its key decrypted; throws when the key cannot be.
Channel channel_with_key(const Statement& row, const core::SecretBox& secrets) {
    auto c = channel_from(row);
    const auto key = secrets.open(row.text(17));
    if (!key) throw std::runtime_error("channel " + std::to_string(c.id) + ": its key cannot be decrypted");
    c.key = *key;
    return c;
}

constexpr const char* kTokenColumns =
    "id, name, key_hash, key_preview, status, user_id, created_time, accessed_time, expired_time, remain_quota, "
    "used_quota, models";

Token token_from(const Statement& s) {
    Token t;
    t.id = s.integer(0);
    t.name = s.text(1);
    t.key_hash = s.text(2);
    t.key_preview = s.text(3);
    t.status = static_cast<int>(s.integer(4));
    t.user_id = s.integer(5);
    t.created_time = s.integer(6);
    t.accessed_time = s.integer(7);
    t.expired_time = s.integer(8);
    t.remain_quota = s.integer(9);
    t.used_quota = s.integer(10);
    t.models = models_from(s.text(11));
    return t;
}

// WHERE clause and bindings shared by list and count.
struct Filter {
    std::string where;
    void bind(Statement& s, const ListQuery& q, int& i) const {
        if (q.status) s.bind(i++, static_cast<std::int64_t>(*q.status));
        if (!q.name_contains.empty()) s.bind(i++, q.name_contains);
    }
};
Filter filter_of(const ListQuery& q) {
    Filter f;
    if (q.status) f.where += " AND status = ?";
    if (!q.name_contains.empty()) f.where += " AND instr(name, ?) > 0";
    return f;
}

template <class T, class Read>
Page<T> list_page(sqlite3* db, const char* table, const char* columns, const ListQuery& q, Read read) {
    const auto filter = filter_of(q);
    Page<T> page;
    {
        Statement count(db, std::string("SELECT count(*) FROM ") + table + " WHERE 1=1" + filter.where);
        int i = 1;
        filter.bind(count, q, i);
        count.step();
        page.total = count.integer(0);
    }
    Statement s(db, std::string("SELECT ") + columns + " FROM " + table + " WHERE 1=1" + filter.where +
                        " ORDER BY id LIMIT ? OFFSET ?");
    int i = 1;
    filter.bind(s, q, i);
    s.bind(i++, q.page_size);
    s.bind(i++, (q.page - 1) * q.page_size);
    while (s.step()) page.items.push_back(read(s));
    return page;
}

template <class T, class Read>
std::optional<T> select_by_id(sqlite3* db, const char* table, const char* columns, std::int64_t id, Read read) {
    Statement s(db, std::string("SELECT ") + columns + " FROM " + table + " WHERE id = ?");
    s.bind(1, id);
    if (!s.step()) return std::nullopt;
    return read(s);
}

// Deletes row `id` of `table`; whether there was one.
bool delete_by_id(sqlite3* db, const char* table, std::int64_t id) {
    Statement s(db, std::string("DELETE FROM ") + table + " WHERE id = ?");
    s.bind(1, id).step();
    return sqlite3_changes(db) > 0;
}

}  // namespace

SqliteStore::SqliteStore(const std::string& path, core::SecretBox secrets) : secrets_(std::move(secrets)) {
    // Create the file owner-only: SQLite gives its -wal and -shm files the same mode.
    if (!std::filesystem::exists(path)) {
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
        if (fd >= 0) ::close(fd);
    }
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        nullptr) != SQLITE_OK) {
        const std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
        sqlite3_close(db_);
        throw std::runtime_error("cannot open the database " + path + ": " + message);
    }
    try {
        sqlite3_busy_timeout(db_, 5000);
        // FULL: every admin write is synced before its answer; usage batches relax it (Transaction).
        exec(db_, "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL;");
        migrate();
        check_master_key();
    } catch (...) {
        sqlite3_close(db_);
        throw;
    }
}

SqliteStore::~SqliteStore() { sqlite3_close(db_); }

bool SqliteStore::holds_secrets(const std::string& path) {
    if (!std::filesystem::exists(path)) return false;
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
        sqlite3_close(db);
        return false;
    }
    bool found = false;
    try {
        Statement s(db, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='settings'");
        if (s.step() && s.integer(0) > 0) {
            Statement c(db, "SELECT count(*) FROM settings WHERE name = ?");
            c.bind(1, kSecretCheckName);
            found = c.step() && c.integer(0) > 0;
        }
    } catch (const std::exception&) {
        found = false;
    }
    sqlite3_close(db);
    return found;
}

void SqliteStore::migrate() {
    exec(db_, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
    int version = 0;
    {
        Statement s(db_, "SELECT max(version) FROM schema_version");
        if (s.step()) version = static_cast<int>(s.integer(0));
    }
    if (version > kSchemaVersion) {
        throw std::runtime_error("the database schema is version " + std::to_string(version) +
                                 ", newer than this nexus-api knows (" + std::to_string(kSchemaVersion) +
                                 "); run a newer nexus-api. The database was not changed.");
    }
    for (int v = version; v < kSchemaVersion; ++v) {
        Transaction tx(db_, Transaction::Sync::kFull);
        exec(db_, kMigrations[v]);
        Statement s(db_, "INSERT INTO schema_version (version) VALUES (?)");
        s.bind(1, static_cast<std::int64_t>(v + 1)).step();
        tx.commit();
    }
}

void SqliteStore::check_master_key() {
    Statement s(db_, "SELECT value FROM settings WHERE name = ?");
    s.bind(1, kSecretCheckName);
    if (s.step()) {
        const auto opened = secrets_.open(s.text(0));
        if (!opened || *opened != kSecretCheckText) {
            throw std::runtime_error(
                "the master key does not open this database's secrets (wrong NEXUS_SECRET or secret.key); "
                "nothing was changed");
        }
        return;
    }
    Statement put(db_, "INSERT INTO settings (name, value) VALUES (?, ?)");
    put.bind(1, kSecretCheckName).bind(2, secrets_.seal(kSecretCheckText)).step();
}

Page<Channel> SqliteStore::list_channels(const ListQuery& query) {
    std::lock_guard lock(mutex_);
    return list_page<Channel>(db_, "channels", kChannelColumns, query, channel_from);
}

std::optional<Channel> SqliteStore::get_channel_locked(std::int64_t id) {
    return select_by_id<Channel>(db_, "channels", kChannelColumns, id, channel_from);
}

std::optional<Channel> SqliteStore::get_channel(std::int64_t id) {
    std::lock_guard lock(mutex_);
    return get_channel_locked(id);
}

Channel SqliteStore::insert_channel(const Channel& c) {
    std::optional<Channel> stored;
    {
        std::lock_guard lock(mutex_);
        const auto now = core::unix_seconds();
        Statement s(db_,
                    "INSERT INTO channels (type, name, key_encrypted, key_preview, base_url, models, model_mapping, "
                    "priority, weight, status, status_reason, status_time, created_time, updated_time) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        s.bind(1, c.type).bind(2, c.name).bind(3, secrets_.seal(c.key)).bind(4, mask_key(c.key)).bind(5, c.base_url);
        s.bind(6, models_json(c.models)).bind(7, mapping_json(c.model_mapping)).bind(8, c.priority).bind(9, c.weight);
        s.bind(10, static_cast<std::int64_t>(c.status)).bind(11, c.status_reason).bind(12, c.status_time);
        s.bind(13, now).bind(14, now);
        s.step();
        stored = get_channel_locked(sqlite3_last_insert_rowid(db_));
    }
    notify_change();
    return *stored;
}

std::optional<Channel> SqliteStore::update_channel(const Channel& c) {
    std::optional<Channel> stored;
    {
        std::lock_guard lock(mutex_);
        Transaction tx(db_, Transaction::Sync::kFull);  // the fields and a rotated key land together
        Statement s(db_,
                    "UPDATE channels SET type = ?, name = ?, base_url = ?, models = ?, model_mapping = ?, priority = ?, "
                    "weight = ?, status = ?, status_reason = ?, status_time = ?, test_time = ?, response_time_ms = ?, "
                    "updated_time = ? WHERE id = ?");
        s.bind(1, c.type).bind(2, c.name).bind(3, c.base_url).bind(4, models_json(c.models));
        s.bind(5, mapping_json(c.model_mapping)).bind(6, c.priority).bind(7, c.weight);
        s.bind(8, static_cast<std::int64_t>(c.status)).bind(9, c.status_reason).bind(10, c.status_time);
        s.bind(11, c.test_time).bind(12, c.response_time_ms).bind(13, core::unix_seconds()).bind(14, c.id);
        s.step();
        if (sqlite3_changes(db_) == 0) return std::nullopt;
        if (!c.key.empty()) {
            Statement k(db_, "UPDATE channels SET key_encrypted = ?, key_preview = ? WHERE id = ?");
            k.bind(1, secrets_.seal(c.key)).bind(2, mask_key(c.key)).bind(3, c.id).step();
        }
        tx.commit();
        stored = get_channel_locked(c.id);
    }
    notify_change();
    return stored;
}

bool SqliteStore::delete_channel(std::int64_t id) {
    {
        std::lock_guard lock(mutex_);
        if (!delete_by_id(db_, "channels", id)) return false;
    }
    notify_change();
    return true;
}

std::vector<Channel> SqliteStore::channels_with_keys() {
    std::lock_guard lock(mutex_);
    std::vector<Channel> out;
    Statement s(db_, std::string("SELECT ") + kChannelColumns + " FROM channels ORDER BY id");
    while (s.step()) out.push_back(channel_with_key(s, secrets_));
    return out;
}

std::optional<Channel> SqliteStore::get_channel_with_key(std::int64_t id) {
    std::lock_guard lock(mutex_);
    return select_by_id<Channel>(db_, "channels", kChannelColumns, id,
                                 [this](const Statement& row) { return channel_with_key(row, secrets_); });
}

Page<Token> SqliteStore::list_tokens(const ListQuery& query) {
    std::lock_guard lock(mutex_);
    return list_page<Token>(db_, "tokens", kTokenColumns, query, token_from);
}

std::optional<Token> SqliteStore::get_token_locked(std::int64_t id) {
    return select_by_id<Token>(db_, "tokens", kTokenColumns, id, token_from);
}

std::optional<Token> SqliteStore::get_token(std::int64_t id) {
    std::lock_guard lock(mutex_);
    return get_token_locked(id);
}

Token SqliteStore::insert_token(const Token& t) {
    std::optional<Token> stored;
    {
        std::lock_guard lock(mutex_);
        Statement s(db_,
                    "INSERT INTO tokens (name, key_hash, key_preview, status, user_id, created_time, expired_time, "
                    "remain_quota, models) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
        s.bind(1, t.name).bind(2, t.key_hash).bind(3, t.key_preview).bind(4, static_cast<std::int64_t>(t.status));
        s.bind(5, t.user_id).bind(6, core::unix_seconds()).bind(7, t.expired_time).bind(8, t.remain_quota);
        s.bind(9, models_json(t.models));
        s.step();
        stored = get_token_locked(sqlite3_last_insert_rowid(db_));
    }
    notify_change();
    return *stored;
}

std::optional<Token> SqliteStore::update_token(const Token& t) {
    std::optional<Token> stored;
    {
        std::lock_guard lock(mutex_);
        Statement s(db_,
                    "UPDATE tokens SET name = ?, status = ?, user_id = ?, expired_time = ?, remain_quota = ?, "
                    "models = ? WHERE id = ?");
        s.bind(1, t.name).bind(2, static_cast<std::int64_t>(t.status)).bind(3, t.user_id).bind(4, t.expired_time);
        s.bind(5, t.remain_quota).bind(6, models_json(t.models)).bind(7, t.id);
        s.step();
        if (sqlite3_changes(db_) == 0) return std::nullopt;
        stored = get_token_locked(t.id);
    }
    notify_change();
    return stored;
}

bool SqliteStore::delete_token(std::int64_t id) {
    {
        std::lock_guard lock(mutex_);
        if (!delete_by_id(db_, "tokens", id)) return false;
    }
    notify_change();
    return true;
}

std::vector<Token> SqliteStore::all_tokens() {
    std::lock_guard lock(mutex_);
    std::vector<Token> out;
    Statement s(db_, std::string("SELECT ") + kTokenColumns + " FROM tokens ORDER BY id");
    while (s.step()) out.push_back(token_from(s));
    return out;
}

bool SqliteStore::set_channel_status(std::int64_t id, int status, std::string_view reason) {
    {
        std::lock_guard lock(mutex_);
        Statement s(db_, "UPDATE channels SET status = ?, status_reason = ?, status_time = ?, updated_time = ? WHERE id = ?");
        const auto now = core::unix_seconds();
        s.bind(1, static_cast<std::int64_t>(status)).bind(2, reason).bind(3, now).bind(4, now).bind(5, id).step();
        if (sqlite3_changes(db_) == 0) return false;
    }
    notify_change();
    return true;
}

bool SqliteStore::record_channel_test(std::int64_t id, std::int64_t response_time_ms) {
    std::lock_guard lock(mutex_);
    Statement s(db_, "UPDATE channels SET test_time = ?, response_time_ms = ? WHERE id = ?");
    s.bind(1, core::unix_seconds()).bind(2, response_time_ms).bind(3, id).step();
    return sqlite3_changes(db_) > 0;
}

void SqliteStore::insert_usage(const std::vector<UsageRecord>& records) {
    if (records.empty()) return;
    std::lock_guard lock(mutex_);
    Transaction tx(db_, Transaction::Sync::kNormal);
    {
        Statement s(db_,
                    "INSERT INTO usage_logs (created_time, request_id, token_id, channel_id, model, stream, status, "
                    "latency_ms, ttfb_ms, attempts, prompt_tokens, completion_tokens, total_tokens) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        // One used_tokens update per channel per batch, not per record.
        std::unordered_map<std::int64_t, std::int64_t> used_by_channel;
        for (const auto& r : records) {
            sqlite3_reset(s.handle());
            s.bind(1, r.created_time).bind(2, r.request_id).bind(3, r.token_id).bind(4, r.channel_id).bind(5, r.model);
            s.bind(6, static_cast<std::int64_t>(r.stream)).bind(7, static_cast<std::int64_t>(r.status));
            s.bind(8, r.latency_ms).bind(9, r.ttfb_ms).bind(10, static_cast<std::int64_t>(r.attempts));
            s.bind(11, r.prompt_tokens).bind(12, r.completion_tokens).bind(13, r.total_tokens);
            s.step();
            if (r.channel_id > 0 && r.total_tokens > 0) used_by_channel[r.channel_id] += r.total_tokens;
        }
        Statement used(db_, "UPDATE channels SET used_tokens = used_tokens + ? WHERE id = ?");
        for (const auto& [channel_id, tokens] : used_by_channel) {
            sqlite3_reset(used.handle());
            used.bind(1, tokens).bind(2, channel_id).step();
        }
    }
    tx.commit();
}

Page<UsageRecord> SqliteStore::list_usage(const UsageQuery& q) {
    std::lock_guard lock(mutex_);
    std::string where = " WHERE 1=1";
    if (q.token_id) where += " AND token_id = ?";
    if (q.channel_id) where += " AND channel_id = ?";
    if (!q.model.empty()) where += " AND model = ?";
    if (q.start_time) where += " AND created_time >= ?";
    if (q.end_time) where += " AND created_time <= ?";
    auto bind_filters = [&](Statement& s) {
        int i = 1;
        if (q.token_id) s.bind(i++, *q.token_id);
        if (q.channel_id) s.bind(i++, *q.channel_id);
        if (!q.model.empty()) s.bind(i++, q.model);
        if (q.start_time) s.bind(i++, *q.start_time);
        if (q.end_time) s.bind(i++, *q.end_time);
        return i;
    };
    Page<UsageRecord> page;
    {
        Statement count(db_, "SELECT count(*) FROM usage_logs" + where);
        bind_filters(count);
        count.step();
        page.total = count.integer(0);
    }
    Statement s(db_,
                "SELECT id, created_time, request_id, token_id, channel_id, model, stream, status, latency_ms, ttfb_ms, "
                "attempts, prompt_tokens, completion_tokens, total_tokens FROM usage_logs" +
                    where + " ORDER BY id DESC LIMIT ? OFFSET ?");
    int i = bind_filters(s);
    s.bind(i, q.page_size);
    s.bind(i + 1, (q.page - 1) * q.page_size);
    while (s.step()) {
        UsageRecord r;
        r.id = s.integer(0);
        r.created_time = s.integer(1);
        r.request_id = s.text(2);
        r.token_id = s.integer(3);
        r.channel_id = s.integer(4);
        r.model = s.text(5);
        r.stream = s.integer(6) != 0;
        r.status = static_cast<int>(s.integer(7));
        r.latency_ms = s.integer(8);
        r.ttfb_ms = s.integer(9);
        r.attempts = static_cast<int>(s.integer(10));
        r.prompt_tokens = s.integer(11);
        r.completion_tokens = s.integer(12);
        r.total_tokens = s.integer(13);
        page.items.push_back(std::move(r));
    }
    return page;
}

std::int64_t SqliteStore::prune_usage(std::int64_t before) {
    std::lock_guard lock(mutex_);
    Statement s(db_, "DELETE FROM usage_logs WHERE created_time < ?");
    s.bind(1, before).step();
    return sqlite3_changes(db_);
}

void SqliteStore::touch_tokens(const std::vector<std::pair<std::int64_t, std::int64_t>>& accessed) {
    if (accessed.empty()) return;
    std::lock_guard lock(mutex_);
    Transaction tx(db_, Transaction::Sync::kNormal);
    {
        Statement s(db_, "UPDATE tokens SET accessed_time = max(accessed_time, ?) WHERE id = ?");
        for (const auto& [id, time] : accessed) {
            sqlite3_reset(s.handle());
            s.bind(1, time).bind(2, id).step();
        }
    }
    tx.commit();
}

std::optional<std::string> SqliteStore::get_setting(std::string_view name) {
    std::lock_guard lock(mutex_);
    Statement s(db_, "SELECT value FROM settings WHERE name = ?");
    s.bind(1, name);
    if (!s.step()) return std::nullopt;
    return s.text(0);
}

void SqliteStore::put_setting(std::string_view name, std::string_view value) {
    std::lock_guard lock(mutex_);
    Statement s(db_, "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value");
    s.bind(1, name).bind(2, value).step();
}

}  // namespace nexus::store::sqlite
