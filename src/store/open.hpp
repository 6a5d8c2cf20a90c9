#pragma once
#include <memory>

#include "config/config.hpp"
#include "store/store.hpp"

namespace nexus::store {

/// The store `config` names: PostgreSQL at NEXUS_DATABASE_URL (shared by several nodes, the master
/// key from NEXUS_SECRET; sessions in Redis with NEXUS_REDIS_URL), or else the SQLite file NEXUS_DB (default <data dir>/nexus.db), its data
/// directory made owner-only, and the master key from NEXUS_SECRET or <data dir>/secret.key
/// (generated on first start). Throws std::runtime_error with an operator-facing message (a wrong
/// master key, a newer schema, an unreadable file, a database that cannot be reached).
std::unique_ptr<Store> open(const config::Config& config);

/// Whether `config` names a PostgreSQL database rather than a SQLite file.
inline bool uses_postgres(const config::Config& config) { return !config.database_url.empty(); }

/// The SQLite database file `config` names: NEXUS_DB, or `<data dir>/nexus.db`.
std::string database_path(const config::Config& config);

}  // namespace nexus::store
