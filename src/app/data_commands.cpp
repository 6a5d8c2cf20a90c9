// `nexus-api backup | restore | rotate-secret | admin-key`: what an operator does to the
// server's data from the shell. Each works on the data the server's own flags and environment
// name; the ones that change it refuse while a nexus-api holds that database.
#include <charconv>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <optional>

#include "admin/admin_api.hpp"
#include "app/command_line.hpp"
#include "core/clock.hpp"
#include "core/crypto.hpp"
#include "store/database_lock.hpp"
#include "store/master_key.hpp"
#include "store/open.hpp"
#include "store/postgres/postgres_backend.hpp"
#include "store/sqlite/migrations.hpp"
#include "store/sqlite/sqlite_file.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace nexus::app {

namespace fs = std::filesystem;

namespace {

// What a backup records of itself in its settings; a restore reads them, then deletes them.
constexpr std::string_view kBackupKeySetting = "backup_master_key_fingerprint";
constexpr std::string_view kBackupTimeSetting = "backup_time";

constexpr const char* kBackupUsage =
    "usage: nexus-api backup --to FILE [flags, as for the server: --data-dir, --db, --secret]\n"
    "  Copies the database into FILE (a new file, mode 0600) while nexus-api serves, with SQLite's\n"
    "  online backup API: one consistent moment of it. FILE records the fingerprint of the master\n"
    "  key it needs (never the key): keep secret.key, or NEXUS_SECRET, apart from the backups.\n";

constexpr const char* kRestoreUsage =
    "usage: nexus-api restore --from FILE [flags, as for the server: --data-dir, --db, --secret]\n"
    "  Replaces the database with the backup FILE while nexus-api is stopped. Checks the backup\n"
    "  (integrity, schema version, master key) before changing anything, and keeps the database it\n"
    "  replaces beside it as <database>.before-restore-<time>.\n";

constexpr const char* kRotateUsage =
    "usage: nexus-api rotate-secret [--new-secret KEY] [flags, as for the server]\n"
    "  Re-seals every secret in the database under a new master key, in one transaction, while\n"
    "  nexus-api is stopped. With the key in <data dir>/secret.key: the new key (KEY, or a generated\n"
    "  one) replaces it, and the old one is kept as secret.key.old-<fingerprint> for the backups that\n"
    "  need it. With NEXUS_SECRET: give KEY (64 hex characters or base64), and put it in NEXUS_SECRET\n"
    "  before the next start. Cut short before its commit, it changed nothing; after, the next start\n"
    "  finishes it.\n";

constexpr const char* kAdminKeyUsage =
    "usage: nexus-api admin-key --reset [flags, as for the server]\n"
    "  Replaces the admin key with a new random one, printed once (only its hash is stored), while\n"
    "  nexus-api is stopped. With NEXUS_ADMIN_KEY set, change that variable instead.\n";

// Makes the creation or rename of `path` durable.
void sync_directory_of(const std::string& path) { store::sync_directory(fs::absolute(path).parent_path().string()); }

std::string utc_time(std::int64_t seconds, const char* format) {
    const std::time_t t = seconds;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char text[32];
    return std::string(text, std::strftime(text, sizeof(text), format, &tm));
}

std::string key_source(const config::Config& config) {
    return config.secret.empty() ? store::key_file(config.data_dir) : std::string("NEXUS_SECRET");
}

// The value of a command's one required flag, given with no words beside it; else the usage, and exit 2.
std::string required_flag(const CommandLine& line, std::string_view name, const char* usage) {
    const auto it = line.flags.find(name);
    if (it == line.flags.end() || it->second.empty() || !line.words.empty()) {
        std::cerr << usage;
        throw CommandExit{2};
    }
    return it->second;
}

// An audit row for what was done from the shell.
// backup and restore copy the SQLite file; PostgreSQL has its own tools for that.
void refuse_postgres(const config::Config& config, const char* command) {
    if (store::uses_postgres(config)) {
        throw std::runtime_error(std::string(command) +
                                 " works on the SQLite file; with NEXUS_DATABASE_URL use PostgreSQL's pg_dump and "
                                 "pg_restore");
    }
}

void audit(store::Store& store, std::string action) {
    store::AuditEntry entry;
    entry.time = core::unix_seconds();
    entry.actor_name = "command line";
    entry.action = std::move(action);
    entry.object_type = "other";
    store.audit(entry);
}

}  // namespace

