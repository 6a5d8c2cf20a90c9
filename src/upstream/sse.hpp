#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>

namespace nexus::upstream::sse {

/// Server-sent events, as much as a relay needs. An event ends at a blank line; lines end with
/// "\n", "\r\n" or "\r".

/// Length of the longest prefix of `data` that holds only whole events (0 when no event is
/// complete yet). A relay forwards that prefix and keeps the rest for the next read, so the
/// client never sees half an event.
std::size_t complete_prefix(std::string_view data);

/// Calls `on_data(payload)` — or `on_data(payload, offset)`, offset being where the event's
/// first line starts in `events` — for each event in `events` (a complete prefix) that has data
/// lines; multi-line data is joined with "\n" as the SSE spec says. Comments and other fields are
/// skipped. `scratch` is reused to join lines so the common one-line case does not allocate.
template <class OnData>
void for_each_event(std::string_view events, std::string& scratch, OnData&& on_data);

/// One line's field name and value ("data: x" → {"data","x"}); for internal use and tests.
struct Field {
    std::string_view name;
    std::string_view value;
};
Field parse_field(std::string_view line);

template <class OnData>
void for_each_event(std::string_view events, std::string& scratch, OnData&& on_data) {
    std::string_view single;
    bool have_data = false;
    bool joined = false;
    std::size_t i = 0;
    std::size_t event_start = std::string_view::npos;  // first line of the current event
    while (i < events.size()) {
        if (event_start == std::string_view::npos) event_start = i;
        std::size_t end = events.find_first_of("\r\n", i);
        if (end == std::string_view::npos) end = events.size();
        const auto line = events.substr(i, end - i);
        std::size_t next = end;
        if (next < events.size()) next += (events[next] == '\r' && next + 1 < events.size() && events[next + 1] == '\n') ? 2 : 1;
        i = next;
        if (line.empty()) {
            if (have_data) {
                const std::string_view data = joined ? std::string_view(scratch) : single;
                if constexpr (std::is_invocable_v<OnData, std::string_view, std::size_t>) {
                    on_data(data, event_start);
                } else {
                    on_data(data);
                }
            }
            event_start = std::string_view::npos;
            have_data = false;
            joined = false;
            continue;
        }
        const auto field = parse_field(line);
        if (field.name != "data") continue;
        if (!have_data) {
            single = field.value;
            have_data = true;
        } else {
            if (!joined) {
                scratch.assign(single);
                joined = true;
            }
            scratch += '\n';
            scratch.append(field.value);
        }
    }
}

}  // namespace nexus::upstream::sse
