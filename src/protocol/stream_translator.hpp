#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "protocol/counts.hpp"

namespace nexus::protocol {

/// Turns one API's event stream into another's as it passes, one upstream event at a time,
/// never holding the answer: what the client gets is only what this writes. One per stream;
/// one thread.
class StreamTranslator {
public:
    virtual ~StreamTranslator() = default;
    /// What the client gets as soon as the stream's head is out, before any upstream event.
    virtual void start(std::string& out) { (void)out; }
    /// One upstream event's data ("[DONE]" included), translated onto `out` (maybe nothing).
    virtual void on_event(std::string_view data, std::string& out) = 0;
    /// The upstream's stream ended properly: what the client is still owed.
    virtual void finish(std::string& out) = 0;
    /// The upstream failed midway: the error event that ends the client's stream.
    virtual void fail(const core::Error& error, std::string& out) = 0;
    /// The client's stream is whole (or ended on an error): nothing more goes to it, not even
    /// a keep-alive.
    bool ended() const { return ended_; }
    /// What the answer used, as far as it got.
    TokenCounts counts() const { return counts_; }
    /// The answer's deltas sent (about one token each: an estimate when no usage came).
    std::int64_t events() const { return events_; }

protected:
    TokenCounts counts_;
    std::int64_t events_ = 0;
    bool ended_ = false;
};

}  // namespace nexus::protocol
