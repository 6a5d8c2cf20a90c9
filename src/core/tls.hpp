#pragma once
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <string>

namespace nexus::core {

/// A TLS client context that checks certificates: TLS 1.2 or newer, peer verification on, the
/// system's trust store (honouring SSL_CERT_FILE and SSL_CERT_DIR). Upstreams and Redis use it.
inline boost::asio::ssl::context make_client_tls_context() {
    namespace ssl = boost::asio::ssl;
    ssl::context ctx{ssl::context::tls_client};
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                    ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    ctx.set_default_verify_paths();
    ctx.set_verify_mode(ssl::verify_peer);
    return ctx;
}

/// Makes the handshake on `ssl` check that the certificate names `host`: an IP for an IP literal,
/// else a DNS name (which is also sent as SNI).
inline void expect_peer_name(SSL* ssl, const std::string& host) {
    boost::system::error_code not_ip;
    boost::asio::ip::make_address(host, not_ip);
    if (!not_ip) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str());
    } else {
        SSL_set_tlsext_host_name(ssl, host.c_str());
        SSL_set1_host(ssl, host.c_str());
    }
}

}  // namespace nexus::core
