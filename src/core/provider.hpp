#pragma once
#include <cstdint>
#include <span>
#include <string_view>

namespace nexus::core {

/// The API a provider speaks. Requests in another go through a translation (protocol/).
enum class WireProtocol : std::uint8_t {
    kOpenAI,  ///< OpenAI's chat completions and the rest of /v1; errors in OpenAI's shape or
              ///< SiliconFlow's {code,message,data}, both read by the one error translation
    kAnthropic,  ///< Anthropic's Messages API (POST /v1/messages, x-api-key, anthropic-version)
};

/// One kind of channel: what nexus-api knows of a provider. The one table of them is in
/// provider.cpp; a new provider is a new row.
struct Provider {
    std::string_view type;              ///< the channel `type` an admin gives
    std::string_view default_base_url;  ///< empty: the admin must give base_url
    std::string_view test_model;        ///< the model of a channel test, unless the channel lists models
    std::string_view auth_header;       ///< where the channel's key goes
    std::string_view auth_prefix;       ///< what goes before the key in that header
    WireProtocol protocol;
};

/// Every provider.
std::span<const Provider> providers();
/// The provider of channel `type`, or null for an unknown type.
const Provider* find_provider(std::string_view type);

}  // namespace nexus::core
