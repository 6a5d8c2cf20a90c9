#pragma once
#include <boost/asio/ssl/context.hpp>

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

}  // namespace nexus::core
