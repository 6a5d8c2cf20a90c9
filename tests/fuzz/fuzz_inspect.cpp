// Request inspection takes any bytes a client sends: it must answer, never crash or leak.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "relay/inspect.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    const auto r = nexus::relay::inspect_chat_request(body);
    if (r.has_value()) {
        if (r->model.empty()) std::abort();
    } else if (r.error().status != 400 || r.error().message.empty()) {
        std::abort();
    }
    return 0;
}
