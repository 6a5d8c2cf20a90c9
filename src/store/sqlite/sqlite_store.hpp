#pragma once
#include <string>

#include "core/crypto.hpp"
#include "store/sqlite/sqlite_backend.hpp"
#include "store/store.hpp"

namespace nexus::store::sqlite {

/// A Store over the SQLite database file at `path` (created when missing), its channel keys
/// sealed with `secrets`: what store::open builds for a file path, and what tests open directly.
class SqliteStore final : public Store {
public:
    SqliteStore(const std::string& path, core::SecretBox secrets)
        : Store(std::make_unique<SqliteBackend>(path), std::move(secrets)) {}

    /// Whether the database file at `path` already holds sealed values (see SqliteBackend).
    static bool holds_secrets(const std::string& path) { return SqliteBackend::holds_secrets(path); }
};

}  // namespace nexus::store::sqlite
