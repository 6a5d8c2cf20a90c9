#include "support/mock_upstream.hpp"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>

#include <optional>

#include "support/mock_anthropic.hpp"
#include "support/mock_answers.hpp"

namespace nexus::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = net::ip::tcp;
constexpr auto nothrow = net::as_tuple(net::use_awaitable);

namespace {

// What a request's JSON body asks of the mock.
struct Asked {
    std::string model;
    bool stream = false;
    int frames = 3;
    int interval_ms = 0;
    json::value doc;
};

Asked asked_of(const std::string& body) {
    Asked a;
    json::error_code ec;
    a.doc = json::parse(body, ec, {}, {.max_depth = 128});
    if (ec || !a.doc.is_object()) return a;
    const auto& o = a.doc.as_object();
    if (const auto* m = o.if_contains("model"); m && m->is_string()) a.model = m->as_string();
    if (const auto* s = o.if_contains("stream"); s && s->is_bool()) a.stream = s->as_bool();
    if (const auto* f = o.if_contains("mock_frames"); f && f->is_int64()) a.frames = static_cast<int>(f->as_int64());
    if (const auto* i = o.if_contains("mock_interval_ms"); i && i->is_int64()) a.interval_ms = static_cast<int>(i->as_int64());
    // A client that sends only standard fields (a browser's Playground) gets a slow stream by
    // the model's name: 40 frames, 100 ms apart.
    if (a.model == "mock-slow-stream" && !o.contains("mock_frames")) {
        a.frames = 40;
        a.interval_ms = 100;
    }
    // A translated request carries no mock_ fields: a stream with a long silence by its name.
    if (a.model == "mock-pause-stream") {
        a.frames = 2;
        a.interval_ms = 1500;
    }
    return a;
}

bool is_known(std::string_view target) {
    for (const auto* t : {"/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/rerank",
                          "/v1/images/generations", "/v1/audio/transcriptions", "/v1/audio/translations",
                          "/v1/audio/speech", "/v1/models", "/v1/messages"}) {
        if (target == t) return true;
    }
    return false;
}

// Ends the connection with a TCP reset instead of an orderly close.
void reset(tcp::socket& socket) {
    beast::error_code ignored;
    socket.set_option(net::socket_base::linger(true, 0), ignored);
    socket.close(ignored);
}

}  // namespace

struct MockUpstream::Impl {
    explicit Impl(MockUpstream& owner) : owner(owner), ssl(net::ssl::context::tls_server), acceptor(ioc) {}

    MockUpstream& owner;
    net::io_context ioc;
    net::ssl::context ssl;
    tcp::acceptor acceptor;

    net::awaitable<void> pause(int ms) {
        net::steady_timer timer(ioc, std::chrono::milliseconds(ms));
        co_await timer.async_wait(nothrow);
    }

    template <class Stream>
    net::awaitable<bool> write_text(Stream& stream, std::string_view text) {
        auto [ec, n] = co_await net::async_write(stream, net::buffer(text), nothrow);
        co_return !ec;
    }

