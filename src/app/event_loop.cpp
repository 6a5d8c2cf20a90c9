#include "app/event_loop.hpp"

namespace nexus::app {

void run_io(boost::asio::io_context& ioc, std::chrono::microseconds busy_poll,
            const std::atomic<std::size_t>& database_work, core::Metrics& metrics) {
    if (busy_poll <= std::chrono::microseconds::zero()) {
        ioc.run();
        return;
    }
    using Clock = std::chrono::steady_clock;
    while (!ioc.stopped()) {
        if (ioc.poll() > 0) continue;
        if (database_work.load(std::memory_order_relaxed) == 0) {
            const auto until = Clock::now() + busy_poll;
            bool found = false;
            do {
                found = ioc.poll_one() > 0;
            } while (!found && Clock::now() < until);
            metrics.busy_poll(found);
            if (found) continue;
        }
        ioc.run_one();  // sleeps until the next event
    }
}

}  // namespace nexus::app
