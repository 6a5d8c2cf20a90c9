#include "relay/model_catalog.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json.hpp>

#include <algorithm>

#include "core/crypto.hpp"
#include "core/json.hpp"
#include "core/text.hpp"

namespace nexus::relay {

namespace json = boost::json;

namespace {

json::object model_object(const ModelEntry& m) {
    return json::object{{"id", m.id}, {"object", "model"}, {"created", m.created}, {"owned_by", m.owned_by}};
}

}  // namespace

std::optional<std::vector<ModelEntry>> parse_model_list(std::string_view body) {
    json::error_code ec;
    const auto doc = json::parse(body, ec, {}, core::json_parse_options());
    if (ec || !doc.is_object()) return std::nullopt;
    const auto* data = doc.get_object().if_contains("data");
    if (data == nullptr || !data->is_array()) return std::nullopt;
    std::vector<ModelEntry> out;
    for (const auto& item : data->get_array()) {
        const auto* o = item.if_object();
        if (o == nullptr) continue;
        const auto* id = o->if_contains("id");
        if (id == nullptr || !id->is_string() || id->get_string().empty()) continue;
        ModelEntry m;
        m.id = std::string(id->get_string());
        if (const auto* owner = o->if_contains("owned_by"); owner && owner->is_string()) {
            m.owned_by = std::string(owner->get_string());
        }
        if (const auto* created = o->if_contains("created"); created && created->is_int64()) {
            m.created = created->get_int64();
        }
        out.push_back(std::move(m));
    }
    return out;
}

std::string render_model_list(const std::vector<ModelEntry>& models) {
    json::array data;
    data.reserve(models.size());
    for (const auto& m : models) data.push_back(model_object(m));
    return json::serialize(json::object{{"object", "list"}, {"data", std::move(data)}});
}

std::string render_model(const ModelEntry& model) { return json::serialize(model_object(model)); }

void ModelCatalog::start_fetch(net::any_io_executor executor, std::shared_ptr<const snapshot::Snapshot> snap,
                               const snapshot::ChannelView& channel, Cached& cached) {
    cached.fetching = std::make_shared<core::OneShot>(executor);
    // `snap` keeps `channel` alive for as long as the fetch runs.
    net::co_spawn(
        executor,
        [this, snap, &channel, fingerprint = cached.origin_and_key, done = cached.fetching]() -> net::awaitable<void> {
            auto fetched = co_await fetch_(channel);
            auto& c = cache_[channel.id];
            if (c.fetching == done && c.origin_and_key == fingerprint) {
                const auto now = std::chrono::steady_clock::now();
                if (fetched) {
                    c.models = std::move(*fetched);
                    c.next_fetch = now + refresh_;
                } else {
                    c.next_fetch = now + std::min<std::chrono::steady_clock::duration>(refresh_, std::chrono::seconds(30));
                }
                c.fetching.reset();
            }
            done->set();
        },
        net::detached);
}

net::awaitable<std::vector<ModelEntry>> ModelCatalog::models(std::shared_ptr<const snapshot::Snapshot> snap) {
    // The lists that are due, fetched at once; a fetch under way is joined, not repeated.
    const auto executor = co_await net::this_coro::executor;
    std::vector<std::shared_ptr<core::OneShot>> due;
    for (const auto& channel : snap->channels()) {
        if (!channel.models.empty()) continue;
        const auto fingerprint = channel.origin.key + channel.origin.base_path + "\n" + core::sha256_hex(channel.key);
        auto& cached = cache_[channel.id];
        if (cached.origin_and_key != fingerprint) {
            cached = Cached{fingerprint, {}, {}, nullptr};  // another upstream or key: its old list is not this one's
        }
        if (!cached.fetching && std::chrono::steady_clock::now() >= cached.next_fetch) {
            start_fetch(executor, snap, channel, cached);
        }
        if (cached.fetching) due.push_back(cached.fetching);
    }
    // Each fetch has its own deadline; this bound only keeps a caller from waiting for ever.
    const auto bound = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (const auto& done : due) co_await done->wait(bound);

    std::vector<ModelEntry> out;
    auto add = [&out](std::string id, const std::string& owner, std::int64_t created) {
        out.push_back(ModelEntry{std::move(id), owner, created});
    };
    for (const auto& channel : snap->channels()) {
        const std::string owner = core::ascii_lower(channel.type);
        for (const auto& m : channel.models) add(m, owner, 0);
        for (const auto& [requested, upstream_name] : channel.model_mapping) add(requested, owner, 0);
        if (!channel.models.empty()) continue;
        for (const auto& m : cache_[channel.id].models) add(m.id, m.owned_by.empty() ? owner : m.owned_by, m.created);
    }
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    out.erase(std::unique(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id == b.id; }), out.end());
    co_return out;
}

}  // namespace nexus::relay
