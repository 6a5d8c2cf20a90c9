#include "accounts/totp.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <stdexcept>

#include "core/crypto.hpp"
#include "core/text.hpp"

namespace nexus::accounts {

namespace {

constexpr std::int64_t kStepSeconds = 30;

}  // namespace

std::string new_totp_secret() { return core::random_bytes(20); }

std::string base32(std::string_view bytes) {
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    std::string out;
    std::uint32_t buffer = 0;
    int bits = 0;
    for (const unsigned char b : bytes) {
        buffer = (buffer << 8) | b;
        bits += 8;
        while (bits >= 5) {
            out += kAlphabet[(buffer >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    if (bits > 0) out += kAlphabet[(buffer << (5 - bits)) & 31];
    return out;
}

std::string totp_uri(std::string_view username, std::string_view secret) {
    // Usernames are [A-Za-z0-9_.-]: nothing in them needs escaping in a URI path.
    std::string uri = "otpauth://totp/nexus-api:";
    uri.append(username).append("?secret=").append(base32(secret));
    uri.append("&issuer=nexus-api&algorithm=SHA1&digits=6&period=30");
    return uri;
}

std::string totp_code(std::string_view secret, std::int64_t step) {
    std::array<unsigned char, 8> counter{};
    for (int i = 7; i >= 0; --i) {
        counter[static_cast<std::size_t>(i)] = static_cast<unsigned char>(step & 0xff);
        step >>= 8;
    }
    std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
    unsigned int length = 0;
    if (HMAC(EVP_sha1(), secret.data(), static_cast<int>(secret.size()), counter.data(), counter.size(), mac.data(),
             &length) == nullptr ||
        length < 20) {
        throw std::runtime_error("totp: HMAC-SHA1 failed");
    }
    // RFC 4226's dynamic truncation.
    const unsigned offset = mac[length - 1] & 0x0f;
    const std::uint32_t binary = (static_cast<std::uint32_t>(mac[offset] & 0x7f) << 24) |
                                 (static_cast<std::uint32_t>(mac[offset + 1]) << 16) |
                                 (static_cast<std::uint32_t>(mac[offset + 2]) << 8) | mac[offset + 3];
    std::string code = std::to_string(binary % 1'000'000);
    return std::string(6 - code.size(), '0') + code;
}

std::optional<std::int64_t> verify_totp(std::string_view secret, std::string_view code, std::int64_t unix_time,
                                        std::int64_t last_step) {
    if (code.size() != 6) return std::nullopt;
    const auto now = unix_time / kStepSeconds;
    std::optional<std::int64_t> matched;
    for (auto step = now - 1; step <= now + 1; ++step) {
        // Every candidate is computed and compared: the time taken says nothing of which matched.
        if (core::constant_time_equal(totp_code(secret, step), code) && step > last_step && !matched) matched = step;
    }
    return matched;
}

std::vector<std::string> new_recovery_codes() {
    std::vector<std::string> codes;
    static constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    for (int i = 0; i < 10; ++i) {
        std::string code;
        while (code.size() < 9) {
            if (code.size() == 4) code += '-';
            // Bytes of 252 and more are drawn again: 252 = 7 × 36, so every character is as likely.
            const auto b = static_cast<unsigned char>(core::random_bytes(1)[0]);
            if (b < 252) code += kAlphabet[b % 36];
        }
        codes.push_back(std::move(code));
    }
    return codes;
}

std::string recovery_hash(std::string_view code) {
    std::string plain;
    for (const char c : code) {
        if (c != '-' && c != ' ') plain += c;
    }
    return core::sha256_hex(core::ascii_lower(plain));
}

}  // namespace nexus::accounts
