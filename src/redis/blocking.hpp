#pragma once
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "redis/client.hpp"

namespace nexus::redis {

/// A Client for a thread that may wait (the database thread, a command): its own io_context,
/// run only while a call waits. call() connects when it is not connected, and waits at most
/// `deadline` for the connection and the reply together. Throws std::runtime_error("redis: …")
/// when Redis cannot be reached or does not answer in time; an error reply is a Reply.
class BlockingClient {
public:
    explicit BlockingClient(Url url, std::chrono::milliseconds deadline = std::chrono::seconds(2));
    ~BlockingClient();
    BlockingClient(const BlockingClient&) = delete;
    BlockingClient& operator=(const BlockingClient&) = delete;

    Reply call(std::vector<std::string> args);

private:
    net::io_context ioc_;
    net::ssl::context tls_;
    Client client_;
    std::chrono::milliseconds deadline_;
    bool started_ = false;
};

}  // namespace nexus::redis
