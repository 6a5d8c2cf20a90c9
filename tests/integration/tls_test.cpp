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

// A certificate the trust store accepts, but for another name: the host-name check refuses it,
// for a DNS name (SSL_set1_host) and for an IP literal (the verify parameters' IP).
TEST(TlsName, CertificateForAnotherNameIs502AndNothingIsSent) {
    TempDir dir;
    const auto cert = make_test_cert("DNS:other.example");
    write_file(dir.file("ca.pem"), cert.cert_pem);
    MockUpstream::Options o;
    o.tls = true;
    o.cert_pem = cert.cert_pem;
    o.key_pem = cert.key_pem;
    MockUpstream mock(o);
    for (const std::string host : {"localhost", "127.0.0.1"}) {
        NexusProcess nexus(Env{{"SILICONFLOW_API_KEY", mock.good_key()},
                               {"SILICONFLOW_BASE_URL", "https://" + host + ":" + std::to_string(mock.port())},
                               {"SSL_CERT_FILE", dir.file("ca.pem")}});
        ASSERT_TRUE(nexus.wait_ready()) << nexus.stderr_text();
        add_token(nexus.port());
        const auto res = post_chat(nexus.port(), chat_body("m"));
        EXPECT_EQ(res.status, 502) << host << ": " << res.body;
        EXPECT_NE(message_of(res.body).find("certificate verification failed"), std::string::npos) << res.body;
        EXPECT_NE(message_of(res.body).find("mismatch"), std::string::npos) << res.body;
    }
    EXPECT_EQ(mock.connections(), 2) << "the TLS connection was made (this is about the name, not the route)";
    EXPECT_TRUE(mock.requests().empty()) << "a request went to a server of another name";
}

}  // namespace
}  // namespace nexus::testing
