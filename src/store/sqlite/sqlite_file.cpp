#include "store/sqlite/sqlite_file.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <stdexcept>

#include "store/sqlite/statement.hpp"

namespace nexus::store::sqlite {

namespace {

// Opens `path` with `flags`, or throws naming the file and SQLite's reason.
sqlite3* open_file(const std::string& path, int flags) {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
        const std::string message = db ? sqlite3_errmsg(db) : "out of memory";
        sqlite3_close(db);
        throw std::runtime_error("cannot open the database " + path + ": " + message);
    }
    sqlite3_busy_timeout(db, 5000);
    return db;
}

struct Closer {
    sqlite3* db;
    ~Closer() { sqlite3_close(db); }
};

bool has_table(sqlite3* db, std::string_view name) {
    Statement s(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?");
    s.bind(1, name);
    return s.step() && s.integer(0) > 0;
}

}  // namespace

DatabaseFile::DatabaseFile(const std::string& path) {
    // SQLITE_OPEN_READONLY creates nothing; a file that is not there is an error of its own.
    if (::access(path.c_str(), R_OK) != 0) throw std::runtime_error("cannot read the database " + path);
    db_ = open_file(path, SQLITE_OPEN_READONLY);
    try {
        // Reading the schema is where a file that is not a database fails.
        exec(db_, "SELECT count(*) FROM sqlite_master");
    } catch (const std::exception&) {
        sqlite3_close(db_);
        throw std::runtime_error(path + " is not an SQLite database");
    }
}

DatabaseFile::~DatabaseFile() { sqlite3_close(db_); }

int DatabaseFile::schema_version() {
    if (!has_table(db_, "schema_version")) return 0;
    Statement s(db_, "SELECT max(version) FROM schema_version");
    return s.step() ? static_cast<int>(s.integer(0)) : 0;
}

std::optional<std::string> DatabaseFile::setting(std::string_view name) {
    if (!has_table(db_, "settings")) return std::nullopt;
    Statement s(db_, "SELECT value FROM settings WHERE name = ?");
    s.bind(1, name);
    if (!s.step()) return std::nullopt;
    return s.text(0);
}

std::string DatabaseFile::quick_check() {
    std::string out;
    try {
        Statement s(db_, "PRAGMA quick_check");
        while (s.step()) {
            if (!out.empty()) out += "; ";
            out += s.text(0);
        }
    } catch (const std::exception& e) {
        return e.what();  // a page too damaged for the check to go on
    }
    return out;
}

CopyStats copy_database(const std::string& from, const std::string& to, bool self_contained) {
    if (::access(from.c_str(), R_OK) != 0) throw std::runtime_error("cannot read the database " + from);
    // The copy holds every secret the source does: owner-only from its first byte.
    const int fd = ::open(to.c_str(), O_WRONLY | O_CREAT, 0600);
    if (fd < 0) throw std::runtime_error("cannot create " + to);
    ::close(fd);
    Closer source{open_file(from, SQLITE_OPEN_READONLY)};
    Closer target{open_file(to, SQLITE_OPEN_READWRITE)};
    sqlite3_backup* backup = sqlite3_backup_init(target.db, "main", source.db, "main");
    if (!backup) throw std::runtime_error("cannot copy " + from + ": " + sqlite3_errmsg(target.db));
    // All pages in one step: one read transaction on the source, so the copy is one moment of
    // it. Copying in slices would restart whenever the serving process commits, and under a
    // steady stream of usage batches might never end.
    const int step = sqlite3_backup_step(backup, -1);
    CopyStats stats;
    stats.pages = sqlite3_backup_pagecount(backup);
    const int finish = sqlite3_backup_finish(backup);
    if (step != SQLITE_DONE || finish != SQLITE_OK) {
        throw std::runtime_error("copying " + from + " to " + to + " failed: " + sqlite3_errstr(step == SQLITE_DONE ? finish : step));
    }
    {
        Statement s(target.db, "PRAGMA page_size");
        if (s.step()) stats.bytes = stats.pages * s.integer(0);
    }
    if (self_contained) exec(target.db, "PRAGMA journal_mode=DELETE");
    return stats;
}

void write_setting(const std::string& path, std::string_view name, std::string_view value) {
    Closer db{open_file(path, SQLITE_OPEN_READWRITE)};
    if (value.empty()) {
        Statement s(db.db, "DELETE FROM settings WHERE name = ?");
        s.bind(1, name).step();
        return;
    }
    Statement s(db.db,
                "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value");
    s.bind(1, name).bind(2, value).step();
}

}  // namespace nexus::store::sqlite
