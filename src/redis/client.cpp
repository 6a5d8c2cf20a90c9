#include "redis/client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/write.hpp>
#include <boost/url/parse.hpp>
#include <hiredis/hiredis.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <stdexcept>

#include "core/tls.hpp"

namespace nexus::redis {

namespace {

using std::chrono::milliseconds;
constexpr milliseconds kConnectTimeout{2'000};
constexpr milliseconds kFirstRetry{250};
constexpr milliseconds kLastRetry{5'000};

Reply convert(const redisReply* r) {
    Reply out;
    switch (r->type) {
        case REDIS_REPLY_INTEGER:
            out.type = Reply::Type::kInteger;
            out.integer = r->integer;
            break;
        case REDIS_REPLY_STRING:
            out.type = Reply::Type::kString;
            out.text.assign(r->str, r->len);
            break;
        case REDIS_REPLY_STATUS:
            out.type = Reply::Type::kStatus;
            out.text.assign(r->str, r->len);
            break;
        case REDIS_REPLY_ERROR:
            out.type = Reply::Type::kError;
            out.text.assign(r->str, r->len);
            break;
        case REDIS_REPLY_ARRAY:
            out.type = Reply::Type::kArray;
            out.elements.reserve(r->elements);
            for (std::size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
            break;
        default:
            out.type = Reply::Type::kNil;
    }
    return out;
}

// Calls `on_expiry` when `after` passes before this goes (a timer of its own). A handler already
// queued when this goes finds it inactive and touches nothing.
class Deadline {
public:
    template <class OnExpiry>
    Deadline(const net::any_io_executor& executor, milliseconds after, OnExpiry on_expiry)
        : timer_(std::make_shared<net::steady_timer>(executor, after)), active_(std::make_shared<bool>(true)) {
        timer_->async_wait([on_expiry = std::move(on_expiry), active = active_, timer = timer_](error_code ec) {
            if (!ec && *active) on_expiry();
        });
    }
    ~Deadline() {
        *active_ = false;
        timer_->cancel();
    }
    Deadline(const Deadline&) = delete;
    Deadline& operator=(const Deadline&) = delete;

private:
    std::shared_ptr<net::steady_timer> timer_;
    std::shared_ptr<bool> active_;
};

}  // namespace

Url Url::parse(std::string_view text) {
    auto parsed = boost::urls::parse_uri(text);
    if (!parsed) throw std::invalid_argument("not a URL");
    Url url;
    const auto scheme = parsed->scheme();
    if (scheme == "rediss") {
        url.tls = true;
    } else if (scheme != "redis") {
        throw std::invalid_argument("must start with redis:// or rediss://");
    }
    url.host = parsed->host_address();
    if (url.host.empty()) throw std::invalid_argument("has no host");
    if (parsed->has_port()) url.port = parsed->port();
    if (parsed->has_userinfo()) {
        url.user = parsed->user();
        url.password = parsed->password();
    }
    const auto path = parsed->path();
    if (!path.empty() && path != "/") {
        const std::string_view digits = std::string_view(path).substr(1);
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), url.db);
        if (ec != std::errc() || end != digits.data() + digits.size() || url.db < 0) {
            throw std::invalid_argument("the path must be a database number, like /0");
        }
    }
    return url;
}

struct Client::Pending {
    std::optional<Reply> reply;
    error_code failed;
    net::steady_timer* signal = nullptr;  ///< the waiting call's timer; null when nobody waits
};

Client::Client(net::any_io_executor executor, Url url, net::ssl::context* tls)
    : executor_(std::move(executor)), url_(std::move(url)), tls_context_(tls), alive_(std::make_shared<bool>(true)) {}

Client::~Client() {
    *alive_ = false;
    stop();
    if (reader_ != nullptr) redisReaderFree(reader_);
}

void Client::start() {
    stopped_ = false;
    backoff_ = std::make_unique<net::steady_timer>(executor_);
    net::co_spawn(executor_, run(), net::detached);
}

void Client::stop() {
    stopped_ = true;
    up_ = false;
    error_code ignored;
    if (tls_) tls_->lowest_layer().close(ignored);
    if (tcp_) tcp_->close(ignored);
    if (backoff_) backoff_->cancel();
    fail_all();
}

net::awaitable<void> Client::run() {
    const auto alive = alive_;
    milliseconds delay = kFirstRetry;
    bool reported = false;  // a failure to connect is logged once until it connects
    while (!stopped_) {
        const auto ec = co_await connect();
        if (!*alive || stopped_) co_return;
        if (!ec) {
            up_ = true;
            ++connections_;
            delay = kFirstRetry;
            if (reported) spdlog::info("redis: connected to {}:{} again", url_.host, url_.port);
            reported = false;
            const auto lost = co_await read_replies({});
            if (!*alive || stopped_) co_return;
            up_ = false;
            spdlog::warn("redis: the connection to {}:{} was lost ({}); connecting again", url_.host, url_.port,
                         lost.message());
            reported = true;
        } else if (!reported) {
            spdlog::warn("redis: cannot connect to {}:{} ({}); trying again", url_.host, url_.port, ec.message());
            reported = true;
        }
        error_code ignored;
        if (tls_) tls_->lowest_layer().close(ignored);
        if (tcp_) tcp_->close(ignored);
        fail_all();
        backoff_->expires_after(delay);
        co_await backoff_->async_wait(use_nothrow);
        if (!*alive) co_return;
        delay = std::min(delay * 2, kLastRetry);
    }
}

net::awaitable<error_code> Client::connect() {
    const auto alive = alive_;
    tls_.reset();
    tcp_ = std::make_shared<Tcp>(executor_);
    const auto tcp = tcp_;
    net::ip::tcp::resolver resolver(executor_);
    bool expired = false;
    const Deadline deadline(executor_, kConnectTimeout, [&] {
        if (!*alive) return;  // the Client is gone: only this frame is left
        expired = true;
        resolver.cancel();
        error_code ignored;
        if (tls_) tls_->lowest_layer().close(ignored);
        if (tcp_) tcp_->close(ignored);
    });
    auto [rec, endpoints] = co_await resolver.async_resolve(url_.host, url_.port, use_nothrow);
    if (!*alive) co_return net::error::operation_aborted;
    if (rec) co_return expired ? net::error::timed_out : rec;
    auto [cec, endpoint] = co_await net::async_connect(*tcp, endpoints, use_nothrow);
    if (!*alive) co_return net::error::operation_aborted;
    if (cec) co_return expired ? net::error::timed_out : cec;
    tcp->set_option(net::ip::tcp::no_delay(true));
    const auto tls = url_.tls ? std::make_shared<Tls>(std::move(*tcp), *tls_context_) : nullptr;
    if (tls) {
        tls_ = tls;
        tcp_.reset();
        core::expect_peer_name(tls->native_handle(), url_.host);
        auto [hec] = co_await tls->async_handshake(net::ssl::stream_base::client, use_nothrow);
        if (!*alive) co_return net::error::operation_aborted;
        if (hec) co_return expired ? net::error::timed_out : hec;
    }
    if (reader_ != nullptr) redisReaderFree(reader_);
    reader_ = redisReaderCreate();
    // AUTH and SELECT before anything else; their replies are read by read_replies like any other.
    std::vector<std::shared_ptr<Pending>> setup;
    auto first = [&](std::vector<std::string> args) {
        setup.push_back(std::make_shared<Pending>());
        enqueue(args, setup.back());
    };
    if (!url_.password.empty()) {
        url_.user.empty() ? first({"AUTH", url_.password}) : first({"AUTH", url_.user, url_.password});
    }
    if (url_.db != 0) first({"SELECT", std::to_string(url_.db)});
    first({"PING"});
    // Read until the setup's replies are in (they come first), under the same deadline.
    const auto last = setup.back();
    if (const auto ec = co_await read_replies([&] { return last->reply.has_value(); })) {
        co_return expired ? net::error::timed_out : ec;
    }
    for (const auto& p : setup) {
        if (p->reply->is_error()) {
            spdlog::warn("redis: {}:{} refused the connection's setup: {}", url_.host, url_.port, p->reply->text);
            co_return net::error::access_denied;
        }
    }
    co_return error_code{};
}

net::awaitable<error_code> Client::read_replies(const std::function<bool()>& done) {
    const auto alive = alive_;
    const auto tls = tls_;
    const auto tcp = tcp_;
    char buffer[4096];
    while (!done || !done()) {
        std::size_t n = 0;
        error_code ec;
        if (tls) {
            std::tie(ec, n) = co_await tls->async_read_some(net::buffer(buffer), use_nothrow);
        } else {
            std::tie(ec, n) = co_await tcp->async_read_some(net::buffer(buffer), use_nothrow);
        }
        if (!*alive) co_return net::error::operation_aborted;
        if (ec) co_return ec;
        if (redisReaderFeed(reader_, buffer, n) != REDIS_OK) co_return net::error::invalid_argument;
        for (;;) {
            void* raw = nullptr;
            if (redisReaderGetReply(reader_, &raw) != REDIS_OK) co_return net::error::invalid_argument;
            if (raw == nullptr) break;
            auto reply = convert(static_cast<redisReply*>(raw));
            freeReplyObject(raw);
            if (pending_.empty()) co_return net::error::invalid_argument;  // a reply nobody asked for
            const auto p = std::move(pending_.front());
            pending_.pop_front();
            p->reply = std::move(reply);
            if (p->signal != nullptr) p->signal->cancel();
        }
    }
    co_return error_code{};
}

void Client::enqueue(const std::vector<std::string>& args, std::shared_ptr<Pending> pending) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    argv.reserve(args.size());
    lengths.reserve(args.size());
    for (const auto& a : args) {
        argv.push_back(a.data());
        lengths.push_back(a.size());
    }
    char* command = nullptr;
    const int length = redisFormatCommandArgv(&command, static_cast<int>(args.size()), argv.data(), lengths.data());
    if (length < 0) throw std::bad_alloc();
    out_.append(command, static_cast<std::size_t>(length));
    redisFreeCommand(command);
    pending_.push_back(std::move(pending));
    if (!writing_) {
        writing_ = true;
        net::co_spawn(executor_, write_loop(), net::detached);
    }
}

net::awaitable<void> Client::write_loop() {
    const auto alive = alive_;
    std::string chunk;
    while (*alive && !out_.empty()) {
        chunk.clear();
        chunk.swap(out_);
        error_code ec;
        const auto tls = tls_;
        const auto tcp = tcp_;
        if (tls) {
            std::tie(ec, std::ignore) = co_await net::async_write(*tls, net::buffer(chunk), use_nothrow);
        } else if (tcp) {
            std::tie(ec, std::ignore) = co_await net::async_write(*tcp, net::buffer(chunk), use_nothrow);
        } else {
            ec = net::error::not_connected;
        }
        if (!*alive) co_return;
        if (ec) {
            // The reader sees the connection fail too, and fails every call waiting.
            error_code ignored;
            if (tls_) tls_->lowest_layer().close(ignored);
            if (tcp_) tcp_->close(ignored);
            out_.clear();
            break;
        }
    }
    writing_ = false;
}

void Client::fail_all() {
    auto pending = std::move(pending_);
    pending_.clear();
    out_.clear();
    for (const auto& p : pending) {
        p->failed = net::error::connection_reset;
        if (p->signal != nullptr) p->signal->cancel();
    }
}

net::awaitable<boost::system::result<Reply>> Client::call(std::vector<std::string> args, milliseconds deadline) {
    if (!up_) co_return error_code(net::error::not_connected);
    auto pending = std::make_shared<Pending>();
    net::steady_timer signal(executor_, deadline);
    pending->signal = &signal;
    enqueue(args, pending);
    co_await signal.async_wait(use_nothrow);
    pending->signal = nullptr;
    if (pending->reply) co_return std::move(*pending->reply);
    if (pending->failed) co_return pending->failed;
    co_return error_code(net::error::timed_out);
}

bool Client::send(const std::vector<std::string>& args) {
    if (!up_) return false;
    enqueue(args, std::make_shared<Pending>());
    return true;
}

}  // namespace nexus::redis
