#pragma once
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace nexus::testing {

/// What the mock upstream received.
struct RecordedRequest {
    std::string method;
    std::string target;
    std::map<std::string, std::string> headers;  ///< lower-case names
    std::string body;
};

/// A SiliconFlow-like upstream for tests, on 127.0.0.1, over http or TLS, on its own thread.
///
/// It answers POST /v1/chat/completions in SiliconFlow's wire shapes. A request whose
/// Authorization is not "Bearer <a good key>" gets 401 with the bare JSON string "Invalid
/// token"; one that carries OpenAI-Organization gets 401 as OpenAI answers for an organisation
/// the key does not belong to; a `poor_keys` key gets SiliconFlow's balance error (403, code
/// 30001) on every call but the model list. The `model` picks a scenario:
///   (any other)          a completion; with "stream":true an event stream whose every chunk
///                        carries a running `usage`, then `data: [DONE]`
///   mock-unknown-model   400 {"code":20012,"message":"Model does not exist. ...","data":null}
///   mock-rate-limit      429 {"message":"Request was rejected due to rate limiting...","data":null}, Retry-After: 7
///   mock-balance         403 {"code":30001,"message":"Sorry, your account balance is insufficient"}
///   mock-request-401     401 for this request only (OpenAI's "no organization" error); the key is good
///   mock-overloaded      503 {"code":50505,"message":"Model service overloaded. ...","data":null}
///   mock-plain-404       404 text/plain "404 page not found"
///   mock-echo-key        500 whose message holds the key it was sent (to test scrubbing)
///   mock-hang            reads the request and never answers (counted in aborted_streams()
///                        when the caller closes the connection)
///   mock-die-mid-stream  a stream that sends two frames and then drops the connection
///   mock-stall-stream    a stream that sends two frames and then goes silent
///   mock-usage-chunk     a stream that ends with OpenAI's usage-only chunk (`choices: []`)
///   mock-no-done         a stream that ends properly but without `data: [DONE]`
///   mock-slow-body       a 40 KB completion (usage last) whose second half comes 500 ms after the first
/// Faults (each a malformed or broken answer; with "stream":true where it says so):
///   mock-reset-after-request  a TCP reset right after the request is read
///   mock-reset-after-status   the status line, then a reset
///   mock-reset-mid-body       the head and part of the body (two frames of a stream), then a reset
///   mock-half-close           no answer: the upstream shuts its side down and waits
///   mock-garbage-status       a status line that is not HTTP
///   mock-bad-chunk            broken chunked framing (after one frame of a stream)
///   mock-huge-header          a response head over 64 KiB
///   mock-trickle              the status line at one byte a second
/// Tool calls (mock_anthropic.cpp): mock-tool-call answers with reasoning and one call per
/// offered tool (at most two), streamed the way providers stream them (the second call's name
/// and first arguments in one chunk); a conversation whose last message is a tool result gets
/// "Tool said: <result>". mock-pause-stream: two frames 1.5 s apart (for keep-alive pings).
/// Anthropic's wire, at POST /v1/messages: the key as x-api-key (401 in Anthropic's shape
/// otherwise), anthropic-version required (400), a message or its event stream (pings, thinking
/// with a signature, tool_use with input_json_delta, usage 8 + 2 cached in, cache read), and
/// its errors by model: mock-rate-limit 429, mock-overloaded 529, mock-unknown-model 404,
/// mock-bad-request 400 "prompt is too long…".
/// Stream pacing comes from the body (which the relay forwards as it is): "mock_frames"
/// (default 3) and "mock_interval_ms" (default 0).
///
/// The other endpoints answer in SiliconFlow's shapes too (the error scenarios above apply to
/// them all): GET /v1/models (two models), POST /v1/embeddings (the vector [0.25,-0.5,0.125]
/// per input; float32 base64 when encoding_format asks), /v1/completions (streams like chat, `text` chunks), /v1/rerank (`tokens` usage),
/// /v1/images/generations, /v1/audio/transcriptions and /translations (multipart; the text names
/// the model field it received), /v1/audio/speech (mock_frames chunks of 1000 audio bytes,
/// byte i being i % 251).
class MockUpstream {
public:
    struct Options {
        bool tls = false;
        std::string cert_pem;
        std::string key_pem;
        std::string good_key = "sk-mock-good-key-0123456789";
        std::vector<std::string> other_good_keys;  ///< more keys it accepts (several channels, one mock)
        std::vector<std::string> poor_keys;        ///< keys it knows whose account cannot pay
        std::uint16_t port = 0;                    ///< 0: any free port
        std::size_t max_body = 0;                  ///< a larger body is answered 413 unread (0: any)
        int models_delay_ms = 0;                   ///< GET /v1/models answers after this long
    };
    explicit MockUpstream(Options options);
    ~MockUpstream();
    MockUpstream(const MockUpstream&) = delete;
    MockUpstream& operator=(const MockUpstream&) = delete;

    std::uint16_t port() const { return port_; }
    /// "http://127.0.0.1:<port>" or "https://localhost:<port>".
    std::string base_url() const;
    const std::string& good_key() const { return options_.good_key; }

    std::vector<RecordedRequest> requests() const;
    int connections() const { return connections_.load(); }
    /// Connections whose session ended (the caller closed it, or a scenario did).
    int closed_connections() const { return closed_connections_.load(); }
    /// Calls the other side abandoned: streams whose writes failed because it closed, and
    /// mock-hang calls it closed (a cancelled relay).
    int aborted_streams() const { return aborted_streams_.load(); }
    /// Waits until aborted_streams() >= n or the timeout passes.
    bool wait_for_aborted_streams(int n, std::chrono::milliseconds timeout) const;
    /// Stream frames it has written (its writes block when nobody reads: backpressure).
    int frames_sent() const { return frames_sent_.load(); }
    /// The most GET /v1/models requests it was answering at one time.
    int max_concurrent_model_lists() const { return max_models_in_flight_.load(); }
    /// Requests whose target is `target`.
    std::size_t count(const std::string& target) const;

    struct Impl;

private:
    bool accepts(std::string_view authorization) const;
    bool is_poor(std::string_view authorization) const;
    Options options_;
    std::uint16_t port_ = 0;
    std::unique_ptr<Impl> impl_;
    std::thread thread_;
    mutable std::mutex mutex_;
    std::vector<RecordedRequest> requests_;
    std::atomic<int> connections_{0};
    std::atomic<int> closed_connections_{0};
    std::atomic<int> aborted_streams_{0};
    std::atomic<int> models_in_flight_{0};
    std::atomic<int> frames_sent_{0};
    std::atomic<int> max_models_in_flight_{0};
    friend struct Impl;
};

}  // namespace nexus::testing
