#include "relay/endpoint.hpp"

#include <algorithm>
#include <array>

namespace nexus::relay {

namespace {

using core::Route;
using enum FieldShape;

constexpr RequiredField kChat[] = {{"messages", kNonEmptyArray}};
constexpr RequiredField kCompletions[] = {{"prompt", kStringOrArray}};
constexpr RequiredField kEmbeddings[] = {{"input", kStringOrArray}};
constexpr RequiredField kRerank[] = {{"query", kString}, {"documents", kNonEmptyArray}};
constexpr RequiredField kImages[] = {{"prompt", kString}};
constexpr RequiredField kSpeech[] = {{"input", kString}};
constexpr RequiredField kAudioFile[] = {{"file", kString}};  // a form part
constexpr RequiredField kMessages[] = {{"messages", kNonEmptyArray}, {"max_tokens", kCount}};
constexpr RequiredField kCountTokens[] = {{"messages", kNonEmptyArray}};

using core::WireProtocol;

constexpr std::array kEndpoints{
    Endpoint{"/v1/chat/completions", Route::kChatCompletions, false, true, true, kChat, true, WireProtocol::kOpenAI, true},
    Endpoint{"/v1/messages", Route::kMessages, false, true, true, kMessages, true, WireProtocol::kAnthropic, true},
    Endpoint{"/v1/completions", Route::kCompletions, false, true, true, kCompletions},
    Endpoint{"/v1/embeddings", Route::kEmbeddings, false, false, false, kEmbeddings},
    Endpoint{"/v1/rerank", Route::kRerank, false, false, false, kRerank},
    Endpoint{"/v1/images/generations", Route::kImages, false, false, false, kImages, false},
    Endpoint{"/v1/audio/speech", Route::kAudio, false, true, false, kSpeech, false},
    Endpoint{"/v1/audio/transcriptions", Route::kAudio, true, false, false, kAudioFile, false},
    Endpoint{"/v1/audio/translations", Route::kAudio, true, false, false, kAudioFile, false},
};

constexpr Endpoint kCountTokensEndpoint{"/v1/messages/count_tokens", Route::kCountTokens, false, false, false,
                                        kCountTokens, false, WireProtocol::kAnthropic, false};

constexpr bool required_fit(const Endpoint& e) { return e.required.size() <= kMaxRequiredFields; }
static_assert(std::ranges::all_of(kEndpoints, required_fit) && required_fit(kCountTokensEndpoint),
              "an endpoint lists more required fields than kMaxRequiredFields");

}  // namespace

const Endpoint& count_tokens_endpoint() { return kCountTokensEndpoint; }

std::span<const Endpoint> endpoints() { return kEndpoints; }

std::string_view upstream_path(const Endpoint& endpoint, core::WireProtocol protocol) {
    if (endpoint.protocol == protocol) return endpoint.path;
    return protocol == WireProtocol::kAnthropic ? "/v1/messages" : "/v1/chat/completions";
}

const Endpoint* find_endpoint(std::string_view path) {
    for (const auto& e : kEndpoints) {
        if (e.path == path) return &e;
    }
    return nullptr;
}

}  // namespace nexus::relay
