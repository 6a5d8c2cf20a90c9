#pragma once
#include <boost/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>

// Small readers for translated JSON, internal to protocol/anthropic: a missing or mistyped
// member reads as empty, so a translator decides what absence means in one place.
namespace nexus::protocol::anthropic::detail {

namespace json = boost::json;

inline const json::value* member(const json::object& o, std::string_view key) { return o.if_contains(key); }

inline std::string_view string_of(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

inline const json::object* object_of(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v != nullptr && v->is_object() ? &v->get_object() : nullptr;
}

inline const json::array* array_of(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v != nullptr && v->is_array() ? &v->get_array() : nullptr;
}

inline std::int64_t int_of(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    if (v == nullptr) return 0;
    if (v->is_int64()) return v->get_int64();
    if (v->is_uint64()) return static_cast<std::int64_t>(v->get_uint64() > INT64_MAX ? INT64_MAX : v->get_uint64());
    if (v->is_double()) {
        // A count sent as a float: in range, or none (a cast out of range is undefined).
        const double d = v->get_double();
        return d >= -9.0e18 && d <= 9.0e18 ? static_cast<std::int64_t>(d) : 0;
    }
    return 0;
}

/// `messages[3].content` and the like, for a 400's `param`.
inline std::string at(std::string_view array, std::size_t i, std::string_view field = {}) {
    std::string out(array);
    out.append("[").append(std::to_string(i)).append("]");
    if (!field.empty()) out.append(".").append(field);
    return out;
}

}  // namespace nexus::protocol::anthropic::detail
