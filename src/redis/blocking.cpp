#include "redis/blocking.hpp"

#include <boost/asio/co_spawn.hpp>

#include <optional>
#include <stdexcept>

#include "core/tls.hpp"

namespace nexus::redis {

BlockingClient::BlockingClient(Url url, std::chrono::milliseconds deadline)
    : tls_(core::make_client_tls_context()), client_(ioc_.get_executor(), std::move(url), &tls_), deadline_(deadline) {}

BlockingClient::~BlockingClient() {
    client_.stop();
    ioc_.run_for(std::chrono::milliseconds(50));  // let the closed connection's coroutines end
}

Reply BlockingClient::call(std::vector<std::string> args) {
    const auto until = std::chrono::steady_clock::now() + deadline_;
    if (!started_) {
        client_.start();
        started_ = true;
    }
    while (!client_.up() && std::chrono::steady_clock::now() < until) ioc_.run_one_until(until);
    if (!client_.up()) throw std::runtime_error("redis: cannot be reached");
    std::optional<boost::system::result<Reply>> result;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now());
    net::co_spawn(
        ioc_,
        [&]() -> net::awaitable<void> { result = co_await client_.call(std::move(args), left); },
        [](std::exception_ptr e) {
            if (e) std::rethrow_exception(e);
        });
    while (!result) ioc_.run_one();
    if (!*result) throw std::runtime_error("redis: " + result->error().message());
    return std::move(result->value());
}

}  // namespace nexus::redis
