#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/ip_range.hpp"
#include "core/price.hpp"

namespace nexus::config {

using Millis = std::chrono::milliseconds;

/// Everything nexus-api can be told at start-up. Each field has an environment variable and a
/// matching command-line flag (the flag wins); see option_table() for names and defaults.
struct Config {
    // Server
    std::string host = "0.0.0.0";
    std::uint16_t port = 3000;
    /// The operations listener ("host:port", IPv6 in brackets): when set, /api/* and /metrics are
    /// served there and not on the public port. Empty: everything on the public port.
    std::string admin_listen_host;
    std::uint16_t admin_listen_port = 0;
    std::string data_dir = "./data";
    unsigned threads = 0;  ///< 0: one per CPU in the process's affinity mask
    /// An I/O thread out of work polls its sockets this long before it sleeps (0: it sleeps at once).
    std::chrono::microseconds busy_poll{0};
    std::uint64_t max_body_bytes = 32ull << 20;
    std::uint32_t max_header_bytes = 16u << 10;
    std::size_t max_connections = 0;  ///< open client connections at most; 0: derived from the descriptor limit
    Millis header_timeout{10'000};   ///< to read a request's headers once its first byte came
    Millis body_timeout{60'000};     ///< to read a request's body
    Millis idle_timeout{60'000};     ///< keep-alive connection with no request
    Millis write_timeout{60'000};    ///< one write to a client that does not read
    Millis shutdown_grace{30'000};   ///< requests in flight may finish this long after SIGTERM

    // Upstream
    Millis upstream_connect_timeout{10'000};
    Millis upstream_tls_timeout{10'000};
    Millis upstream_header_timeout{300'000};  ///< request sent → response headers
    Millis upstream_idle_timeout{120'000};    ///< longest gap between two reads of a response body
    Millis request_timeout{1'800'000};        ///< whole request, first byte to last
    unsigned upstream_pool_size = 64;         ///< idle keep-alive connections kept per origin per thread
    Millis upstream_keepalive{30'000};        ///< an idle pooled connection older than this is closed

    // Channel pool
    unsigned max_attempts = 3;               ///< channels tried per request, at most
    Millis models_refresh{300'000};          ///< upstream model lists for GET /v1/models are kept this long
    Millis channel_cooldown{30'000};         ///< a channel with 3 transient failures in a row rests this long
    unsigned log_retention_days = 30;        ///< usage records older than this are deleted; 0 keeps all

    // Billing and limits
    std::optional<core::Price> default_price;         ///< for a model without a price of its own
    std::int64_t output_estimate_tokens = 4096;      ///< a call's output bound when it sets no max_tokens
    std::int64_t anthropic_max_tokens = 8192;        ///< max_tokens for an Anthropic channel when the call sets none
    Millis stream_ping{12'000};                      ///< silence after which an Anthropic stream gets a ping
    std::vector<core::IpRange> trusted_proxies;      ///< peers whose X-Forwarded-For is believed

    // Storage and secrets
    std::string db;         ///< SQLite file; empty: <data_dir>/nexus.db
    std::string database_url;  ///< PostgreSQL (postgresql://…); empty: SQLite
    std::string redis_url;  ///< redis:// or rediss://: rate limits shared by every node; empty: in memory
    Millis redis_lease{30'000};  ///< a dead node's concurrency slots come back within this
    bool quota_without_redis = false;  ///< without Redis: limited quotas checked locally (true) or refused
    Millis change_poll{5'000};  ///< with PostgreSQL: how often the change version is read, behind LISTEN
    std::size_t usage_buffer = 200'000;  ///< usage records held for the database at most (then dropped, counted)
    std::string secret;     ///< decoded 32-byte master key; empty: <data_dir>/secret.key
    std::string admin_key;  ///< empty: the stored hash, or a generated key on first start

    // Users and sign-in
    std::string root_password;                     ///< empty: generated on first start, printed once
    std::string public_url;                        ///< empty: the Origin allowed is http:// + Host
    std::int64_t session_idle_seconds = 168 * 3600;
    std::int64_t session_max_seconds = 30 * 86400;

    // The first channel of an empty database
    std::string siliconflow_api_key;
    std::string siliconflow_base_url = "https://api.siliconflow.cn";

    // Logs
    std::string log_level = "info";
    bool access_log = true;
};

/// Thrown for invalid configuration; what() is one line naming the variable.
struct ConfigError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// Thrown by load() after it printed --help (code 0) or a flag parse error (code 2); main returns `code`.
struct ExitRequest {
    int code;
};

/// One configurable setting, as shown in --help and the README.
struct OptionInfo {
    std::string env;
    std::string flag;
    std::string default_text;
    std::string help;
};
std::vector<OptionInfo> option_table();

using EnvLookup = std::function<const char*(const char*)>;

/// Builds the Config from `env` (default: the process environment) and then `argv`.
/// Throws ConfigError for a bad value, ExitRequest after printing --help or a flag error.
Config load(int argc, const char* const* argv, const EnvLookup& env = {});

/// A master key as NEXUS_SECRET takes it (64 hex characters, or base64), decoded to its 32
/// bytes. Throws ConfigError naming `name`.
std::string parse_secret(std::string_view name, std::string_view value);

/// Raises this process's RLIMIT_NOFILE soft limit to its hard limit; returns the limit now in force.
std::uint64_t raise_descriptor_limit();

/// NEXUS_MAX_CONNECTIONS when unset: what `descriptors` can hold with two per relayed call.
std::size_t default_max_connections(std::uint64_t descriptors);

/// The number of CPUs in this process's affinity mask (at least 1).
unsigned affinity_cpu_count();

}  // namespace nexus::config
