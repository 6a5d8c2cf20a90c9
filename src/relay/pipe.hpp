#pragma once
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/metrics.hpp"
#include "http/exchange.hpp"
#include "protocol/stream_translator.hpp"
#include "relay/usage.hpp"
#include "upstream/client.hpp"

namespace nexus::relay {

/// One step an event stream takes on its way to the client. Filters see every event's data, in
/// order, "[DONE]" included, and may put text before an event or after the last one. The chain
/// is where what a stream means is read (usage) and changed (OpenAI's include_usage ending; a
/// translation between APIs).
class EventFilter {
public:
    virtual ~EventFilter() = default;
    /// Text appended to `before` goes to the client just before this event.
    virtual void on_event(std::string_view data, std::string& before) = 0;
    /// The stream ended properly: text appended to `after` goes to the client last.
    virtual void on_end(std::string& after) { (void)after; }
};

/// Reads the token counts of the events as they pass (a running usage, or a final one), and
/// counts the events.
class UsageFilter final : public EventFilter {
public:
    void on_event(std::string_view data, std::string& before) override;
    const Usage& usage() const { return usage_; }
    bool reported() const { return reported_; }  ///< whether any event carried usage
    std::int64_t events() const { return events_; }  ///< data events but [DONE]

private:
    Usage usage_;
    bool reported_ = false;
    std::int64_t events_ = 0;
};

/// For a client that asked for stream_options.include_usage: OpenAI's ending, a usage-only
/// chunk just before [DONE] (or last, when there is no [DONE]), unless the upstream sent one.
/// It reads the counts as it goes, so a chain that has it needs no UsageFilter.
class IncludeUsageFilter final : public EventFilter {
public:
    void on_event(std::string_view data, std::string& before) override;
    void on_end(std::string& after) override;
    const Usage& usage() const { return usage_.usage(); }
    bool reported() const { return usage_.reported(); }
    std::int64_t events() const { return events_; }

private:
    StreamUsage usage_{true};
    std::int64_t events_ = 0;
};

/// A read of an upstream's answer that failed with `ec` (`what`: "stream" or "answer", for the
/// client's message): counted as an attempt outcome, logged, and returned as the failure.
upstream::CallFailure broke_midway(const error_code& ec, core::Metrics& metrics, std::string_view request_id,
                                   const std::string& what);

/// How piping an upstream's answer to the client ended.
struct PipeResult {
    bool sent = false;        ///< bytes reached the client: no other channel may be tried
    bool client_gone = false; ///< the client stopped taking the answer
    /// The upstream failed: before any byte was sent (`sent` false: another channel may be
    /// tried) or midway (the client's answer was ended as well as it could be).
    std::optional<upstream::CallFailure> failure;
};

/// What happens to a stream's events on their way: `filters` read them (in order), a
/// `translator` (when set) turns them into another API's events, which are then all the client
/// gets; `ping_every` (when not zero) keeps a silent stream alive with `ping_event`.
struct EventPipe {
    std::span<EventFilter* const> filters;
    protocol::StreamTranslator* translator = nullptr;
    std::chrono::milliseconds ping_every{0};
    std::string_view ping_event;
};

/// Relays an event stream (chat, completions): the head at once, then each whole server-sent
/// event as soon as it is read, never half of one, through the EventPipe. The next read waits until the client's
/// kernel took the last write (backpressure); the buffer holds one read's events and a partial
/// one (growing to 4 MiB for one huge event, past which bytes go on raw). An upstream that
/// breaks midway ends the client's stream with an error event its SDK raises (the client API's
/// error event, or the translator's).
/// `fields`: the answer's fields as text (Content-Type and the forwarded ones). When `cancel`
/// fired (the client left), a failed read is the client's doing: `client_gone`, nothing counted.
net::awaitable<PipeResult> pipe_events(http::Exchange& exchange, upstream::Response& response, std::string fields,
                                       const EventPipe& pipe, core::Metrics& metrics, const core::Cancellation& cancel);

/// Relays any other 2xx answer (a JSON completion, embeddings, audio) as its bytes arrive,
/// holding none of it whole; `usage` (when not null) reads its token counts on the way. The
/// head waits for the first bytes: an answer that comes whole in one read goes in one write
/// with its Content-Length, and an upstream that fails before any byte lets the relay try
/// another channel. Midway, the client's connection is closed on the short answer.
net::awaitable<PipeResult> pipe_body(http::Exchange& exchange, upstream::Response& response, std::string_view fields,
                                     UsageReader* usage, core::Metrics& metrics, const core::Cancellation& cancel);

}  // namespace nexus::relay
