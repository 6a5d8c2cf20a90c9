#pragma once
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <any>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "core/asio.hpp"
#include "core/error.hpp"
#include "core/metrics.hpp"
#include "http/peer_watch.hpp"
#include "http/request.hpp"

namespace nexus::http {

namespace bhttp = beast::http;
using Clock = std::chrono::steady_clock;

/// The credential of `Authorization: Bearer <credential>` (the scheme in any case), or nullopt
/// when the header is missing, empty, or of another scheme.
std::optional<std::string_view> bearer_token(const Request& request);

/// Every X-Forwarded-For the request carries, as one comma-separated list.
std::string forwarded_for(const Request& request);

/// What the access log learns about one request from the handler that served it.
struct AccessRecord {
    core::Route route = core::Route::kOther;
    std::string model;
    bool stream = false;
    int upstream_status = 0;
    std::chrono::nanoseconds upstream_ttfb{-1};  ///< attempt start → upstream response headers
};

/// How a client's API shapes errors. The defaults are OpenAI's.
struct ErrorStyle {
    /// The body of an error answer; null: OpenAI's `{"error":{…}}` (core::to_json).
    std::string (*body)(const core::Error& error, std::string_view request_id) = nullptr;
    /// The event that ends a stream on an error; null: OpenAI's `data: {"error":{…}}`.
    std::string (*event)(const core::Error& error) = nullptr;
    /// Another header that carries the request id, beside X-Request-Id; empty: none.
    std::string_view id_header;
};

/// One request and its answer on a client connection. A handler gets it with the request's head
/// read (the body not yet), decides from the head whether to go on, reads the body with
/// read_body() when it wants it, and answers: either send() once, or begin_body(),
/// write_body()…, end_body(). An answer sent without the body read closes the connection
/// after it (the unread body would be taken for the next request).
/// Every answer carries X-Request-Id. Every write has the write deadline. Not thread-safe: it
/// lives on the I/O thread of its connection. The awaitables return false when the client is
/// gone (or too slow); the handler then stops, and the connection is closed.
class Exchange {
public:
    /// `peer` is the connection's place in the thread's `peers` (watch_client()).
    Exchange(beast::tcp_stream& stream, beast::flat_buffer& buffer, RequestParser& parser, std::string request_id,
             Clock::time_point start, const config::Config& config, bool keep_alive, PeerWatch& peers,
             PeerWatch::Peer& peer);
    ~Exchange();
    Exchange(const Exchange&) = delete;
    Exchange& operator=(const Exchange&) = delete;

    /// The request: its head from the start, its body after read_body().
    Request& request() { return parser_.get(); }
    /// Reads the request's body under the body deadline (answering "100 Continue" first when the
    /// client waits for it). A body over `limit` bytes (its Content-Length at once, a chunked
    /// one as it grows) is answered 413; malformed framing 400; a body too slow to come is cut
    /// off (logged 408). Returns false when there is no body to handle: the answer, if any, was
    /// sent, and the handler just stops.
    net::awaitable<bool> read_body(std::uint64_t limit);
    /// Whether the whole request, body included, has been read.
    bool body_read() const { return parser_.is_done(); }
    /// Answers a request whose `part` ("headers" or "body") could not be read because of `ec`:
    /// 431 / 413 for limits, 400 for malformed HTTP; a request that ran out of time gets no
    /// answer (its socket is closed) and is logged 408, one whose client left is logged 499.
    net::awaitable<void> refuse(const error_code& ec, std::string_view part);
    std::string_view request_id() const { return request_id_; }
    /// The client's IP address (unspecified if the socket no longer knows it).
    net::ip::address remote_ip() const;
    Clock::time_point start() const { return start_; }
    const config::Config& config() const { return config_; }
    AccessRecord& record() { return record_; }
    /// The value of the route pattern's parameter `name` ("{id}"), raw (percent-encoded) as it
    /// came; empty when the route has none of that name.
    std::string_view param(std::string_view name) const {
        for (const auto& [n, v] : params_) {
            if (n == name) return v;
        }
        return {};
    }
    void set_params(std::vector<std::pair<std::string, std::string>> params) { params_ = std::move(params); }

    /// Sends a whole answer; sets X-Request-Id, Content-Length and keep-alive.
    net::awaitable<bool> send(bhttp::response<bhttp::string_body> response);
    net::awaitable<bool> send(bhttp::status status, std::string body, std::string_view content_type);
    /// Sends a whole answer whose fields are given as text ("Name: value\r\n" each, e.g. an
    /// upstream's passed headers); adds X-Request-Id, Content-Length and keep-alive.
    net::awaitable<bool> send(unsigned status, std::string_view fields, std::string_view body);
    /// Sends `error` in the client API's shape (set_error_style) with its status and its headers.
    net::awaitable<bool> send_error(const core::Error& error);
    /// Errors of this request take the shape of the client's API from now on.
    void set_error_style(ErrorStyle style) { error_style_ = style; }
    /// `error` as the event that ends a stream, in the client API's shape.
    std::string error_event(const core::Error& error) const;

