#pragma once
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/asio.hpp"

struct redisReader;

namespace nexus::redis {

/// Where Redis is: redis://[[user]:password@]host[:port][/db], or rediss:// for TLS.
struct Url {
    bool tls = false;
    std::string host;
    std::string port = "6379";
    std::string user;
    std::string password;
    int db = 0;

    /// Parses `text`; throws std::invalid_argument saying what is wrong (never the password).
    static Url parse(std::string_view text);
};

/// One reply, as RESP gives it.
struct Reply {
    enum class Type { kNil, kInteger, kString, kStatus, kError, kArray };
    Type type = Type::kNil;
    long long integer = 0;
    std::string text;  ///< a string, a status or an error
    std::vector<Reply> elements;

    bool is_error() const { return type == Type::kError; }
};

/// One connection to Redis for one I/O thread: commands go out pipelined on the thread's own
/// io_context, their replies come back in order. hiredis does what it does well (the command
/// formatter, the RESP reader); the I/O is Asio's, TCP or TLS (rediss://, the certificate checked
/// against the host). Never blocks: while it is not connected a call fails at once, and it
/// connects again in the background (250 ms, doubling to 5 s between tries). Every call has a
/// deadline; a reply that comes after it is read and dropped. Not thread-safe: use it from the
/// thread of its executor.
class Client {
public:
    Client(net::any_io_executor executor, Url url, net::ssl::context* tls);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    /// Connects, and keeps connecting whenever the connection is lost, until stop().
    void start();
    void stop();
    /// Whether the connection is up (AUTH and SELECT done).
    bool up() const { return up_; }
    const net::any_io_executor& executor() const { return executor_; }
    /// How many times it has connected: a change means the connection was lost and made again
    /// (Redis may have restarted, without what it held).
    std::uint64_t connections() const { return connections_; }

    /// Sends `args` and waits for the reply, at most `deadline`. A Redis error reply is a Reply
    /// (is_error()); an error_code is for no reply: not connected, timed out, the connection lost.
    net::awaitable<boost::system::result<Reply>> call(std::vector<std::string> args,
                                                      std::chrono::milliseconds deadline);
    /// Sends `args` without waiting: its reply is read and dropped. False when not connected.
    bool send(const std::vector<std::string>& args);

private:
    struct Pending;
    using Tcp = net::ip::tcp::socket;
    using Tls = net::ssl::stream<Tcp>;

    net::awaitable<void> run();
    net::awaitable<error_code> connect();
    /// Reads replies and hands each to its call, until `done` (empty: until the connection fails).
    net::awaitable<error_code> read_replies(const std::function<bool()>& done);
    net::awaitable<void> write_loop();
    void enqueue(const std::vector<std::string>& args, std::shared_ptr<Pending> pending);
    void fail_all();

    net::any_io_executor executor_;
    Url url_;
    net::ssl::context* tls_context_;
    // Shared with the coroutines that wait on them: an operation still pending when the Client goes
    // completes on a stream that is still there.
    std::shared_ptr<Tcp> tcp_;
    std::shared_ptr<Tls> tls_;
    redisReader* reader_ = nullptr;
    std::string out_;       ///< formatted commands not yet written
    bool writing_ = false;  ///< write_loop() runs
    bool up_ = false;
    bool stopped_ = false;
    std::uint64_t connections_ = 0;
    std::deque<std::shared_ptr<Pending>> pending_;  ///< one per command sent, in order
    std::unique_ptr<net::steady_timer> backoff_;
    std::shared_ptr<bool> alive_;  ///< false once destroyed: the background coroutines check it
};

}  // namespace nexus::redis
