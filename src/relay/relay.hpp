#pragma once
#include <functional>
#include <memory>
#include <random>
#include <string>

#include "core/cancellation.hpp"
#include "core/metrics.hpp"
#include "http/exchange.hpp"
#include "relay/endpoint.hpp"
#include "relay/inspect.hpp"
#include "relay/model_catalog.hpp"
#include "relay/upstream_error.hpp"
#include "relay/usage.hpp"
#include "relay/usage_sink.hpp"
#include "snapshot/snapshot.hpp"
#include "upstream/client.hpp"

namespace nexus::relay {

/// Relays the /v1 API: authenticates the nexus token against the snapshot (from the request's
/// head, before its body is read), checks the body, picks a channel (priority tier, then
/// weighted random), forwards the client's bytes with the channel's key, and fails over to the
/// next channel on a failure that allows it, as long as no byte has gone to the client. Answers
/// are piped as they arrive, never held whole. A client that leaves cancels the upstream step in
/// progress, whatever it is, and no upstream call starts after it left. Every call leaves a
/// usage record. One Relay per I/O thread.
class Relay {
public:
    /// Called (on the I/O thread) when a channel's key is confirmed at fault: disable it with `reason`.
    using DisableChannel = std::function<void(std::int64_t channel_id, std::string reason)>;

    Relay(upstream::Client& client, core::Metrics& metrics, const snapshot::SnapshotHolder& snapshots,
          UsageSink& usage, DisableChannel disable_channel, const config::Config& config);

    /// POST `endpoint.path`.
    net::awaitable<void> handle(http::Exchange& exchange, const Endpoint& endpoint);
    /// GET /v1/models and GET /v1/models/{id}: the models the caller can reach.
    net::awaitable<void> list_models(http::Exchange& exchange);
    net::awaitable<void> get_model(http::Exchange& exchange);

    /// Sends a tiny chat call (its test model, one token) through `channel` alone and reports how it went.
    net::awaitable<store::ChannelTestResult> test_channel(const snapshot::ChannelView& channel);

private:
    struct Outcome;
    struct Answer;
    /// What a probe of a channel's key (with the key alone, no client header) says.
    enum class KeyVerdict { kFine, kAtFault, kUnknown, kBusy };

    net::awaitable<const snapshot::TokenView*> authenticate(http::Exchange& exchange, const snapshot::Snapshot& snap);
    net::awaitable<Outcome> attempt(http::Exchange& exchange, const Endpoint& endpoint, const RequestInfo& info,
                                    const snapshot::ChannelView& channel, std::string_view body,
                                    core::Cancellation& cancel);
    net::awaitable<Outcome> relay_failure(http::Exchange& exchange, const snapshot::ChannelView& channel,
                                          upstream::Response& response, core::Cancellation& cancel);
    net::awaitable<KeyVerdict> probe_key(const snapshot::ChannelView& channel, FailureKind kind,
                                         core::Cancellation& cancel);
    /// One call to `channel` with its key alone (no client, no client header), its answer read
    /// whole (at most `limit` bytes): probes, channel tests, model lists.
    net::awaitable<Answer> call_alone(const snapshot::ChannelView& channel, beast::http::verb method,
                                      std::string_view path, std::string_view body, std::size_t limit,
                                      std::chrono::milliseconds budget, core::Cancellation* cancel);
    net::awaitable<std::optional<std::vector<ModelEntry>>> fetch_models(const snapshot::ChannelView& channel);
    /// What a confirmed failure of `channel` costs it: disabled (a key at fault), a step toward
    /// its breaker (transient), or nothing.
    void blame(const snapshot::ChannelView& channel, FailureKind kind, const core::Error& error);
    /// The head fields of a request to `channel`: the client's forwarded ones (`client`, when
    /// there is a client) and ours.
    static std::string request_fields(const snapshot::ChannelView& channel, std::string_view request_id,
                                      const http::Request* client);

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
