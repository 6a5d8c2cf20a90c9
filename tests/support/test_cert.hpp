#pragma once
#include <string>

namespace nexus::testing {

/// A self-signed certificate (its own CA) for "localhost" and 127.0.0.1, made fresh by the test.
struct TestCert {
    std::string cert_pem;
    std::string key_pem;
};
TestCert make_test_cert();

}  // namespace nexus::testing
