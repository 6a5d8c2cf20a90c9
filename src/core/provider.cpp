#include "core/provider.hpp"

#include <array>

namespace nexus::core {

namespace {

constexpr std::array kProviders{
    Provider{"OpenAI", "https://api.openai.com", "gpt-4o-mini", "Authorization", "Bearer ", WireProtocol::kOpenAI},
    Provider{"SiliconFlow", "https://api.siliconflow.cn", "Qwen/Qwen2.5-7B-Instruct", "Authorization", "Bearer ",
             WireProtocol::kOpenAI},
    Provider{"OpenAI-Compatible", "", "gpt-4o-mini", "Authorization", "Bearer ", WireProtocol::kOpenAI},
    Provider{"Anthropic", "https://api.anthropic.com", "claude-haiku-4-5", "x-api-key", "", WireProtocol::kAnthropic},
};

}  // namespace

std::span<const Provider> providers() { return kProviders; }

const Provider* find_provider(std::string_view type) {
    for (const auto& p : kProviders) {
        if (p.type == type) return &p;
    }
    return nullptr;
}

}  // namespace nexus::core
