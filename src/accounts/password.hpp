#pragma once
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace nexus::accounts {

/// Argon2id at OWASP's recommended cost (19 MiB, 2 passes, 1 lane): about 20–40 ms on one core.
/// The answer is the standard "$argon2id$v=19$m=19456,t=2,p=1$salt$hash" string, so the cost
/// can rise later and old hashes still verify. Blocking and memory-hungry: call it on the
/// database thread, never on an I/O thread. Throws std::runtime_error if Argon2 fails.
std::string hash_password(std::string_view password);

/// Whether `password` matches `encoded` (an "$argon2id$…" string). A malformed `encoded` is no
/// match. Takes as long as hash_password().
bool verify_password(std::string_view encoded, std::string_view password);

/// A hash of a random password, to verify against when a username is unknown: the answer then
/// takes as long as for a known one.
const std::string& decoy_hash();

/// Nullopt when `password` may be used (8–128 characters), else the 400 to answer.
std::optional<core::Error> check_password(std::string_view password, std::string_view param = "password");
/// Nullopt when `username` is 3–32 of [A-Za-z0-9_.-], else the 400 to answer.
std::optional<core::Error> check_username(std::string_view username);

/// A new random password for a person to type: 20 characters of [A-Za-z0-9].
std::string random_password();

}  // namespace nexus::accounts
