#pragma once
#include <boost/json/object.hpp>

#include <cstdint>

#include "core/result.hpp"

namespace nexus::core {

/// What calls of a model cost, in integer quota units: per 1,000,000 input, output and cached
/// input tokens, and per call. Each from 0 to kMaxPrice, so a cost never overflows int64.
struct Price {
    std::int64_t input = 0;
    std::int64_t output = 0;
    std::int64_t cached_input = 0;
    std::int64_t per_request = 0;

    bool free() const { return input == 0 && output == 0 && cached_input == 0 && per_request == 0; }
    friend bool operator==(const Price&, const Price&) = default;
};

inline constexpr std::int64_t kMaxPrice = 1'000'000'000;
/// Token counts beyond this are taken as this many when costed (no upstream call uses more).
inline constexpr std::int64_t kMaxCostedTokens = 1'000'000'000;

/// per_request + ceil((uncached input × input + cached × cached_input + output × output) / 1,000,000),
/// in int64 arithmetic. `prompt_tokens` includes `cached_tokens`.
std::int64_t cost(const Price& price, std::int64_t prompt_tokens, std::int64_t cached_tokens,
                  std::int64_t completion_tokens);

/// A price from `{"input":N,"output":N,"cached_input":N,"per_request":N}`: each an integer
/// from 0 to kMaxPrice, omitted = 0; any other field or value → a 400 naming the field.
Result<Price> parse_price(const boost::json::object& body);

/// The four fields of `price`, always all four.
boost::json::object price_json(const Price& price);

}  // namespace nexus::core
