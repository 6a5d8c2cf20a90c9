// Request inspection takes any bytes a client sends, JSON or multipart: it must answer, never
// crash or leak, and a multipart model it finds must lie where it says.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "relay/inspect.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    // The same bytes as every endpoint's body: JSON ones, and forms with a fixed boundary.
    for (const auto& endpoint : nexus::relay::endpoints()) {
        const auto r = nexus::relay::inspect_request(endpoint, body, "multipart/form-data; boundary=b");
        if (r.has_value()) {
            if (r->model.empty()) std::abort();
            if (endpoint.multipart && body.substr(r->model_offset, r->model.size()) != r->model) std::abort();
        } else if (r.error().status != 400 || r.error().message.empty()) {
            std::abort();
        }
    }
    return 0;
}
