#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace nexus::store {

/// The 32-byte master key that encrypts channel keys at rest.
///
/// `configured` (NEXUS_SECRET, already decoded) wins. Otherwise `<data_dir>/secret.key` is read
/// (64 hex characters), or, when it does not exist and the database at `db_path` holds no
/// encrypted values yet, generated there with mode 0600. A database with encrypted values and no
/// key file is an error: a new key would lock its secrets away, so nothing is generated.
/// A rotation cut short (settle_rotation) is settled first.
/// Throws std::runtime_error with an operator-facing message.
std::string load_master_key(const std::string& configured, const std::string& data_dir, const std::string& db_path);

/// The master key as load_master_key finds it, but never generated: nullopt when neither
/// `configured` nor `<data_dir>/secret.key` gives one. Throws for an unreadable key file.
std::optional<std::string> find_master_key(const std::string& configured, const std::string& data_dir);

/// A short public name of `key` (16 hex characters of a SHA-256 of it): enough to tell two keys
/// apart, nothing that helps to find the key.
std::string key_fingerprint(std::string_view key);

/// Whether `key` opens the master-key check of the database file at `db_path` (which is only
/// read). True also for a database with no check yet (nothing sealed in it).
bool key_opens_database(std::string_view key, const std::string& db_path);

/// `rotate-secret` writes the new key to `<data_dir>/secret.key.new` before its transaction and
/// moves it over `secret.key` (the old one kept as `secret.key.old-<fingerprint>`) after the commit. When it
/// was cut short, the database tells which key it is sealed with: if the new one, the move is
/// finished now; if the old one, the new file is removed. Returns what it did, or "" when there
/// was nothing to settle.
std::string settle_rotation(const std::string& data_dir, const std::string& db_path);

/// The names of those files in `data_dir`.
std::string key_file(const std::string& data_dir);
std::string next_key_file(const std::string& data_dir);
std::string old_key_file(const std::string& data_dir, std::string_view fingerprint);

/// Makes the renames, creations and removals in directory `dir` durable (an fsync of it).
void sync_directory(const std::string& dir);

/// Writes `key` as 64 hex characters to a new file `path`, owner-only, synced to disk. Throws
/// when `path` exists.
void write_key_file(const std::string& path, std::string_view key);

}  // namespace nexus::store
