// The stream load client of the bench: holds N streaming chat calls open at once through a relay
// in front of the mock upstream, and checks every frame of every stream.
//
//   nexus-stream-load --port P --streams N [--frames F] [--interval-ms I] [--ramp-ms R]
//                     [--header "Name: value"]... [--path /v1/chat/completions]
//
// The mock upstream numbers its frames ("tok0 ", "tok1 ", …), so a lost, doubled or reordered
// frame shows. Streams start spread over R ms (a burst of 10,000 SYNs would measure the accept
// backlog, not the relay). Prints one line of key=value figures:
//   streams ok failed lost reordered peak_open ttff_p50_us ttff_p99_us seconds
// where ok counts streams that got every frame in order and [DONE], and peak_open is the most
// streams that were open at the same moment.
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using error_code = boost::system::error_code;
constexpr auto nothrow = net::as_tuple(net::use_awaitable);

struct Options {
    unsigned short port = 0;
    int streams = 512;
    int frames = 20;
    int interval_ms = 250;
    int ramp_ms = 2000;
    std::string path = "/v1/chat/completions";
    std::vector<std::pair<std::string, std::string>> headers;
};

struct Totals {
    int ok = 0;
    int failed = 0;
    long lost = 0;
    long reordered = 0;
    int open = 0;
    int peak_open = 0;
    std::vector<std::int64_t> ttff_us;
    std::map<std::string, int> why;  ///< failures by cause
    void fail(const std::string& cause) {
        ++failed;
        ++why[cause];
    }
};

// Checks one event's data against the frame expected next; returns false at [DONE].
bool check_frame(std::string_view data, int& next, long& reordered) {
    if (data == "[DONE]") return false;
    const auto at = data.find("\"tok");
    if (at == std::string_view::npos) return true;  // a usage-only or other chunk
    const int n = std::atoi(data.data() + at + 4);
    if (n != next) ++reordered;
    next = n + 1;
    return true;
}

net::awaitable<void> one_stream(const Options& o, Totals& totals, std::chrono::milliseconds delay) {
    auto ex = co_await net::this_coro::executor;
    net::steady_timer timer(ex, delay);
    co_await timer.async_wait(nothrow);

    beast::tcp_stream stream(ex);
    stream.expires_after(std::chrono::seconds(60) + std::chrono::milliseconds(o.frames * o.interval_ms));
    auto [cec] = co_await stream.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), o.port), nothrow);
    if (cec) {
        totals.fail("connect: " + cec.message());
        co_return;
    }
    http::request<http::string_body> req{http::verb::post, o.path, 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::content_type, "application/json");
    for (const auto& [k, v] : o.headers) req.set(k, v);
    // mock_frames and mock_interval_ms pace the mock upstream (the relay forwards the body as it is).
    req.body() = R"({"model":"bench-stream","stream":true,"messages":[{"role":"user","content":"Hello"}],"mock_frames":)" +
                 std::to_string(o.frames) + R"(,"mock_interval_ms":)" + std::to_string(o.interval_ms) + "}";
    req.prepare_payload();
    const auto sent = Clock::now();
    auto [wec, wn] = co_await http::async_write(stream, req, nothrow);
    if (wec) {
        totals.fail("write: " + wec.message());
        co_return;
    }
    ++totals.open;
    totals.peak_open = std::max(totals.peak_open, totals.open);

    beast::flat_buffer buffer;
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);
    char chunk[4096];
    std::string pending;
    int next = 0;
    long reordered = 0;
    bool done = false;
    bool first = true;
    error_code ec;
    for (;;) {
        parser.get().body().data = chunk;
        parser.get().body().size = sizeof(chunk);
        auto [rec, rn] = co_await http::async_read_some(stream, buffer, parser, nothrow);
        ec = rec;
        if (ec == http::error::need_buffer) ec = {};
        pending.append(chunk, sizeof(chunk) - parser.get().body().size);
        for (std::size_t end; (end = pending.find("\n\n")) != std::string::npos;) {
            const std::string_view event(pending.data(), end);
            if (event.starts_with("data: ")) {
                if (first) {
                    first = false;
                    totals.ttff_us.push_back(
                        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - sent).count());
                }
                if (!check_frame(event.substr(6), next, reordered)) done = true;
            }
            pending.erase(0, end + 2);
        }
        if (ec || parser.is_done()) break;
    }
    --totals.open;
    totals.reordered += reordered;
    const bool ok = !ec && done && parser.get().result_int() == 200 && next == o.frames && reordered == 0;
    if (ok) {
        ++totals.ok;
    } else {
        totals.fail(ec ? "read: " + ec.message()
                       : parser.get().result_int() != 200 ? "status " + std::to_string(parser.get().result_int())
                       : !done                            ? "no [DONE]"
                                                          : "frames missing or out of order");
        totals.lost += std::max(0, o.frames - next);
    }
}

std::int64_t percentile(std::vector<std::int64_t> v, double p) {
    if (v.empty()) return -1;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

int main(int argc, char** argv) {
    Options o;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view flag = argv[i];
        const char* value = argv[i + 1];
        if (flag == "--port") {
            o.port = static_cast<unsigned short>(std::atoi(value));
        } else if (flag == "--streams") {
            o.streams = std::atoi(value);
        } else if (flag == "--frames") {
            o.frames = std::atoi(value);
        } else if (flag == "--interval-ms") {
            o.interval_ms = std::atoi(value);
        } else if (flag == "--ramp-ms") {
            o.ramp_ms = std::atoi(value);
        } else if (flag == "--path") {
            o.path = value;
        } else if (flag == "--header") {
            const std::string_view h = value;
            const auto colon = h.find(':');
            if (colon == std::string_view::npos) return 2;
            auto v = h.substr(colon + 1);
            while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
            o.headers.emplace_back(std::string(h.substr(0, colon)), std::string(v));
        } else {
            std::fprintf(stderr, "unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (o.port == 0 || o.streams <= 0) {
        std::fprintf(stderr, "usage: nexus-stream-load --port P --streams N [--frames F] [--interval-ms I]\n");
        return 2;
    }
    net::io_context ioc(1);
    Totals totals;
    for (int i = 0; i < o.streams; ++i) {
        const auto delay = std::chrono::milliseconds(static_cast<std::int64_t>(o.ramp_ms) * i / o.streams);
        net::co_spawn(ioc, one_stream(o, totals, delay), net::detached);
    }
    const auto started = Clock::now();
    ioc.run();
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    std::printf("streams=%d ok=%d failed=%d lost=%ld reordered=%ld peak_open=%d ttff_p50_us=%lld ttff_p99_us=%lld "
                "seconds=%.1f\n",
                o.streams, totals.ok, totals.failed, totals.lost, totals.reordered, totals.peak_open,
                static_cast<long long>(percentile(totals.ttff_us, 0.5)),
                static_cast<long long>(percentile(totals.ttff_us, 0.99)), seconds);
    for (const auto& [cause, n] : totals.why) std::fprintf(stderr, "failed: %d × %s\n", n, cause.c_str());
    return totals.failed == 0 ? 0 : 1;
}
