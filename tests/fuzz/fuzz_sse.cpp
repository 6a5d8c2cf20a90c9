// The SSE reader sees whatever an upstream sends, cut wherever TCP cuts it. Property: the events
// found do not depend on where the bytes were split, and the prefix is always in range.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "upstream/sse.hpp"

namespace sse = nexus::upstream::sse;

static std::vector<std::string> read_in_pieces(std::string_view text, std::size_t split) {
    std::vector<std::string> events;
    std::string pending;
    std::string scratch;
    auto drain = [&] {
        const auto cut = sse::complete_prefix(pending);
        if (cut > pending.size()) std::abort();
        sse::for_each_event(std::string_view(pending).substr(0, cut), scratch,
                            [&](std::string_view d) { events.emplace_back(d); });
        pending.erase(0, cut);
    };
    pending.append(text.substr(0, split));
    drain();
    pending.append(text.substr(split));
    drain();
    // Whatever is left is a partial event; a stream that ends here ends it.
    pending += "\n\n";
    drain();
    return events;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
    const std::size_t split = text.empty() ? 0 : data[0] % (text.size() + 1);
    const auto whole = read_in_pieces(text, text.size());
    const auto pieces = read_in_pieces(text, split);
    // CR, LF and CRLF all end a line, and a CR at the end of a read may be the first half of a
    // CRLF: wherever TCP cuts, the events are the same.
    if (whole != pieces) std::abort();
    return 0;
}
