#include "core/crypto.hpp"

#include <gtest/gtest.h>

namespace nexus::core {
namespace {

TEST(Sha256, KnownVector) {
    EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(ConstantTimeEqual, Compares) {
    EXPECT_TRUE(constant_time_equal("abc", "abc"));
    EXPECT_FALSE(constant_time_equal("abc", "abd"));
    EXPECT_FALSE(constant_time_equal("abc", "abcd"));
    EXPECT_TRUE(constant_time_equal("", ""));
}

TEST(Encoding, HexAndBase64RoundTrip) {
    const std::string bytes("\x00\x01\xfe\xff hello", 10);
    EXPECT_EQ(from_hex(to_hex(bytes)), bytes);
    EXPECT_EQ(from_base64(to_base64(bytes)), bytes);
    for (std::size_t n = 0; n < 8; ++n) {
        const std::string s(n, 'x');
        if (n > 0) {
            EXPECT_EQ(from_base64(to_base64(s)), s) << n;
        }
    }
    EXPECT_FALSE(from_hex("abc"));
    EXPECT_FALSE(from_hex("zz"));
    EXPECT_FALSE(from_base64("a"));
    EXPECT_FALSE(from_base64("ab!="));
}

TEST(RandomToken, LengthAndAlphabet) {
    const auto t = random_token(48);
    EXPECT_EQ(t.size(), 48u);
    EXPECT_EQ(t.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"), std::string::npos);
    EXPECT_NE(random_token(48), t);
}

TEST(SecretBox, SealsAndOpens) {
    const SecretBox box(random_bytes(32));
    const auto sealed = box.seal("sk-very-secret");
    EXPECT_EQ(sealed.rfind("v1:", 0), 0u);
    EXPECT_EQ(sealed.find("sk-very-secret"), std::string::npos);
    EXPECT_EQ(box.open(sealed), "sk-very-secret");
    EXPECT_NE(box.seal("sk-very-secret"), sealed) << "each value needs a fresh nonce";
    EXPECT_EQ(box.open(box.seal("")), "");
}

TEST(SecretBox, WrongKeyOrTamperingFails) {
    const SecretBox box(random_bytes(32));
    const SecretBox other(random_bytes(32));
    auto sealed = box.seal("secret");
    EXPECT_FALSE(other.open(sealed));
    auto tampered = sealed;
    tampered[10] = tampered[10] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(box.open(tampered));
    EXPECT_FALSE(box.open("v2:" + sealed.substr(3)));
    EXPECT_FALSE(box.open("v1:short"));
    EXPECT_FALSE(box.open(""));
}

TEST(SecretBox, KeyMustBe32Bytes) { EXPECT_THROW(SecretBox(std::string(16, 'k')), std::invalid_argument); }

}  // namespace
}  // namespace nexus::core