    // The fault scenarios: answers that are broken on purpose. Returns whether `model` was one
    // (the connection is then done).
    template <class Stream>
    net::awaitable<bool> fault(Stream& stream, tcp::socket& socket, const Asked& a) {
        const auto& m = a.model;
        if (m == "mock-reset-after-request") {
            reset(socket);
        } else if (m == "mock-reset-after-status") {
            co_await write_text(stream, "HTTP/1.1 200 OK\r\n");
            co_await pause(100);
            reset(socket);
        } else if (m == "mock-reset-mid-body") {
            if (a.stream) {
                std::string head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
                for (int i = 0; i < 2; ++i) {
                    const auto frame = "data: " + mock::chunk_json(m, i, 3) + "\n\n";
                    char size[16];
                    std::snprintf(size, sizeof(size), "%zx\r\n", frame.size());
                    head += size + frame + "\r\n";
                }
                co_await write_text(stream, head);
            } else {
                co_await write_text(stream, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
                                            "{\"id\":\"cut\",\"pad\":\"" + std::string(80, 'x'));
            }
            co_await pause(200);
            reset(socket);
        } else if (m == "mock-half-close") {
            beast::error_code ignored;
            socket.shutdown(tcp::socket::shutdown_send, ignored);
            char byte;
            co_await socket.async_read_some(net::buffer(&byte, 1), nothrow);
        } else if (m == "mock-garbage-status") {
            co_await write_text(stream, "HTTP/1.1 2OO FINE\r\nContent-Length: 2\r\n\r\n{}");
        } else if (m == "mock-bad-chunk") {
            if (a.stream) {
                const auto frame = "data: " + mock::chunk_json(m, 0, 3) + "\n\n";
                char size[16];
                std::snprintf(size, sizeof(size), "%zx\r\n", frame.size());
                co_await write_text(stream, std::string("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                                                        "Transfer-Encoding: chunked\r\n\r\n") + size + frame + "\r\n");
                co_await pause(100);
                co_await write_text(stream, "zz\r\nnot a chunk\r\n");
            } else {
                co_await write_text(stream, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                            "Transfer-Encoding: chunked\r\n\r\nzz\r\nnot a chunk\r\n");
            }
            co_await pause(100);
        } else if (m == "mock-huge-header") {
            co_await write_text(stream, "HTTP/1.1 200 OK\r\nX-Big: " + std::string(70 * 1024, 'b') + "\r\nContent-Length: 2\r\n\r\n{}");
        } else if (m == "mock-slow-body" || m == "mock-big-answer") {
            // Not a fault: a large completion whose second half comes half a second after the
            // first; or, big-answer, 16 MiB at once: more than a socket takes without a reader.
            auto doc = json::parse(mock::chat_completion(m).body()).as_object();
            doc["padding"] = std::string(m == "mock-big-answer" ? 16u << 20 : 40'000u, 'p');
            doc.erase("usage");
            doc["usage"] = json::object{{"prompt_tokens", 7}, {"completion_tokens", 11}, {"total_tokens", 18}};
            const auto text = json::serialize(doc);
            const auto half = text.size() / 2;
            co_await write_text(stream, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                                            std::to_string(text.size()) + "\r\n\r\n" + text.substr(0, half));
            co_await pause(500);
            co_await write_text(stream, std::string_view(text).substr(half));
        } else if (m == "mock-trickle") {
            for (const char c : std::string_view("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}")) {
                if (!co_await write_text(stream, std::string_view(&c, 1))) break;
                co_await pause(1000);
            }
        } else {
            co_return false;
        }
        co_return true;
    }

    template <class Stream>
    net::awaitable<void> session(Stream& stream, tcp::socket& socket) {
        beast::flat_buffer buffer;
        for (;;) {
            http::request_parser<http::string_body> parser;
            parser.body_limit(256u << 20);
            auto [hec, hn] = co_await http::async_read_header(stream, buffer, parser, nothrow);
            if (hec) co_return;
            if (const auto length = parser.content_length();
                owner.options_.max_body > 0 && length && *length > owner.options_.max_body) {
                co_await too_large(stream, socket, parser.get());
                co_return;
            }
            auto [ec, n] = co_await http::async_read(stream, buffer, parser, nothrow);
            if (ec) co_return;
            auto req = parser.release();
            record(req);
            if (!co_await serve(stream, socket, req) || !req.keep_alive()) co_return;
        }
    }

    // An nginx in front of the upstream: a body over its limit is answered 413 before it is
    // read, and the connection drained a moment so the caller can read the answer.
    template <class Stream>
    net::awaitable<void> too_large(Stream& stream, tcp::socket& socket, const http::request<http::string_body>& head) {
        record(head);
        auto res = mock::answer(http::status::payload_too_large,
                                "<html><head><title>413 Request Entity Too Large</title></head></html>", "text/html");
        res.keep_alive(false);
        co_await http::async_write(stream, res, nothrow);
        beast::error_code ignored;
        socket.shutdown(tcp::socket::shutdown_send, ignored);
        std::array<char, 65536> discard;
        for (;;) {
            auto [ec, n] = co_await socket.async_read_some(net::buffer(discard), nothrow);
            if (ec) break;
        }
    }

    void record(const http::request<http::string_body>& req) {
        RecordedRequest rec{std::string(req.method_string()), std::string(req.target()), {}, req.body()};
        for (const auto& f : req) {
            std::string name(f.name_string());
            for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            rec.headers[name] = std::string(f.value());
        }
        std::lock_guard lock(owner.mutex_);
        owner.requests_.push_back(std::move(rec));
    }

    // Answers one request. Returns whether the connection may carry another.
    template <class Stream>
    net::awaitable<bool> serve(Stream& stream, tcp::socket& socket, const http::request<http::string_body>& req) {
        const auto a = asked_of(req.body());
        const std::string_view target = req.target();
        // Anthropic's API takes its key as x-api-key: read as if it were a Bearer one.
        const bool anthropic = target == "/v1/messages" || !req["x-api-key"].empty();
        const std::string authorization =
            anthropic ? "Bearer " + std::string(req["x-api-key"]) : std::string(req[http::field::authorization]);
        const std::string key(authorization.substr(std::min<std::size_t>(7, authorization.size())));

        std::optional<mock::Response> res;
        if (target == "/v1/messages") {
            if (!owner.accepts(authorization)) {
                res = mock::anthropic_auth_error();
            } else if (req["anthropic-version"].empty()) {
                res = mock::anthropic_version_error();
            } else if (auto error = mock::anthropic_error(a.model)) {
                res = std::move(*error);
            } else if (a.stream) {
                co_return co_await send_frames(stream, mock::anthropic_events(a.model, a.doc, a.frames), a.interval_ms);
            } else {
                res = mock::anthropic_message(a.model, a.doc);
            }
        } else if (!is_known(target)) {
            res = mock::answer(http::status::not_found, "404 page not found", "text/plain; charset=utf-8");
        } else if (!owner.accepts(authorization)) {
            res = mock::answer(http::status::unauthorized, R"("Invalid token")");
        } else if (!req["OpenAI-Organization"].empty()) {
            res = mock::answer(http::status::unauthorized,
                               R"({"error":{"message":"You are not a member of organization )" +
                                   std::string(req["OpenAI-Organization"]) +
                                   R"(.","type":"invalid_request_error","param":null,"code":"invalid_organization"}})");
        } else if (target == "/v1/models") {
            ++owner.models_in_flight_;
            owner.max_models_in_flight_ = std::max(owner.max_models_in_flight_.load(), owner.models_in_flight_.load());
            if (owner.options_.models_delay_ms > 0) co_await pause(owner.options_.models_delay_ms);
            --owner.models_in_flight_;
            res = mock::model_list();
        } else if (owner.is_poor(authorization)) {
            res = mock::answer(http::status::forbidden,
                               R"({"code":30001,"message":"Sorry, your account balance is insufficient"})");
        } else if (auto error = mock::error_scenario(a.model, key)) {
            res = std::move(*error);
        } else if (a.model == "mock-hang") {
            // Never answer; count it when the caller gives up and closes the connection.
            char byte;
            auto [rec, rn] = co_await stream.async_read_some(net::buffer(&byte, 1), nothrow);
            if (rec) owner.aborted_streams_.fetch_add(1);
            co_return false;
        } else if (co_await fault(stream, socket, a)) {
            co_return false;
        } else if (target == "/v1/audio/speech") {
            co_return co_await send_audio(stream, a.frames);
        } else if (auto chunks = target == "/v1/chat/completions" && a.stream ? mock::tool_chunks(a.model, a.doc)
                                                                              : std::nullopt) {
            std::vector<std::string> frames;
            for (const auto& c : *chunks) frames.push_back("data: " + c + "\n\n");
            frames.emplace_back("data: [DONE]\n\n");
            co_return co_await send_frames(stream, frames, a.interval_ms);
        } else if (auto tools = target == "/v1/chat/completions" && !a.stream ? mock::tool_answer(a.model, a.doc)
                                                                               : std::nullopt) {
            res = std::move(*tools);
        } else if (a.stream && (target == "/v1/chat/completions" || target == "/v1/completions")) {
            co_return co_await send_stream(stream, a, target == "/v1/completions");
        } else if (auto other = mock::other_endpoint(target, a.model, req, a.doc)) {
            res = std::move(*other);
        } else {
            res = mock::chat_completion(a.model);
        }
        res->keep_alive(req.keep_alive());
        auto [wec, wn] = co_await http::async_write(stream, *res, nothrow);
        co_return !wec;
    }

