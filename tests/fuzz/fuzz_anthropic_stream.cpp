// The stream translators see whatever an upstream streams. Input: lines, each one upstream
// event's data; the first byte picks the direction and whether the stream fails midway.
// Properties: nothing crashes; OpenAI chunks, however odd (blocks switching, tool indices
// jumping, usage early, late or never, junk), always become a well-formed Anthropic stream
// (tests/protocol/stream_check.hpp); Anthropic events always end in one [DONE] unless an error
// ended them.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "../protocol/stream_check.hpp"
#include "protocol/anthropic/stream.hpp"

namespace anthropic = nexus::protocol::anthropic;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const auto mode = data[0];
    std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    anthropic::ToolNames names;
    anthropic::ToAnthropicStream to_anthropic("msg_f", "model", 7, names);
    anthropic::ToOpenAIStream to_openai(1, (mode & 2) != 0);
    nexus::protocol::StreamTranslator& t =
        (mode & 1) ? static_cast<nexus::protocol::StreamTranslator&>(to_openai) : to_anthropic;
    std::string out;
    t.start(out);
    while (!rest.empty()) {
        const auto nl = rest.find('\n');
        t.on_event(rest.substr(0, nl), out);
        rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    }
    const bool fail = (mode & 4) != 0;
    if (fail) {
        t.fail(nexus::core::Error::bad_gateway("broke"), out);
    } else {
        t.finish(out);
    }
    if (!t.ended()) std::abort();
    if ((mode & 1) == 0) {
        if (const auto v = nexus::testing::anthropic_stream_violation(out, false)) {
            std::fprintf(stderr, "%s\n%s\n", v->c_str(), out.c_str());
            std::abort();
        }
    } else {
        const auto done = out.find("data: [DONE]\n\n");
        const bool errored = out.find("data: {\"error\"") != std::string::npos;
        if (done == std::string::npos && !errored) std::abort();
        if (done != std::string::npos && done + 14 != out.size()) std::abort();
    }
    return 0;
}
