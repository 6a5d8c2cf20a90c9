#pragma once
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "core/asio.hpp"
#include "core/cancellation.hpp"
#include "core/error.hpp"
#include "core/metrics.hpp"
#include "core/origin.hpp"
#include "upstream/answer_parser.hpp"
#include "upstream/resolver.hpp"

namespace nexus::upstream {

namespace bhttp = beast::http;
using Clock = std::chrono::steady_clock;
using core::Origin;

/// The TLS client context for upstreams: certificate and host-name verification on, OpenSSL's
/// default trust store (so SSL_CERT_FILE / SSL_CERT_DIR name a private CA), TLS 1.2 or newer.
net::ssl::context make_tls_context();

/// When one step that begins `now` must end: `step` later, but no later than the request's
/// overall deadline (and not before now).
Clock::time_point step_end(std::chrono::milliseconds step, Clock::time_point request_deadline,
                           Clock::time_point now = Clock::now());

/// One connection to an upstream origin, plain or TLS, with its read buffer (bytes past one
/// answer belong to the next) and the parser of the answer being read.
class Connection {
public:
    Connection(net::any_io_executor executor, net::ssl::context* tls);

    beast::tcp_stream& tcp() { return tls_ ? tls_->next_layer() : *plain_; }
    bool reused() const { return reused_; }

private:
    friend class Client;
    friend class Response;
    template <class F>
    decltype(auto) visit(F&& f) {
        if (tls_) return f(*tls_);
        return f(*plain_);
    }

    std::optional<beast::tcp_stream> plain_;
    std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
    beast::flat_buffer buffer_;
    Head head_;  ///< the last answer's head, its memory kept for the next
    std::optional<AnswerParser> parser_;
    std::string origin_key_;
    Clock::time_point idle_since_{};
    bool reused_ = false;
};

/// What to send upstream. `fields` are the head's fields as text ("Name: value\r\n" each);
/// the client adds Host and, with a body, Content-Length.
struct Request {
    bhttp::verb method = bhttp::verb::post;
    std::string_view target;
    std::string_view fields;
    std::string_view body;
};

/// The deadlines of one call. Each step's is capped by `request`, the call's overall end.
struct Deadlines {
    Clock::time_point request;
    std::chrono::milliseconds connect;  ///< name resolution and TCP connect
    std::chrono::milliseconds tls;
    std::chrono::milliseconds header;   ///< request written → the answer's head read
    std::chrono::milliseconds idle;     ///< the longest wait for the next bytes of the body
    static Deadlines from(const config::Config& config, Clock::time_point request);
};

/// Why a call has no answer.
struct CallFailure {
    enum class Kind {
        kUpstream,    ///< the upstream failed us (connect, TLS, timeout, I/O, a malformed answer)
        kOverloaded,  ///< we ran out of descriptors: our failure, no upstream's
        kCancelled,   ///< the caller cancelled (its client left)
    };
    Kind kind = Kind::kUpstream;
    core::Error error;                                      ///< what a client is told
    core::AttemptOutcome outcome = core::AttemptOutcome::kIoError;  ///< for kUpstream
};

/// How a failed read of an upstream's answer counts: a timeout, a malformed answer (bad status
/// line, framing, a head over the limit) or a broken connection.
core::AttemptOutcome outcome_of_read(const error_code& ec);

class Client;

/// An upstream's answer being read: its head at once, its body in pieces (chunked framing
/// decoded), each read under the idle deadline. When the Response goes, its connection goes
/// back to the pool if the body was read whole and the upstream keeps it alive; else it is
/// closed. The caller's Cancellation closes it at any time. Movable; one thread.
class Response {
public:
    Response(Response&&) noexcept = default;
    Response& operator=(Response&&) noexcept = default;
    ~Response();

    int status() const { return static_cast<int>(head().result_int()); }
    const Head& head() const { return connection_->head_; }
    /// The whole body has been read.
    bool done() const { return connection_->parser_->is_done(); }
    /// The Content-Length the upstream declared, if it did.
    std::optional<std::uint64_t> content_length() const {
        const auto length = connection_->parser_->content_length();
        return length ? std::optional<std::uint64_t>(*length) : std::nullopt;
    }
    /// Request written → head read.
    Clock::duration time_to_head() const { return ttfb_; }