    // Speech: `frames` chunks of 1000 bytes of audio/mpeg, byte i of the body being (i % 251).
    // Returns whether the whole answer was written (the connection may then be kept alive).
    template <class Stream>
    net::awaitable<bool> send_audio(Stream& stream, int frames) {
        http::response<http::empty_body> res{http::status::ok, 11};
        res.set(http::field::content_type, "audio/mpeg");
        res.chunked(true);
        http::response_serializer<http::empty_body> sr{res};
        auto [hec, hn] = co_await http::async_write_header(stream, sr, nothrow);
        if (hec) co_return false;
        std::string piece(1000, '\0');
        for (int f = 0; f < frames; ++f) {
            for (std::size_t i = 0; i < piece.size(); ++i) piece[i] = static_cast<char>((f * 1000 + i) % 251);
            auto [ec, n] = co_await net::async_write(stream, http::make_chunk(net::buffer(piece)), nothrow);
            if (ec) co_return false;
        }
        auto [lec, ln] = co_await net::async_write(stream, http::make_chunk_last(), nothrow);
        co_return !lec;
    }

    // How an event stream ends after its frames.
    enum class Ending { kWhole, kDie, kStall };

    // An event stream of `frames` (each a whole event), `interval_ms` apart; it ends with the
    // last chunk, or (kDie) the caller drops the connection without it, or (kStall) it goes
    // silent. Returns whether all of it was written (the connection may then be kept alive).
    template <class Stream>
    net::awaitable<bool> send_frames(Stream& stream, const std::vector<std::string>& frames, int interval_ms,
                                     Ending ending = Ending::kWhole) {
        http::response<http::empty_body> res{http::status::ok, 11};
        res.set(http::field::content_type, "text/event-stream; charset=utf-8");
        res.set("x-siliconcloud-trace-id", "trace-stream");
        res.chunked(true);
        http::response_serializer<http::empty_body> sr{res};
        auto [hec, hn] = co_await http::async_write_header(stream, sr, nothrow);
        if (hec) co_return false;
        for (std::size_t i = 0; i < frames.size(); ++i) {
            if (interval_ms > 0 && i > 0) co_await pause(interval_ms);
            auto [ec, n] = co_await net::async_write(stream, http::make_chunk(net::buffer(frames[i])), nothrow);
            if (ec) {
                owner.aborted_streams_.fetch_add(1);
                co_return false;
            }
            owner.frames_sent_.fetch_add(1);
        }
        if (ending == Ending::kStall) co_await pause(3'600'000);
        if (ending != Ending::kWhole) co_return false;
        auto [lec, ln] = co_await net::async_write(stream, http::make_chunk_last(), nothrow);
        co_return !lec;
    }

