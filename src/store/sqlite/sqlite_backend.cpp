#include "store/sqlite/sqlite_backend.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <filesystem>
#include <mutex>

#include "store/sqlite/sqlite_file.hpp"
#include "store/sqlite/statement.hpp"
#include "store/store.hpp"

namespace nexus::store::sqlite {

namespace {

// SQLite's own locking and memory accounting are not needed: every statement on a connection runs
// under Connection::mutex, and nothing reads SQLite's memory statistics. Each cost a mutex round
// trip per allocation and per API call, a tenth of a usage row's cost (bench/PROFILE.md).
void configure_sqlite_once() {
    static std::once_flag once;
    std::call_once(once, [] {
        // Refused (SQLITE_MISUSE) when SQLite is already initialised, as in a test that opened a
        // file first: then it keeps its defaults, which are correct, only slower.
        sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    });
}

}  // namespace

SqliteBackend::SqliteBackend(const std::string& path) {
    configure_sqlite_once();
    // Create the file owner-only: SQLite gives its -wal and -shm files the same mode.
    if (!std::filesystem::exists(path)) {
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
        if (fd >= 0) ::close(fd);
    }
    auto*& db = connection_.db;
    // NOMUTEX: the connection is only used under connection_.mutex (or by the constructor alone).
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK) {
        const std::string message = db ? sqlite3_errmsg(db) : "out of memory";
        sqlite3_close(db);
        throw std::runtime_error("cannot open the database " + path + ": " + message);
    }
    try {
        sqlite3_busy_timeout(db, 5000);
        // FULL: every admin write is synced before its answer; usage batches relax it (Transaction).
        exec(db, "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL;");
        migrate(path);
    } catch (...) {
        sqlite3_close(db);
        throw;
    }
    channels_ = make_channel_rows(connection_);
    tokens_ = make_token_rows(connection_);
    usage_ = make_usage_rows(connection_);
    prices_ = make_price_rows(connection_);
    settings_ = make_setting_rows(connection_);
    users_ = make_user_rows(connection_);
    sessions_ = make_session_rows(connection_);
    audit_ = make_audit_rows(connection_);
}

SqliteBackend::~SqliteBackend() {
    usage_.reset();  // it keeps prepared statements, which must be finalised before the close
    sqlite3_close(connection_.db);
}

bool SqliteBackend::holds_secrets(const std::string& path) {
    if (!std::filesystem::exists(path)) return false;
    try {
        return DatabaseFile(path).setting(kMasterKeyCheckSetting).has_value();
    } catch (const std::exception&) {
        return false;  // not a database: then it holds no secrets either, and opening it says why
    }
}

std::int64_t SqliteBackend::reseal(const std::function<std::string(const std::string&)>& reseal) {
    // Every table that holds a sealed value: its key column, and the column that holds the value.
    struct Column {
        const char* select;
        const char* update;
    };
    static constexpr Column kSealed[] = {
        {"SELECT id, key_encrypted FROM channels", "UPDATE channels SET key_encrypted = ? WHERE id = ?"},
        {"SELECT id, totp_sealed FROM users WHERE totp_sealed != ''", "UPDATE users SET totp_sealed = ? WHERE id = ?"},
    };
    std::lock_guard lock(connection_.mutex);
    auto* db = connection_.db;
    Transaction tx(db, Transaction::Sync::kFull);
    std::int64_t count = 0;
    for (const auto& column : kSealed) {
        std::vector<std::pair<std::int64_t, std::string>> rows;
        for (Statement s(db, column.select); s.step();) rows.emplace_back(s.integer(0), s.text(1));
        for (const auto& [id, sealed] : rows) {
            Statement u(db, column.update);
            u.bind(1, reseal(sealed)).bind(2, id).step();
            ++count;
        }
    }
    {
        Statement s(db, "SELECT value FROM settings WHERE name = ?");
        s.bind(1, kMasterKeyCheckSetting);
        if (s.step()) {
            const auto sealed = s.text(0);
            Statement u(db, "UPDATE settings SET value = ? WHERE name = ?");
            u.bind(1, reseal(sealed)).bind(2, kMasterKeyCheckSetting).step();
            ++count;
        }
    }
    tx.commit();
    return count;
}

void SqliteBackend::migrate(const std::string& path) {
    auto* db = connection_.db;
    exec(db, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
    int version = 0;
    {
        Statement s(db, "SELECT max(version) FROM schema_version");
        if (s.step()) version = static_cast<int>(s.integer(0));
    }
    if (version > kSchemaVersion) {
        throw std::runtime_error("the database schema is version " + std::to_string(version) +
                                 ", newer than this nexus-api knows (" + std::to_string(kSchemaVersion) +
                                 "); run a newer nexus-api. The database was not changed.");
    }
    for (int v = version; v < kSchemaVersion; ++v) {
        Transaction tx(db, Transaction::Sync::kFull);
        exec(db, kMigrations[v]);
        Statement s(db, "INSERT INTO schema_version (version) VALUES (?)");
        s.bind(1, static_cast<std::int64_t>(v + 1)).step();
        tx.commit();
    }
    // One line an operator finds after an upgrade: what the database was, and what it is now.
    if (version == 0) {
        spdlog::info("database {}: created at schema version {}", path, kSchemaVersion);
    } else if (version < kSchemaVersion) {
        spdlog::info("database {}: schema migrated from version {} to {}", path, version, kSchemaVersion);
    }
}

}  // namespace nexus::store::sqlite
