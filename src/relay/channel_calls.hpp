#pragma once
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/cancellation.hpp"
#include "relay/model_catalog.hpp"
#include "relay/upstream_error.hpp"
#include "snapshot/snapshot.hpp"
#include "store/types.hpp"
#include "upstream/client.hpp"

namespace nexus::relay {

/// Calls to one channel with its key alone, no client and no client header: the probe of a key
/// a failure put in doubt, the channel test, the channel's model list. Each reads its answer
/// whole (bounded). One per I/O thread.
class ChannelCalls {
public:
    ChannelCalls(upstream::Client& client, const config::Config& config) : client_(client), config_(config) {}

    /// An answer read whole: `status` 0 when none came (then `error` says why).
    struct Answer {
        int status = 0;
        std::string body;
        core::Error error;
    };
    net::awaitable<Answer> call(const snapshot::ChannelView& channel, beast::http::verb method, std::string_view path,
                                std::string_view body, std::size_t limit, std::chrono::milliseconds budget,
                                core::Cancellation* cancel);

    /// What a probe says of a channel's key after a failure of `kind` (kKeyRejected or
    /// kBalance): a rejected key is checked against the model list, which costs nothing; an
    /// account that cannot pay only shows on a call that costs (a one-token chat of the channel's
    /// test model), as does an upstream with no list. kBusy: another thread is probing that
    /// channel now (one probe per channel at a time).
    enum class KeyVerdict { kFine, kAtFault, kUnknown, kBusy };
    net::awaitable<KeyVerdict> probe_key(const snapshot::ChannelView& channel, FailureKind kind,
                                         core::Cancellation& cancel);

    /// A one-token chat of the channel's test model, and how it went.
    net::awaitable<store::ChannelTestResult> test(const snapshot::ChannelView& channel);

    /// The channel's upstream model list (GET /v1/models); nullopt when it failed (logged,
    /// never with the key).
    net::awaitable<std::optional<std::vector<ModelEntry>>> model_list(const snapshot::ChannelView& channel);

private:
    upstream::Client& client_;
    const config::Config& config_;
};

}  // namespace nexus::relay
