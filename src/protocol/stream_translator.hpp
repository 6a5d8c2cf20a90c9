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
    virtual bool ended() const = 0;
    /// What the answer used, as far as it got.
    virtual TokenCounts counts() const = 0;
    /// The answer's deltas sent (about one token each: an estimate when no usage came).
    virtual std::int64_t events() const = 0;
};

}  // namespace nexus::protocol
