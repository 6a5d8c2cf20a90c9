#pragma once
#include <string>

namespace nexus::store {

/// The 32-byte master key that encrypts channel keys at rest.
///
/// `configured` (NEXUS_SECRET, already decoded) wins. Otherwise `<data_dir>/secret.key` is read
/// (64 hex characters), or, when it does not exist and the database at `db_path` holds no
/// encrypted values yet, generated there with mode 0600. A database with encrypted values and no
/// key file is an error: a new key would lock its secrets away, so nothing is generated.
/// Throws std::runtime_error with an operator-facing message.
std::string load_master_key(const std::string& configured, const std::string& data_dir, const std::string& db_path);

}  // namespace nexus::store
