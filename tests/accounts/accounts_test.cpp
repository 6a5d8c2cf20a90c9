// The accounts module on its own: password hashing, the role × route table, session helpers.
#include <argon2.h>
#include <gtest/gtest.h>

#include <array>

#include "accounts/password.hpp"
#include "accounts/roles.hpp"
#include "accounts/session.hpp"

namespace nexus::accounts {
namespace {

TEST(Password, IsArgon2idWithItsParametersAndAFreshSalt) {
    const auto a = hash_password("correct horse");
    const auto b = hash_password("correct horse");
    EXPECT_TRUE(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$")) << a;
    EXPECT_NE(a, b) << "a salt of its own each time";
    EXPECT_TRUE(verify_password(a, "correct horse"));
    EXPECT_TRUE(verify_password(b, "correct horse"));
    EXPECT_FALSE(verify_password(a, "correct horsE"));
    EXPECT_FALSE(verify_password(a, ""));
}

TEST(Password, ReadsAndWritesWhatTheReferenceLibraryDoes) {
    // Ours verifies the reference encoder's string (other costs too)…
    const std::string salt = "0123456789abcdef";
    std::array<char, 128> encoded{};
    ASSERT_EQ(argon2id_hash_encoded(3, 64, 1, "pässword", 9, salt.data(), salt.size(), 24, encoded.data(), encoded.size()),
              ARGON2_OK);
    EXPECT_TRUE(verify_password(encoded.data(), "pässword")) << encoded.data();
    EXPECT_FALSE(verify_password(encoded.data(), "password"));
    // …and the reference verifies ours.
    const auto ours = hash_password("correct horse");
    EXPECT_EQ(argon2id_verify(ours.c_str(), "correct horse", 13), ARGON2_OK) << ours;
    EXPECT_NE(argon2id_verify(ours.c_str(), "correct horsE", 13), ARGON2_OK);
}

TEST(Password, AMalformedOrForeignHashMatchesNothing) {
    EXPECT_FALSE(verify_password("", "x"));
    EXPECT_FALSE(verify_password("$argon2id$garbage", "x"));
    EXPECT_FALSE(verify_password("$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "x"))
        << "4 GiB is more than a stored hash may ask for";
    EXPECT_FALSE(verify_password("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ", "x"));
    // Argon2i is not Argon2id: a hash of another kind is not trusted.
    EXPECT_FALSE(verify_password("$argon2i$v=19$m=16,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo", "x"));
    EXPECT_FALSE(verify_password(decoy_hash(), "")) << "the decoy is a real hash of an unknown password";
    EXPECT_TRUE(decoy_hash().starts_with("$argon2id$"));
}

TEST(Password, LengthAndUsernameRules) {
    EXPECT_FALSE(check_password("12345678"));
    EXPECT_TRUE(check_password("1234567"));
    EXPECT_FALSE(check_password(std::string(128, 'x')));
    EXPECT_TRUE(check_password(std::string(129, 'x')));
    EXPECT_EQ(check_password("short", "new_password")->param, "new_password");
    EXPECT_FALSE(check_username("abc"));
    EXPECT_FALSE(check_username("A.b_c-9"));
    EXPECT_FALSE(check_username(std::string(32, 'a')));
    EXPECT_TRUE(check_username("ab"));
    EXPECT_TRUE(check_username(std::string(33, 'a')));
    EXPECT_TRUE(check_username("al ice"));
    EXPECT_TRUE(check_username("alice@x"));
    EXPECT_TRUE(check_username("名字名字"));
    EXPECT_EQ(random_password().size(), 20u);
}

TEST(Roles, TheTableAsTheIssueGivesIt) {
    using enum Resource;
    for (const auto r : {kChannel, kPrice, kAudit}) {
        EXPECT_EQ(grant(Role::kRoot, r), Grant::kAll);
        EXPECT_EQ(grant(Role::kAdmin, r), Grant::kAll);
        EXPECT_EQ(grant(Role::kUser, r), Grant::kDeny);
    }
    EXPECT_EQ(grant(Role::kRoot, kUser), Grant::kAll);
    EXPECT_EQ(grant(Role::kAdmin, kUser), Grant::kLower);
    EXPECT_EQ(grant(Role::kUser, kUser), Grant::kDeny);
    for (const auto r : {kToken, kLog}) {
        EXPECT_EQ(grant(Role::kRoot, r), Grant::kAll);
        EXPECT_EQ(grant(Role::kAdmin, r), Grant::kAll);
        EXPECT_EQ(grant(Role::kUser, r), Grant::kOwn);
    }
    for (const auto role : {Role::kRoot, Role::kAdmin, Role::kUser}) {
        EXPECT_EQ(grant(role, kSelf), Grant::kOwn);
        EXPECT_EQ(grant(role, kAuth), Grant::kOwn);
        EXPECT_EQ(grant(role, kOther), Grant::kAll);
    }
    EXPECT_EQ(parse_role("admin"), Role::kAdmin);
    EXPECT_FALSE(parse_role("Admin"));
    EXPECT_EQ(role_name(Role::kRoot), "root");
}

TEST(Session, IdsAreRandomAndOnlyTheirHashIsKept) {
    const auto a = new_session(7, 1000);
    const auto b = new_session(7, 1000);
    EXPECT_GE(a.id.size(), 43u);
    EXPECT_NE(a.id, b.id);
    EXPECT_NE(a.row.csrf_token, b.row.csrf_token);
    EXPECT_NE(a.row.csrf_token, a.id);
    EXPECT_EQ(a.row.id_hash, session_hash(a.id));
    EXPECT_EQ(a.row.id_hash.find(a.id), std::string::npos);
    EXPECT_EQ(a.row.user_id, 7);
    EXPECT_EQ(a.row.seen_time, 1000);
}

TEST(Session, EndsWhenIdleOrTooOld) {
    const SessionPolicy policy{100, 1000};
    store::Session s{"h", 1, "c", 0, 0};
    EXPECT_FALSE(session_expired(s, 99, policy));
    EXPECT_TRUE(session_expired(s, 100, policy)) << "idle";
    s.seen_time = 950;
    EXPECT_FALSE(session_expired(s, 999, policy));
    EXPECT_TRUE(session_expired(s, 1000, policy)) << "however active, never past its lifetime";
}

TEST(Session, CookiesAreReadAndWritten) {
    EXPECT_EQ(cookie_value("a=1; nexus_session=abc; b=2", "nexus_session"), "abc");
    EXPECT_EQ(cookie_value("nexus_session=abc", "nexus_session"), "abc");
    EXPECT_EQ(cookie_value(" b=2 ;nexus_session = x ", "nexus_session"), "x");
    EXPECT_FALSE(cookie_value("xnexus_session=abc", "nexus_session"));
    EXPECT_FALSE(cookie_value("", "nexus_session"));
    EXPECT_EQ(session_set_cookie("abc", 60, false), "nexus_session=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=60");
    EXPECT_EQ(session_set_cookie("abc", 60, true),
              "nexus_session=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=60; Secure");
    EXPECT_EQ(session_set_cookie("", 60, false), "nexus_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
}

TEST(Session, TheOriginMustBeTheServersOwn) {
    EXPECT_TRUE(origin_allowed("http://localhost:3000", "", "localhost:3000"));
    EXPECT_TRUE(origin_allowed("HTTP://LocalHost:3000", "", "localhost:3000"));
    EXPECT_FALSE(origin_allowed("http://localhost:3001", "", "localhost:3000"));
    EXPECT_FALSE(origin_allowed("https://localhost:3000", "", "localhost:3000"));
    EXPECT_FALSE(origin_allowed("null", "", "localhost:3000"));
    EXPECT_TRUE(origin_allowed("https://gw.example.com", "https://gw.example.com/", "internal:3000"));
    EXPECT_TRUE(origin_allowed("https://gw.example.com", "https://gw.example.com:443/console", "x"));
    EXPECT_FALSE(origin_allowed("http://internal:3000", "https://gw.example.com", "internal:3000"))
        << "with a public URL, the Host no longer counts";
    EXPECT_FALSE(origin_allowed("https://gw.example.com.evil.io", "https://gw.example.com", "x"));
}

}  // namespace
}  // namespace nexus::accounts
