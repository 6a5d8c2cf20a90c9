#include "http/exchange.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>

#include <array>

#include "core/io_now.hpp"
#include "core/wire.hpp"

#include <cstdio>

namespace nexus::http {

using core::append_field;

Exchange::Exchange(beast::tcp_stream& stream, beast::flat_buffer& buffer, RequestParser& parser,
                   std::string request_id, Clock::time_point start, const config::Config& config, bool keep_alive,
                   PeerWatch& peers, PeerWatch::Peer& peer)
    : stream_(stream),
      buffer_(buffer),
      parser_(parser),
      peers_(peers),
      peer_(peer),
      request_id_(std::move(request_id)),
      start_(start),
      config_(config),
      keep_alive_(keep_alive),
      body_limit_(config.max_body_bytes) {}

struct Exchange::Heartbeat {
    explicit Heartbeat(const net::any_io_executor& executor) : timer(executor), written(executor) {}
    net::steady_timer timer;
    net::steady_timer written;  ///< what a write waits on while a beat is being written
    std::chrono::milliseconds every{};
    std::chrono::milliseconds write_timeout{};
    std::string beat;           ///< the event, framed as the body is
    Clock::time_point last_write{};
    std::uint64_t count = 0;
    bool writing = false;
    bool stopped = false;
    error_code failed;
};

Exchange::~Exchange() { stop_heartbeat(); }

// The timer's handler holds the heartbeat, never the Exchange: a stopped heartbeat's handler
// touches nothing else (the stream may be gone by then).
void Exchange::arm_heartbeat(const std::shared_ptr<Heartbeat>& hb, beast::tcp_stream& stream) {
    hb->timer.expires_at(hb->last_write + hb->every);
    hb->timer.async_wait([hb, &stream](error_code ec) {
        if (ec || hb->stopped) return;
        if (Clock::now() < hb->last_write + hb->every) {
            arm_heartbeat(hb, stream);  // the answer wrote since: wait out the rest
            return;
        }
        hb->writing = true;
        stream.expires_after(hb->write_timeout);
        net::async_write(stream, net::buffer(hb->beat), [hb, &stream](error_code wec, std::size_t) {
            hb->writing = false;
            hb->last_write = Clock::now();
            hb->written.cancel();
            if (wec) {
                hb->failed = wec;
                return;
            }
            ++hb->count;
            if (!hb->stopped) arm_heartbeat(hb, stream);
        });
    });
}

void Exchange::start_heartbeat(std::chrono::milliseconds every, std::string_view event) {
    stop_heartbeat();
    heartbeat_ = std::make_shared<Heartbeat>(stream_.get_executor());
    heartbeat_->every = every;
    heartbeat_->write_timeout = config_.write_timeout;
    heartbeat_->last_write = Clock::now();
    if (chunked_) heartbeat_->beat = chunk_size_line(event.size());
    heartbeat_->beat.append(event);
    if (chunked_) heartbeat_->beat.append("\r\n");
    arm_heartbeat(heartbeat_, stream_);
}

void Exchange::stop_heartbeat() {
    if (!heartbeat_) return;
    heartbeat_->stopped = true;
    heartbeat_->timer.cancel();
}

std::uint64_t Exchange::heartbeats() const { return heartbeat_ ? heartbeat_->count : 0; }

std::string Exchange::error_event(const core::Error& error) const {
    if (error_style_.event != nullptr) return error_style_.event(error);
    return "data: " + core::to_json(error) + "\n\n";
}

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
    // The body of a small request came with its head: parse it from the buffer, without a wait.
    error_code ec;
    if (core::parse_buffered(parser_, buffer_, [](const auto& p) { return p.is_done(); }, ec) ==
        core::Parsed::kNeedMore) {
        stream_.expires_after(config_.body_timeout);
        auto [rec, n] = co_await bhttp::async_read(stream_, buffer_, parser_, use_nothrow);
        ec = rec;
    }
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

std::string forwarded_for(const Request& request) {
    std::string out;
    for (const auto& f : request) {
        if (!beast::iequals(f.name_string(), "X-Forwarded-For")) continue;
        if (!out.empty()) out += ',';
        out.append(f.value());
    }
    return out;
}

std::optional<std::string_view> bearer_token(const Request& request) {
    constexpr std::string_view kBearer = "Bearer ";
    const std::string_view auth = request[bhttp::field::authorization];
    if (auth.size() <= kBearer.size() || !beast::iequals(auth.substr(0, kBearer.size()), kBearer)) {
        return std::nullopt;
    }
    return auth.substr(kBearer.size());
}

Exchange::ClientWatch::~ClientWatch() {
    if (!watcher_) return;  // moved from
    watcher_->done = true;
    if (peer_->watcher == watcher_) peer_->watcher.reset();
}

Exchange::ClientWatch Exchange::watch_client(std::function<void()> on_gone) {
    // No system call: the connection is in the thread's PeerWatch set from its first request on.
    auto watcher = std::make_shared<PeerWatch::Watcher>();
    watcher->on_gone = std::move(on_gone);
    peers_.watch(peer_, watcher);
    return ClientWatch(std::move(watcher), peer_);
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
    std::string fields;
    append_field(fields, "Content-Type", content_type);
    co_return co_await send(static_cast<unsigned>(status), fields, body);
}

std::string Exchange::head(unsigned status, std::string_view fields, std::optional<std::uint64_t> length) {
    // A body left unread would be read as the next request: this answer ends the connection.
    if (!parser_.is_done()) keep_alive_ = false;
    const auto code = static_cast<bhttp::status>(status);
    std::string out;
    out.reserve(160 + fields.size() + rate_limit_fields_.size() + request_id_.size() * 2);
    out.append("HTTP/1.1 ").append(std::to_string(status)).push_back(' ');
    out.append(bhttp::obsolete_reason(code)).append("\r\n").append(fields).append(rate_limit_fields_);
    append_field(out, "X-Request-Id", request_id_);
    if (!error_style_.id_header.empty()) append_field(out, error_style_.id_header, request_id_);
    if (code != bhttp::status::no_content && code != bhttp::status::not_modified) {
        if (length) {
            append_field(out, "Content-Length", std::to_string(*length));
        } else {
            append_field(out, "Transfer-Encoding", "chunked");
        }
    }
    if (!keep_alive_) append_field(out, "Connection", "close");
    out.append("\r\n");
    status_ = static_cast<int>(status);
    return out;
}

template <class Buffers>
net::awaitable<bool> Exchange::write(const Buffers& buffers) {
    if (heartbeat_) {
        while (heartbeat_->writing) {
            heartbeat_->written.expires_at(Clock::time_point::max());
            co_await heartbeat_->written.async_wait(use_nothrow);
        }
        if (heartbeat_->failed) {
            broken_ = true;
            co_return false;
        }
    }
    // Most answers fit in the socket's send buffer at once; only the rest waits under the deadline.
    error_code ec;
    auto n = core::write_now(stream_.socket(), buffers, ec);
    if (!ec && n < beast::buffer_bytes(buffers)) {
        stream_.expires_after(config_.write_timeout);
        auto [aec, an] = co_await net::async_write(stream_, core::rest_of(buffers, n), use_nothrow);
        ec = aec;
        n += an;
    }
    bytes_out_ += n;
    if (heartbeat_) heartbeat_->last_write = Clock::now();
    if (ec) broken_ = true;
    co_return !ec;
}

net::awaitable<bool> Exchange::send(unsigned status, std::string_view fields, std::string_view body) {
    const auto code = static_cast<bhttp::status>(status);
    const bool bodiless = code == bhttp::status::no_content || code == bhttp::status::not_modified;
    // A HEAD answer has GET's head, Content-Length included, and no body.
    const bool head_only = request().method() == bhttp::verb::head;
    const auto text = head(status, fields, body.size());
    const std::array<net::const_buffer, 2> message{net::buffer(text),
                                                   net::buffer(body.data(), bodiless || head_only ? 0 : body.size())};
    co_return co_await write(message);
}

net::awaitable<bool> Exchange::send_error(const core::Error& error) {
    std::string fields;
    append_field(fields, "Content-Type", "application/json");
    for (const auto& [name, value] : error.headers) append_field(fields, name, value);
    const auto body = error_style_.body != nullptr ? error_style_.body(error, request_id_) : core::to_json(error);
    co_return co_await send(static_cast<unsigned>(error.status), fields, body);
}

net::awaitable<bool> Exchange::begin_body(unsigned status, std::string_view fields, std::optional<std::uint64_t> length,
                                          std::string_view first) {
    chunked_ = !length;
    const auto text = head(status, fields, length);
    if (first.empty()) co_return co_await write(net::buffer(text));
    if (!chunked_) co_return co_await write(std::array<net::const_buffer, 2>{net::buffer(text), net::buffer(first)});
    const auto size_line = chunk_size_line(first.size());
    co_return co_await write(std::array<net::const_buffer, 4>{net::buffer(text), net::buffer(size_line),
                                                              net::buffer(first), net::buffer("\r\n", 2)});
}

net::awaitable<bool> Exchange::write_body(std::string_view data) {
    if (data.empty()) co_return !broken_;
    if (!chunked_) co_return co_await write(net::buffer(data));
    const auto size_line = chunk_size_line(data.size());
    co_return co_await write(
        std::array<net::const_buffer, 3>{net::buffer(size_line), net::buffer(data), net::buffer("\r\n", 2)});
}

net::awaitable<bool> Exchange::end_body() {
    if (!chunked_) co_return !broken_;
    co_return co_await write(net::buffer("0\r\n\r\n", 5));
}

std::string Exchange::chunk_size_line(std::size_t size) {
    char line[24];
    const int n = std::snprintf(line, sizeof(line), "%zx\r\n", size);
    return std::string(line, static_cast<std::size_t>(n));
}

}  // namespace nexus::http
