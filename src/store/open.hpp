#pragma once
#include <memory>

#include "config/config.hpp"
#include "store/store.hpp"

namespace nexus::store {

/// The store `config` names: the SQLite file NEXUS_DB (default <data dir>/nexus.db; PostgreSQL
/// comes in a later release), its data directory made owner-only, and the master key from
/// NEXUS_SECRET or <data dir>/secret.key (generated on first start). Throws std::runtime_error
/// with an operator-facing message (a wrong master key, a newer schema, an unreadable file).
std::unique_ptr<Store> open(const config::Config& config);

/// The database file `config` names: NEXUS_DB, or `<data dir>/nexus.db`.
std::string database_path(const config::Config& config);

}  // namespace nexus::store
