#pragma once
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "support/nexus_process.hpp"

namespace nexus::testing {

/// A private redis-server (Debian's), started by the test on a free loopback port, with nothing
/// saved to disk; killed when this goes, or when the test process dies. It can be stopped and started again on the same port, to
/// see what a client does while Redis is away. With `tls`, it listens with TLS only, on the
/// certificate given.
class RedisServer {
public:
    struct Options {
        std::string password;
        std::string tls_cert_pem;  ///< non-empty: TLS only, with this certificate and key
        std::string tls_key_pem;
    };
    RedisServer() : RedisServer(Options{}) {}
    explicit RedisServer(Options options);
    ~RedisServer();
    RedisServer(const RedisServer&) = delete;
    RedisServer& operator=(const RedisServer&) = delete;

    /// Starts it (again); waits until it takes connections.
    void start();
    /// Kills it (SIGKILL: as a crash would).
    void kill();
    std::uint16_t port() const { return port_; }
    /// redis://… (or rediss://…) of it.
    std::string url(int db = 0) const;

private:
    Options options_;
    TempDir dir_;
    std::uint16_t port_ = 0;
    pid_t pid_ = -1;
};

}  // namespace nexus::testing
