#pragma once
#include <chrono>
#include <cstdint>

namespace nexus::core {

/// The one time helper: wall-clock time as stored and shown (unix seconds), and durations as
/// logged and recorded (whole milliseconds). Deadlines use std::chrono::steady_clock directly.

/// Now, in unix seconds.
inline std::int64_t unix_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/// `d` in whole milliseconds.
template <class Rep, class Period>
std::int64_t millis(std::chrono::duration<Rep, Period> d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

}  // namespace nexus::core
