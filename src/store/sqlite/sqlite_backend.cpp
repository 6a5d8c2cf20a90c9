#include "store/sqlite/sqlite_backend.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

#include "store/sqlite/statement.hpp"
#include "store/store.hpp"

namespace nexus::store::sqlite {

SqliteBackend::SqliteBackend(const std::string& path) {
    // Create the file owner-only: SQLite gives its -wal and -shm files the same mode.
    if (!std::filesystem::exists(path)) {
        const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
        if (fd >= 0) ::close(fd);
    }
    auto*& db = connection_.db;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        nullptr) != SQLITE_OK) {
        const std::string message = db ? sqlite3_errmsg(db) : "out of memory";
        sqlite3_close(db);
        throw std::runtime_error("cannot open the database " + path + ": " + message);
    }
    try {
        sqlite3_busy_timeout(db, 5000);
        // FULL: every admin write is synced before its answer; usage batches relax it (Transaction).
        exec(db, "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL;");
        migrate();
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

SqliteBackend::~SqliteBackend() { sqlite3_close(connection_.db); }

bool SqliteBackend::holds_secrets(const std::string& path) {
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
            c.bind(1, kMasterKeyCheckSetting);
            found = c.step() && c.integer(0) > 0;
        }
    } catch (const std::exception&) {
        found = false;
    }
    sqlite3_close(db);
    return found;
}

void SqliteBackend::migrate() {
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
}

}  // namespace nexus::store::sqlite
