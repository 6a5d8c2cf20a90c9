#pragma once
#include <boost/json/object.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/anthropic/request.hpp"
#include "protocol/stream_translator.hpp"

namespace nexus::protocol::anthropic {

/// Anthropic's keep-alive event, for a stream that has been silent.
std::string_view ping_event();

/// An OpenAI chat completion stream as Anthropic's Messages stream. `message_start` goes first
/// (its usage the local input estimate, never 0); then content blocks with contiguous indices
/// from 0, one open at a time, each started before its deltas and stopped before the next
/// starts: reasoning_content → `thinking`, content → `text`, each tool call → `tool_use` with
/// `input_json_delta`s (a change of block kind or tool index closes one block and opens the
/// next, and that chunk's payload goes into the new block). No block is opened for empty text.
/// `finish_reason` closes the block; `message_delta` (stop_reason, usage) and `message_stop`
/// wait for the usage (same chunk or a later one) or the end of the stream, and are sent
/// once. Every event carries its `event:` line.
class ToAnthropicStream final : public StreamTranslator {
public:
    ToAnthropicStream(std::string message_id, std::string model, std::int64_t input_estimate, const ToolNames& names);
    void start(std::string& out) override;
    void on_event(std::string_view data, std::string& out) override;
    void finish(std::string& out) override;
    void fail(const core::Error& error, std::string& out) override;

private:
    enum class Block : std::uint8_t { kNone, kText, kThinking, kTool };
    void open(Block kind, boost::json::object content_block, std::string& out);
    void close(std::string& out);
    void end_message(std::string& out);
    void delta(boost::json::object delta, std::string& out);

    std::string id_;
    std::string model_;
    const ToolNames& names_;
    std::int64_t input_estimate_;
    Block open_ = Block::kNone;
    std::int64_t next_index_ = 0;   ///< the index the next block gets
    std::int64_t tool_index_ = -1;  ///< the OpenAI tool index of the open tool_use block
    std::string stop_reason_;       ///< set when a finish_reason came
    bool started_ = false;
};

/// An Anthropic Messages stream as an OpenAI chat completion stream: message_start → a first
/// chunk with the assistant role; a tool_use block → a tool call (its index counts tools, not
/// content blocks) whose `input_json_delta`s are its arguments; text → content; thinking →
/// reasoning_content; message_delta → finish_reason; message_stop → a usage chunk when the
/// client asked for include_usage, then `data: [DONE]`. Pings and signatures are dropped; an
/// error event becomes an OpenAI error the SDKs raise.
class ToOpenAIStream final : public StreamTranslator {
public:
    ToOpenAIStream(std::int64_t created, bool include_usage) : created_(created), include_usage_(include_usage) {}
    void on_event(std::string_view data, std::string& out) override;
    void finish(std::string& out) override;
    void fail(const core::Error& error, std::string& out) override;

private:
    void chunk(boost::json::object delta, std::string_view finish_reason, std::string& out);
    void merge_usage(const boost::json::object& usage);
    void end(std::string& out);

    std::int64_t created_;
    bool include_usage_;
    std::string id_;
    std::string model_;
    boost::json::object usage_;           ///< Anthropic's usage, merged as events bring it
    std::vector<std::int64_t> tool_of_block_;  ///< content block index → OpenAI tool index (-1: not a tool)
    std::int64_t tools_ = 0;
    bool finished_ = false;  ///< a finish_reason chunk went out
};

/// Reads the usage of an Anthropic stream relayed as it is (message_start's usage, then
/// message_delta's cumulative one) and counts its deltas.
class EventUsage {
public:
    void observe(std::string_view data);
    TokenCounts counts() const { return counts_; }
    std::int64_t events() const { return events_; }

private:
    boost::json::object usage_;
    TokenCounts counts_;
    std::int64_t events_ = 0;
};

}  // namespace nexus::protocol::anthropic
