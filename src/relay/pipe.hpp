#pragma once
#include <optional>
#include <string_view>

#include "core/metrics.hpp"
#include "http/exchange.hpp"
#include "relay/usage.hpp"
#include "upstream/client.hpp"

namespace nexus::relay {

/// How piping an upstream's answer to the client ended.
struct PipeResult {
    bool sent = false;        ///< bytes reached the client: no other channel may be tried
    bool client_gone = false; ///< the client stopped taking the answer
    /// The upstream failed: before any byte was sent (`sent` false: another channel may be
    /// tried) or midway (the client's answer was ended as well as it could be).
    std::optional<upstream::CallFailure> failure;
};

/// Relays an event stream (chat, completions): the head at once, then each whole server-sent
/// event as soon as it is read, never half of one, its usage read as it passes (`usage`, which
/// also splices OpenAI's include_usage ending in). The next read waits until the client's
/// kernel took the last write (backpressure); the buffer holds one read's events and a partial
/// one (growing to 4 MiB for one huge event, past which bytes go on raw). An upstream that
/// breaks midway ends the client's stream with an error event the OpenAI SDKs raise.
/// `fields`: the answer's fields as text (Content-Type and the forwarded ones). When `cancel`
/// fired (the client left), a failed read is the client's doing: `client_gone`, nothing counted.
net::awaitable<PipeResult> pipe_events(http::Exchange& exchange, upstream::Response& response, std::string fields,
                                       StreamUsage& usage, core::Metrics& metrics, const core::Cancellation& cancel);

/// Relays any other 2xx answer (a JSON completion, embeddings, audio) as its bytes arrive,
/// holding none of it whole; `usage` (when not null) reads its token counts on the way. The
/// head waits for the first bytes: an answer that comes whole in one read goes in one write
/// with its Content-Length, and an upstream that fails before any byte lets the relay try
/// another channel. Midway, the client's connection is closed on the short answer.
net::awaitable<PipeResult> pipe_body(http::Exchange& exchange, upstream::Response& response, std::string_view fields,
                                     UsageReader* usage, core::Metrics& metrics, const core::Cancellation& cancel);

}  // namespace nexus::relay
