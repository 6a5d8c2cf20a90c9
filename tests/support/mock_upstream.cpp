#include "support/mock_upstream.hpp"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>

#include <optional>

#include "core/crypto.hpp"

namespace nexus::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = net::ip::tcp;
constexpr auto nothrow = net::as_tuple(net::use_awaitable);

struct MockUpstream::Impl {
    explicit Impl(MockUpstream& owner) : owner(owner), ssl(net::ssl::context::tls_server), acceptor(ioc) {}

    MockUpstream& owner;
    net::io_context ioc;
    net::ssl::context ssl;
    tcp::acceptor acceptor;

    using Response = http::response<http::string_body>;

    static Response error(http::status status, std::string body, std::string content_type = "application/json") {
        Response res{status, 11};
        res.set(http::field::content_type, content_type);
        res.body() = std::move(body);
        res.prepare_payload();
        return res;
    }

    // One chunk of a chat (or, with `text`, a text completion) stream, with SiliconFlow's running usage.
    static std::string chunk_json(const std::string& model, int i, int frames, bool text = false) {
        json::object usage{{"prompt_tokens", 5}, {"completion_tokens", i + 1}, {"total_tokens", 6 + i}};
        const auto piece = "tok" + std::to_string(i) + " ";
        json::object choice{{"index", 0},
                            {"finish_reason", i + 1 == frames ? json::value("stop") : json::value(nullptr)}};
        if (text) {
            choice["text"] = piece;
        } else {
            choice["delta"] = json::object{{"content", piece}};
        }
        json::object chunk{{"id", "0123456789abcdef0123456789abcdef"},
                           {"object", text ? "text_completion" : "chat.completion.chunk"},
                           {"created", 1700000000},
                           {"model", model},
                           {"system_fingerprint", ""},
                           {"choices", json::array{choice}},
                           {"usage", usage}};
        return json::serialize(chunk);
    }

    static Response json_answer(const json::object& body) {
        Response res{http::status::ok, 11};
        res.set(http::field::content_type, "application/json");
        res.set("x-siliconcloud-trace-id", "trace-abc");
        res.set("Set-Cookie", "upstream-session=secret");
        res.set("X-Internal-Node", "node-7");
        res.body() = json::serialize(body);
        res.prepare_payload();
        return res;
    }

    // The other endpoints' answers, in SiliconFlow's shapes.
    static std::optional<Response> other_endpoint(std::string_view target, const std::string& model,
                                                  const http::request<http::string_body>& req, const json::value& doc) {
        if (target == "/v1/embeddings") {
            std::size_t n = 1;
            if (const auto* in = doc.is_object() ? doc.as_object().if_contains("input") : nullptr; in && in->is_array()) {
                n = in->as_array().size();
            }
            // OpenAI's encoding_format "base64": the float32 values, little-endian, in base64.
            bool base64 = false;
            if (const auto* f = doc.is_object() ? doc.as_object().if_contains("encoding_format") : nullptr;
                f && f->is_string()) {
                base64 = f->as_string() == "base64";
            }
            static constexpr float kVector[] = {0.25f, -0.5f, 0.125f};
            json::array data;
            for (std::size_t i = 0; i < n; ++i) {
                json::value embedding = json::array{kVector[0], kVector[1], kVector[2]};
                if (base64) {
                    embedding = core::to_base64({reinterpret_cast<const char*>(kVector), sizeof(kVector)});
                }
                data.push_back(json::object{{"object", "embedding"}, {"index", i}, {"embedding", embedding}});
            }
            return json_answer({{"object", "list"}, {"model", model}, {"data", std::move(data)},
                                {"usage", json::object{{"prompt_tokens", 4}, {"completion_tokens", 0}, {"total_tokens", 4}}}});
        }
        if (target == "/v1/completions") {
            return json_answer(
                {{"id", "0123456789abcdef0123456789abcdef"}, {"object", "text_completion"}, {"created", 1700000000},
                 {"model", model},
                 {"choices", json::array{json::object{{"index", 0}, {"text", "Hello from mock"}, {"finish_reason", "stop"}}}},
                 {"usage", json::object{{"prompt_tokens", 2}, {"completion_tokens", 3}, {"total_tokens", 5}}}});
        }
        if (target == "/v1/rerank") {
            return json_answer(
                {{"id", "rerank-1"},
                 {"results", json::array{json::object{{"index", 0}, {"relevance_score", 0.9},
                                                      {"document", json::object{{"text", "a"}}}}}},
                 {"tokens", json::object{{"input_tokens", 11}, {"output_tokens", 0}}}});
        }
        if (target == "/v1/images/generations") {
            json::array images{json::object{{"url", "https://example.invalid/mock.png"}}};
            return json_answer({{"images", images}, {"data", images}, {"timings", json::object{{"inference", 0.5}}},
                                {"seed", 42}, {"created", 1700000000}});
        }
        if (target == "/v1/audio/transcriptions" || target == "/v1/audio/translations") {
            const auto type = req[http::field::content_type];
            if (type.find("multipart/form-data") == std::string_view::npos ||
                req.body().find("name=\"file\"") == std::string::npos) {
                return error(http::status::bad_request, R"({"code":20015,"message":"file is required","data":null})");
            }
            // Echo the model field's value so tests see what nexus sent.
            const auto at = req.body().find("name=\"model\"\r\n\r\n");
            std::string sent_model;
            if (at != std::string::npos) {
                const auto begin = at + 16;
                sent_model = req.body().substr(begin, req.body().find("\r\n", begin) - begin);
            }
            return json_answer({{"text", "transcribed by " + sent_model}});
        }
        return std::nullopt;
    }

