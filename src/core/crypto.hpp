#pragma once
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nexus::core {

/// Cryptographically random bytes (OpenSSL RAND_bytes). Throws std::runtime_error if the RNG fails.
std::string random_bytes(std::size_t n);

/// A random token of `n` characters from [A-Za-z0-9] (no modulo bias).
std::string random_token(std::size_t n);

/// SHA-256 of `data`, as 64 lowercase hex characters.
std::string sha256_hex(std::string_view data);

/// Compares in time that depends only on the lengths, not on where the bytes differ.
bool constant_time_equal(std::string_view a, std::string_view b);

std::string to_hex(std::string_view bytes);
std::optional<std::string> from_hex(std::string_view hex);
std::string to_base64(std::string_view bytes);
std::optional<std::string> from_base64(std::string_view text);

/// AES-256-GCM with a 32-byte key. seal() returns "v1:" + base64(nonce[12] | ciphertext | tag[16])
/// with a fresh random nonce each call; open() returns nullopt for a wrong key, a tampered value
/// or an unknown version. The version prefix lets a later master key rotation tell values apart.
class SecretBox {
public:
    static constexpr std::size_t kKeySize = 32;
    explicit SecretBox(std::string_view key);  ///< throws std::invalid_argument unless 32 bytes
    std::string seal(std::string_view plaintext) const;
    std::optional<std::string> open(std::string_view sealed) const;

private:
    std::array<unsigned char, kKeySize> key_{};
};

}  // namespace nexus::core
