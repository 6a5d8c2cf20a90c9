#include "http/exchange.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <sys/socket.h>

#include <array>
#include <cerrno>

#include "http/wire.hpp"

namespace nexus::http {

Exchange::Exchange(beast::tcp_stream& stream, beast::flat_buffer& buffer, RequestParser& parser,
                   std::string request_id, Clock::time_point start, const config::Config& config, bool keep_alive)
    : stream_(stream),
      buffer_(buffer),
      parser_(parser),
      request_id_(std::move(request_id)),
      start_(start),
      config_(config),
      keep_alive_(keep_alive),
      body_limit_(config.max_body_bytes) {}

net::awaitable<bool> Exchange::read_body(std::uint64_t limit) {
    if (parser_.is_done()) co_return true;
    body_limit_ = std::min<std::uint64_t>(limit, config_.max_body_bytes);
    if (const auto length = parser_.content_length(); length && *length > body_limit_) {
        co_await send_error(body_too_large());
        co_return false;
    }
    parser_.body_limit(body_limit_);
    // curl and others wait for "100 Continue" before sending a large body.
    if (beast::iequals(request()[bhttp::field::expect], "100-continue")) {
        static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
        stream_.expires_after(config_.write_timeout);
        auto [wec, wn] = co_await net::async_write(stream_, net::buffer(kContinue), use_nothrow);
        if (wec) {
            mark_unanswered(499);
            co_return false;
        }
    }
    stream_.expires_after(config_.body_timeout);
    auto [ec, n] = co_await bhttp::async_read(stream_, buffer_, parser_, use_nothrow);
    if (ec) {
        co_await refuse(ec, "body");
        co_return false;
    }
    // A large body may have grown the read buffer; do not keep that memory for the connection's life.
    if (buffer_.capacity() > 16384 && buffer_.size() == 0) buffer_.shrink_to_fit();
    co_return true;
}

core::Error Exchange::body_too_large() const {
    return core::Error::payload_too_large("Request body is larger than the limit of " + std::to_string(body_limit_) +
                                          " bytes.");
}

net::awaitable<void> Exchange::refuse(const error_code& ec, std::string_view part) {
    close_after();
    const bool parse_error = ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
                             ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
    if (ec == bhttp::error::header_limit) {
        co_await send_error(core::Error::header_too_large());
    } else if (ec == bhttp::error::body_limit) {
        co_await send_error(body_too_large());
    } else if (ec == beast::error::timeout) {
        mark_unanswered(408);  // the stream closed the socket when the deadline fired
    } else if (parse_error) {
        co_await send_error(core::Error::bad_request("Malformed HTTP request " + std::string(part) + "."));
    } else if (part == "body") {
        mark_unanswered(499);  // the client went away mid-body
    }
}

net::ip::address Exchange::remote_ip() const {
    error_code ec;
    const auto endpoint = stream_.socket().remote_endpoint(ec);
    return ec ? net::ip::address() : endpoint.address();
}

std::optional<std::string_view> bearer_token(const Request& request) {
    constexpr std::string_view kBearer = "Bearer ";
    const std::string_view auth = request[bhttp::field::authorization];
    if (auth.size() <= kBearer.size() || !beast::iequals(auth.substr(0, kBearer.size()), kBearer)) {
        return std::nullopt;
    }
    return auth.substr(kBearer.size());
}

struct Exchange::ClientWatch::State {
    bool done = false;
    std::function<void()> on_gone;
};

Exchange::ClientWatch::ClientWatch(std::shared_ptr<State> state, net::ip::tcp::socket& socket)
    : state_(std::move(state)), socket_(&socket) {}

Exchange::ClientWatch::~ClientWatch() {
    if (!state_ || state_->done) return;
    state_->done = true;
    // Wake the watcher so it ends now; nothing else is pending on the socket at this point.
    error_code ignored;
    socket_->cancel(ignored);
}

Exchange::ClientWatch Exchange::watch_client(std::function<void()> on_gone) {
    auto state = std::make_shared<ClientWatch::State>();
    state->on_gone = std::move(on_gone);
    auto& socket = stream_.socket();
    // A plain completion handler, not a coroutine: this runs for every relayed call.
    socket.async_wait(net::ip::tcp::socket::wait_read, [state, &socket](error_code ec) {
        // After `done` the socket may be gone: touch nothing.
        if (state->done || ec) return;
        char byte;
        const auto n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
            state->done = true;
            state->on_gone();
        }
    });
    return ClientWatch(std::move(state), socket);
}