    template <class Stream>
    net::awaitable<void> session(Stream& stream, beast::tcp_stream& tcp_layer) {
        beast::flat_buffer buffer;
        for (;;) {
            http::request<http::string_body> req;
            auto [ec, n] = co_await http::async_read(stream, buffer, req, nothrow);
            if (ec) co_return;
            RecordedRequest rec{std::string(req.method_string()), std::string(req.target()), {}, req.body()};
            for (const auto& f : req) {
                std::string name(f.name_string());
                for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                rec.headers[name] = std::string(f.value());
            }
            {
                std::lock_guard lock(owner.mutex_);
                owner.requests_.push_back(rec);
            }

            std::string model;
            bool stream_requested = false;
            json::error_code jec;
            auto doc = json::parse(req.body(), jec);
            if (!jec && doc.is_object()) {
                if (auto* m = doc.as_object().if_contains("model"); m && m->is_string()) model = m->as_string();
                if (auto* s = doc.as_object().if_contains("stream"); s && s->is_bool()) stream_requested = s->as_bool();
            }
            const int frames = req["X-Mock-Frames"].empty() ? 3 : std::stoi(std::string(req["X-Mock-Frames"]));
            const int interval =
                req["X-Mock-Interval-Ms"].empty() ? 0 : std::stoi(std::string(req["X-Mock-Interval-Ms"]));

            Response res;
            const std::string_view target = req.target();
            const bool known = target == "/v1/chat/completions" || target == "/v1/completions" ||
                               target == "/v1/embeddings" || target == "/v1/rerank" ||
                               target == "/v1/images/generations" || target == "/v1/audio/transcriptions" ||
                               target == "/v1/audio/translations" || target == "/v1/audio/speech" ||
                               target == "/v1/models";
            if (!known) {
                res = error(http::status::not_found, "404 page not found", "text/plain; charset=utf-8");
            } else if (!owner.accepts(req[http::field::authorization])) {
                res = error(http::status::unauthorized, R"("Invalid token")");
            } else if (model == "mock-unknown-model") {
                res = error(http::status::bad_request,
                            R"({"code":20012,"message":"Model does not exist. Please check it carefully.","data":null})");
            } else if (model == "mock-rate-limit") {
                res = error(http::status::too_many_requests,
                            R"({"message":"Request was rejected due to rate limiting. Details: TPM limit reached.","data":null})");
                res.set("Retry-After", "7");
                res.set("x-ratelimit-remaining-requests", "0");
                res.set("Set-Cookie", "upstream-session=secret");
            } else if (model == "mock-balance") {
                res = error(http::status::forbidden,
                            R"({"code":30001,"message":"Sorry, your account balance is insufficient"})");
            } else if (model == "mock-overloaded") {
                res = error(http::status::service_unavailable,
                            R"({"code":50505,"message":"Model service overloaded. Please try again later.","data":null})");
            } else if (model == "mock-plain-404") {
                res = error(http::status::not_found, "404 page not found", "text/plain; charset=utf-8");
            } else if (model == "mock-echo-key") {
                res = error(http::status::internal_server_error,
                            "{\"message\":\"bad key " + owner.options_.good_key + " in request\"}");
            } else if (model == "mock-hang") {
                // Never answer; count it when the caller gives up and closes the connection.
                char byte;
                auto [rec, rn] = co_await stream.async_read_some(net::buffer(&byte, 1), nothrow);
                if (rec) owner.aborted_streams_.fetch_add(1);
                co_return;
            } else if (target == "/v1/models") {
                res = json_answer(
                    {{"object", "list"},
                     {"data", json::array{json::object{{"id", "Qwen/Qwen2.5-7B-Instruct"}, {"object", "model"},
                                                       {"created", 0}, {"owned_by", ""}},
                                          json::object{{"id", "BAAI/bge-m3"}, {"object", "model"}, {"created", 0},
                                                       {"owned_by", ""}}}}});
            } else if (target == "/v1/audio/speech") {
                if (!co_await send_audio(stream, frames) || !req.keep_alive()) co_return;
                continue;  // a whole answer: the connection may carry the next request
            } else if (stream_requested && (target == "/v1/chat/completions" || target == "/v1/completions")) {
                if (!co_await send_stream(stream, tcp_layer, model, frames, interval, target == "/v1/completions") ||
                    !req.keep_alive()) {
                    co_return;
                }
                continue;
            } else if (auto other = other_endpoint(target, model, req, doc)) {
                res = std::move(*other);
            } else {
                json::object body{
                    {"id", "0123456789abcdef0123456789abcdef"},
                    {"object", "chat.completion"},
                    {"created", 1700000000},
                    {"model", model},
                    {"system_fingerprint", ""},
                    {"choices", json::array{json::object{
                                    {"index", 0},
                                    {"message", json::object{{"role", "assistant"}, {"content", "Hello from mock"}}},
                                    {"finish_reason", "stop"}}}},
                    {"usage", json::object{{"prompt_tokens", 5}, {"completion_tokens", 3}, {"total_tokens", 8}}}};
                res = json_answer(body);
            }
            res.keep_alive(req.keep_alive());
            auto [wec, wn] = co_await http::async_write(stream, res, nothrow);
            if (wec || !req.keep_alive()) co_return;
        }
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

    // Returns whether the whole stream was written (the connection may then be kept alive).
    template <class Stream>
    net::awaitable<bool> send_stream(Stream& stream, beast::tcp_stream&, const std::string& model, int frames,
                                     int interval_ms, bool text) {
        http::response<http::empty_body> res{http::status::ok, 11};
        res.set(http::field::content_type, "text/event-stream; charset=utf-8");
        res.set("x-siliconcloud-trace-id", "trace-stream");
        res.chunked(true);
        http::response_serializer<http::empty_body> sr{res};
        auto [hec, hn] = co_await http::async_write_header(stream, sr, nothrow);
        if (hec) co_return false;
        const bool die = model == "mock-die-mid-stream";
        const bool stall = model == "mock-stall-stream";
        const int count = (die || stall) ? 2 : frames;
        net::steady_timer timer(ioc);
        for (int i = 0; i < count; ++i) {
            if (interval_ms > 0 && i > 0) {
                timer.expires_after(std::chrono::milliseconds(interval_ms));
                co_await timer.async_wait(nothrow);
            }
            const std::string frame = "data: " + chunk_json(model, i, count, text) + "\n\n";
            auto [ec, n] = co_await net::async_write(stream, http::make_chunk(net::buffer(frame)), nothrow);
            if (ec) {
                owner.aborted_streams_.fetch_add(1);
                co_return false;
            }
        }
        if (die) co_return false;  // the caller closes the socket without the last chunk
        if (stall) {
            timer.expires_after(std::chrono::hours(1));
            co_await timer.async_wait(nothrow);
            co_return false;
        }
        if (interval_ms > 0) {
            timer.expires_after(std::chrono::milliseconds(interval_ms));
            co_await timer.async_wait(nothrow);
        }
        if (model == "mock-usage-chunk") {
            // An upstream that sends OpenAI's usage-only chunk itself.
            const std::string usage_frame =
                R"(data: {"id":"0123456789abcdef0123456789abcdef","object":"chat.completion.chunk","created":1700000000,)"
                R"("model":"mock-usage-chunk","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":9,"total_tokens":14}})"
                "\n\n";
            auto [uec, un] = co_await net::async_write(stream, http::make_chunk(net::buffer(usage_frame)), nothrow);
            if (uec) co_return false;
        }
        if (model != "mock-no-done") {
            static const std::string done = "data: [DONE]\n\n";
            auto [ec, n] = co_await net::async_write(stream, http::make_chunk(net::buffer(done)), nothrow);
            if (ec) {
                owner.aborted_streams_.fetch_add(1);
                co_return false;
            }
        }
        auto [lec, ln] = co_await net::async_write(stream, http::make_chunk_last(), nothrow);
        co_return !lec;
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
        beast::error_code nodelay_ec;
        socket.set_option(tcp::no_delay(true), nodelay_ec);
        if (owner.options_.tls) {
            beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), ssl);
            auto [ec] = co_await stream.async_handshake(net::ssl::stream_base::server, nothrow);
            if (ec) co_return;
            co_await session(stream, stream.next_layer());
            beast::error_code ignored;
            stream.next_layer().socket().close(ignored);
        } else {
            beast::tcp_stream stream(std::move(socket));
            co_await session(stream, stream);
            beast::error_code ignored;
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
    return false;
}

std::string MockUpstream::base_url() const {
    return (options_.tls ? "https://localhost:" : "http://127.0.0.1:") + std::to_string(port_);
}

std::vector<RecordedRequest> MockUpstream::requests() const {
    std::lock_guard lock(mutex_);
    return requests_;
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
