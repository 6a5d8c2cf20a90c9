#include "relay/endpoint.hpp"

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

constexpr std::array kEndpoints{
    Endpoint{"/v1/chat/completions", Route::kChatCompletions, false, true, true, kChat},
    Endpoint{"/v1/completions", Route::kCompletions, false, true, true, kCompletions},
    Endpoint{"/v1/embeddings", Route::kEmbeddings, false, false, false, kEmbeddings},
    Endpoint{"/v1/rerank", Route::kRerank, false, false, false, kRerank},
    Endpoint{"/v1/images/generations", Route::kImages, false, false, false, kImages, false},
    Endpoint{"/v1/audio/speech", Route::kAudio, false, true, false, kSpeech, false},
    Endpoint{"/v1/audio/transcriptions", Route::kAudio, true, false, false, kAudioFile, false},
    Endpoint{"/v1/audio/translations", Route::kAudio, true, false, false, kAudioFile, false},
};

}  // namespace

std::span<const Endpoint> endpoints() { return kEndpoints; }

const Endpoint* find_endpoint(std::string_view path) {
    for (const auto& e : kEndpoints) {
        if (e.path == path) return &e;
    }
    return nullptr;
}

}  // namespace nexus::relay
