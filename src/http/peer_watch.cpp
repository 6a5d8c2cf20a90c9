#include "http/peer_watch.hpp"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace nexus::http {

PeerWatch::PeerWatch(net::io_context& ioc) : ioc_(ioc) {
    const int fd = ::epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "cannot create the client watch's epoll set");
    set_.emplace(ioc, fd);
    arm();
}

bool PeerWatch::add(Peer& peer, int fd) {
    peer.id = ++next_id_;
    peer.fd = fd;
    epoll_event event{};
    event.events = EPOLLRDHUP | EPOLLET;
    event.data.u64 = peer.id;
    if (!set_ || ::epoll_ctl(set_->native_handle(), EPOLL_CTL_ADD, fd, &event) != 0) {
        // Not silent: this connection's calls go on, but one whose client leaves runs to its end.
        if (set_) spdlog::warn("a client connection could not join the client watch: {}", std::strerror(errno));
        peer.id = 0;
        return false;
    }
    peers_.emplace(peer.id, &peer);
    return true;
}

void PeerWatch::remove(Peer& peer) {
    if (peer.id != 0) peers_.erase(peer.id);
    peer.id = 0;
}

void PeerWatch::watch(Peer& peer, const std::shared_ptr<Watcher>& watcher) {
    if (peer.id == 0) return;
    peer.watcher = watcher;
    // The client may have left before this call began to watch: the set reported it already.
    if (peer.ended) {
        net::post(ioc_, [&peer, watcher] {
            // A watcher that is done no longer vouches for its Peer: touch nothing.
            if (!watcher->done && peer.watcher == watcher) confirm(peer);
        });
    }
}

void PeerWatch::arm() {
    if (!set_) return;
    set_->async_wait(net::posix::stream_descriptor::wait_read, [this](error_code ec) {
        if (ec) return;  // closed at shutdown
        drain();
        arm();
    });
}

void PeerWatch::drain() {
    std::array<epoll_event, 64> events;
    for (;;) {
        const int n = ::epoll_wait(set_->native_handle(), events.data(), static_cast<int>(events.size()), 0);
        if (n <= 0) return;
        for (int i = 0; i < n; ++i) {
            const auto it = peers_.find(events[static_cast<std::size_t>(i)].data.u64);
            if (it == peers_.end()) continue;  // its session has ended
            it->second->ended = true;
            confirm(*it->second);
        }
        if (n < static_cast<int>(events.size())) return;
    }
}

void PeerWatch::confirm(Peer& peer) {
    const auto watcher = peer.watcher;
    if (!watcher || watcher->done) return;
    char byte;
    const auto n = ::recv(peer.fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0) return;  // a pipelined request, then the end: the client still reads the answer
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    watcher->done = true;
    peer.watcher.reset();
    watcher->on_gone();
}

}  // namespace nexus::http
