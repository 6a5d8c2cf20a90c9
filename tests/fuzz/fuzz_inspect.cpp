// Request inspection takes any bytes a client sends, JSON or multipart: it must answer, never
// crash or leak, and a multipart model it finds must lie where it says. A JSON body is read in one
// SAX pass; what it accepts must be what Boost.JSON's DOM parse reads the same way.
#include <boost/json/parse.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/json.hpp"
#include "relay/inspect.hpp"

namespace {

// An accepted JSON body parses as an object whose `model` (its last, as the DOM keeps it) and
// `stream` are what inspection read; a body that does not parse as an object is refused.
void check_against_dom(std::string_view body, const nexus::core::Result<nexus::relay::RequestInfo>& r) {
    boost::json::error_code ec;
    const auto doc = boost::json::parse(body, ec, {}, nexus::core::json_parse_options());
    const auto* object = ec ? nullptr : doc.if_object();
    if (object == nullptr) {
        if (r.has_value()) std::abort();
        return;
    }
    if (!r.has_value()) return;
    const auto* model = object->if_contains("model");
    if (model == nullptr || !model->is_string() || model->get_string() != r->model) std::abort();
    const auto* stream = object->if_contains("stream");
    const bool streams = stream != nullptr && stream->is_bool() && stream->get_bool();
    if (streams != r->stream) std::abort();
}

}  // namespace

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
        if (!endpoint.multipart) check_against_dom(body, r);
    }
    return 0;
}
