#pragma once
#include <boost/asio/io_context.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>

#include "core/metrics.hpp"

namespace nexus::app {

/// Runs an I/O thread's io_context until it is stopped.
///
/// With `busy_poll` zero (the default) the thread sleeps in the kernel whenever it has nothing to
/// do, and each event wakes it, as nginx's workers do. On a virtual machine that wake-up costs
/// tens of microseconds, twice per relayed call (the client's request, the upstream's answer).
/// With `busy_poll` above zero, a thread out of work keeps polling its sockets (epoll with a
/// zero timeout) for that long before it sleeps, so an answer that comes within it is taken at
/// once (HAProxy's `busy-polling` does the same). It costs up to `busy_poll` of CPU after each
/// burst of work. While the database thread has usage records to write (`database_work` above
/// zero), the thread sleeps at once instead, leaving the core to it.
void run_io(boost::asio::io_context& ioc, std::chrono::microseconds busy_poll,
            const std::atomic<std::size_t>& database_work, core::Metrics& metrics);

}  // namespace nexus::app
