#pragma once
#include <string>
#include <string_view>

namespace nexus::core {

/// `s` with A–Z made a–z; other bytes (UTF-8 included) as they are.
inline std::string ascii_lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return out;
}

}  // namespace nexus::core
