#pragma once
#include <chrono>
#include <cstdint>
#include <vector>

namespace nexus::testing {

/// A TCP listener on 127.0.0.1 that a test drives by hand: an upstream that never answers, or
/// whose accept queue is full so that connecting to it hangs.
class RawListener {
public:
    explicit RawListener(int backlog = 16);
    ~RawListener();
    RawListener(const RawListener&) = delete;
    RawListener& operator=(const RawListener&) = delete;

    std::uint16_t port() const { return port_; }
    /// Fills the accept queue (with a backlog of 0 it holds one): further connects hang, their
    /// SYNs dropped, until a connection is accepted.
    void fill();
    /// Accepts one connection arriving within `timeout`; its descriptor (closed with the
    /// listener), or -1.
    int accept_within(std::chrono::milliseconds timeout);

private:
    int fd_ = -1;
    int filler_ = -1;
    std::uint16_t port_ = 0;
    std::vector<int> accepted_;
};

/// Whether the peer of `fd` closed it within `timeout` (what it sent before is read and dropped).
bool peer_closed_within(int fd, std::chrono::milliseconds timeout);

}  // namespace nexus::testing