    // A chat or text completion stream in SiliconFlow's shape, with the endings the scenarios ask for.
    template <class Stream>
    net::awaitable<bool> send_stream(Stream& stream, const Asked& a, bool text) {
        const bool die = a.model == "mock-die-mid-stream";
        const bool stall = a.model == "mock-stall-stream";
        const int count = (die || stall) ? 2 : a.frames;
        std::vector<std::string> frames;
        for (int i = 0; i < count; ++i) frames.push_back("data: " + mock::chunk_json(a.model, i, count, text) + "\n\n");
        if (die || stall) co_return co_await send_frames(stream, frames, a.interval_ms, die ? Ending::kDie : Ending::kStall);
        if (a.model == "mock-usage-chunk") {
            // An upstream that sends OpenAI's usage-only chunk itself.
            frames.emplace_back(
                R"(data: {"id":"0123456789abcdef0123456789abcdef","object":"chat.completion.chunk","created":1700000000,)"
                R"("model":"mock-usage-chunk","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":9,"total_tokens":14}})"
                "\n\n");
        }
        if (a.model != "mock-no-done") frames.emplace_back("data: [DONE]\n\n");
        co_return co_await send_frames(stream, frames, a.interval_ms);
    }

    net::awaitable<void> accept_loop() {
        for (;;) {
            auto [ec, socket] = co_await acceptor.async_accept(nothrow);
            if (ec) co_return;
            owner.connections_.fetch_add(1);
            net::co_spawn(ioc, handle(std::move(socket)), [this](std::exception_ptr) { owner.closed_connections_.fetch_add(1); });
        }
    }

