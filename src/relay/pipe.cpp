#include "relay/pipe.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <cstring>
#include <vector>

#include "core/wire.hpp"
#include "upstream/sse.hpp"

namespace nexus::relay {

using core::AttemptOutcome;

namespace {

constexpr std::size_t kStreamBuffer = 4096;  // first size of a stream's frame buffer (grows for larger events)
constexpr std::size_t kMaxFrame = 4u << 20;  // one SSE event larger than this is passed on raw
constexpr std::size_t kBodyPiece = 16384;    // one read of a body that is not events

// Keeps nexus_open_streams right whichever way a stream ends.
struct OpenStream {
    explicit OpenStream(core::Metrics& m) : metrics(m) { metrics.stream_opened(); }
    ~OpenStream() { metrics.stream_closed(); }
    core::Metrics& metrics;
};

}  // namespace

upstream::CallFailure broke_midway(const error_code& ec, core::Metrics& metrics, std::string_view request_id,
                                   const std::string& what) {
    const auto outcome = upstream::outcome_of_read(ec);
    metrics.record_attempt(outcome);
    spdlog::warn("request {}: the upstream's answer broke off: {}", request_id, ec.message());
    return upstream::CallFailure{
        upstream::CallFailure::Kind::kUpstream,
        outcome == AttemptOutcome::kTimeout ? core::Error::gateway_timeout("The upstream stopped sending the " + what + " in time.")
        : outcome == AttemptOutcome::kProtocolError
            ? core::Error::bad_gateway("The upstream's " + what + " was malformed in the middle.")
            : core::Error::bad_gateway("The upstream connection broke in the middle of the " + what + "."),
        outcome};
}

void UsageFilter::on_event(std::string_view data, std::string&) {
    if (data == "[DONE]") return;
    ++events_;
    if (auto u = usage_of(data)) {
        usage_ = *u;
        reported_ = true;
    }
}

void IncludeUsageFilter::on_event(std::string_view data, std::string& before) {
    if (data == "[DONE]") {
        before += usage_.final_event();
    } else {
        ++events_;
        usage_.observe(data);
    }
}

void IncludeUsageFilter::on_end(std::string& after) { after += usage_.final_event(); }

net::awaitable<PipeResult> pipe_events(http::Exchange& exchange, upstream::Response& response, std::string fields,
                                       const EventPipe& pipe, core::Metrics& metrics, const core::Cancellation& cancel) {
    PipeResult result;
    core::append_field(fields, "Cache-Control", "no-cache");
    core::append_field(fields, "X-Accel-Buffering", "no");
    result.sent = true;
    auto* translator = pipe.translator;
    std::string opening;
    if (translator != nullptr) translator->start(opening);
    if (!co_await exchange.begin_body(static_cast<unsigned>(response.status()), fields, std::nullopt, opening)) {
        result.client_gone = true;  // dropping the Response closes the upstream connection
        co_return result;
    }
    const OpenStream open(metrics);
    struct StopPings {
        http::Exchange& exchange;
        ~StopPings() { exchange.stop_heartbeat(); }
    } stop_pings{exchange};
    if (pipe.ping_every.count() > 0) exchange.start_heartbeat(pipe.ping_every, pipe.ping_event);
    // Each event through the filters, and through the translator onto `translated`.
    std::string translated;
    auto take = [&](std::string_view data, std::string& before) {
        before.clear();
        for (auto* f : pipe.filters) f->on_event(data, before);
        if (translator != nullptr) translator->on_event(data, translated);
    };

    std::vector<char> buf(kStreamBuffer);
    std::string scratch;
    std::string before;   // what the filters put before the event at hand
    std::string spliced;  // the events of one read with what the filters added, when they added
    std::size_t used = 0;
    for (;;) {
        if (used == buf.size()) {
            if (buf.size() >= kMaxFrame) {
                // One event this large is not an LLM frame; pass the bytes on rather than hold more.
                if (!co_await exchange.write_body({buf.data(), used})) {
                    result.client_gone = true;
                    co_return result;
                }
                used = 0;
            } else {
                buf.resize(buf.size() * 2);
            }
        }
        auto [ec, n] = co_await response.read_some({buf.data() + used, buf.size() - used});
        used += n;

        // Forward every whole event we hold; keep a partial event for the next read.
        if (const auto cut = upstream::sse::complete_prefix({buf.data(), used}); cut > 0) {
            std::string_view out{buf.data(), cut};
            std::size_t copied = 0;  // of `out` into `spliced`, once a filter added something
            spliced.clear();
            translated.clear();
            upstream::sse::for_each_event(out, scratch, [&](std::string_view data, std::size_t at) {
                take(data, before);
                if (before.empty() || translator != nullptr) return;
                spliced.append(out.substr(copied, at - copied)).append(before);
                copied = at;
            });
            if (translator != nullptr) {
                out = translated;
            } else if (copied > 0 || !spliced.empty()) {
                spliced.append(out.substr(copied));
                out = spliced;
            }
            if (!co_await exchange.write_body(out)) {
                result.client_gone = true;  // dropping the Response cancels the upstream call
                co_return result;
            }
            std::memmove(buf.data(), buf.data() + cut, used - cut);
            used -= cut;
            // The client's message is whole: a ping after its end would break the stream.
            if (translator != nullptr && translator->ended()) exchange.stop_heartbeat();
        }
        if (ec && cancel.cancelled()) {
            result.client_gone = true;
            co_return result;
        }
        if (ec) {
            // The upstream broke off midway (or went silent too long). Bytes were sent, so no
            // retry: the client's stream ends with an error event it will raise.
            result.failure = broke_midway(ec, metrics, exchange.request_id(), "stream");
            std::string ending;
            if (translator != nullptr) {
                translator->fail(result.failure->error, ending);
            } else {
                ending = exchange.error_event(result.failure->error);
            }
            if (co_await exchange.write_body(ending)) co_await exchange.end_body();
            exchange.close_after();
            co_return result;
        }
        if (response.done()) {
            std::string after;
            if (translator != nullptr) {
                // A last event without its blank line is still an event.
                std::string last(buf.data(), used);
                last.append("\n\n");
                translated.clear();
                upstream::sse::for_each_event(last, scratch, [&](std::string_view data) { take(data, before); });
                after = std::move(translated);
            } else if (used > 0 && !co_await exchange.write_body({buf.data(), used})) {
                result.client_gone = true;
                co_return result;
            }
            // What the filters owe the end (an include_usage chunk of a stream without [DONE]).
            for (auto* f : pipe.filters) f->on_end(after);
            if (translator != nullptr) translator->finish(after);
            if (!after.empty() && !co_await exchange.write_body(after)) {
                result.client_gone = true;
                co_return result;
            }
            if (!co_await exchange.end_body()) result.client_gone = true;
            co_return result;
        }
    }
}

net::awaitable<PipeResult> pipe_body(http::Exchange& exchange, upstream::Response& response, std::string_view fields,
                                     UsageReader* usage, core::Metrics& metrics, const core::Cancellation& cancel) {
    PipeResult result;
    std::array<char, kBodyPiece> buf;
    for (;;) {
        auto [ec, n] = co_await response.read_some(buf);
        const std::string_view piece{buf.data(), n};
        if (ec && cancel.cancelled()) {
            result.client_gone = true;
            co_return result;
        }
        if (ec && !result.sent) {
            // Nothing reached the client yet: the relay may try another channel.
            result.failure = broke_midway(ec, metrics, exchange.request_id(), "answer");
            co_return result;
        }
        bool written = true;
        if (!result.sent) {
            result.sent = true;
            // All of it in one read: one write, with its length. Else the upstream's length, or chunks.
            const auto length = response.done() && !ec ? std::optional<std::uint64_t>(n) : response.content_length();
            written = co_await exchange.begin_body(static_cast<unsigned>(response.status()), fields, length, piece);
        } else {
            written = co_await exchange.write_body(piece);
        }
        // Read after the piece is on its way: the client does not wait on the usage's parse.
        if (usage != nullptr) usage->feed(piece);
        if (!written) {
            result.client_gone = true;
            co_return result;
        }
        if (ec) {
            // Midway: the head is out, so there is no way to say it but to end the connection
            // on a short body, which every HTTP client reports.
            result.failure = broke_midway(ec, metrics, exchange.request_id(), "answer");
            exchange.abort();
            co_return result;
        }
        if (response.done()) {
            if (!co_await exchange.end_body()) result.client_gone = true;
            co_return result;
        }
    }
}

}  // namespace nexus::relay
