#include "support/raw_listener.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace nexus::testing {

namespace {
sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    return addr;
}
}  // namespace

RawListener::RawListener(int backlog) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    auto addr = loopback(0);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    ::listen(fd_, backlog);
    socklen_t len = sizeof(addr);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
}

RawListener::~RawListener() {
    for (const int fd : accepted_) ::close(fd);
    if (filler_ >= 0) ::close(filler_);
    ::close(fd_);
}

void RawListener::fill() {
    filler_ = ::socket(AF_INET, SOCK_STREAM, 0);
    auto addr = loopback(port_);
    ::connect(filler_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
}

int RawListener::accept_within(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return -1;
    const int fd = ::accept(fd_, nullptr, nullptr);
    if (fd >= 0) accepted_.push_back(fd);
    return fd;
}

bool peer_closed_within(int fd, std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    char buf[4096];
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
        if (::recv(fd, buf, sizeof(buf), MSG_DONTWAIT) <= 0) return true;
    }
}

}  // namespace nexus::testing
