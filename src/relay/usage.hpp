#pragma once
#include <boost/json/value.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace nexus::relay {

/// Token counts from an upstream answer.
struct Usage {
    std::int64_t prompt_tokens = 0;
    std::int64_t completion_tokens = 0;
    std::int64_t total_tokens = 0;
    std::int64_t cached_tokens = 0;  ///< of the prompt: prompt_tokens_details.cached_tokens or prompt_cache_hit_tokens
};

/// Reads the token counts of an answer or a stream chunk: OpenAI's `usage` object, or
/// SiliconFlow rerank's `tokens: {input_tokens, output_tokens}`. Nullopt when there is none (or
/// it is null, or the text is not a JSON object).
std::optional<Usage> usage_of(std::string_view json_text);

/// Reads the token counts of a JSON answer as it passes, piece by piece, holding none of it
/// (the same SAX reading as usage_of). One per answer; one thread.
class UsageReader {
public:
    UsageReader();
    ~UsageReader();
    UsageReader(const UsageReader&) = delete;
    UsageReader& operator=(const UsageReader&) = delete;

    /// The next piece of the answer.
    void feed(std::string_view piece);
    /// The counts, once the whole answer was fed; nullopt when it had none or was not JSON.
    std::optional<Usage> finish();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Follows the usage in a streamed chat or text completion, one event at a time, and makes its
/// end OpenAI-shaped for a client that asked for `stream_options.include_usage`.
///
/// SiliconFlow puts a running `usage` on every chunk and may send no usage-only chunk. OpenAI
/// clients that asked for include_usage expect one last chunk with `"choices": []` and the whole
/// request's usage before `data: [DONE]`. When the upstream sent no such chunk, final_event()
/// builds it from the last running usage (keeping every field the upstream gave, e.g.
/// `completion_tokens_details`) and the id, created, model and object of the stream's chunks.
class StreamUsage {
public:
    explicit StreamUsage(bool include_usage) : include_usage_(include_usage) {}

    /// One event's data (not "[DONE]").
    void observe(std::string_view data);

    /// The usage so far (the last running or final usage seen).
    const Usage& usage() const { return usage_; }
    /// Whether any event carried usage.
    bool reported() const { return reported_; }

    /// The usage-only event ("data: {...}\n\n") to send now, before [DONE] or at the end of the
    /// stream; empty when none is due (not asked for, sent by the upstream, already sent, or no
    /// usage was ever seen). Returns it once.
    std::string final_event();

private:
    bool include_usage_;
    bool upstream_sent_ = false;
    bool sent_ = false;
    bool reported_ = false;
    Usage usage_;
    boost::json::value usage_json_;  ///< the last usage object as the upstream sent it
    boost::json::value id_, created_, model_, object_;
};

}  // namespace nexus::relay
