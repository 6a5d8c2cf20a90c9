// The client watch's epoll set (http/peer_watch.hpp) on real loopback sockets: a watching call
// hears of a client that left, before or while it watched, and of nothing else.
#include "http/peer_watch.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include <chrono>

namespace nexus::http {
namespace {

using tcp = net::ip::tcp;
using namespace std::chrono_literals;

// A client socket and the server's end of it.
struct Connection {
    explicit Connection(net::io_context& ioc) : client(ioc), server(ioc) {
        tcp::acceptor acceptor(ioc, tcp::endpoint(net::ip::address_v4::loopback(), 0));
        client.connect(acceptor.local_endpoint());
        acceptor.accept(server);
    }
    tcp::socket client;
    tcp::socket server;
};

// Runs the io_context's ready work for a while (the set's report comes through it).
void settle(net::io_context& ioc) {
    ioc.restart();
    ioc.run_for(100ms);
}

std::shared_ptr<PeerWatch::Watcher> watcher(int& told) {
    auto w = std::make_shared<PeerWatch::Watcher>();
    w->on_gone = [&told] { ++told; };
    return w;
}

// One connection in a thread's set.
class PeerWatchTest : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_TRUE(peers.add(peer, c.server.native_handle())); }
    void TearDown() override { peers.remove(peer); }

    net::io_context ioc;
    PeerWatch peers{ioc};
    Connection c{ioc};
    PeerWatch::Peer peer;
};

TEST_F(PeerWatchTest, AClientLeavingWhileWatchedIsToldOnce) {
    int told = 0;
    const auto w = watcher(told);
    peers.watch(peer, w);
    settle(ioc);
    EXPECT_EQ(told, 0) << "nothing happened yet";
    c.client.close();
    settle(ioc);
    EXPECT_EQ(told, 1);
    EXPECT_TRUE(w->done);
}

TEST_F(PeerWatchTest, AClientThatLeftBeforeTheWatchBeganIsToldAtOnce) {
    c.client.close();
    settle(ioc);  // the set reports the end while nobody watches
    EXPECT_TRUE(peer.ended);
    int told = 0;
    peers.watch(peer, watcher(told));
    settle(ioc);
    EXPECT_EQ(told, 1) << "the end came before the watch and no report follows it";
}

TEST_F(PeerWatchTest, APipelinedRequestBeforeTheEndIsNotADeparture) {
    int told = 0;
    peers.watch(peer, watcher(told));
    net::write(c.client, net::buffer(std::string_view("GET / HTTP/1.1\r\n\r\n")));
    c.client.shutdown(tcp::socket::shutdown_send);  // sent its last request, still reading
    settle(ioc);
    EXPECT_EQ(told, 0);
}

TEST(PeerWatch, ACallThatStoppedWatchingOrAForgottenPeerHearsNothing) {
    net::io_context ioc;
    PeerWatch peers(ioc);
    Connection first(ioc);
    Connection second(ioc);
    PeerWatch::Peer a;
    PeerWatch::Peer b;
    ASSERT_TRUE(peers.add(a, first.server.native_handle()));
    ASSERT_TRUE(peers.add(b, second.server.native_handle()));
    EXPECT_NE(a.id, b.id);
    int told_a = 0;
    const auto wa = watcher(told_a);
    peers.watch(a, wa);
    wa->done = true;  // what ClientWatch's destructor does
    int told_b = 0;
    peers.watch(b, watcher(told_b));
    peers.remove(b);
    first.client.close();
    second.client.close();
    settle(ioc);
    EXPECT_EQ(told_a, 0);
    EXPECT_EQ(told_b, 0);
    peers.remove(a);
}

}  // namespace
}  // namespace nexus::http
