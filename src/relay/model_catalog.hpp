#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/asio.hpp"
#include "core/cancellation.hpp"
#include "snapshot/snapshot.hpp"

namespace nexus::relay {

/// One model as GET /v1/models lists it.
struct ModelEntry {
    std::string id;
    std::string owned_by;
    std::int64_t created = 0;
};

/// Reads an upstream's GET /v1/models answer (`{"data":[{"id",…}]}`); nullopt when it is not
/// that shape. Entries without a string id are skipped.
std::optional<std::vector<ModelEntry>> parse_model_list(std::string_view body);

/// Renders entries in OpenAI's list shape: {"object":"list","data":[{"id","object":"model",…}]}.
std::string render_model_list(const std::vector<ModelEntry>& models);
/// Renders one entry as OpenAI's model object.
std::string render_model(const ModelEntry& model);

/// The models callers can reach, for GET /v1/models. A channel with a `models` list contributes
/// that list; a channel with none serves any model, so its upstream's own list is fetched and
/// kept for `refresh` (a failed fetch is retried after at most 30 s, and the last good list is
/// used meanwhile). Names a channel maps (`model_mapping` keys) are listed too.
/// The lists due are fetched at the same time, and a list being fetched is waited for, never
/// fetched twice (callers that come meanwhile share the fetch under way).
/// One per I/O thread (no locks): each thread fetches for itself, which is a handful of calls
/// per refresh interval.
class ModelCatalog {
public:
    using Fetch = std::function<net::awaitable<std::optional<std::vector<ModelEntry>>>(const snapshot::ChannelView&)>;

    ModelCatalog(Fetch fetch, std::chrono::milliseconds refresh) : fetch_(std::move(fetch)), refresh_(refresh) {}

    /// Every model reachable through `snap`'s enabled channels, sorted by id, each once.
    net::awaitable<std::vector<ModelEntry>> models(std::shared_ptr<const snapshot::Snapshot> snap);

private:
    struct Cached {
        std::string origin_and_key;  ///< a changed channel (URL or key) is fetched again
        std::chrono::steady_clock::time_point next_fetch{};
        std::vector<ModelEntry> models;
        std::shared_ptr<core::OneShot> fetching;  ///< set while a fetch is under way
    };
    void start_fetch(net::any_io_executor executor, std::shared_ptr<const snapshot::Snapshot> snap,
                     const snapshot::ChannelView& channel, Cached& cached);
    Fetch fetch_;
    std::chrono::milliseconds refresh_;
    std::unordered_map<std::int64_t, Cached> cache_;
};

}  // namespace nexus::relay
