#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "store/store.hpp"

namespace nexus::accounts {

/// Makes sure the database has its root account, and returns its id. On a database without
/// users, creates "root" with `configured` (NEXUS_ROOT_PASSWORD) or else a random password
/// printed once to stderr in a marked banner, and gives it every token from before users.
/// Throws std::runtime_error when `configured` is not a usable password.
std::int64_t ensure_root(store::Store& store, const std::string& configured);

/// Sets the password of `username` and ends all his sessions (`nexus-api user reset-password`).
/// Throws std::runtime_error for an unknown user or an unusable password.
void reset_password(store::Store& store, std::string_view username, std::string_view password);

}  // namespace nexus::accounts
