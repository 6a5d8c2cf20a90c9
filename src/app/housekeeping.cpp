#include "app/housekeeping.hpp"

#include <spdlog/spdlog.h>

#include "core/clock.hpp"

namespace nexus::app {

void seed_channel(store::Store& store, const config::Config& config) {
    if (config.siliconflow_api_key.empty() || store.list_channels({}).total > 0) return;
    store::Channel c;
    c.type = "SiliconFlow";
    c.name = "SiliconFlow (from SILICONFLOW_API_KEY)";
    c.key = config.siliconflow_api_key;
    c.base_url = config.siliconflow_base_url;
    store.insert_channel(c);
    spdlog::info("created channel 1 from SILICONFLOW_API_KEY ({})", config.siliconflow_base_url);
}

void prune_old_rows(store::Store& store, const config::Config& config) {
    const auto now = core::unix_seconds();
    try {
        const auto n = store.prune_sessions(now - config.session_max_seconds, now - config.session_idle_seconds);
        if (n > 0) spdlog::info("deleted {} ended session(s)", n);
    } catch (const std::exception& e) {
        spdlog::error("pruning sessions failed: {}", e.what());
    }
    if (config.log_retention_days == 0) return;
    try {
        const auto n = store.prune_usage(now - static_cast<std::int64_t>(config.log_retention_days) * 86400);
        if (n > 0) spdlog::info("deleted {} usage record(s) older than {} days", n, config.log_retention_days);
    } catch (const std::exception& e) {
        spdlog::error("pruning usage records failed: {}", e.what());
    }
}

}  // namespace nexus::app
