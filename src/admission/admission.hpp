#pragma once
#include <cstdint>
#include <string_view>

#include "core/asio.hpp"
#include "core/result.hpp"

namespace nexus::admission {

/// What a call asks for, known before any channel is tried.
struct Ask {
    std::int64_t token_id = 0;
    std::string_view model;
    std::size_t body_bytes = 0;
    bool stream = false;
};

/// The room held for one call, from its admission until it is settled.
struct Reservation {
    std::int64_t id = 0;
};

/// What a call used, as the upstream counted it (zeros when no upstream answered).
struct Spent {
    std::int64_t prompt_tokens = 0;
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
    /// Releases what `reservation` held beyond `spent` and counts `spent`. Never throws.
    virtual void settle(const Reservation& reservation, const Spent& spent) = 0;
};

/// Admits every call and counts nothing: there are no limits or quotas yet.
class AdmitAll final : public Admission {
public:
    net::awaitable<core::Result<Reservation>> reserve(const Ask& ask) override;
    void settle(const Reservation& reservation, const Spent& spent) override;
};

}  // namespace nexus::admission
