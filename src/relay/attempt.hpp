#pragma once
#include <string_view>

#include "core/cancellation.hpp"
#include "core/metrics.hpp"
#include "http/exchange.hpp"
#include "protocol/anthropic/request.hpp"
#include "relay/channel_calls.hpp"
#include "relay/endpoint.hpp"
#include "relay/inspect.hpp"
#include "relay/upstream_error.hpp"
#include "relay/usage.hpp"
#include "snapshot/snapshot.hpp"
#include "upstream/client.hpp"

namespace nexus::relay {

/// What an attempt needs of its I/O thread.
struct AttemptContext {
    upstream::Client& client;
    ChannelCalls& calls;
    core::Metrics& metrics;
    const config::Config& config;
};

/// What an attempt sends, and how its answer reaches a client that speaks another API.
struct AttemptRequest {
    std::string_view path;  ///< on the channel's origin
    std::string_view body;  ///< the client's bytes, or their translation
    /// The channel speaks another API than the client: its answer is translated back.
    bool translated = false;
    const protocol::anthropic::ToolNames* tool_names = nullptr;  ///< tool names shortened on the way out
    std::int64_t input_estimate = 0;  ///< the request's input tokens, estimated (an Anthropic stream's opening)
};

/// One attempt of a call on one channel: sends the client's request with the channel's key,
/// pipes a success to the client as it comes, and says what a failure means.
///
/// Lifetime: an Attempt lives in Relay::handle's frame for as long as run() runs. Its upstream
/// connection is private to it (held by the upstream::Response inside run()), and is closed by
/// `cancel` when the client leaves: the relay's client watcher holds that Cancellation by
/// shared_ptr, never the Attempt or its connection, so the watcher never points at anything
/// it can outlive; each step registers with the Cancellation only while it runs.
class Attempt {
public:
    /// How the attempt ended.
    struct Outcome {
        bool answered = false;     ///< the client got its answer, or the part of one it stayed for
        bool client_gone = false;  ///< the client left: no channel is to blame
        FailureKind kind = FailureKind::kTransient;  ///< else: the failure, before any byte reached the client
        core::Error error;                           ///< that failure as the client would be told
        Usage usage;                  ///< as the upstream reported it (the last running usage of a stream)
        bool usage_reported = false;  ///< whether the upstream reported any
        std::int64_t events = 0;      ///< data events of a stream relayed (each about one token)
        bool stream = false;          ///< the answer was an event stream
        bool delivered = false;       ///< an upstream's 2xx answer (or a part of it) reached the client
    };

    Attempt(AttemptContext context, http::Exchange& exchange, const Endpoint& endpoint, const RequestInfo& info,
            const snapshot::ChannelView& channel, AttemptRequest request, core::Cancellation& cancel)
        : ctx_(context), exchange_(exchange), endpoint_(endpoint), info_(info), channel_(channel), request_(request),
          cancel_(cancel) {}

    net::awaitable<Outcome> run();

private:
    net::awaitable<Outcome> relay_success(upstream::Response& response);
    /// A success in the channel's API, translated to the client's as it comes (a stream) or
    /// whole (an answer, which a translation needs whole).
    net::awaitable<Outcome> relay_translated(upstream::Response& response, std::string fields, bool events);
    net::awaitable<Outcome> relay_failure(upstream::Response& response);

    AttemptContext ctx_;
    http::Exchange& exchange_;
    const Endpoint& endpoint_;
    const RequestInfo& info_;
    const snapshot::ChannelView& channel_;
    AttemptRequest request_;
    core::Cancellation& cancel_;
};

}  // namespace nexus::relay
