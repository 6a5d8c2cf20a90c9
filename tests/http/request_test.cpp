// The flat request (http/request.hpp) and the upstream answer's flat head
// (upstream/answer_parser.hpp): what Beast's parser hands them is kept whole and in order,
// wherever the bytes are split, and the bodies land where they should.
#include "http/request.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "upstream/answer_parser.hpp"

namespace nexus::http {
namespace {

// Feeds `pieces` to `parser` one after the other, as reads would bring them; fails on an error.
template <class Parser>
void feed(Parser& parser, const std::vector<std::string>& pieces) {
    std::string pending;
    for (const auto& piece : pieces) {
        pending += piece;
        // The parser takes one part at a time (the head, a chunk's size, its data): offer the
        // rest again while it makes progress, as Beast's own reads do.
        while (!pending.empty() && !parser.is_done()) {
            boost::system::error_code ec;
            const auto used = parser.put(boost::asio::buffer(pending), ec);
            pending.erase(0, used);
            if (ec == bhttp::error::need_more) break;
            ASSERT_FALSE(ec) << ec.message();
            if (used == 0) break;
        }
    }
}

TEST(Request, KeepsTheLineTheFieldsInOrderAndTheBody) {
    RequestParser parser;
    feed(parser, {"POST /v1/chat/completions?x=1 HTTP/1.1\r\nHost: relay\r\nAuthorization: Bearer sk-a\r\n",
                  "X-Forwarded-For: 10.0.0.1\r\nx-api-key: k\r\nX-Forwarded-For: 10.0.0.2\r\n",
                  "Content-Length: 13\r\n\r\n{\"model\":", "\"m\"}"});
    ASSERT_TRUE(parser.is_done());
    const auto& r = parser.get();
    EXPECT_EQ(r.method(), bhttp::verb::post);
    EXPECT_EQ(r.method_string(), "POST");
    EXPECT_EQ(r.target(), "/v1/chat/completions?x=1");
    EXPECT_EQ(r.version(), 11u);
    EXPECT_TRUE(r.keep_alive());
    EXPECT_EQ(r.body(), R"({"model":"m"})");
    EXPECT_EQ(r[bhttp::field::authorization], "Bearer sk-a");
    EXPECT_EQ(r["AUTHORIZATION"], "Bearer sk-a") << "a name as text is found without regard to case";
    EXPECT_EQ(r["X-API-Key"], "k");
    EXPECT_EQ(r[bhttp::field::cookie], "");
    std::vector<std::string> names, forwarded;
    for (const auto& f : r) {
        names.emplace_back(f.name_string());
        if (f.name_string() == "X-Forwarded-For") forwarded.emplace_back(f.value());
    }
    EXPECT_EQ(names, (std::vector<std::string>{"Host", "Authorization", "X-Forwarded-For", "x-api-key",
                                               "X-Forwarded-For", "Content-Length"}));
    EXPECT_EQ(forwarded, (std::vector<std::string>{"10.0.0.1", "10.0.0.2"}));
    EXPECT_EQ(r["X-Forwarded-For"], "10.0.0.1") << "the first of a repeated field";
}

TEST(Request, AChunkedBodyIsDecodedAndConnectionCloseEndsKeepAlive) {
    RequestParser parser;
    feed(parser, {"POST /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n",
                  "3\r\nabc\r\n", "2\r\nde\r\n0\r\n\r\n"});
    ASSERT_TRUE(parser.is_done());
    EXPECT_EQ(parser.get().body(), "abcde");
    EXPECT_FALSE(parser.get().keep_alive());
}

TEST(Request, AChunkedBodysTrailerAddsNoField) {
    RequestParser parser;
    feed(parser, {"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
                  "0\r\nAuthorization: Bearer late\r\nX-" + std::string(300, 'p') + ": q\r\n\r\n"});
    ASSERT_TRUE(parser.is_done());
    EXPECT_EQ(parser.get().body(), "abc");
    EXPECT_EQ(parser.get()[bhttp::field::authorization], "") << "a trailer added a credential after the head";
    EXPECT_EQ(parser.get()[bhttp::field::host], "x");
    EXPECT_EQ(std::distance(parser.get().begin(), parser.get().end()), 2);
}

TEST(Request, Http10KeepsAliveOnlyWhenAsked) {
    RequestParser plain;
    feed(plain, {"GET /healthz HTTP/1.0\r\nHost: x\r\n\r\n"});
    EXPECT_EQ(plain.get().version(), 10u);
    EXPECT_FALSE(plain.get().keep_alive());
    RequestParser asked;
    feed(asked, {"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"});
    EXPECT_TRUE(asked.get().keep_alive());
}

TEST(Request, SetReplacesAFieldOfARequestMadeByHand) {
    Request r;
    EXPECT_EQ(r[bhttp::field::authorization], "");
    r.set(bhttp::field::authorization, "Bearer one");
    r.set(bhttp::field::content_type, "application/json");
    r.set(bhttp::field::authorization, "Bearer two");
    EXPECT_EQ(r[bhttp::field::authorization], "Bearer two");
    EXPECT_EQ(r[bhttp::field::content_type], "application/json");
    EXPECT_EQ(std::distance(r.begin(), r.end()), 2);
}

}  // namespace
}  // namespace nexus::http

