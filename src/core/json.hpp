#pragma once
#include <boost/json/parse_options.hpp>

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

/// Appends `text` to `out` as a quoted JSON string, escaping quotes, backslashes and control
/// characters. Bytes that are not valid UTF-8 are replaced by U+FFFD so the output always parses.
void append_json_string(std::string& out, std::string_view text);

}  // namespace nexus::core
