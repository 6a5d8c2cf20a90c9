#pragma once
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "core/asio.hpp"

namespace nexus::core {

/// Lets the owner of a piece of work abandon the step in progress (the client of a relayed call
/// went away). Each step registers, for as long as it runs, the action that undoes it: close its
/// socket, stop waiting for a name lookup. cancel() runs the registered action at once, and a
/// step that starts afterwards sees cancelled() and does not start.
/// Not thread-safe: it lives on one I/O thread. Whoever calls cancel() (a watcher's completion
/// handler) holds it by shared_ptr, so it outlives every registration.
class Cancellation {
public:
    /// Unregisters its action when it goes. Movable; must not outlive the Cancellation.
    class Registration {
    public:
        Registration() = default;
        Registration(Registration&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)), id_(other.id_) {}
        Registration& operator=(Registration&& other) noexcept {
            if (this != &other) {
                reset();
                owner_ = std::exchange(other.owner_, nullptr);
                id_ = other.id_;
            }
            return *this;
        }
        ~Registration() { reset(); }
        void reset() {
            if (owner_ != nullptr && owner_->id_ == id_) owner_->action_ = nullptr;
            owner_ = nullptr;
        }

    private:
        friend class Cancellation;
        Registration(Cancellation* owner, std::uint64_t id) : owner_(owner), id_(id) {}
        Cancellation* owner_ = nullptr;
        std::uint64_t id_ = 0;
    };

    /// Cancels: runs the registered action (once) and makes every later registration run its
    /// action at once.
    void cancel() {
        if (cancelled_) return;
        cancelled_ = true;
        if (auto action = std::exchange(action_, nullptr)) action();
    }
    bool cancelled() const { return cancelled_; }

    /// Registers `action` as what cancels the step in progress, replacing any other. When
    /// already cancelled it runs at once.
    [[nodiscard]] Registration on_cancel(std::function<void()> action) {
        if (cancelled_) {
            action();
            return {};
        }
        action_ = std::move(action);
        return Registration(this, ++id_);
    }

private:
    bool cancelled_ = false;
    std::function<void()> action_;
    std::uint64_t id_ = 0;
};

/// A one-shot event that coroutines of one thread wait for, each with its own deadline.
/// set() wakes every waiter. Not thread-safe: set() and wait() run on the same thread (another
/// thread posts its result there first).
class OneShot {
public:
    using Clock = std::chrono::steady_clock;

    explicit OneShot(net::any_io_executor executor) : executor_(std::move(executor)) {}

    void set() {
        set_ = true;
        for (auto* t : waiters_) t->cancel();
    }
    bool is_set() const { return set_; }

    /// Waits until set(), `deadline`, or `cancel` fires; returns whether it was set.
    net::awaitable<bool> wait(Clock::time_point deadline, Cancellation* cancel = nullptr) {
        if (set_) co_return true;
        if (cancel != nullptr && cancel->cancelled()) co_return false;
        net::steady_timer timer(executor_, deadline);
        waiters_.push_back(&timer);
        Cancellation::Registration registration;
        if (cancel != nullptr) registration = cancel->on_cancel([&timer] { timer.cancel(); });
        co_await timer.async_wait(use_nothrow);
        std::erase(waiters_, &timer);
        co_return set_;
    }

private:
    net::any_io_executor executor_;
    bool set_ = false;
    std::vector<net::steady_timer*> waiters_;
};

}  // namespace nexus::core
