#include "support/http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <stdexcept>

#include "support/raw_listener.hpp"
#include "upstream/sse.hpp"

namespace nexus::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

void set_timeouts(tcp::socket& socket, std::chrono::milliseconds timeout) {
    timeval tv{};
    tv.tv_sec = timeout.count() / 1000;
    tv.tv_usec = (timeout.count() % 1000) * 1000;
    setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

template <class Fields>
Headers lower_headers(const Fields& fields) {
    Headers out;
    for (const auto& f : fields) {
        std::string name(f.name_string());
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        auto& slot = out[name];
        if (!slot.empty()) slot += ", ";
        slot += std::string(f.value());
    }
    return out;
}

http::request<http::string_body> make_request(std::uint16_t port, const std::string& method,
                                              const std::string& target, const std::string& body,
                                              const Headers& headers) {
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
    for (const auto& [k, v] : headers) req.set(k, v);
    if (!body.empty() || method == "POST" || method == "PUT") {
        req.body() = body;
        if (req[http::field::content_type].empty()) req.set(http::field::content_type, "application/json");
        req.prepare_payload();
    }
    return req;
}

}  // namespace

HttpResponse http_request(std::uint16_t port, const std::string& method, const std::string& target,
                          const std::string& body, const Headers& headers, std::chrono::milliseconds timeout) {
    net::io_context ioc;
    tcp::socket socket(ioc);
    socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    set_timeouts(socket, timeout);
    auto req = make_request(port, method, target, body, headers);
    http::write(socket, req);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64u << 20);
    if (method == "HEAD") parser.skip(true);
    http::read(socket, buffer, parser);
    const auto& res = parser.get();
    HttpResponse out;
    out.status = static_cast<int>(res.result_int());
    out.headers = lower_headers(res);
    out.body = res.body();
    beast::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    return out;
}

namespace {
Headers with_token(Headers headers) {
    headers.try_emplace("Authorization", "Bearer sk-nexus-test-token");
    return headers;
}
}  // namespace

HttpResponse post_chat(std::uint16_t port, const std::string& body, const Headers& headers) {
    return api_call(port, "POST", "/v1/chat/completions", body, headers);
}

HttpResponse api_call(std::uint16_t port, const std::string& method, const std::string& target,
                      const std::string& body, const Headers& headers) {
    return http_request(port, method, target, body, with_token(headers));
}

StreamResult stream_chat(std::uint16_t port, const std::string& body, const Headers& headers,
                         const std::function<bool(const StreamEvent&)>& on_event, std::chrono::milliseconds timeout) {
    return stream_post(port, "/v1/chat/completions", body, headers, on_event, timeout);
}

StreamResult stream_post(std::uint16_t port, const std::string& target, const std::string& body,
                         const Headers& headers, const std::function<bool(const StreamEvent&)>& on_event,
                         std::chrono::milliseconds timeout) {
    net::io_context ioc;
    tcp::socket socket(ioc);
    socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    set_timeouts(socket, timeout);
    http::write(socket, make_request(port, "POST", target, body, with_token(headers)));

    StreamResult out;
    beast::flat_buffer buffer;
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);
    beast::error_code ec;
    http::read_header(socket, buffer, parser, ec);
    if (ec) {
        out.error = ec.message();
        return out;
    }
    out.status = static_cast<int>(parser.get().result_int());
    out.headers = lower_headers(parser.get());
    out.head_at = std::chrono::steady_clock::now();

    std::string pending;
    std::string scratch;
    char chunk[4096];
    while (!parser.is_done()) {
        parser.get().body().data = chunk;
        parser.get().body().size = sizeof(chunk);
        http::read_some(socket, buffer, parser, ec);
        if (ec == http::error::need_buffer) ec = {};
        const auto n = sizeof(chunk) - parser.get().body().size;
        const auto now = std::chrono::steady_clock::now();
        out.raw.append(chunk, n);
        pending.append(chunk, n);
        const auto cut = upstream::sse::complete_prefix(pending);
        bool stop = false;
        upstream::sse::for_each_event(std::string_view(pending).substr(0, cut), scratch, [&](std::string_view data) {
            if (stop) return;
            out.events.push_back({std::string(data), now});
            if (on_event && !on_event(out.events.back())) stop = true;
        });
        pending.erase(0, cut);
        if (stop) {
            out.error = "stopped by the test";
            socket.close(ec);
            return out;
        }
        if (ec) {
            out.error = ec.message();
            out.end_at = std::chrono::steady_clock::now();
            return out;
        }
    }
    out.complete = true;
    out.end_at = std::chrono::steady_clock::now();
    return out;
}

RawConnection::RawConnection(std::uint16_t port, int receive_buffer) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (receive_buffer > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof(receive_buffer));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        throw std::runtime_error("connect failed");
    }
}

RawConnection::~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
}

bool RawConnection::send(const std::string& bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
}

std::string RawConnection::read_some(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return {};
    char buf[65536];
    const auto n = ::recv(fd_, buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

std::string RawConnection::read_until_close(std::chrono::milliseconds timeout) {
    std::string out;
    const auto end = std::chrono::steady_clock::now() + timeout;
    char buf[4096];
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
        const auto n = ::recv(fd_, buf, sizeof(buf), 0);
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}

RawConnection::Upload RawConnection::upload(std::size_t bytes, std::chrono::milliseconds timeout) {
    Upload out;
    const std::string filler(64 * 1024, 'x');
    const auto end = std::chrono::steady_clock::now() + timeout;
    char buf[4096];
    while (!out.closed) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
        if (left.count() <= 0) break;
        pollfd p{fd_, static_cast<short>(POLLIN | (out.sent < bytes ? POLLOUT : 0)), 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            const auto n = ::recv(fd_, buf, sizeof(buf), MSG_DONTWAIT);
            if (n > 0) {
                out.answer.append(buf, static_cast<std::size_t>(n));
            } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
                out.closed = true;
            }
        } else if (p.revents & POLLOUT) {
            const auto n = ::send(fd_, filler.data(), std::min(filler.size(), bytes - out.sent), MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n > 0) {
                out.sent += static_cast<std::size_t>(n);
            } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                out.closed = true;
            }
        }
    }
    return out;
}

bool RawConnection::closed_within(std::chrono::milliseconds timeout) { return peer_closed_within(fd_, timeout); }

}  // namespace nexus::testing
