#include "core/request_id.hpp"

#include <random>

namespace nexus::core {

bool is_sane_request_id(std::string_view id) {
    if (id.empty() || id.size() > 128) return false;
    for (const char c : id) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                        c == '_' || c == '.' || c == ':';
        if (!ok) return false;
    }
    return true;
}

std::string make_request_id() {
    static constexpr char kHex[] = "0123456789abcdef";
    thread_local std::mt19937_64 rng{std::random_device{}()};
    std::string id(32, '0');
    for (int half = 0; half < 2; ++half) {
        auto v = rng();
        for (int i = 0; i < 16; ++i) {
            id[half * 16 + i] = kHex[v & 0xF];
            v >>= 4;
        }
    }
    return id;
}

}  // namespace nexus::core
