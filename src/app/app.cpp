#include "app/app.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "accounts/bootstrap.hpp"
#include "admin/admin_api.hpp"
#include "app/command_line.hpp"
#include "app/housekeeping.hpp"
#include "core/clock.hpp"
#include "core/crypto.hpp"
#include "core/logging.hpp"
#include "core/metrics.hpp"
#include "http/console.hpp"
#include "http/server.hpp"
#include "relay/relay.hpp"
#include "relay/usage_sink.hpp"
#include "snapshot/snapshot.hpp"
#include "store/database_lock.hpp"
#include "store/open.hpp"
#include "upstream/client.hpp"

namespace nexus::app {

namespace bhttp = beast::http;
using tcp = net::ip::tcp;

namespace {

// The operations listener has its own small cap, so a flood on the public port never locks out
// the operator.
constexpr std::size_t kOperationsConnections = 256;

// What every thread shares: read-only configuration, the TLS context, the store (used only on
// the database thread), the snapshot holder, the admin login throttle.
struct Shared {
    Shared(const config::Config& c, store::Store& s, std::size_t max_connections)
        : config(c), store(s), connections(max_connections) {}

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
          relay(client, metrics, s.snapshots, s.admission, usage,
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
        ioc_owner.reset();
    }

    std::unique_ptr<net::io_context> ioc_owner;  // destroyed first, in ~Worker
    net::io_context& ioc;
    core::Metrics metrics;
    upstream::Client client;
    relay::UsageSink usage;
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

// /v1: the relay. Only on the public port. The relay checks the token itself (Access::kToken).
void add_relay_routes(http::Router& r, Worker& w) {
    using http::Access;
    for (const auto& endpoint : relay::endpoints()) {
        r.add(bhttp::verb::post, endpoint.path, {endpoint.route, Access::kToken},
              [relay = &w.relay, e = &endpoint](http::Exchange& ex) { return relay->handle(ex, *e); });
    }
    r.add(bhttp::verb::post, "/v1/messages/count_tokens", {core::Route::kCountTokens, Access::kToken},
          [relay = &w.relay](http::Exchange& ex) { return relay->count_tokens(ex); });
    r.add(bhttp::verb::get, "/v1/models", {core::Route::kModels, Access::kToken},
          [relay = &w.relay](http::Exchange& ex) { return relay->list_models(ex); });
    r.add(bhttp::verb::get, "/v1/models/{model...}", {core::Route::kModels, Access::kToken},
          [relay = &w.relay](http::Exchange& ex) { return relay->get_model(ex); });
    // Any other /v1 path is an API path: a JSON 404, never a page of the console.
    r.add(bhttp::verb::unknown, "/v1/{path...}", {}, [](http::Exchange& ex) -> net::awaitable<void> {
        const std::string_view target = ex.request().target();
        co_await ex.send_error(core::Error::not_found("Unknown path: " + std::string(target.substr(0, target.find('?')))));
    });
}

// The console's Playground: chat and the model list as one of the signed-in caller's own tokens,
// by its id (X-Nexus-Token-Id), through the admin guard (a session, and on the chat its CSRF
// token) and then the relay like any /v1 call: limits, quota and a usage row included.
void add_playground_routes(http::Router& r, Worker& w) {
    using http::Access;
    const auto scope = static_cast<std::uint8_t>(accounts::Resource::kToken);
    const auto* chat = relay::find_endpoint("/v1/chat/completions");
    r.add(bhttp::verb::post, "/api/playground/chat/completions", {chat->route, Access::kAdmin, true, scope},
          [&w, chat](http::Exchange& ex) -> net::awaitable<void> {
              if (co_await w.admin.act_as_own_token(ex)) co_await w.relay.handle(ex, *chat);
          });
    r.add(bhttp::verb::get, "/api/playground/models", {core::Route::kModels, Access::kAdmin, false, scope},
          [&w](http::Exchange& ex) -> net::awaitable<void> {
              if (co_await w.admin.act_as_own_token(ex)) co_await w.relay.list_models(ex);
          });
}

// /healthz and /readyz: on every port, so a load balancer and an operator see the same.
void add_health_routes(http::Router& r, Shared& s) {
    r.add(bhttp::verb::get, "/healthz", {core::Route::kHealthz}, [](http::Exchange& ex) -> net::awaitable<void> {
        co_await ex.send(bhttp::status::ok, R"({"status":"ok"})", "application/json");
    });
    r.add(bhttp::verb::get, "/readyz", {core::Route::kReadyz}, [&s](http::Exchange& ex) -> net::awaitable<void> {
        if (s.draining.load(std::memory_order_relaxed)) {
            co_await ex.send(bhttp::status::service_unavailable, R"({"status":"draining"})", "application/json");
        } else {
            co_await ex.send(bhttp::status::ok, R"({"status":"ready"})", "application/json");
        }
    });
}

// /api and /metrics: on the operations port when there is one, else on the public port.
void add_operations_routes(http::Router& r, Worker& w, const std::vector<const core::Metrics*>& all_metrics) {
    w.admin.add_routes(r);
    add_playground_routes(r, w);
    // The console is served where /api is, so its calls are same-origin.
    static const http::Console console(http::console_assets());
    if (!console.empty()) {
        r.set_fallback({core::Route::kOther, http::Access::kPublic},
                       [](http::Exchange& ex) { return console.serve(ex); });
    }
    r.add(bhttp::verb::get, "/metrics", {core::Route::kMetrics}, [&all_metrics](http::Exchange& ex) -> net::awaitable<void> {
        co_await ex.send(bhttp::status::ok, core::Metrics::render(all_metrics), "text/plain; version=0.0.4; charset=utf-8");
    });
}

void add_routes(Worker& w, Shared& s, const std::vector<const core::Metrics*>& all_metrics, bool first) {
    add_relay_routes(w.router, w);
    add_health_routes(w.router, s);
    if (s.config.admin_listen_host.empty()) {
        add_operations_routes(w.router, w, all_metrics);
    } else if (first) {
        add_health_routes(w.operations_router, s);
        add_operations_routes(w.operations_router, w, all_metrics);
        w.operations_listener = std::make_unique<http::Listener>(w.ioc, s.config, w.operations_router, w.metrics,
                                                                 s.operations_connections);
    }
}

}  // namespace

int run(const config::Config& config) {
    const unsigned threads = config.threads ? config.threads : config::affinity_cpu_count();
    // Every client connection and every upstream call holds a descriptor: take all we may.
    const auto descriptors = config::raise_descriptor_limit();
    const auto max_connections =
        config.max_connections ? config.max_connections : config::default_max_connections(descriptors);

    // Storage: the database and the master key, then the admin key. A SQLite file is served by this
    // process alone; a PostgreSQL database by every node that names it.
    std::optional<store::DatabaseLock> lock;
    if (!store::uses_postgres(config)) lock.emplace(store::database_path(config));
    const auto store_owner = store::open(config);
    auto& store = *store_owner;
    Shared shared(config, store, max_connections);
    // The database thread writes in the background: on a busy core it yields to the I/O threads
    // (nice 10 for that thread alone), so batch writes do not show up as latency spikes.
    net::post(shared.db, [] {
        if (setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 10) != 0) {
            spdlog::debug("could not lower the database thread's priority");
        }
    });
    shared.admin_hash = admin::ensure_admin_key(store, config.admin_key);
    shared.root_id = accounts::ensure_root(store, config.root_password);
    seed_channel(store, config);
    prune_old_rows(store, config);
    shared.rebuild_snapshot();
    // Every committed write rebuilds the relay's view at once (on the database thread): this node's,
    // and another node's sharing the database (PostgreSQL) as soon as it is heard of.
    store.on_change([&shared] { shared.rebuild_or_retry(); });
    auto other_nodes = store.watch_other_nodes([&shared] { shared.rebuild_soon(); }, config.change_poll);

