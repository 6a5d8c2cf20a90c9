#include "upstream/sse.hpp"

namespace nexus::upstream::sse {

std::size_t complete_prefix(std::string_view data) {
    // Walk line by line; remember where the last blank line ended.
    std::size_t last_end = 0;
    std::size_t i = 0;
    bool line_empty = true;
    while (i < data.size()) {
        const char c = data[i];
        if (c == '\r' || c == '\n') {
            std::size_t next = i + 1;
            if (c == '\r') {
                // A "\r" at the very end may be the first half of "\r\n": wait for more.
                if (next == data.size()) break;
                if (data[next] == '\n') ++next;
            }
            if (line_empty) last_end = next;
            line_empty = true;
            i = next;
        } else {
            line_empty = false;
            ++i;
        }
    }
    // A leading blank line alone is no event, but it is harmless to forward it.
    return last_end;
}

Field parse_field(std::string_view line) {
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) return {line, {}};
    auto value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    return {line.substr(0, colon), value};
}

}  // namespace nexus::upstream::sse
