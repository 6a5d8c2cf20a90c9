#pragma once
// What one nexus-api process is made of: Shared (what every thread shares) and Worker (what one
// I/O thread owns). app.cpp builds them, routes them and runs them.
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "admin/admin_api.hpp"
#include "admission/shared_admission.hpp"
#include "core/crypto.hpp"
#include "core/metrics.hpp"
#include "http/server.hpp"
#include "redis/client.hpp"
#include "relay/relay.hpp"
#include "relay/usage_sink.hpp"
#include "snapshot/snapshot.hpp"
#include "store/store.hpp"
#include "upstream/client.hpp"

namespace nexus::app {

namespace bhttp = beast::http;
using tcp = net::ip::tcp;

// The operations listener has its own small cap, so a flood on the public port never locks out
// the operator.
constexpr std::size_t kOperationsConnections = 256;

// What every thread shares: read-only configuration, the TLS context, the store (used only on
// the database thread), the snapshot holder, the admin login throttle.
struct Shared {
    Shared(const config::Config& c, store::Store& s, std::size_t max_connections)
        : config(c), store(s), connections(max_connections) {
        nodes.id = core::to_hex(core::random_bytes(8));
        if (c.redis_url.empty()) return;
        try {
            redis_url = redis::Url::parse(c.redis_url);
        } catch (const std::invalid_argument& e) {
            throw std::runtime_error(std::string("NEXUS_REDIS_URL: ") + e.what());
        }
    }

    const config::Config& config;
    net::ssl::context tls = upstream::make_tls_context();
    store::Store& store;
    snapshot::SnapshotHolder snapshots;
    net::thread_pool db{1};  // every database call runs here, never on an I/O thread
    std::string admin_hash;
    std::int64_t root_id = 0;
    admin::Throttles throttles;
    http::ConnectionLimit connections;
    http::ConnectionLimit operations_connections{kOperationsConnections};
    std::atomic<std::size_t> usage_backlog{0};  // usage records handed to the database thread, not yet written
    admission::LocalAdmission admission{config};  // limits and quota, in memory on this node
    std::optional<redis::Url> redis_url;          // NEXUS_REDIS_URL: rate limits shared in Redis
    admission::Nodes nodes;
    std::atomic<bool> draining{false};
    std::atomic<bool> rebuild_queued{false};
    net::steady_timer rebuild_retry{db};

    // Queues a rebuild on the database thread (from another thread); a burst of calls makes one.
    void rebuild_soon() {
        if (rebuild_queued.exchange(true)) return;
        net::post(db, [this] {
            rebuild_queued = false;
            rebuild_or_retry();
        });
    }
    // Rebuilds the view after a change (database thread). When the database fails meanwhile the
    // relay keeps the view it has, and the rebuild is tried again each second until it works.
    void rebuild_or_retry() {
        try {
            rebuild_snapshot();
        } catch (const std::exception& e) {
            spdlog::warn("the relay's view was not reloaded after a change (trying again in 1 s): {}", e.what());
            if (draining) return;
            rebuild_retry.expires_after(std::chrono::seconds(1));
            rebuild_retry.async_wait([this](error_code ec) {
                if (!ec) rebuild_soon();
            });
        }
    }

    // Rebuilds the relay's view from the store; runs on the database thread.
    void rebuild_snapshot() {
        const auto previous = snapshots.current();
        snapshots.publish(std::make_shared<const snapshot::Snapshot>(store.channels_with_keys(), store.all_tokens(),
                                                                     store.all_prices(), previous.get(),
                                                                     store.all_users()));
        nodes.views_loaded.fetch_add(1);
    }

    // A usage batch was written (database thread) or dropped: the tokens' and users' counters follow it.
    void usage_settled(const std::vector<store::UsageRecord>& records, bool written) {
        const auto snap = snapshots.current();
        for (const auto& r : records) {
            if (r.quota == 0) continue;
            if (const auto* counters = snap->counters_of(r.token_id)) {
                written ? (*counters)->written(r.quota) : (*counters)->dropped(r.quota);
            }
            if (const auto* quota = snap->owner_quota_of(r.user_id)) {
                written ? (*quota)->written(r.quota) : (*quota)->dropped(r.quota);
            }
        }
    }

    // The quota settled on this node that the database has not yet been told of, per token and per user.
    std::int64_t unwritten_quota(std::int64_t token_id) const {
        const auto* counters = snapshots.current()->counters_of(token_id);
        return counters ? (*counters)->unwritten() : 0;
    }
    std::int64_t unwritten_user_quota(std::int64_t user_id) const {
        const auto* quota = snapshots.current()->owner_quota_of(user_id);
        return quota ? (*quota)->unwritten() : 0;
    }

