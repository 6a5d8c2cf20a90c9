#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "core/asio.hpp"
#include "core/price.hpp"
#include "core/result.hpp"
#include "snapshot/snapshot.hpp"

namespace nexus::admission {

/// What a call asks for, known before any channel is tried.
struct Ask {
    const snapshot::TokenView* token = nullptr;
    const std::string* model = nullptr;       ///< as the client sent it
    const core::Price* price = nullptr;       ///< the model's own price, or null
    std::int64_t prompt_bound = 0;            ///< prompt tokens at most (one per byte of the body)
    std::int64_t output_bound = 0;            ///< output tokens at most (max_tokens, or the configured bound)
};

/// The room held for one call, from its admission until it is settled.
struct Reservation {
    /// The token's counters: the snapshot the caller holds for the whole call keeps them alive
    /// (a pointer, not a shared_ptr: no reference count bouncing between threads per call).
    snapshot::TokenCounters* counters = nullptr;
    /// The owner's quota (null for a token without an owner), kept alive the same way.
    snapshot::QuotaCounter* owner = nullptr;
    std::int64_t owner_want = 0;  ///< held from the owner's quota (0 when it is unlimited)
    snapshot::TokenCounters::Limits limits;
    snapshot::TokenCounters::Want want;
    std::int64_t second = 0;
    core::Price price;        ///< what the call is billed at
    std::string rate_fields;  ///< x-ratelimit-* fields for every answer to the call ("Name: value\r\n" each)
    snapshot::TokenCounters::Admission state;  ///< this node's rate windows after the call was counted
    /// Where the call is also counted in Redis (limits shared by several nodes): its concurrency
    /// lease (empty: none) and the second its tokens were counted in.
    bool shared = false;
    std::int64_t token_id = 0;
    std::int64_t owner_id = 0;
    std::string lease;
    std::int64_t shared_second = 0;
    /// The quota held in Redis for the token and its owner (−1: none there), with the epoch it
    /// was held under.
    std::int64_t shared_token_quota = -1;
    std::int64_t token_epoch = 0;
    std::int64_t shared_owner_quota = -1;
    std::int64_t owner_epoch = 0;
};

/// What a call used. Nothing is billed unless `billed` (an upstream's answer reached the client).
struct Spent {
    bool billed = false;
    std::int64_t prompt_tokens = 0;
    std::int64_t cached_tokens = 0;
    std::int64_t completion_tokens = 0;
    std::int64_t total_tokens = 0;
};

/// Whether a call may go, and what it may use: reserve() before any channel is tried, settle()
/// once after, whatever happened (success, failure, the client gone). The relay's one seam for
/// limits and quota; a backend keeps its counters in memory, or in Redis when several nodes
/// share them, which is why reserve() is awaitable. Used from I/O threads.
class Admission {
public:
    virtual ~Admission() = default;
    /// A reservation, or the Error to answer the call with (403, 429…). Never throws.
    virtual net::awaitable<core::Result<Reservation>> reserve(const Ask& ask) = 0;
    /// Releases what `reservation` held and counts what the call used. Returns the quota it
    /// cost (never more than the token had left). Never throws.
    virtual std::int64_t settle(const Reservation& reservation, const Spent& spent) = 0;
    /// The x-ratelimit-* fields of `token` as they stand, for an answer given before reserve()
    /// (empty for a token without rpm or tpm).
    virtual std::string rate_fields(const snapshot::TokenView& token) const = 0;
};

/// Limits and quota of one node, in memory: each token's TokenCounters, beside the snapshot.
///
/// A call's price is its model's, else NEXUS_DEFAULT_PRICE; a token with a limited quota, or one
/// whose owner has one, may not call a model with neither (403 model_price_not_set); an
/// unlimited one calls it free. A call must fit in its token's quota and in its owner's, both
/// reserved before it goes and settled together after: what it is billed is taken from both. The
/// quota reserved is the call's cost at its bounds (the prompt at one token per byte of the
/// body, the output at max_tokens or NEXUS_OUTPUT_ESTIMATE_TOKENS), as are the tokens counted
/// against tpm; both settle to what the call used.
class LocalAdmission final : public Admission {
public:
    explicit LocalAdmission(const config::Config& config) : config_(config) {}
    net::awaitable<core::Result<Reservation>> reserve(const Ask& ask) override;
    std::int64_t settle(const Reservation& reservation, const Spent& spent) override;
    std::string rate_fields(const snapshot::TokenView& token) const override;

    /// The decision, without the coroutine frame (what reserve() returns). With `share` > 1 the
    /// token's rpm, tpm and max_concurrency are this node's share of them (each ÷ share, at
    /// least 1): what a node holds to when the counters it shares with the others cannot be reached.
    core::Result<Reservation> decide(const Ask& ask, std::int64_t share = 1) const;

private:
    const config::Config& config_;
};

/// The answer to a call the token's limits refuse (429, with Retry-After and the x-ratelimit-*
/// fields of `state`).
core::Error refusal(const Ask& ask, const snapshot::TokenCounters::Limits& limits,
                    const snapshot::TokenCounters::Want& want, const snapshot::TokenCounters::Admission& state);

/// The answer to a call that does not fit in what the token (or, with `owner`, its owner) has
/// left: 429 insufficient_quota, without Retry-After (waiting brings no quota back).
core::Error quota_refusal(const Ask& ask, std::int64_t cost, bool owner);

/// Appends the x-ratelimit-* fields ("Name: value\r\n" each) of a token with rpm and/or tpm, as
/// OpenAI sends them: limit, remaining and reset (until the window is empty), for requests and
/// for tokens.
void append_rate_limit_fields(std::string& out, const snapshot::TokenCounters::Limits& limits,
                              const snapshot::TokenCounters::Admission& state);

}  // namespace nexus::admission
