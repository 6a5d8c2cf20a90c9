#pragma once
/// Short names for the Asio and Beast pieces every module uses.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>

namespace nexus {
namespace net = boost::asio;
namespace beast = boost::beast;
using error_code = boost::system::error_code;

/// Completion token for coroutine I/O that reports errors as values instead of throwing:
/// `auto [ec, n] = co_await stream.async_read_some(buf, use_nothrow);`
inline constexpr auto use_nothrow = net::as_tuple(net::use_awaitable);
}  // namespace nexus
