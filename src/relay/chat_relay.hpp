#pragma once
#include <functional>
#include <memory>
#include <random>
#include <string>

#include "core/metrics.hpp"
#include "http/exchange.hpp"
#include "relay/usage_sink.hpp"
#include "snapshot/snapshot.hpp"
#include "upstream/client.hpp"

namespace nexus::relay {

/// Token counts from the upstream's `usage`.
struct Usage {
    std::int64_t prompt_tokens = 0;
    std::int64_t completion_tokens = 0;
    std::int64_t total_tokens = 0;
};

/// Reads `usage` from a completion or chunk JSON; nullopt when there is none (or it is null).
std::optional<Usage> usage_of(std::string_view json_text);

/// Relays POST /v1/chat/completions: authenticates the nexus token against the snapshot,
/// checks the body, picks a channel (priority tier, then weighted random), forwards the
/// client's bytes with the channel's key, and fails over to the next channel on a failure that
/// allows it, as long as no byte has gone to the client. Streams are relayed event by event.
/// Every call leaves a usage record. One ChatRelay per I/O thread.
class ChatRelay {
public:
    /// Called (on the I/O thread) when a channel's key is rejected: disable it with `reason`.
    using DisableChannel = std::function<void(std::int64_t channel_id, std::string reason)>;

    ChatRelay(upstream::Client& client, core::Metrics& metrics, const snapshot::SnapshotHolder& snapshots,
              UsageSink& usage, DisableChannel disable_channel);

    net::awaitable<void> handle(http::Exchange& exchange);

    /// Sends a tiny chat call through `channel` alone and reports how it went.
    net::awaitable<store::ChannelTestResult> test_channel(const snapshot::ChannelView& channel, std::string model,
                                                   const config::Config& config);

private:
    struct Attempt;
    struct Failure;
    struct Outcome;
    net::awaitable<Outcome> try_channel(http::Exchange& exchange, const snapshot::ChannelView& channel,
                                        std::string_view body, Attempt& attempt);
    net::awaitable<std::optional<Failure>> send_request(const snapshot::ChannelView& channel, std::string_view target,
                                                        std::string_view body, const http::Request* client_request,
                                                        std::string_view request_id, Attempt& attempt,
                                                        const config::Config& config);
    net::awaitable<void> relay_stream(http::Exchange& exchange, Attempt& attempt, Usage& usage);
    void note_failure(const snapshot::ChannelView& channel, const Failure& failure, std::chrono::milliseconds cooldown);

    upstream::Client& client_;
    core::Metrics& metrics_;
    snapshot::SnapshotHolder::Reader snapshots_;
    UsageSink& usage_;
    DisableChannel disable_channel_;
    std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace nexus::relay
