#pragma once
#include <memory>
#include <string>

#include "core/metrics.hpp"
#include "http/exchange.hpp"
#include "upstream/client.hpp"
#include "upstream/origin.hpp"

namespace nexus::relay {

/// An upstream account that calls are relayed to.
struct Channel {
    std::string name;
    upstream::Origin origin;
    std::string key;
};

/// Relays POST /v1/chat/completions to a channel: checks the body, forwards its bytes unchanged
/// with the channel's key, and answers with the upstream's status and body (translated into
/// OpenAI's error shape when it is an error), or relays the event stream frame by frame.
/// One ChatRelay per I/O thread (it uses that thread's upstream::Client).
class ChatRelay {
public:
    ChatRelay(upstream::Client& client, core::Metrics& metrics, std::shared_ptr<const Channel> channel);

    net::awaitable<void> handle(http::Exchange& exchange);

private:
    struct Attempt;
    net::awaitable<void> relay_stream(http::Exchange& exchange, Attempt& attempt);

    upstream::Client& client_;
    core::Metrics& metrics_;
    std::shared_ptr<const Channel> channel_;
};

}  // namespace nexus::relay
