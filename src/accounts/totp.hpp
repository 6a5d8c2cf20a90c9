#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nexus::accounts {

/// Time-based one-time passwords (RFC 6238): HMAC-SHA1, 30-second steps, 6 digits, as every
/// authenticator app reads them from an otpauth:// URI.

/// A new secret: 20 random bytes (160 bits, RFC 4226's recommendation).
std::string new_totp_secret();
/// `bytes` in RFC 4648 base32, without padding (how authenticator apps take a secret).
std::string base32(std::string_view bytes);
/// The otpauth:// URI an app scans: issuer nexus-api, the username as the account.
std::string totp_uri(std::string_view username, std::string_view secret);
/// The 6-digit code of `secret` for time step `step` (unix seconds / 30).
std::string totp_code(std::string_view secret, std::int64_t step);
/// The step `code` belongs to, among the steps of `unix_time` and one either side (a clock
/// a little off still works), and only later than `last_step` (a code is good once); nullopt
/// when it is none of them. Compared in constant time.
std::optional<std::int64_t> verify_totp(std::string_view secret, std::string_view code, std::int64_t unix_time,
                                        std::int64_t last_step);

/// Ten single-use recovery codes, "xxxx-xxxx" of [a-z0-9] (41 bits each), shown once.
std::vector<std::string> new_recovery_codes();
/// What is kept of a recovery code: the SHA-256 of it without dashes or spaces, in lower case.
std::string recovery_hash(std::string_view code);

}  // namespace nexus::accounts