    std::vector<std::unique_ptr<Worker>> workers;
    std::vector<const core::Metrics*> all_metrics;
    for (unsigned i = 0; i < threads; ++i) {
        workers.push_back(std::make_unique<Worker>(shared));
        all_metrics.push_back(&workers.back()->metrics);
    }
    for (std::size_t i = 0; i < workers.size(); ++i) add_routes(*workers[i], shared, all_metrics, i == 0);

    // Listen: every thread its own acceptor on one port (SO_REUSEPORT); the kernel spreads
    // connections. SO_REUSEPORT would also let a second nexus-api (or anything of the same user)
    // share the port silently, so first claim the port alone: that fails when it is taken, and
    // for port 0 it picks the free port the listeners then join.
    const auto address = net::ip::make_address(config.host);
    std::uint16_t port = 0;
    {
        tcp::acceptor probe(workers.front()->ioc);
        probe.open(address.is_v6() ? tcp::v6() : tcp::v4());
        probe.set_option(net::socket_base::reuse_address(true));  // old TIME_WAIT connections are fine
        probe.bind(tcp::endpoint(address, config.port));
        port = probe.local_endpoint().port();
    }
    for (auto& w : workers) {
        w->listener.listen(tcp::endpoint(address, port), true);
        w->listener.start();
        w->usage.start(w->ioc.get_executor());
        w->client.start_sweeping();
    }
    if (auto& ops = workers.front()->operations_listener) {
        ops->listen(tcp::endpoint(net::ip::make_address(config.admin_listen_host), config.admin_listen_port), false);
        ops->start();
        spdlog::info("operations listener (/api, /metrics) on {}:{}", config.admin_listen_host, ops->port());
    }
    spdlog::info("nexus-api listening on {}:{} with {} I/O thread(s), at most {} connections ({} descriptors)",
                 config.host, port, threads, max_connections, descriptors);

