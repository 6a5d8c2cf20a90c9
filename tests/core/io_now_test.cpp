// I/O without a wait (core/io_now.hpp): parsing what a buffer already holds, and writing what a
// socket takes at once, on real loopback sockets.
#include "core/io_now.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <gtest/gtest.h>

#include <array>
#include <string>

namespace nexus::core {
namespace {

namespace bhttp = beast::http;
using tcp = net::ip::tcp;

void put(beast::flat_buffer& buffer, std::string_view bytes) {
    const auto n = net::buffer_copy(buffer.prepare(bytes.size()), net::buffer(bytes));
    buffer.commit(n);
}
const auto header_done = [](const auto& p) { return p.is_header_done(); };
const auto message_done = [](const auto& p) { return p.is_done(); };

// A request parser with its read buffer, fed `bytes` as a socket read would.
struct Parsing {
    template <class Done>
    Parsed feed(std::string_view bytes, Done done) {
        put(buffer, bytes);
        return parse_buffered(parser, buffer, done, ec);
    }
    bhttp::request_parser<bhttp::string_body> parser;
    beast::flat_buffer buffer;
    error_code ec;
};

TEST(ParseBuffered, AHeadInTwoPiecesNeedsMoreThenIsDoneAndConsumesNothingEarly) {
    Parsing p;
    EXPECT_EQ(p.feed("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n", header_done), Parsed::kNeedMore);
    EXPECT_FALSE(p.ec);
    EXPECT_FALSE(p.parser.is_header_done());
    EXPECT_EQ(p.feed("Content-Length: 2\r\n\r\n{}", header_done), Parsed::kDone);
    // Nothing of the first piece was lost: the line and both fields are there.
    EXPECT_EQ(p.parser.get().target(), "/v1/chat/completions");
    EXPECT_EQ(p.parser.get()[bhttp::field::host], "x");
    EXPECT_EQ(p.parser.content_length().value_or(0), 2u);
    EXPECT_FALSE(p.parser.is_done());
    EXPECT_EQ(p.feed("", message_done), Parsed::kDone);
    EXPECT_EQ(p.parser.get().body(), "{}");
    EXPECT_EQ(p.buffer.size(), 0u);
}

TEST(ParseBuffered, TheNextPipelinedRequestStaysInTheBuffer) {
    Parsing p;
    const std::string next = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    EXPECT_EQ(p.feed("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc" + next, message_done),
              Parsed::kDone);
    EXPECT_EQ(p.parser.get().body(), "abc");
    EXPECT_EQ(beast::buffers_to_string(p.buffer.data()), next);
}

TEST(ParseBuffered, APartialBodyNeedsMoreAndKeepsWhatItParsed) {
    Parsing p;
    EXPECT_EQ(p.feed("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nabc", message_done), Parsed::kNeedMore);
    EXPECT_EQ(p.feed("def", message_done), Parsed::kDone);
    EXPECT_EQ(p.parser.get().body(), "abcdef");
}

TEST(ParseBuffered, BadBytesAndLimitsFailWithTheParsersError) {
    Parsing garbage;
    EXPECT_EQ(garbage.feed("NOT HTTP AT ALL\r\n\r\n", header_done), Parsed::kFailed);
    EXPECT_TRUE(garbage.ec);
    Parsing large;
    large.parser.body_limit(2);
    EXPECT_EQ(large.feed("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc", message_done), Parsed::kFailed);
    EXPECT_EQ(large.ec, bhttp::error::body_limit);
}

// A connected pair of loopback TCP sockets.
struct Pair {
    Pair() : a(ioc), b(ioc) {
        tcp::acceptor acceptor(ioc, tcp::endpoint(net::ip::address_v4::loopback(), 0));
        a.connect(acceptor.local_endpoint());
        acceptor.accept(b);
    }
    net::io_context ioc;
    tcp::socket a;
    tcp::socket b;
};

TEST(WriteNow, ABlockingSocketIsLeftToTheAsynchronousWrite) {
    Pair p;
    error_code ec;
    EXPECT_EQ(write_now(p.a, net::buffer(std::string_view("hello")), ec), 0u);
    EXPECT_FALSE(ec);
    EXPECT_EQ(p.b.available(), 0u) << "nothing was written";
}

TEST(WriteNow, WritesWhatTheSocketTakesAndTheRestIsWhatIsLeft) {
    Pair p;
    p.a.non_blocking(true);
    int small = 4096;
    ::setsockopt(p.a.native_handle(), SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    error_code ec;
    const std::array<net::const_buffer, 2> two{net::buffer(std::string_view("head:")), net::buffer(std::string_view("body"))};
    EXPECT_EQ(write_now(p.a, two, ec), 9u);
    EXPECT_FALSE(ec);

    // More than the socket and its peer take while nobody reads: a part goes, no error; the
    // rest goes on until the socket takes nothing more, still without an error.
    const std::string big(32u << 20, 'x');
    std::size_t taken = write_now(p.a, net::buffer(big), ec);
    EXPECT_FALSE(ec);
    EXPECT_GT(taken, 0u);
    bool full = false;
    for (int i = 0; i < 10'000 && !full && !ec; ++i) {
        const auto rest = rest_of(net::buffer(big), taken);
        ASSERT_EQ(beast::buffer_bytes(rest), big.size() - taken);
        const auto n = write_now(p.a, rest, ec);
        full = n == 0;
        taken += n;
    }
    EXPECT_FALSE(ec);
    EXPECT_TRUE(full) << "the socket never filled up";
    EXPECT_LT(taken, big.size());
}

TEST(WriteNow, AClosedPeerIsAnError) {
    Pair p;
    p.a.non_blocking(true);
    p.b.close();
    error_code ec;
    const std::string data(1u << 20, 'x');
    // The first write may still be taken; a reset peer fails a later one.
    for (int i = 0; i < 50 && !ec; ++i) write_now(p.a, net::buffer(data), ec);
    EXPECT_TRUE(ec);
}

}  // namespace
}  // namespace nexus::core