    /// Reads the next bytes of the body into `into`; `n` bytes came (0 with done() at the end).
    /// On error the connection is not reused.
    net::awaitable<std::pair<error_code, std::size_t>> read_some(std::span<char> into);
    /// Reads the rest of the body, at most `limit` bytes; a longer body is cut at `limit`
    /// (and its connection not reused).
    net::awaitable<std::pair<error_code, std::string>> read_all(std::size_t limit);

private:
    friend class Client;
    Response(Client& client, std::unique_ptr<Connection> connection, Deadlines deadlines, Clock::duration ttfb,
             core::Cancellation::Registration registration);

    Client* client_;
    std::unique_ptr<Connection> connection_;
    Deadlines deadlines_;
    Clock::duration ttfb_;
    core::Cancellation::Registration registration_;  ///< closes the connection on cancel
};

/// The upstream client of one I/O thread: a keep-alive pool per origin (bounded: at most
/// `upstream_pool_size` idle connections per origin; older ones than `upstream_keepalive` are
/// dropped), name resolution under the connect deadline (Resolver), TCP_NODELAY, deadlines on
/// every step. Not thread-safe: one Client per io_context, used only from its thread.
class Client {
public:
    Client(net::any_io_executor executor, net::ssl::context& tls, const config::Config& config,
           core::Metrics& metrics, Resolver::Lookup lookup = Resolver::system_lookup);

    struct Result {
        std::optional<Response> response;  ///< the answer's head is read; nullopt on failure
        std::optional<CallFailure> failure;
    };

    /// Sends `request` to `origin` and reads the answer's head. A pooled connection the
    /// upstream closed while it sat idle fails before any byte of an answer: that is tried once
    /// more on a fresh connection, unless `cancel` fired. An upstream that answers while we
    /// still write the body (413, then closing) is heard: its answer is read. Each step
    /// registers with `cancel`, so the caller's cancel() stops it at once: a resolution, a
    /// connect, a TLS handshake or a wait for the answer. Never throws.
    net::awaitable<Result> call(const Origin& origin, const Request& request, const Deadlines& deadlines,
                                core::Cancellation* cancel);

    /// Closes idle connections older than `upstream_keepalive` now, and from now on every so
    /// often, so that a pool nobody draws from does not hold descriptors (or sockets the
    /// upstream already closed) for ever. Runs on the client's executor until it stops.
    void start_sweeping();
    /// Closes idle connections that were idle `upstream_keepalive` or longer at `now`.
    void close_stale(Clock::time_point now);
    /// Idle pooled connections, over all origins.
    std::size_t idle_count() const;
    /// Closes every idle connection, stops sweeping and stops name lookups from posting here:
    /// the I/O objects this client holds go before the io_context does (shutdown).
    void close_all();

private:
    friend class Response;
    struct Acquired {
        std::unique_ptr<Connection> connection;  ///< null on failure
        std::optional<CallFailure> failure;
    };
    /// A pooled connection younger than the keep-alive at `now` (when `allow_pooled`), else a new one.
    net::awaitable<Acquired> acquire(const Origin& origin, const Deadlines& deadlines, bool allow_pooled,
                                     Clock::time_point now, core::Cancellation* cancel);
    net::awaitable<Acquired> connect(const Origin& origin, const Deadlines& deadlines, core::Cancellation* cancel);
    void release(std::unique_ptr<Connection> connection);

    net::any_io_executor executor_;
    net::ssl::context& tls_;
    const config::Config& config_;
    core::Metrics& metrics_;
    Resolver resolver_;
    std::unordered_map<std::string, std::vector<std::unique_ptr<Connection>>> idle_;
    std::unique_ptr<net::steady_timer> sweep_timer_;
    std::size_t calls_ = 0;  ///< call()s in progress on this client's thread
};

}  // namespace nexus::upstream
