// TOTP against RFC 6238's own test vectors (SHA-1, the 20-byte ASCII secret, last 6 digits).
#include "accounts/totp.hpp"

#include <gtest/gtest.h>

#include <set>

namespace nexus::accounts {
namespace {

constexpr std::string_view kRfcSecret = "12345678901234567890";

TEST(Totp, MatchesRfc6238) {
    EXPECT_EQ(totp_code(kRfcSecret, 59 / 30), "287082");
    EXPECT_EQ(totp_code(kRfcSecret, 1111111109 / 30), "081804");
    EXPECT_EQ(totp_code(kRfcSecret, 1111111111 / 30), "050471");
    EXPECT_EQ(totp_code(kRfcSecret, 1234567890 / 30), "005924");
    EXPECT_EQ(totp_code(kRfcSecret, 2000000000 / 30), "279037");
    EXPECT_EQ(totp_code(kRfcSecret, 20000000000 / 30), "353130");
}

TEST(Totp, TakesOneStepEitherSideAndEachCodeOnce) {
    const std::int64_t t = 1234567890;
    const auto step = t / 30;
    EXPECT_EQ(verify_totp(kRfcSecret, totp_code(kRfcSecret, step), t, 0), step);
    EXPECT_EQ(verify_totp(kRfcSecret, totp_code(kRfcSecret, step - 1), t, 0), step - 1);
    EXPECT_EQ(verify_totp(kRfcSecret, totp_code(kRfcSecret, step + 1), t, 0), step + 1);
    EXPECT_FALSE(verify_totp(kRfcSecret, totp_code(kRfcSecret, step - 2), t, 0));
    EXPECT_FALSE(verify_totp(kRfcSecret, totp_code(kRfcSecret, step + 2), t, 0));
    EXPECT_FALSE(verify_totp(kRfcSecret, totp_code(kRfcSecret, step), t, step)) << "used already";
    EXPECT_FALSE(verify_totp(kRfcSecret, totp_code(kRfcSecret, step - 1), t, step)) << "nor an older one";
    EXPECT_FALSE(verify_totp(kRfcSecret, "12345", t, 0));
    EXPECT_FALSE(verify_totp(kRfcSecret, "", t, 0));
}

TEST(Totp, SecretsAndUrisAreWhatAppsRead) {
    EXPECT_EQ(base32("foobar"), "MZXW6YTBOI");  // RFC 4648, without its padding
    EXPECT_EQ(base32("f"), "MY");
    EXPECT_EQ(base32(""), "");
    const auto secret = new_totp_secret();
    EXPECT_EQ(secret.size(), 20u);
    EXPECT_NE(secret, new_totp_secret());
    EXPECT_EQ(totp_uri("alice", "foobar"),
              "otpauth://totp/nexus-api:alice?secret=MZXW6YTBOI&issuer=nexus-api&algorithm=SHA1&digits=6&period=30");
}

TEST(Totp, RecoveryCodesAreRandomAndKeptAsHashes) {
    const auto codes = new_recovery_codes();
    ASSERT_EQ(codes.size(), 10u);
    std::set<std::string> distinct(codes.begin(), codes.end());
    EXPECT_EQ(distinct.size(), 10u);
    for (const auto& c : codes) {
        ASSERT_EQ(c.size(), 9u) << c;
        EXPECT_EQ(c[4], '-') << c;
        EXPECT_EQ(c.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-"), std::string::npos) << c;
    }
    EXPECT_EQ(recovery_hash("ab12-cd34"), recovery_hash("AB12CD34")) << "typed with or without the dash, any case";
    EXPECT_EQ(recovery_hash("ab12-cd34").size(), 64u);
    EXPECT_NE(recovery_hash("ab12-cd34"), recovery_hash("ab12-cd35"));
}

}  // namespace
}  // namespace nexus::accounts
