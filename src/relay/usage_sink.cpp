#include "relay/usage_sink.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

namespace nexus::relay {

UsageSink::UsageSink(store::Store& store, net::any_io_executor db, core::Metrics& metrics)
    : store_(store), db_(std::move(db)), metrics_(metrics) {}

void UsageSink::record(store::UsageRecord record) {
    if (pending_.size() >= kMaxPending) {
        metrics_.usage_record_dropped();
        return;
    }
    pending_.push_back(std::move(record));
}

void UsageSink::touched(std::int64_t token_id, std::int64_t now_seconds) { accessed_[token_id] = now_seconds; }

void UsageSink::start(net::any_io_executor executor) {
    timer_ = std::make_unique<net::steady_timer>(executor);
    net::co_spawn(
        executor,
        [this]() -> net::awaitable<void> {
            for (;;) {
                timer_->expires_after(std::chrono::seconds(1));
                auto [ec] = co_await timer_->async_wait(use_nothrow);
                if (ec) co_return;
                flush();
            }
        },
        [](std::exception_ptr) {});
}

void UsageSink::flush() {
    std::vector<std::pair<std::int64_t, std::int64_t>> touches;
    for (const auto& [id, time] : accessed_) {
        auto& written = last_written_[id];
        if (time - written >= kTouchEverySeconds) {
            touches.emplace_back(id, time);
            written = time;
        }
    }
    accessed_.clear();
    if (pending_.empty() && touches.empty()) return;
    net::post(db_, [&store = store_, records = std::move(pending_), touches = std::move(touches)] {
        try {
            store.insert_usage(records);
            store.touch_tokens(touches);
        } catch (const std::exception& e) {
            spdlog::error("writing {} usage record(s) failed: {}", records.size(), e.what());
        }
    });
    pending_.clear();
}

}  // namespace nexus::relay
