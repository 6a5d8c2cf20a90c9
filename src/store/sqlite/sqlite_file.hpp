#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

struct sqlite3;

namespace nexus::store::sqlite {

/// What a database file says of itself, read through a read-only connection that changes
/// nothing (no migration, no journal mode). Throws std::runtime_error when the file is missing
/// or is not an SQLite database.
class DatabaseFile {
public:
    explicit DatabaseFile(const std::string& path);
    ~DatabaseFile();
    DatabaseFile(const DatabaseFile&) = delete;
    DatabaseFile& operator=(const DatabaseFile&) = delete;

    /// The schema version nexus-api recorded in it; 0 when it has none (not a nexus-api database).
    int schema_version();
    /// A value of its settings table; nullopt when the row, or the table, is missing.
    std::optional<std::string> setting(std::string_view name);
    /// SQLite's `PRAGMA quick_check`: "ok", or what is damaged.
    std::string quick_check();

private:
    sqlite3* db_ = nullptr;
};

/// Counts of a copy_database().
struct CopyStats {
    std::int64_t pages = 0;
    std::int64_t bytes = 0;
};

/// Copies the database at `from` page by page into `to` with SQLite's online backup API, as
/// one read transaction: a consistent snapshot even while another process writes `from` (in
/// WAL mode its writers are never blocked). `to` is replaced inside its own write transaction
/// (created owner-only when missing), so a reader of `to` sees the old or the new content,
/// never a mix. With `self_contained`, `to` is left in rollback-journal mode: one file, no
/// -wal beside it, ready to be moved. Throws std::runtime_error.
CopyStats copy_database(const std::string& from, const std::string& to, bool self_contained);

/// Sets (or, with an empty `value`, deletes) a settings row in the database file at `path`.
void write_setting(const std::string& path, std::string_view name, std::string_view value);

}  // namespace nexus::store::sqlite