    net::awaitable<void> handle(tcp::socket socket) {
        // As real upstreams do: without it a frame written right after the header on a reused
        // connection waits for the relay's delayed ACK (~40 ms).
        beast::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        if (owner.options_.tls) {
            beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), ssl);
            auto [ec] = co_await stream.async_handshake(net::ssl::stream_base::server, nothrow);
            if (ec) co_return;
            co_await session(stream, stream.next_layer().socket());
            stream.next_layer().socket().close(ignored);
        } else {
            beast::tcp_stream stream(std::move(socket));
            co_await session(stream, stream.socket());
            stream.socket().close(ignored);
        }
    }
};

MockUpstream::MockUpstream(Options options) : options_(std::move(options)), impl_(std::make_unique<Impl>(*this)) {
    if (options_.tls) {
        impl_->ssl.use_certificate_chain(net::buffer(options_.cert_pem));
        impl_->ssl.use_private_key(net::buffer(options_.key_pem), net::ssl::context::pem);
    }
    tcp::endpoint ep(net::ip::make_address("127.0.0.1"), options_.port);
    impl_->acceptor.open(ep.protocol());
    impl_->acceptor.set_option(net::socket_base::reuse_address(true));
    impl_->acceptor.bind(ep);
    impl_->acceptor.listen();
    port_ = impl_->acceptor.local_endpoint().port();
    net::co_spawn(impl_->ioc, impl_->accept_loop(), net::detached);
    thread_ = std::thread([this] { impl_->ioc.run(); });
}

MockUpstream::~MockUpstream() {
    impl_->ioc.stop();
    thread_.join();
}

bool MockUpstream::accepts(std::string_view authorization) const {
    if (authorization == "Bearer " + options_.good_key) return true;
    for (const auto& k : options_.other_good_keys) {
        if (authorization == "Bearer " + k) return true;
    }
    return is_poor(authorization);
}

bool MockUpstream::is_poor(std::string_view authorization) const {
    for (const auto& k : options_.poor_keys) {
        if (authorization == "Bearer " + k) return true;
    }
    return false;
}

std::string MockUpstream::base_url() const {
    return (options_.tls ? "https://localhost:" : "http://127.0.0.1:") + std::to_string(port_);
}

std::vector<RecordedRequest> MockUpstream::requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
}

std::size_t MockUpstream::count(const std::string& target) const {
    std::lock_guard lock(mutex_);
    return static_cast<std::size_t>(
        std::count_if(requests_.begin(), requests_.end(), [&](const RecordedRequest& r) { return r.target == target; }));
}

bool MockUpstream::wait_for_aborted_streams(int n, std::chrono::milliseconds timeout) const {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
        if (aborted_streams_.load() >= n) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return aborted_streams_.load() >= n;
}

}  // namespace nexus::testing
