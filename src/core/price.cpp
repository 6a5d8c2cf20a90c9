#include "core/price.hpp"

#include <algorithm>
#include <string>

namespace nexus::core {

namespace {

std::int64_t clamp_tokens(std::int64_t n) { return std::clamp<std::int64_t>(n, 0, kMaxCostedTokens); }

constexpr std::int64_t kPerMillion = 1'000'000;

}  // namespace

std::int64_t cost(const Price& price, std::int64_t prompt_tokens, std::int64_t cached_tokens,
                  std::int64_t completion_tokens) {
    const auto prompt = clamp_tokens(prompt_tokens);
    const auto cached = std::min(clamp_tokens(cached_tokens), prompt);
    const auto output = clamp_tokens(completion_tokens);
    // The input terms add up to at most 1e9 tokens × 1e9 units = 1e18, the output term as much:
    // 2e18, well inside int64 (9.2e18).
    const std::int64_t millionths =
        (prompt - cached) * price.input + cached * price.cached_input + output * price.output;
    return price.per_request + (millionths + kPerMillion - 1) / kPerMillion;
}

Result<Price> parse_price(const boost::json::object& body) {
    Price p;
    for (const auto& [name, v] : body) {
        std::int64_t* field = name == "input"          ? &p.input
                              : name == "output"       ? &p.output
                              : name == "cached_input" ? &p.cached_input
                              : name == "per_request"  ? &p.per_request
                                                       : nullptr;
        if (field == nullptr) {
            std::string message = "Unknown field '";
            message.append(name).append("': a price has input, output, cached_input and per_request.");
            return Error::bad_request(std::move(message), std::string(name), "unknown_field");
        }
        std::int64_t n = -1;
        if (v.is_int64()) {
            n = v.get_int64();
        } else if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(kMaxPrice)) {
            n = static_cast<std::int64_t>(v.get_uint64());
        }
        if (n < 0 || n > kMaxPrice) {
            std::string message = "'";
            message.append(name).append("' must be an integer from 0 to 1000000000.");
            return Error::bad_request(std::move(message), std::string(name), "invalid_value");
        }
        *field = n;
    }
    return p;
}

boost::json::object price_json(const Price& price) {
    return {{"input", price.input},
            {"output", price.output},
            {"cached_input", price.cached_input},
            {"per_request", price.per_request}};
}

}  // namespace nexus::core
