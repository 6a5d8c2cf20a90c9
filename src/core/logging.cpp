#include "core/logging.hpp"

#include <spdlog/async.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <stdexcept>
#include <string>

namespace nexus::core {

namespace {
std::shared_ptr<spdlog::logger> g_access;
}

void init_logging(std::string_view level, bool access_log_enabled) {
    const auto lvl = spdlog::level::from_str(std::string(level));
    if (lvl == spdlog::level::off && level != "off") {
        throw std::invalid_argument("NEXUS_LOG_LEVEL must be one of trace, debug, info, warn, error, critical, off");
    }
    auto app = spdlog::stderr_logger_mt("nexus");
    app->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ %v");
    app->set_level(lvl);
    app->flush_on(spdlog::level::info);
    spdlog::set_default_logger(app);

    if (access_log_enabled) {
        spdlog::init_thread_pool(8192, 1);
        g_access = spdlog::create_async_nb<spdlog::sinks::stdout_sink_mt>("access");
        g_access->set_pattern("%v");
        g_access->set_level(spdlog::level::info);
        g_access->flush_on(spdlog::level::info);
    }
}

void write_access_log(std::string_view json_line) {
    if (g_access) g_access->info(json_line);
}

void flush_logs() {
    if (g_access) g_access->flush();
    spdlog::default_logger()->flush();
}

}  // namespace nexus::core