    /// Keeps a streamed answer alive for clients that give up on silence: whenever `every`
    /// passes without a write, `event` is written, until stop_heartbeat() (or the exchange
    /// ends). The answer's own writes wait for a beat being written, so the two never
    /// interleave. Call after begin_body().
    void start_heartbeat(std::chrono::milliseconds every, std::string_view event);
    void stop_heartbeat();
    /// Heartbeat events written so far.
    std::uint64_t heartbeats() const;

    /// Sends the head of an answer whose body follows in parts (`fields` as text, as above).
    /// With `length` the head says Content-Length and the parts go as they are; without, the
    /// body is chunked. `first`, the body's first part, goes in the same write as the head.
    net::awaitable<bool> begin_body(unsigned status, std::string_view fields, std::optional<std::uint64_t> length,
                                    std::string_view first = {});
    /// Sends the next part of the body. Returns when the client's kernel took it (backpressure).
    net::awaitable<bool> write_body(std::string_view data);
    /// Ends the body (the last chunk of a chunked one).
    net::awaitable<bool> end_body();

    /// Watches the client connection while the handler waits on something else (an upstream):
    /// when the client closes it, `on_gone` runs once on this thread. Watching stops when the
    /// returned guard is destroyed, which must happen before the handler returns. A client that
    /// sends more bytes (a pipelined request) is not a departure; watching then just stops.
    class ClientWatch {
    public:
        ClientWatch(ClientWatch&&) = default;
        ~ClientWatch();

    private:
        friend class Exchange;
        ClientWatch(std::shared_ptr<PeerWatch::Watcher> watcher, PeerWatch::Peer& peer)
            : watcher_(std::move(watcher)), peer_(&peer) {}
        std::shared_ptr<PeerWatch::Watcher> watcher_;
        PeerWatch::Peer* peer_;
    };
    [[nodiscard]] ClientWatch watch_client(std::function<void()> on_gone);

    /// The connection ends without an answer; `status` is what the access log and metrics show
    /// (499 for a client that went away, as nginx logs it; 408 for a request that timed out).
    void mark_unanswered(int status) {
        if (status_ == 0) status_ = status;
        broken_ = true;
    }

    /// The answer begun cannot be finished (its upstream broke midway): the connection is closed
    /// on it, which is how a client learns a body is short.
    void abort() {
        broken_ = true;
        keep_alive_ = false;
    }

    bool responded() const { return status_ != 0; }
    int status() const { return status_; }
    bool keep_alive() const { return keep_alive_ && !broken_; }
    /// Fields ("Name: value\r\n" each) every answer to this request carries from now on: the
    /// x-ratelimit-* of the calling token.
    void set_rate_limit_fields(std::string fields) { rate_limit_fields_ = std::move(fields); }
    bool has_rate_limit_fields() const { return !rate_limit_fields_.empty(); }

    /// What the route's guard learned of the caller, for the handler (the admin API's Caller).
    std::any& caller() { return caller_; }
    /// The console's Playground: the relay serves this request as the token whose key hashes to
    /// `key_hash` (the admin API checked the caller owns it), not by an Authorization header.
    void act_as_token(std::string key_hash) { acting_key_hash_ = std::move(key_hash); }
    const std::string& acting_key_hash() const { return acting_key_hash_; }

    /// Marks the connection to be closed after this answer (sent as Connection: close).
    void close_after() { keep_alive_ = false; }
    std::uint64_t bytes_out() const { return bytes_out_; }

private:
    // The status line and fields of an answer, with X-Request-Id, the framing and Connection.
    std::string head(unsigned status, std::string_view fields, std::optional<std::uint64_t> length);
    template <class Buffers>
    net::awaitable<bool> write(const Buffers& buffers);
    static std::string chunk_size_line(std::size_t size);
    core::Error body_too_large() const;

    struct Heartbeat;
    static void arm_heartbeat(const std::shared_ptr<Heartbeat>& heartbeat, beast::tcp_stream& stream);

    beast::tcp_stream& stream_;
    beast::flat_buffer& buffer_;
    RequestParser& parser_;
    PeerWatch& peers_;
    PeerWatch::Peer& peer_;
    std::string request_id_;
    Clock::time_point start_;
    const config::Config& config_;
    AccessRecord record_;
    std::vector<std::pair<std::string, std::string>> params_;
    std::string rate_limit_fields_;
    std::any caller_;
    std::string acting_key_hash_;
    ErrorStyle error_style_;
    std::shared_ptr<Heartbeat> heartbeat_;
    bool keep_alive_;
    bool chunked_ = false;
    std::uint64_t body_limit_;
    bool broken_ = false;
    int status_ = 0;
    std::uint64_t bytes_out_ = 0;
};

}  // namespace nexus::http