    auto& main_ioc = workers.front()->ioc;
    // Retention of usage records and sessions: once an hour, on the database thread.
    net::steady_timer retention(main_ioc);
    std::function<void()> schedule_retention = [&] {
        retention.expires_after(std::chrono::hours(1));
        retention.async_wait([&](error_code ec) {
            if (ec) return;
            net::post(shared.db, [&] { prune_old_rows(store, config); });
            schedule_retention();
        });
    };
    schedule_retention();

    // SIGTERM / SIGINT: drain every worker, then stop when the last connection ends or the grace
    // period is over.
    net::signal_set signals(main_ioc, SIGINT, SIGTERM);
    net::steady_timer grace(main_ioc);
    auto count_active = [&] {
        std::size_t n = 0;
        for (auto& w : workers) n += w->active_sessions();
        return n;
    };
    const auto grace_end = std::make_shared<upstream::Clock::time_point>();
    std::function<void()> poll = [&] {
        if (count_active() == 0 || upstream::Clock::now() >= *grace_end) {
            if (count_active() > 0) spdlog::warn("shutdown grace over: closing {} connection(s)", count_active());
            for (auto& w : workers) w->ioc.stop();
            return;
        }
        grace.expires_after(std::chrono::milliseconds(20));
        grace.async_wait([&](error_code ec) {
            if (!ec) poll();
        });
    };
    signals.async_wait([&](error_code ec, int signo) {
        if (ec) return;
        spdlog::info("signal {}: draining (grace {} ms)", signo, config.shutdown_grace.count());
        shared.draining.store(true);
        *grace_end = upstream::Clock::now() + config.shutdown_grace;
        for (auto& w : workers) net::post(w->ioc, [w = w.get()] { w->drain(); });
        poll();
    });

    for (std::size_t i = 1; i < workers.size(); ++i) {
        auto* w = workers[i].get();
        // Keep the thread's loop alive while the listener idles; stop() ends it.
        w->thread = std::thread([w] {
            auto guard = net::make_work_guard(w->ioc);
            w->ioc.run();
        });
    }
    {
        auto guard = net::make_work_guard(main_ioc);
        main_ioc.run();
    }
    for (std::size_t i = 1; i < workers.size(); ++i) workers[i]->thread.join();

    // The I/O threads are done: stop hearing of other nodes' changes, hand over what the threads
    // still hold, and let the database thread write it before exiting.
    other_nodes.reset();
    net::post(shared.db, [&shared] { shared.rebuild_retry.cancel(); });
    for (auto& w : workers) w->usage.flush();
    shared.db.join();
    spdlog::info("nexus-api stopped");
    core::flush_logs();
    return 0;
}

int main(int argc, char** argv) {
    // A write to a peer that closed must fail with EPIPE on that connection, never kill the process.
    std::signal(SIGPIPE, SIG_IGN);
    if (argc >= 2) {
        if (const auto command = find_command(argv[1])) return command(argc, argv);
    }
    config::Config config;
    try {
        config = config::load(argc, argv);
    } catch (const config::ExitRequest& e) {
        return e.code;
    } catch (const config::ConfigError& e) {
        std::cerr << "nexus-api: invalid configuration: " << e.what() << "\n";
        return 2;
    }
    try {
        core::init_logging(config.log_level, config.access_log);
        return run(config);
    } catch (const std::exception& e) {
        std::cerr << "nexus-api: cannot start: " << e.what() << "\n";
        return 1;
    }
}

}  // namespace nexus::app