namespace nexus::upstream {
namespace {

using http::feed;

TEST(AnswerParser, KeepsTheStatusAndFieldsAndFillsTheBodyWhereItIsGiven) {
    Head head;
    AnswerParser parser(head);
    std::string answer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nRetry-After: 1\r\nContent-Length: 10\r\n\r\n";
    boost::system::error_code ec;
    auto used = parser.put(boost::asio::buffer(answer), ec);
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_TRUE(parser.is_header_done());
    EXPECT_EQ(head.result_int(), 200u);
    std::vector<std::string> seen;
    for (const auto& f : head) seen.push_back(std::string(f.name_string()) + "=" + std::string(f.value()));
    EXPECT_EQ(seen, (std::vector<std::string>{"Content-Type=application/json", "Retry-After=1", "Content-Length=10"}));
    EXPECT_EQ(head.begin()->name(), bhttp::field::content_type);
    answer.erase(0, used);

    // The body goes where destination() says, and no further: a full destination stops the parser.
    answer += "0123456789";
    char small[4];
    parser.destination(small);
    used = parser.put(boost::asio::buffer(answer), ec);
    EXPECT_EQ(ec, bhttp::error::need_buffer);
    EXPECT_EQ(used, 4u);
    EXPECT_EQ(parser.remaining(), 0u);
    EXPECT_EQ(std::string(small, 4), "0123");
    answer.erase(0, used);
    char rest[16];
    parser.destination(rest);
    ec = {};
    used = parser.put(boost::asio::buffer(answer), ec);
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_EQ(sizeof(rest) - parser.remaining(), 6u);
    EXPECT_EQ(std::string(rest, 6), "456789");
    EXPECT_TRUE(parser.is_done());
    EXPECT_TRUE(parser.reusable());
}

TEST(AnswerParser, AChunkedAnswerIsDecodedAndAClosedOneIsNotReused) {
    Head head;
    AnswerParser parser(head);
    char body[32];
    parser.destination(body);
    feed(parser, {"HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nbusy,\r\n", "4\r\n try\r\n0\r\n\r\n"});
    ASSERT_TRUE(parser.is_done());
    EXPECT_EQ(head.result_int(), 503u);
    EXPECT_EQ(std::string(body, sizeof(body) - parser.remaining()), "busy, try");
    EXPECT_TRUE(parser.reusable());
    parser.close_after();
    EXPECT_FALSE(parser.reusable()) << "an answer to a request not written whole must not be reused";
}

TEST(AnswerParser, AChunkedAnswersTrailerLeavesTheHeadAsItWas) {
    Head head;
    AnswerParser parser(head);
    char body[8];
    parser.destination(body);
    feed(parser, {"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n",
                  "2\r\nok\r\n0\r\nX-" + std::string(300, 't') + ": 1\r\n\r\n"});
    ASSERT_TRUE(parser.is_done());
    ASSERT_EQ(std::distance(head.begin(), head.end()), 2);
    EXPECT_EQ(head.begin()->value(), "text/event-stream");
    EXPECT_EQ(std::string(body, 2), "ok");
}

TEST(AnswerParser, AHeadReadAgainStartsFromNothing) {
    Head head;
    {
        AnswerParser first(head);
        feed(first, {"HTTP/1.1 200 OK\r\nX-Big: " + std::string(8000, 'a') + "\r\nContent-Length: 0\r\n\r\n"});
        ASSERT_TRUE(first.is_done());
        EXPECT_EQ(std::distance(head.begin(), head.end()), 2);
    }
    head.trim();
    AnswerParser second(head);
    feed(second, {"HTTP/1.1 204 No Content\r\nServer: up\r\n\r\n"});
    ASSERT_TRUE(second.is_done());
    EXPECT_EQ(head.result_int(), 204u);
    ASSERT_EQ(std::distance(head.begin(), head.end()), 1);
    EXPECT_EQ(head.begin()->value(), "up");
}

}  // namespace
}  // namespace nexus::upstream
