#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace nexus::testing {

using Headers = std::map<std::string, std::string>;

struct HttpResponse {
    int status = 0;
    Headers headers;  ///< lower-case names
    std::string body;
    std::string header(const std::string& name) const {
        const auto it = headers.find(name);
        return it == headers.end() ? std::string() : it->second;
    }
};

/// One blocking HTTP/1.1 request to 127.0.0.1:port on a new connection. Throws on I/O errors or
/// when nothing comes back within `timeout`.
HttpResponse http_request(std::uint16_t port, const std::string& method, const std::string& target,
                          const std::string& body = {}, const Headers& headers = {},
                          std::chrono::milliseconds timeout = std::chrono::seconds(15));

/// A chat completion call: POST /v1/chat/completions with a JSON body, sending
/// "Authorization: Bearer sk-nexus-test-token" unless `headers` has an Authorization.
HttpResponse post_chat(std::uint16_t port, const std::string& body, const Headers& headers = {});

/// Any call to the /v1 API, with the test token unless `headers` has an Authorization.
HttpResponse api_call(std::uint16_t port, const std::string& method, const std::string& target,
                      const std::string& body = {}, const Headers& headers = {});

/// One SSE event as the client saw it, and when.
struct StreamEvent {
    std::string data;
    std::chrono::steady_clock::time_point at;
};

struct StreamResult {
    int status = 0;
    Headers headers;
    std::vector<StreamEvent> events;
    std::string raw;            ///< the body bytes as they came
    bool complete = false;      ///< the chunked body ended properly
    std::chrono::steady_clock::time_point head_at;  ///< when the answer's head was read
    std::chrono::steady_clock::time_point end_at;   ///< when reading ended
    std::string error;          ///< how reading ended when not complete
    std::string header(const std::string& name) const {
        const auto it = headers.find(name);
        return it == headers.end() ? std::string() : it->second;
    }
};

/// Sends a streaming chat call and reads the answer as it comes. `on_event` may return false to
/// stop reading and close the connection at once (a client that goes away).
StreamResult stream_chat(std::uint16_t port, const std::string& body, const Headers& headers = {},
                         const std::function<bool(const StreamEvent&)>& on_event = {},
                         std::chrono::milliseconds timeout = std::chrono::seconds(15));

/// stream_chat for any target (POST).
StreamResult stream_post(std::uint16_t port, const std::string& target, const std::string& body,
                         const Headers& headers = {}, const std::function<bool(const StreamEvent&)>& on_event = {},
                         std::chrono::milliseconds timeout = std::chrono::seconds(15));

/// A raw TCP connection for malformed and slow clients.
class RawConnection {
public:
    /// `receive_buffer` (bytes, 0: the system's) sets SO_RCVBUF before connecting: a small one
    /// makes the server's writes fill up while the test is not reading.
    explicit RawConnection(std::uint16_t port, int receive_buffer = 0);
    ~RawConnection();
    /// Sends bytes; false when the peer has closed.
    bool send(const std::string& bytes);
    /// Waits at most `timeout` for bytes; returns what one read got (empty on timeout or close).
    std::string read_some(std::chrono::milliseconds timeout);
    /// Reads until the peer closes or `timeout` passes; returns what came.
    std::string read_until_close(std::chrono::milliseconds timeout);
    /// True when the peer closed the connection within `timeout`.
    bool closed_within(std::chrono::milliseconds timeout);

    /// What upload() saw.
    struct Upload {
        std::string answer;     ///< every byte the peer sent meanwhile
        std::size_t sent = 0;   ///< body bytes the peer's kernel took
        bool closed = false;    ///< the peer closed (or reset) the connection
    };
    /// Sends up to `bytes` bytes of filler (a body after a head sent with send()) while reading
    /// what the peer answers, as a client uploading a large body does; stops when the peer
    /// closes, all is sent, or `timeout` passes.
    Upload upload(std::size_t bytes, std::chrono::milliseconds timeout);

private:
    int fd_ = -1;
};

}  // namespace nexus::testing
