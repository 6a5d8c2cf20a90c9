// TLS to the upstream: verified against the trust store, never silently insecure.
#include <gtest/gtest.h>

#include "support/fixtures.hpp"
#include "support/test_cert.hpp"

namespace nexus::testing {
namespace {

class Tls : public ::testing::Test {
protected:
    void SetUp() override {
        cert_ = make_test_cert();
        write_file(dir_.file("ca.pem"), cert_.cert_pem);
        MockUpstream::Options o;
        o.tls = true;
        o.cert_pem = cert_.cert_pem;
        o.key_pem = cert_.key_pem;
        mock_ = std::make_unique<MockUpstream>(o);
    }
    TempDir dir_;
    TestCert cert_;
    std::unique_ptr<MockUpstream> mock_;
};

TEST_F(Tls, TrustedCertificateViaSslCertFileRelays) {
    NexusProcess nexus(Env{{"SILICONFLOW_API_KEY", mock_->good_key()},
                        {"SILICONFLOW_BASE_URL", mock_->base_url()},
                        {"SSL_CERT_FILE", dir_.file("ca.pem")}});
    ASSERT_TRUE(nexus.wait_ready()) << nexus.stderr_text();
    add_token(nexus.port());
    const auto res = post_chat(nexus.port(), chat_body("m"));
    EXPECT_EQ(res.status, 200) << res.body;
    const auto s = stream_chat(nexus.port(), chat_body("m", true));
    EXPECT_TRUE(s.complete) << s.error;
    EXPECT_EQ(s.events.size(), 4u);
    ASSERT_EQ(mock_->requests().size(), 2u);
    EXPECT_EQ(mock_->requests()[0].headers.at("host"), "localhost:" + std::to_string(mock_->port()));
}

TEST_F(Tls, UntrustedCertificateIs502AndNothingIsSent) {
    // Trust another CA: the upstream's certificate must be refused.
    write_file(dir_.file("other.pem"), make_test_cert().cert_pem);
    NexusProcess nexus(Env{{"SILICONFLOW_API_KEY", mock_->good_key()},
                        {"SILICONFLOW_BASE_URL", mock_->base_url()},
                        {"SSL_CERT_FILE", dir_.file("other.pem")}});
    ASSERT_TRUE(nexus.wait_ready()) << nexus.stderr_text();
    add_token(nexus.port());
    const auto res = post_chat(nexus.port(), chat_body("m"));
    EXPECT_EQ(res.status, 502);
    EXPECT_NE(message_of(res.body).find("certificate verification failed"), std::string::npos) << res.body;
    EXPECT_TRUE(mock_->requests().empty()) << "a request went over an unverified connection";
}

TEST_F(Tls, CertificateForAnotherNameIs502) {
    // The certificate names localhost and 127.0.0.1; reach it as 127.0.0.2 (also loopback).
    NexusProcess nexus(Env{{"SILICONFLOW_API_KEY", mock_->good_key()},
                        {"SILICONFLOW_BASE_URL", "https://127.0.0.2:" + std::to_string(mock_->port())},
                        {"SSL_CERT_FILE", dir_.file("ca.pem")}});
    ASSERT_TRUE(nexus.wait_ready()) << nexus.stderr_text();
    add_token(nexus.port());
    const auto res = post_chat(nexus.port(), chat_body("m"));
    // The mock listens on 127.0.0.1 only, so this is refused before TLS, or fails name checks;
    // either way it must not be a success.
    EXPECT_EQ(res.status, 502);
    EXPECT_TRUE(mock_->requests().empty());
}

}  // namespace
}  // namespace nexus::testing
