#pragma once
#include <functional>
#include <memory>
#include <random>
#include <span>
#include <string>

#include "admission/admission.hpp"
#include "core/metrics.hpp"
#include "http/exchange.hpp"
#include "relay/attempt.hpp"
#include "relay/channel_calls.hpp"
#include "relay/endpoint.hpp"
#include "relay/model_catalog.hpp"
#include "relay/usage_sink.hpp"
#include "snapshot/snapshot.hpp"
#include "upstream/client.hpp"

namespace nexus::relay {

/// What a call is billed: the usage the upstream reported, or an estimate of what reached the
/// client when it reported none; the quota it cost and the price it was billed at.
struct Billed {
    Usage usage;
    bool estimated = false;
    std::int64_t quota = 0;
    core::Price price;
};
/// The usage to bill for a call that ended as `outcome` (quota and price left for admission).
/// Nothing unless an upstream's success reached the client; an estimate when it reported no
/// usage on an endpoint that `counts_tokens`.
Billed bill(const Attempt::Outcome& outcome, bool counts_tokens, std::int64_t body_bytes, std::uint64_t bytes_out);

/// Settles a reservation exactly once: with what the call used, or with nothing when the call
/// ends another way (an exception, the shutdown grace destroying its frame), so a concurrency
/// slot or a reserve is never held for good.
class Settlement {
public:
    Settlement(admission::Admission& admission, admission::Reservation reservation)
        : admission_(admission), reservation_(std::move(reservation)) {}
    Settlement(const Settlement&) = delete;
    Settlement& operator=(const Settlement&) = delete;
    ~Settlement() {
        if (!settled_) admission_.settle(reservation_, {});
    }
    const admission::Reservation& reservation() const { return reservation_; }
    /// The quota the call cost.
    std::int64_t settle(const admission::Spent& spent) {
        settled_ = true;
        return admission_.settle(reservation_, spent);
    }

private:
    admission::Admission& admission_;
    admission::Reservation reservation_;
    bool settled_ = false;
};

/// Relays the /v1 API: authenticates the nexus token against the snapshot (from the request's
/// head, before its body is read), checks the body, asks admission for room, picks a channel
/// (priority tier, then weighted random), forwards the client's bytes with the channel's key
/// (one Attempt per channel), and fails over to the next channel on a failure that allows it,
/// as long as no byte has gone to the client. Answers are piped as they arrive, never held
/// whole. A client that leaves cancels the upstream step in progress, whatever it is, and no
/// upstream call starts after it left. Every call is settled with admission and leaves a usage
/// record. One Relay per I/O thread.
class Relay {
public:
    /// Called (on the I/O thread) when a channel's key is confirmed at fault: disable it with `reason`.
    using DisableChannel = std::function<void(std::int64_t channel_id, std::string reason)>;

    Relay(upstream::Client& client, core::Metrics& metrics, const snapshot::SnapshotHolder& snapshots,
          admission::Admission& admission, UsageSink& usage, DisableChannel disable_channel,
          const config::Config& config);

    /// POST `endpoint.path`.
    net::awaitable<void> handle(http::Exchange& exchange, const Endpoint& endpoint);
    /// POST /v1/messages/count_tokens: the input tokens of an Anthropic Messages request,
    /// estimated here (no upstream call, no quota): never 0, growing with the text.
    net::awaitable<void> count_tokens(http::Exchange& exchange);
    /// GET /v1/models and GET /v1/models/{model...}: the models the caller can reach (model_routes.cpp).
    net::awaitable<void> list_models(http::Exchange& exchange);
    net::awaitable<void> get_model(http::Exchange& exchange);

    /// A one-token chat through `channel` alone, and how it went (the admin API's channel test).
    net::awaitable<store::ChannelTestResult> test_channel(const snapshot::ChannelView& channel) {
        return calls_.test(channel);
    }

private:
    /// The calling token, or null after answering 401; `now_s` is the call's start (Unix seconds).
    /// A client of Anthropic's API (`protocol`) may send the token as `x-api-key` too.
    net::awaitable<const snapshot::TokenView*> authenticate(http::Exchange& exchange, const snapshot::Snapshot& snap,
                                                            core::WireProtocol protocol, std::int64_t now_s);
    /// What a confirmed failure of `channel` costs it: disabled (a key at fault), a step toward
    /// its breaker (transient), or nothing.
    void blame(const snapshot::ChannelView& channel, FailureKind kind, const core::Error& error);
    /// The usage row of a call (written later, off this thread).
    void record_usage(http::Exchange& exchange, const snapshot::TokenView& token, const RequestInfo& info,
                      std::span<const std::int64_t> tried, const Billed& billed, std::int64_t started_s);

    upstream::Client& client_;
    core::Metrics& metrics_;
    snapshot::SnapshotHolder::Reader snapshots_;
    admission::Admission& admission_;
    UsageSink& usage_;
    DisableChannel disable_channel_;
    const config::Config& config_;
    ChannelCalls calls_;
    ModelCatalog models_;
    std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace nexus::relay
