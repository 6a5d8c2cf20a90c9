#include "app/app.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <filesystem>
#include <iostream>
#include <memory>
#include <thread>
#include <vector>

#include "admin/admin_api.hpp"
#include "core/crypto.hpp"
#include "core/logging.hpp"
#include "core/metrics.hpp"
#include "http/server.hpp"
#include "relay/chat_relay.hpp"
#include "store/master_key.hpp"
#include "store/sqlite/sqlite_store.hpp"
#include "upstream/client.hpp"

namespace nexus::app {

namespace bhttp = beast::http;
using tcp = net::ip::tcp;

namespace {

// Everything one I/O thread owns: its io_context, listener, upstream pool, relay and counters.
// Nothing here is shared with another thread but the read-only config, TLS context and channel.
struct Worker {
    Worker(const config::Config& config, net::ssl::context& tls, std::shared_ptr<const relay::Channel> channel)
        : ioc(1),
          client(ioc.get_executor(), tls, config),
          relay(client, metrics, std::move(channel)),
          listener(ioc, config, router, metrics) {}

    net::io_context ioc;
    core::Metrics metrics;
    upstream::Client client;
    relay::ChatRelay relay;
    http::Router router;
    http::Listener listener;
    std::thread thread;
};

std::shared_ptr<const relay::Channel> channel_from(const config::Config& config) {
    if (config.siliconflow_api_key.empty()) {
        spdlog::warn("SILICONFLOW_API_KEY is not set: chat calls will answer 500 no_available_channel");
        return nullptr;
    }
    auto origin = upstream::Origin::parse(config.siliconflow_base_url);
    if (!origin) throw std::runtime_error("SILICONFLOW_BASE_URL is not a usable http(s) URL");
    return std::make_shared<const relay::Channel>(relay::Channel{"siliconflow", *origin, config.siliconflow_api_key});
}

}  // namespace

int run(const config::Config& config) {
    const unsigned threads = config.threads ? config.threads : config::affinity_cpu_count();
    auto tls = upstream::make_tls_context();
    const auto channel = channel_from(config);

    // Storage: the data directory (owner only), the database, the master key, the admin key.
    std::filesystem::create_directories(config.data_dir);
    std::filesystem::permissions(config.data_dir, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace);
    const std::string db_path = config.db.empty() ? (std::filesystem::path(config.data_dir) / "nexus.db").string()
                                                  : config.db;
    store::sqlite::SqliteStore store(db_path,
                                     core::SecretBox(store::load_master_key(config.secret, config.data_dir, db_path)));
    const auto admin_hash = admin::ensure_admin_key(store, config.admin_key);
    // Database work runs here, never on the I/O threads.
    net::thread_pool db_thread(1);
    admin::AdminApi admin_api(store, db_thread.get_executor(), admin_hash);

    std::atomic<bool> draining{false};
    std::vector<std::unique_ptr<Worker>> workers;
    std::vector<const core::Metrics*> all_metrics;
    for (unsigned i = 0; i < threads; ++i) {
        workers.push_back(std::make_unique<Worker>(config, tls, channel));
        all_metrics.push_back(&workers.back()->metrics);
    }

    for (auto& w : workers) {
        auto& r = w->router;
        r.add(bhttp::verb::post, "/v1/chat/completions", core::Route::kChatCompletions,
              [relay = &w->relay](http::Exchange& ex) { return relay->handle(ex); });
        r.add_prefix("/api/", core::Route::kAdmin,
                     [api = &admin_api](http::Exchange& ex) { return api->handle(ex); });
        r.add(bhttp::verb::get, "/healthz", core::Route::kHealthz, [](http::Exchange& ex) -> net::awaitable<void> {
            co_await ex.send(bhttp::status::ok, R"({"status":"ok"})", "application/json");
        });
        r.add(bhttp::verb::get, "/readyz", core::Route::kReadyz,
              [&draining](http::Exchange& ex) -> net::awaitable<void> {
                  if (draining.load(std::memory_order_relaxed)) {
                      co_await ex.send(bhttp::status::service_unavailable, R"({"status":"draining"})",
                                       "application/json");
                  } else {
                      co_await ex.send(bhttp::status::ok, R"({"status":"ready"})", "application/json");
                  }
              });
        r.add(bhttp::verb::get, "/metrics", core::Route::kMetrics,
              [&all_metrics](http::Exchange& ex) -> net::awaitable<void> {
                  co_await ex.send(bhttp::status::ok, core::Metrics::render(all_metrics),
                                   "text/plain; version=0.0.4; charset=utf-8");
              });
    }

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
        port = w->listener.port();
        w->listener.start();
    }
    spdlog::info("nexus-api listening on {}:{} with {} I/O thread(s)", config.host, port, threads);

    // SIGTERM / SIGINT: drain every worker, then stop when the last connection ends or the grace
    // period is over.
    auto& main_ioc = workers.front()->ioc;
    net::signal_set signals(main_ioc, SIGINT, SIGTERM);
    net::steady_timer grace(main_ioc);
    auto count_active = [&] {
        std::size_t n = 0;
        for (auto& w : workers) n += w->listener.active_sessions();
        return n;
    };
    auto stop_all = [&] {
        for (auto& w : workers) w->ioc.stop();
    };
    const auto grace_end = std::make_shared<upstream::Clock::time_point>();
    std::function<void()> poll = [&] {
        if (count_active() == 0 || upstream::Clock::now() >= *grace_end) {
            if (count_active() > 0) spdlog::warn("shutdown grace over: closing {} connection(s)", count_active());
            stop_all();
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
        draining.store(true);
        *grace_end = upstream::Clock::now() + config.shutdown_grace;
        for (auto& w : workers) net::post(w->ioc, [&l = w->listener] { l.drain(); });
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
    db_thread.join();
    spdlog::info("nexus-api stopped");
    core::flush_logs();
    return 0;
}

int main(int argc, char** argv) {
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