int backup_command(int argc, char** argv) {
    return run_command("backup", [&] {
        const auto line = parse_command_line(argc, argv, {{"--to", true}}, kBackupUsage);
        const auto target = required_flag(line, "--to", kBackupUsage);
        refuse_postgres(line.config, "backup");
        const auto db = store::database_path(line.config);
        if (fs::exists(target)) throw std::runtime_error(target + " exists; give the backup a new file name");
        const auto key = store::find_master_key(line.config.secret, line.config.data_dir);
        if (!key) throw std::runtime_error("no master key at " + key_source(line.config) + " (set NEXUS_SECRET, or --data-dir)");
        if (!store::key_opens_database(*key, db)) {
            throw std::runtime_error("the master key at " + key_source(line.config) + " does not open " + db);
        }
        const auto fingerprint = store::key_fingerprint(*key);
        // Written under another name and renamed when complete: FILE is a whole backup or absent.
        const auto partial = target + ".partial";
        fs::remove(partial);
        const auto started = std::chrono::steady_clock::now();
        store::sqlite::CopyStats stats;
        try {
            stats = store::sqlite::copy_database(db, partial, true);
            store::sqlite::write_setting(partial, kBackupKeySetting, fingerprint);
            store::sqlite::write_setting(partial, kBackupTimeSetting, std::to_string(core::unix_seconds()));
            fs::rename(partial, target);
            sync_directory_of(target);
        } catch (...) {
            fs::remove(partial);
            throw;
        }
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
        std::cout << "backed up " << db << " to " << target << ": " << stats.bytes / 1024 << " KiB in " << ms.count()
                  << " ms; it needs the master key with fingerprint " << fingerprint << "\n";
        return 0;
    });
}

int restore_command(int argc, char** argv) {
    return run_command("restore", [&] {
        const auto line = parse_command_line(argc, argv, {{"--from", true}}, kRestoreUsage);
        const auto source = required_flag(line, "--from", kRestoreUsage);
        const auto& config = line.config;
        refuse_postgres(config, "restore");
        const auto db = store::database_path(config);

        // 1. The backup: whole, not from a newer nexus-api, sealed with the key we have.
        std::string needed;
        std::int64_t taken = 0;  // unix seconds; 0: unknown (a copy not made by `backup`)
        int version = 0;
        try {
            store::sqlite::DatabaseFile backup(source);
            if (const auto check = backup.quick_check(); check != "ok") {
                throw std::runtime_error(source + " is damaged (" + check + ")");
            }
            version = backup.schema_version();
            if (version == 0) throw std::runtime_error(source + " is not a nexus-api database");
            if (version > store::sqlite::kSchemaVersion) {
                throw std::runtime_error(source + " has schema version " + std::to_string(version) +
                                         ", newer than this nexus-api knows (" + std::to_string(store::sqlite::kSchemaVersion) +
                                         "): restore it with a newer nexus-api");
            }
            needed = backup.setting(kBackupKeySetting).value_or("unknown");
            const auto time = backup.setting(kBackupTimeSetting).value_or("");
            std::from_chars(time.data(), time.data() + time.size(), taken);
        } catch (const std::exception& e) {
            throw std::runtime_error(std::string(e.what()) + "; nothing was changed");
        }
        const auto key = store::find_master_key(config.secret, config.data_dir);
        if (!key) {
            throw std::runtime_error("the backup needs the master key with fingerprint " + needed + ": put its secret.key at " +
                                     key_source(config) + " or set NEXUS_SECRET; nothing was changed");
        }
        if (!store::key_opens_database(*key, source)) {
            // A key this data directory kept from a rotation may be the one.
            const auto kept = store::old_key_file(config.data_dir, needed);
            throw std::runtime_error("the backup needs the master key with fingerprint " + needed + ", and " +
                                     key_source(config) + " holds " + store::key_fingerprint(*key) +
                                     (fs::exists(kept) ? " (" + kept + " is the one it needs)" : std::string()) +
                                     "; nothing was changed");
        }

        // 2. Only now the lock (a refusal above creates nothing), held to the end: no server
        //    starts on a half-restored database. Then the database it replaces, kept beside it,
        //    and the backup copied in.
        const store::DatabaseLock lock(db);
        std::string kept;
        if (fs::exists(db)) {
            kept = db + ".before-restore-" + utc_time(core::unix_seconds(), "%Y%m%dT%H%M%SZ");
            for (int n = 2; fs::exists(kept); ++n) kept = kept.substr(0, kept.rfind('Z') + 1) + "-" + std::to_string(n);
            try {
                store::sqlite::copy_database(db, kept, true);
            } catch (...) {
                fs::remove(kept);  // a partial copy (a full disk) is no copy
                throw;
            }
        }
        store::sqlite::copy_database(source, db, false);
        store::sqlite::write_setting(db, kBackupKeySetting, "");
        store::sqlite::write_setting(db, kBackupTimeSetting, "");

        std::cout << "restored " << db << " from " << source << " (schema version " << version;
        if (taken > 0) std::cout << ", backed up " << utc_time(taken, "%Y-%m-%d %H:%M:%S UTC");
        std::cout << ")";
        if (!kept.empty()) std::cout << "; the database it replaced is " << kept;
        std::cout << "\n";
        return 0;
    });
}

