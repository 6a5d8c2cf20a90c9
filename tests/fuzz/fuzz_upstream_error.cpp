// Upstream error bodies are arbitrary bytes: translation must give a valid OpenAI error that never
// holds the channel key.
#include <boost/json/parse.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "relay/upstream_error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static constexpr std::string_view kKey = "sk-fuzz-secret-key-123";
    if (size < 1) return 0;
    const int status = 400 + data[0] % 200;
    // Plant the key in the body so scrubbing is exercised.
    std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
    if (!body.empty() && data[0] & 1) body.insert(body.size() / 2, kKey);
    const auto e = nexus::relay::translate_upstream_error(status, body, kKey);
    const auto json = nexus::core::to_json(e);
    if (json.find(kKey) != std::string::npos) std::abort();
    boost::json::error_code ec;
    const auto doc = boost::json::parse(json, ec);
    if (ec || !doc.at("error").at("message").is_string()) std::abort();
    return 0;
}
