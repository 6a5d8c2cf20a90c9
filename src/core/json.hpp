#pragma once
#include <boost/json/parse_options.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace nexus::core {

/// The one rule for JSON that comes from the network (request bodies, upstream answers): how
/// deeply it may nest. Every parse uses it, so bytes accepted once are never refused, or thrown
/// on, by a later parse of the same bytes.
inline constexpr std::size_t kMaxJsonDepth = 64;
inline boost::json::parse_options json_parse_options() {
    boost::json::parse_options options;
    options.max_depth = kMaxJsonDepth;
    return options;
}

/// The size limits a boost::json::basic_parser handler must declare, all unbounded: the body or
/// answer's own size limit and kMaxJsonDepth bound what a SAX pass reads. Handlers derive from it.
struct UnboundedSaxLimits {
    static constexpr std::size_t max_object_size = std::size_t(-1);
    static constexpr std::size_t max_array_size = std::size_t(-1);
    static constexpr std::size_t max_key_size = std::size_t(-1);
    static constexpr std::size_t max_string_size = std::size_t(-1);
};

/// Appends `text` to `out` as a quoted JSON string, escaping quotes, backslashes and control
/// characters. Bytes that are not valid UTF-8 are replaced by U+FFFD so the output always parses.
void append_json_string(std::string& out, std::string_view text);

}  // namespace nexus::core