    // The relay saw a channel's key rejected: disable it (status 3) unless an admin already changed it.
    void disable_channel(std::int64_t id, std::string reason) {
        net::post(db, [this, id, reason = std::move(reason)] {
            try {
                const auto c = store.get_channel(id);
                if (c && c->status == store::kChannelEnabled) {
                    store.set_channel_status(id, store::kChannelDisabledAutomatically, reason);
                }
            } catch (const std::exception& e) {
                spdlog::error("disabling channel {} failed: {}", id, e.what());
            }
        });
    }
};


// Everything one I/O thread owns. Nothing here is touched by another thread but the counters
// (read by /metrics) and the usage sink after the thread stopped.
struct Worker {
    // Only this thread does I/O on this io_context's sockets and timers, so the reactor's
    // per-descriptor locks are switched off (other threads may still post to it).
    explicit Worker(Shared& s)
        : ioc_owner(std::make_unique<net::io_context>(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO)),
          ioc(*ioc_owner),
          client(ioc.get_executor(), s.tls, s.config, metrics),
          usage(s.store, s.db.get_executor(), metrics, s.usage_backlog,
                [&s](const std::vector<store::UsageRecord>& records, bool written) { s.usage_settled(records, written); },
                relay::UsageSink::Options{.backlog_limit = s.config.usage_buffer}),
          redis(s.redis_url ? std::make_unique<redis::Client>(ioc.get_executor(), *s.redis_url, &s.tls) : nullptr),
          shared_admission(redis ? std::make_unique<admission::SharedAdmission>(
                                       s.admission, *redis, s.nodes, metrics,
                                       admission::SharedAdmission::Options{
                                           .lease = s.config.redis_lease,
                                           .quota_without_redis = s.config.quota_without_redis,
                                           .reconnected = [&s] { s.rebuild_soon(); }})
                                 : nullptr),
          relay(client, metrics, s.snapshots,
                shared_admission ? static_cast<admission::Admission&>(*shared_admission) : s.admission, usage,
                [&s](std::int64_t id, std::string reason) { s.disable_channel(id, std::move(reason)); }, s.config),
          admin(s.store, s.db.get_executor(), s.throttles,
                {s.admin_hash, s.root_id,
                 [this](const store::Channel& c) -> net::awaitable<store::ChannelTestResult> { return test(c); },
                 [&s](std::int64_t token_id) { return s.unwritten_quota(token_id); },
                 [&s](std::int64_t user_id) { return s.unwritten_user_quota(user_id); }}),
          listener(ioc, s.config, router, metrics, s.connections) {}

    net::awaitable<store::ChannelTestResult> test(store::Channel c) {
        auto view = snapshot::make_channel_view(c);
        if (!view) co_return store::ChannelTestResult{false, 0, "The channel's base_url is not usable.", 0};
        view->health = std::make_shared<snapshot::ChannelHealth>();
        co_return co_await relay.test_channel(*view);
    }

    // The shutdown grace may cut requests off: their coroutine frames still wait in the
    // io_context and touch this worker's relay, metrics and listeners when they are destroyed.
    // So the I/O objects held outside frames go first (none may outlive its io_context), then
    // the io_context with the frames, then everything else.
    ~Worker() {
        listener.close();
        if (operations_listener) operations_listener->close();
        client.close_all();
        usage.stop();
        if (shared_admission) shared_admission->stop();
        if (redis) redis->stop();
        ioc_owner.reset();
    }

    std::unique_ptr<net::io_context> ioc_owner;  // destroyed first, in ~Worker
    net::io_context& ioc;
    core::Metrics metrics;
    upstream::Client client;
    relay::UsageSink usage;
    std::unique_ptr<redis::Client> redis;  // NEXUS_REDIS_URL: this thread's connection, and its limits
    std::unique_ptr<admission::SharedAdmission> shared_admission;
    relay::Relay relay;
    admin::AdminApi admin;
    http::Router router;
    http::Listener listener;
    // The operations listener (NEXUS_ADMIN_LISTEN), on the first worker only.
    http::Router operations_router;
    std::unique_ptr<http::Listener> operations_listener;
    std::thread thread;

    std::size_t active_sessions() const {
        return listener.active_sessions() + (operations_listener ? operations_listener->active_sessions() : 0);
    }
    void drain() {
        listener.drain();
        if (operations_listener) operations_listener->drain();
    }
};

}  // namespace nexus::app
