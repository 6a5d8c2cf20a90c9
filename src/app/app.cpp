#include "app/app.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <spdlog/spdlog.h>
#include <pthread.h>
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
#include "admission/shared_admission.hpp"
#include "app/command_line.hpp"
#include "app/event_loop.hpp"
#include "app/housekeeping.hpp"
#include "app/node.hpp"
#include "core/clock.hpp"
#include "core/crypto.hpp"
#include "core/logging.hpp"
#include "core/metrics.hpp"
#include "http/console.hpp"
#include "http/server.hpp"
#include "redis/client.hpp"
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
        pthread_setname_np(pthread_self(), "nexus-db");  // as top -H and /proc/PID/task show it
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
    // SIGTERM / SIGINT are ours from before the port opens: one that comes right after the
    // "listening" line (a supervisor stopping a server that just started) drains it, where the
    // default action would kill it mid-start. Asio holds a signal until the loop waits for it.
    auto& main_ioc = workers.front()->ioc;
    net::signal_set signals(main_ioc, SIGINT, SIGTERM);
    for (std::size_t i = 0; i < workers.size(); ++i) {
        if (!workers[i]->redis) continue;
        workers[i]->redis->start();
        workers[i]->shared_admission->start(i == 0);
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
        w->thread = std::thread([w, i, &config, &shared] {
            pthread_setname_np(pthread_self(), ("nexus-io-" + std::to_string(i)).c_str());
            auto guard = net::make_work_guard(w->ioc);
            run_io(w->ioc, config.busy_poll, shared.usage_backlog, w->metrics);
        });
    }
    {
        auto guard = net::make_work_guard(main_ioc);
        run_io(main_ioc, config.busy_poll, shared.usage_backlog, workers.front()->metrics);
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