int rotate_secret_command(int argc, char** argv) {
    return run_command("rotate-secret", [&] {
        const auto line = parse_command_line(argc, argv, {{"--new-secret", true}}, kRotateUsage);
        if (!line.words.empty()) {
            std::cerr << kRotateUsage;
            return 2;
        }
        const auto& config = line.config;
        const auto given = line.flags.find("--new-secret");
        const bool in_file = config.secret.empty();
        if (!in_file && given == line.flags.end()) {
            throw std::runtime_error("NEXUS_SECRET is set: give the new key with --new-secret, then put it in NEXUS_SECRET");
        }
        if (store::uses_postgres(config)) {
            // Every node must be stopped first: a node still running would seal with the old key.
            const auto next = config::parse_secret("--new-secret", given->second);
            if (next == config.secret) throw std::runtime_error("the new key is the current one; nothing was changed");
            store::postgres::PostgresStore store(config.database_url, core::SecretBox(config.secret));
            const auto count = store.rotate_master_key(core::SecretBox(next));
            audit(store, "rotate-secret");
            std::cout << "re-sealed " << count << " secret(s) under the new master key (fingerprint "
                      << store::key_fingerprint(next) << "); set NEXUS_SECRET to it on every node before they start\n";
            return 0;
        }
        const auto db = store::database_path(config);
        const store::DatabaseLock lock(db);
        if (!fs::exists(db)) throw std::runtime_error("there is no database at " + db);
        if (in_file) {
            if (const auto settled = store::settle_rotation(config.data_dir, db); !settled.empty()) std::cerr << settled << "\n";
        }
        const auto old = store::find_master_key(config.secret, config.data_dir);
        if (!old) throw std::runtime_error("no master key at " + key_source(config) + "; nothing to rotate");
        if (!store::key_opens_database(*old, db)) {
            throw std::runtime_error("the master key at " + key_source(config) + " does not open " + db + "; nothing was changed");
        }
        const auto next = given != line.flags.end() ? config::parse_secret("--new-secret", given->second)
                                                    : core::random_bytes(core::SecretBox::kKeySize);
        if (next == *old) throw std::runtime_error("the new key is the current one; nothing was changed");

        // The new key is on disk before the transaction, so that a crash after its commit can
        // still open the database (the next start finishes the move: store::settle_rotation).
        if (in_file) store::write_key_file(store::next_key_file(config.data_dir), next);
        std::int64_t count = 0;
        try {
            store::sqlite::SqliteStore store(db, core::SecretBox(*old));
            count = store.rotate_master_key(core::SecretBox(next));
            audit(store, "rotate-secret");
        } catch (...) {
            if (in_file) fs::remove(store::next_key_file(config.data_dir));
            throw;
        }
        const auto old_fingerprint = store::key_fingerprint(*old);
        std::cout << "re-sealed " << count << " secret(s) under the new master key (fingerprint "
                  << store::key_fingerprint(next) << ")\n";
        if (in_file) {
            const auto kept = store::old_key_file(config.data_dir, old_fingerprint);
            fs::rename(store::key_file(config.data_dir), kept);
            fs::rename(store::next_key_file(config.data_dir), store::key_file(config.data_dir));
            sync_directory_of(kept);
            std::cout << "the new key is in " << store::key_file(config.data_dir) << "; the old one (fingerprint "
                      << old_fingerprint << ") is kept in " << kept << " for the backups taken before now\n";
        } else {
            std::cout << "set NEXUS_SECRET to the new key before the next start; backups taken before now need the "
                         "old one (fingerprint "
                      << old_fingerprint << ")\n";
        }
        return 0;
    });
}

int admin_key_command(int argc, char** argv) {
    return run_command("admin-key", [&] {
        const auto line = parse_command_line(argc, argv, {{"--reset", false}}, kAdminKeyUsage);
        if (!line.flags.contains("--reset") || !line.words.empty()) {
            std::cerr << kAdminKeyUsage;
            return 2;
        }
        if (!line.config.admin_key.empty()) {
            throw std::runtime_error("NEXUS_ADMIN_KEY is set, and every start stores its hash: change the variable instead");
        }
        std::optional<store::DatabaseLock> lock;
        if (!store::uses_postgres(line.config)) {
            const auto db = store::database_path(line.config);
            lock.emplace(db);
            if (!fs::exists(db)) throw std::runtime_error("there is no database at " + db);
        }
        const auto store = store::open(line.config);
        const auto key = admin::reset_admin_key(*store);
        audit(*store, "admin-key-reset");
        std::cout << "new admin key (shown once; only its hash is stored): " << key << "\n";
        std::cerr << "the old admin key no longer works\n";
        return 0;
    });
}

}  // namespace nexus::app
