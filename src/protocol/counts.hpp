#pragma once
#include <cstdint>

namespace nexus::protocol {

/// The token counts of an answer, read by a translator as it passes: OpenAI's sense (the prompt
/// includes its cached part).
struct TokenCounts {
    std::int64_t prompt = 0;
    std::int64_t completion = 0;
    std::int64_t cached = 0;     ///< of the prompt, read from a cache
    bool reported = false;       ///< the upstream said them (else they are zero or estimated)
};

}  // namespace nexus::protocol
