#pragma once
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>

#include "core/asio.hpp"

namespace nexus::http {

/// Notices a client closing its connection while nothing reads from it (a call waiting on its
/// upstream) without a system call per call. Each client socket joins one epoll set of the
/// thread, for the peer's end of stream only (EPOLLRDHUP, edge-triggered), once per connection;
/// the set itself is a descriptor the io_context waits on. A call that watches its client only
/// marks its Peer; when the set reports that peer, the watch confirms with a peek (an end of
/// stream or a reset: gone; bytes of a pipelined request: still there) and tells the call.
/// Asio offers no cheaper way: a wait or a peek on the socket itself costs a system call
/// (epoll_ctl or recv) every time it starts. Everything runs on the listener's thread.
class PeerWatch {
public:
    /// What a watching call is told; `done` once it was told or stopped watching.
    struct Watcher {
        std::function<void()> on_gone;
        bool done = false;
    };
    /// One connection's place in the set, owned by its session. The session must close the
    /// socket before the Peer goes (closing a socket takes it out of the set).
    struct Peer {
        std::uint64_t id = 0;
        int fd = -1;
        bool ended = false;                 ///< the set reported the peer's end of stream
        std::shared_ptr<Watcher> watcher;   ///< the call watching now, if any
    };

    /// Throws std::system_error when the set cannot be made.
    explicit PeerWatch(net::io_context& ioc);
    PeerWatch(const PeerWatch&) = delete;
    PeerWatch& operator=(const PeerWatch&) = delete;

    /// Puts the connection on descriptor `fd` in the set (one epoll_ctl). False when it could
    /// not be added; its calls are then not watched.
    bool add(Peer& peer, int fd);
    /// Forgets the peer (no system call: the socket's close takes it out of the set).
    void remove(Peer& peer);
    /// Starts watching `peer` for the call that owns `watcher` (nothing when it is not in the set).
    void watch(Peer& peer, const std::shared_ptr<Watcher>& watcher);
    /// Stops the wait on the set; before the io_context goes (shutdown).
    void close() { set_.reset(); }

private:
    void arm();
    void drain();
    // The peer's end was reported: tells its watcher when the peek confirms the client left.
    static void confirm(Peer& peer);

    net::io_context& ioc_;
    std::optional<net::posix::stream_descriptor> set_;
    std::unordered_map<std::uint64_t, Peer*> peers_;
    std::uint64_t next_id_ = 0;
};

}  // namespace nexus::http