template <class Message>
void Exchange::stamp(Message& message) {
    if (!parser_.is_done()) keep_alive_ = false;
    message.set("X-Request-Id", request_id_);
    message.keep_alive(keep_alive_);
    status_ = static_cast<int>(message.result_int());
}

net::awaitable<bool> Exchange::send(bhttp::response<bhttp::string_body> response) {
    std::string fields;
    fields.reserve(128);
    for (const auto& f : response) {
        // Framing and the request id are the Exchange's to write.
        if (f.name() == bhttp::field::content_length || f.name() == bhttp::field::connection ||
            f.name() == bhttp::field::transfer_encoding || beast::iequals(f.name_string(), "x-request-id")) {
            continue;
        }
        append_field(fields, f.name_string(), f.value());
    }
    co_return co_await send(response.result_int(), fields, response.body());
}

net::awaitable<bool> Exchange::send(bhttp::status status, std::string body, std::string_view content_type) {
    bhttp::response<bhttp::string_body> response{status, 11};
    response.set(bhttp::field::content_type, content_type);
    response.body() = std::move(body);
    co_return co_await send(std::move(response));
}

net::awaitable<bool> Exchange::send(unsigned status, std::string_view fields, std::string_view body) {
    const auto code = static_cast<bhttp::status>(status);
    const bool bodiless = code == bhttp::status::no_content || code == bhttp::status::not_modified;
    // A HEAD answer has GET's head, Content-Length included, and no body.
    const bool head_only = request().method() == bhttp::verb::head;
    // A body left unread would be read as the next request: this answer ends the connection.
    if (!parser_.is_done()) keep_alive_ = false;
    std::string head;
    head.reserve(128 + fields.size());
    head.append("HTTP/1.1 ").append(std::to_string(status)).push_back(' ');
    head.append(bhttp::obsolete_reason(code)).append("\r\n").append(fields);
    append_field(head, "X-Request-Id", request_id_);
    if (!bodiless) append_field(head, "Content-Length", std::to_string(body.size()));
    if (!keep_alive_) append_field(head, "Connection", "close");
    head.append("\r\n");
    status_ = static_cast<int>(status);
    const std::array<net::const_buffer, 2> message{net::buffer(head),
                                                   net::buffer(body.data(), bodiless || head_only ? 0 : body.size())};
    stream_.expires_after(config_.write_timeout);
    auto [ec, n] = co_await net::async_write(stream_, message, use_nothrow);
    bytes_out_ += n;
    if (ec) broken_ = true;
    co_return !ec;
}

net::awaitable<bool> Exchange::send_error(const core::Error& error) {
    std::string fields;
    append_field(fields, "Content-Type", "application/json");
    for (const auto& [name, value] : error.headers) append_field(fields, name, value);
    co_return co_await send(static_cast<unsigned>(error.status), fields, core::to_json(error));
}

net::awaitable<bool> Exchange::begin_stream(bhttp::response<bhttp::empty_body> header) {
    stamp(header);
    header.chunked(true);
    bhttp::response_serializer<bhttp::empty_body> serializer{header};
    stream_.expires_after(config_.write_timeout);
    auto [ec, n] = co_await bhttp::async_write_header(stream_, serializer, use_nothrow);
    bytes_out_ += n;
    if (ec) broken_ = true;
    co_return !ec;
}

net::awaitable<bool> Exchange::write_chunk(std::string_view data) {
    if (data.empty()) co_return !broken_;
    stream_.expires_after(config_.write_timeout);
    auto [ec, n] = co_await net::async_write(stream_, bhttp::make_chunk(net::buffer(data)), use_nothrow);
    bytes_out_ += n;
    if (ec) broken_ = true;
    co_return !ec;
}

net::awaitable<bool> Exchange::end_stream() {
    stream_.expires_after(config_.write_timeout);
    auto [ec, n] = co_await net::async_write(stream_, bhttp::make_chunk_last(), use_nothrow);
    bytes_out_ += n;
    if (ec) broken_ = true;
    co_return !ec;
}

}  // namespace nexus::http
