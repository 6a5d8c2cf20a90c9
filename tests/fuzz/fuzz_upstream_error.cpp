// Upstream error bodies are arbitrary bytes: translation must give a valid OpenAI error that never
// holds the channel key.
#include <boost/json/parse.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "relay/upstream_error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static constexpr std::string_view kKey = "sk-fuzz-secret-key-123";
    if (size < 3) return 0;
    // data[0]: the status, any from 400 to 599; data[1]: whether and where to plant the key (so
    // scrubbing is exercised at every status, anywhere in the body: the message, a code, a
    // type, a param, past the cut).
    const int status = 400 + data[0] % 200;
    std::string body(reinterpret_cast<const char*>(data + 2), size - 2);
    if (data[1] & 1) body.insert(body.size() * (data[1] >> 1) / 127, kKey);
    const auto e = nexus::relay::translate_upstream_error(status, body, kKey);
    const auto json = nexus::core::to_json(e);
    if (json.find(kKey) != std::string::npos) std::abort();
    boost::json::error_code ec;
    const auto doc = boost::json::parse(json, ec);
    if (ec || !doc.at("error").at("message").is_string()) std::abort();
    return 0;
}
