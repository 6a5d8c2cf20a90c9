#pragma once
#include <string>

namespace nexus::testing {

/// A self-signed certificate (its own CA), made fresh by the test, for the subject alternative
/// names `names` (OpenSSL's syntax): by default "localhost" and 127.0.0.1.
struct TestCert {
    std::string cert_pem;
    std::string key_pem;
};
TestCert make_test_cert(const std::string& names = "DNS:localhost,IP:127.0.0.1");
/// The file name OpenSSL looks up a CA under in an SSL_CERT_DIR: its subject hash and ".0".
std::string hashed_name(const std::string& cert_pem);

}  // namespace nexus::testing
