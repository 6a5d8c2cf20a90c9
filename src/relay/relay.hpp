#pragma once
#include <functional>
#include <memory>
#include <random>
#include <string>

#include "core/metrics.hpp"
#include "http/exchange.hpp"
#include "relay/endpoint.hpp"
#include "relay/inspect.hpp"
#include "relay/model_catalog.hpp"
#include "relay/usage.hpp"
#include "relay/usage_sink.hpp"
#include "snapshot/snapshot.hpp"
#include "upstream/client.hpp"

namespace nexus::relay {

/// Relays the /v1 API: authenticates the nexus token against the snapshot, checks the body,
/// picks a channel (priority tier, then weighted random), forwards the client's bytes with the
/// channel's key, and fails over to the next channel on a failure that allows it, as long as no
/// byte has gone to the client. Event streams are relayed event by event, other streamed bodies
/// (audio) read by read. Every call leaves a usage record. One Relay per I/O thread.
class Relay {
public:
    /// Called (on the I/O thread) when a channel's key is rejected: disable it with `reason`.
    using DisableChannel = std::function<void(std::int64_t channel_id, std::string reason)>;

    Relay(upstream::Client& client, core::Metrics& metrics, const snapshot::SnapshotHolder& snapshots,
          UsageSink& usage, DisableChannel disable_channel, const config::Config& config);

    /// POST `endpoint.path`.
    net::awaitable<void> handle(http::Exchange& exchange, const Endpoint& endpoint);
    /// GET /v1/models and GET /v1/models/{id}: the models the caller can reach.
    net::awaitable<void> list_models(http::Exchange& exchange);
    net::awaitable<void> get_model(http::Exchange& exchange);

    /// Sends a tiny chat call through `channel` alone and reports how it went.
    net::awaitable<store::ChannelTestResult> test_channel(const snapshot::ChannelView& channel, std::string model,
                                                          const config::Config& config);

private:
    struct Attempt;
    struct Failure;
    struct Outcome;
    /// The calling token, or null after answering 401.
    net::awaitable<const snapshot::TokenView*> authenticate(http::Exchange& exchange, const snapshot::Snapshot& snap);
    net::awaitable<Outcome> try_channel(http::Exchange& exchange, const Endpoint& endpoint, const RequestInfo& info,
                                        const snapshot::ChannelView& channel, std::string_view body, Attempt& attempt);
    net::awaitable<std::optional<Failure>> send_request(const snapshot::ChannelView& channel, beast::http::verb method,
                                                        std::string_view target, std::string_view body,
                                                        const http::Request* client_request,
                                                        std::string_view request_id, Attempt& attempt,
                                                        const config::Config& config);
    net::awaitable<void> relay_stream(http::Exchange& exchange, Attempt& attempt, StreamUsage* events);
    net::awaitable<std::optional<std::vector<ModelEntry>>> fetch_models(const snapshot::ChannelView& channel);
    void note_failure(const snapshot::ChannelView& channel, const Failure& failure, std::chrono::milliseconds cooldown);

    upstream::Client& client_;
    core::Metrics& metrics_;
    snapshot::SnapshotHolder::Reader snapshots_;
    UsageSink& usage_;
    DisableChannel disable_channel_;
    const config::Config& config_;
    ModelCatalog models_;
    std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace nexus::relay
