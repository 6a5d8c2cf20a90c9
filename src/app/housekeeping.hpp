#pragma once
#include "config/config.hpp"
#include "store/store.hpp"

namespace nexus::app {

/// SILICONFLOW_API_KEY with an empty database: the first channel, so the quick start needs nothing else.
void seed_channel(store::Store& store, const config::Config& config);

/// Deletes what has outlived its use: sessions that ended unseen, usage records past their
/// retention. Failures are logged, not thrown (it runs again within the hour).
void prune_old_rows(store::Store& store, const config::Config& config);

}  // namespace nexus::app
