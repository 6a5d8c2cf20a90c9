#include "accounts/password.hpp"

#include <argon2.h>

#include <stdexcept>

#include "core/crypto.hpp"

namespace nexus::accounts {

namespace {

constexpr std::uint32_t kPasses = 2;
constexpr std::uint32_t kMemoryKib = 19 * 1024;
constexpr std::uint32_t kLanes = 1;
constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kHashBytes = 32;

}  // namespace

std::string hash_password(std::string_view password) {
    const auto salt = core::random_bytes(kSaltBytes);
    std::string encoded(argon2_encodedlen(kPasses, kMemoryKib, kLanes, kSaltBytes, kHashBytes, Argon2_id), '\0');
    const int rc = argon2id_hash_encoded(kPasses, kMemoryKib, kLanes, password.data(), password.size(), salt.data(),
                                         salt.size(), kHashBytes, encoded.data(), encoded.size());
    if (rc != ARGON2_OK) throw std::runtime_error(std::string("argon2: ") + argon2_error_message(rc));
    encoded.resize(encoded.find('\0'));
    return encoded;
}

bool verify_password(std::string_view encoded, std::string_view password) {
    if (encoded.substr(0, 10) != "$argon2id$") return false;
    const std::string text(encoded);  // argon2 wants it NUL-terminated
    return argon2id_verify(text.c_str(), password.data(), password.size()) == ARGON2_OK;
}

const std::string& decoy_hash() {
    static const std::string hash = hash_password(core::random_token(24));
    return hash;
}

std::optional<core::Error> check_password(std::string_view password, std::string_view param) {
    if (password.size() < 8 || password.size() > 128) {
        // Built with append: GCC 12 warns falsely on chains of operator+ (bug 105651).
        std::string message;
        message.reserve(param.size() + 40);
        message.append("'").append(param).append("' must be 8 to 128 characters long.");
        return core::Error::bad_request(std::move(message), std::string(param), "invalid_password");
    }
    return std::nullopt;
}

std::optional<core::Error> check_username(std::string_view username) {
    const bool good_length = username.size() >= 3 && username.size() <= 32;
    const bool good_chars = username.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                                       "0123456789_.-") == std::string_view::npos;
    if (good_length && good_chars) return std::nullopt;
    return core::Error::bad_request("'username' must be 3 to 32 of the characters A-Z, a-z, 0-9, '_', '.' and '-'.",
                                    "username", "invalid_username");
}

std::string random_password() { return core::random_token(20); }

}  // namespace nexus::accounts
