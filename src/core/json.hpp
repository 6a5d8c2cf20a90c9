#pragma once
#include <string>
#include <string_view>

namespace nexus::core {

/// Appends `text` to `out` as a quoted JSON string, escaping quotes, backslashes and control
/// characters. Bytes that are not valid UTF-8 are replaced by U+FFFD so the output always parses.
void append_json_string(std::string& out, std::string_view text);

}  // namespace nexus::core
