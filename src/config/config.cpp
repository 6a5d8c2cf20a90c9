#include "config/config.hpp"

#include "core/crypto.hpp"
#include "core/origin.hpp"
#include "core/price.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/json/parse.hpp>
#include <sched.h>
#include <sys/resource.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace nexus::config {

namespace {

// The offending value for an error message: at most 64 characters, control characters shown as
// '?', so the message stays one line.
std::string quoted(std::string_view v) {
    std::string s = "\"";
    for (const char c : v.substr(0, 64)) s += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
    if (v.size() > 64) s += "...";
    s += '"';
    return s;
}

template <class Int>
Int parse_int(std::string_view name, std::string_view v, Int min, Int max) {
    Int out{};
    const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    if (ec != std::errc{} || ptr != v.data() + v.size() || out < min || out > max) {
        throw ConfigError(std::string(name) + ": must be an integer from " + std::to_string(min) + " to " +
                          std::to_string(max) + ", got " + quoted(v));
    }
    return out;
}

Millis parse_seconds(std::string_view name, std::string_view v, double min_seconds) {
    // std::from_chars for double is in libstdc++ 11+.
    double s = 0;
    const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), s);
    if (ec != std::errc{} || ptr != v.data() + v.size() || !std::isfinite(s) || s < min_seconds || s > 86400.0 * 7) {
        throw ConfigError(std::string(name) + ": must be a number of seconds (decimals allowed) from " +
                          std::to_string(min_seconds).substr(0, 4) + " to 604800, got " + quoted(v));
    }
    return Millis(static_cast<long long>(std::llround(s * 1000.0)));
}

// A positive number of `unit_seconds` units (hours, days; decimals allowed) up to `max`, as whole
// seconds (at least 1).
std::int64_t parse_duration(std::string_view name, std::string_view v, double max, double unit_seconds) {
    double h = 0;
    const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), h);
    if (ec != std::errc{} || ptr != v.data() + v.size() || !std::isfinite(h) || h <= 0 || h > max) {
        throw ConfigError(std::string(name) + ": must be a positive number (decimals allowed) up to " +
                          std::to_string(static_cast<int>(max)) + ", got " + quoted(v));
    }
    return std::max<std::int64_t>(std::llround(h * unit_seconds), 1);
}

bool parse_bool(std::string_view name, std::string_view v) {
    if (v == "1" || v == "true" || v == "on" || v == "yes") return true;
    if (v == "0" || v == "false" || v == "off" || v == "no") return false;
    throw ConfigError(std::string(name) + ": must be true or false (1/0, on/off), got " + quoted(v));
}

std::string parse_base_url(std::string_view name, std::string_view v) {
    if (!core::is_http_base_url(v)) {
        throw ConfigError(std::string(name) + ": must be an http:// or https:// URL with a host and no query, got " +
                          quoted(v));
    }
    return std::string(v);
}

// "host:port" or "[v6]:port" with an IP literal host; port 0 picks a free one.
void parse_listen_address(std::string_view name, std::string_view v, std::string& host, std::uint16_t& port) {
    const auto fail = [&] {
        return ConfigError(std::string(name) + ": must be an IP address and a port, as 127.0.0.1:3001 or [::1]:3001, got " +
                           quoted(v));
    };
    const auto colon = v.rfind(':');
    if (colon == std::string_view::npos || colon == 0) throw fail();
    std::string_view h = v.substr(0, colon);
    if (h.front() == '[') {
        if (h.size() < 3 || h.back() != ']') throw fail();
        h = h.substr(1, h.size() - 2);
    }
    boost::system::error_code ec;
    const auto address = boost::asio::ip::make_address(std::string(h), ec);
    if (ec || (address.is_v6() && v.front() != '[')) throw fail();
    const auto p = v.substr(colon + 1);
    unsigned number = 0;
    const auto [end, pec] = std::from_chars(p.data(), p.data() + p.size(), number);
    if (p.empty() || pec != std::errc{} || end != p.data() + p.size() || number > 65535) throw fail();
    host = std::string(h);
    port = static_cast<std::uint16_t>(number);
}

using Apply = std::function<void(Config&, std::string_view name, std::string_view value)>;

struct Option {
    const char* env;
    const char* flag;
    const char* default_text;
    const char* help;
    Apply apply;
};

// The one table of settings: environment variable, flag, default as documented, meaning, parser.
const std::vector<Option>& options() {
    static const std::vector<Option> table = {
        {"NEXUS_HOST", "--host", "0.0.0.0", "address to listen on",
         [](Config& c, auto, auto v) { c.host = std::string(v); }},
        {"NEXUS_PORT", "--port", "3000", "port to listen on (0: any free port)",
         [](Config& c, auto n, auto v) { c.port = parse_int<std::uint16_t>(n, v, 0, 65535); }},
        {"NEXUS_ADMIN_LISTEN", "--admin-listen", "(unset: one port for everything)",
         "host:port of an operations listener: /api/* and /metrics move there from the public port",
         [](Config& c, auto n, auto v) { parse_listen_address(n, v, c.admin_listen_host, c.admin_listen_port); }},
        {"NEXUS_DATA_DIR", "--data-dir", "./data", "directory for the database and key files",
         [](Config& c, auto n, auto v) {
             if (v.empty()) throw ConfigError(std::string(n) + ": must not be empty");
             c.data_dir = std::string(v);
         }},
        {"NEXUS_THREADS", "--threads", "CPUs in the affinity mask", "I/O threads",
         [](Config& c, auto n, auto v) { c.threads = parse_int<unsigned>(n, v, 1, 1024); }},
        {"NEXUS_BUSY_POLL_MICROSECONDS", "--busy-poll", "0",
         "an I/O thread out of work keeps polling its sockets this long before it sleeps: less latency on a virtual "
         "machine, more CPU (0: off; give each I/O thread a core of its own)",
         [](Config& c, auto n, auto v) { c.busy_poll = std::chrono::microseconds(parse_int<unsigned>(n, v, 0, 10'000)); }},
        {"NEXUS_MAX_BODY_BYTES", "--max-body-bytes", "33554432", "largest request body (larger → 413)",
         [](Config& c, auto n, auto v) {
             c.max_body_bytes = parse_int<std::uint64_t>(n, v, 1, std::uint64_t{1} << 40);
         }},
        {"NEXUS_MAX_HEADER_BYTES", "--max-header-bytes", "16384", "largest request header block (larger → 431)",
         [](Config& c, auto n, auto v) { c.max_header_bytes = parse_int<std::uint32_t>(n, v, 1024, 1u << 20); }},
        {"NEXUS_MAX_CONNECTIONS", "--max-connections", "(descriptor limit - 256) / 2",
         "open client connections at most; more are answered 503 overloaded",
         [](Config& c, auto n, auto v) { c.max_connections = parse_int<std::size_t>(n, v, 1, 10'000'000); }},
        {"NEXUS_HEADER_TIMEOUT_SECONDS", "--header-timeout", "10", "time to read a request's headers",
         [](Config& c, auto n, auto v) { c.header_timeout = parse_seconds(n, v, 0.01); }},
        {"NEXUS_BODY_TIMEOUT_SECONDS", "--body-timeout", "60", "time to read a request's body",
         [](Config& c, auto n, auto v) { c.body_timeout = parse_seconds(n, v, 0.01); }},
        {"NEXUS_IDLE_TIMEOUT_SECONDS", "--idle-timeout", "60", "idle keep-alive connection lifetime",
         [](Config& c, auto n, auto v) { c.idle_timeout = parse_seconds(n, v, 0.01); }},
        {"NEXUS_WRITE_TIMEOUT_SECONDS", "--write-timeout", "60", "time for one write to a client",
         [](Config& c, auto n, auto v) { c.write_timeout = parse_seconds(n, v, 0.01); }},
        {"NEXUS_SHUTDOWN_GRACE_SECONDS", "--shutdown-grace", "30",
         "after SIGTERM/SIGINT, how long requests in flight may finish",
         [](Config& c, auto n, auto v) { c.shutdown_grace = parse_seconds(n, v, 0); }},
        {"NEXUS_UPSTREAM_CONNECT_TIMEOUT_SECONDS", "--upstream-connect-timeout", "10",
         "name resolution and TCP connect to an upstream",
         [](Config& c, auto n, auto v) { c.upstream_connect_timeout = parse_seconds(n, v, 0.01); }},
        {"NEXUS_UPSTREAM_TLS_TIMEOUT_SECONDS", "--upstream-tls-timeout", "10", "TLS handshake with an upstream",
         [](Config& c, auto n, auto v) { c.upstream_tls_timeout = parse_seconds(n, v, 0.01); }},
        {"NEXUS_UPSTREAM_HEADER_TIMEOUT_SECONDS", "--upstream-header-timeout", "300",
         "request sent → upstream response headers",
         [](Config& c, auto n, auto v) { c.upstream_header_timeout = parse_seconds(n, v, 0.01); }},
        {"NEXUS_UPSTREAM_IDLE_TIMEOUT_SECONDS", "--upstream-idle-timeout", "120",
         "longest gap between two reads of an upstream body (stream frames)",
         [](Config& c, auto n, auto v) { c.upstream_idle_timeout = parse_seconds(n, v, 0.01); }},
        {"NEXUS_REQUEST_TIMEOUT_SECONDS", "--request-timeout", "1800", "whole request, first byte to last",
         [](Config& c, auto n, auto v) { c.request_timeout = parse_seconds(n, v, 0.01); }},
        {"NEXUS_UPSTREAM_POOL_SIZE", "--upstream-pool-size", "64",
         "idle keep-alive connections kept per upstream origin, per thread",
         [](Config& c, auto n, auto v) { c.upstream_pool_size = parse_int<unsigned>(n, v, 0, 100000); }},
        {"NEXUS_UPSTREAM_KEEPALIVE_SECONDS", "--upstream-keepalive", "30",
         "an idle pooled upstream connection older than this is closed, not reused",
         [](Config& c, auto n, auto v) { c.upstream_keepalive = parse_seconds(n, v, 0); }},
        {"NEXUS_MAX_ATTEMPTS", "--max-attempts", "3", "channels tried per request, at most",
         [](Config& c, auto n, auto v) { c.max_attempts = parse_int<unsigned>(n, v, 1, 100); }},
        {"NEXUS_CHANNEL_COOLDOWN_SECONDS", "--channel-cooldown", "30",
         "a channel that failed 3 times in a row (5xx, 429, timeouts, refused) is skipped this long",
         [](Config& c, auto n, auto v) { c.channel_cooldown = parse_seconds(n, v, 0); }},
        {"NEXUS_MODELS_REFRESH_SECONDS", "--models-refresh", "300",
         "GET /v1/models re-reads the model list of a channel without a models list this often",
         [](Config& c, auto n, auto v) { c.models_refresh = parse_seconds(n, v, 1); }},
        {"NEXUS_LOG_RETENTION_DAYS", "--log-retention-days", "30",
         "usage records older than this many days are deleted (0 keeps them all)",
         [](Config& c, auto n, auto v) { c.log_retention_days = parse_int<unsigned>(n, v, 0, 36500); }},
        {"NEXUS_DEFAULT_PRICE", "--default-price", "(unset: a limited token may not call an unpriced model)",
         "price of a model without one, as JSON: {\"input\":N,\"output\":N,\"cached_input\":N,\"per_request\":N}",
         [](Config& c, auto n, auto v) {
             boost::system::error_code ec;
             const auto doc = boost::json::parse(v, ec);
             if (ec || !doc.is_object()) throw ConfigError(std::string(n) + ": must be a JSON object, got " + quoted(v));
             auto price = core::parse_price(doc.get_object());
             if (!price) throw ConfigError(std::string(n) + ": " + price.error().message);
             c.default_price = *price;
         }},
        {"NEXUS_OUTPUT_ESTIMATE_TOKENS", "--output-estimate-tokens", "4096",
         "a call without max_tokens is reserved quota and tpm for this many output tokens",
         [](Config& c, auto n, auto v) { c.output_estimate_tokens = parse_int<std::int64_t>(n, v, 1, 10'000'000); }},
        {"NEXUS_ANTHROPIC_MAX_TOKENS", "--anthropic-max-tokens", "8192",
         "max_tokens sent to an Anthropic channel for an OpenAI call that sets none (Anthropic requires it)",
         [](Config& c, auto n, auto v) { c.anthropic_max_tokens = parse_int<std::int64_t>(n, v, 1, 10'000'000); }},
        {"NEXUS_STREAM_PING_SECONDS", "--stream-ping", "12",
         "an Anthropic-shaped stream silent this long gets a ping event (the upstream's idle deadline still applies)",
         [](Config& c, auto n, auto v) { c.stream_ping = parse_seconds(n, v, 0.1); }},
        {"NEXUS_TRUSTED_PROXIES", "--trusted-proxies", "(none)",
         "comma-separated addresses/CIDRs of proxies whose X-Forwarded-For names the client (for allow_ips)",
         [](Config& c, auto n, auto v) {
             c.trusted_proxies.clear();
             std::string_view rest = v;
             while (!rest.empty()) {
                 const auto comma = rest.find(',');
                 const auto item = rest.substr(0, comma);
                 auto range = core::IpRange::parse(item);
                 if (!range) throw ConfigError(std::string(n) + ": not an address or CIDR: " + quoted(item));
                 c.trusted_proxies.push_back(*range);
                 rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
             }
         }},
        {"NEXUS_DB", "--db", "<data dir>/nexus.db", "SQLite database file",
         [](Config& c, auto n, auto v) {
             if (v.empty()) throw ConfigError(std::string(n) + ": must not be empty");
             if (v.starts_with("postgres://") || v.starts_with("postgresql://")) {
                 throw ConfigError(std::string(n) + ": is the SQLite file; give a PostgreSQL URL in NEXUS_DATABASE_URL");
             }
             c.db = std::string(v);
         }},
        {"NEXUS_DATABASE_URL", "--database-url", "(unset: the SQLite file)",
         "PostgreSQL to keep everything in, shared by several nodes: postgresql://user:password@host:port/db",
         [](Config& c, auto n, auto v) {
             if (!v.starts_with("postgres://") && !v.starts_with("postgresql://")) {
                 throw ConfigError(std::string(n) + ": must be a postgresql:// URL");
             }
             c.database_url = std::string(v);
         }},
        {"NEXUS_REDIS_URL", "--redis-url", "(unset: limits in each node's memory)",
         "Redis for rpm, tpm and max_concurrency shared by every node: redis://[:password@]host:port/db, rediss:// for TLS",
         [](Config& c, auto n, auto v) {
             if (!v.starts_with("redis://") && !v.starts_with("rediss://")) {
                 throw ConfigError(std::string(n) + ": must be a redis:// or rediss:// URL");
             }
             c.redis_url = std::string(v);
         }},
        {"NEXUS_REDIS_LEASE_SECONDS", "--redis-lease", "30",
         "with Redis: a call's concurrency slot is a lease renewed every third of this; a node that dies frees its slots within it",
         [](Config& c, auto n, auto v) { c.redis_lease = parse_seconds(n, v, 1.5); }},
        {"NEXUS_QUOTA_WITHOUT_REDIS", "--quota-without-redis", "deny",
         "with Redis away: deny (a call against a limited quota is refused, 503 quota_unavailable) or local (checked "
         "against this node's view, which other nodes' spending may overrun)",
         [](Config& c, auto n, auto v) {
             if (v != "deny" && v != "local") throw ConfigError(std::string(n) + ": must be deny or local, got " + quoted(v));
             c.quota_without_redis = v == "local";
         }},
        {"NEXUS_USAGE_BUFFER", "--usage-buffer", "200000",
         "usage records held in memory while the database is behind or cannot be reached; past it they are dropped and counted",
         [](Config& c, auto n, auto v) { c.usage_buffer = parse_int<std::size_t>(n, v, 1000, 100'000'000); }},
        {"NEXUS_CHANGE_POLL_SECONDS", "--change-poll", "5",
         "with PostgreSQL: other nodes' changes arrive at once (LISTEN/NOTIFY); this poll catches one that was missed",
         [](Config& c, auto n, auto v) { c.change_poll = parse_seconds(n, v, 0.1); }},
        {"NEXUS_SECRET", "--secret", "generated into <data dir>/secret.key",
         "master key for secrets at rest: 32 bytes as 64 hex characters or base64",
         [](Config& c, auto n, auto v) { c.secret = parse_secret(n, v); }},
        {"NEXUS_ADMIN_KEY", "--admin-key", "generated on first start, printed once",
         "key for the admin API (/api/*), at least 16 characters",
         [](Config& c, auto n, auto v) {
             if (v.size() < 16 || v.find_first_of(" \t\r\n") != std::string_view::npos) {
                 throw ConfigError(std::string(n) + ": must be at least 16 characters without spaces");
             }
             c.admin_key = std::string(v);
         }},
        {"NEXUS_ROOT_PASSWORD", "--root-password", "generated on first start, printed once",
         "password of the root account created on a database without users (8-128 characters)",
         [](Config& c, auto n, auto v) {
             if (v.size() < 8 || v.size() > 128) throw ConfigError(std::string(n) + ": must be 8 to 128 characters");
             c.root_password = std::string(v);
         }},
        {"NEXUS_PUBLIC_URL", "--public-url", "(none)",
         "the URL browsers reach nexus-api at: the console's Origin, and https makes the session cookie Secure",
         [](Config& c, auto n, auto v) {
             if (!v.starts_with("http://") && !v.starts_with("https://")) {
                 throw ConfigError(std::string(n) + ": must start with http:// or https://, got " + quoted(v));
             }
             c.public_url = std::string(v);
         }},
        {"NEXUS_SESSION_IDLE_HOURS", "--session-idle-hours", "168",
         "a signed-in session ends after this many hours without a request (decimals allowed)",
         [](Config& c, auto n, auto v) { c.session_idle_seconds = parse_duration(n, v, 24.0 * 365, 3600); }},
        {"NEXUS_SESSION_MAX_DAYS", "--session-max-days", "30",
         "a session ends this many days after its login, however active (decimals allowed)",
         [](Config& c, auto n, auto v) { c.session_max_seconds = parse_duration(n, v, 365, 86400); }},
        {"SILICONFLOW_API_KEY", "--siliconflow-api-key", "(none)", "on an empty database, becomes the first channel",
         [](Config& c, auto n, auto v) {
             // The key goes into a request header: a stray newline from `$(cat keyfile)` must
             // stop start-up, not reach the wire.
             for (const char ch : v) {
                 if (static_cast<unsigned char>(ch) <= 0x20 || ch == 0x7f) {
                     throw ConfigError(std::string(n) + ": must not hold spaces or control characters (a trailing newline?)");
                 }
             }
             c.siliconflow_api_key = std::string(v);
         }},
        {"SILICONFLOW_BASE_URL", "--siliconflow-base-url", "https://api.siliconflow.cn",
         "base URL of that first channel (a trailing /v1 is tolerated)",
         [](Config& c, auto n, auto v) { c.siliconflow_base_url = parse_base_url(n, v); }},
        {"NEXUS_LOG_LEVEL", "--log-level", "info", "trace, debug, info, warn, error, critical or off",
         [](Config& c, auto n, auto v) {
             static constexpr std::string_view kLevels[] = {"trace", "debug", "info",    "warn",
                                                            "error", "critical", "off"};
             for (const auto l : kLevels) {
                 if (v == l) {
                     c.log_level = std::string(v);
                     return;
                 }
             }
             throw ConfigError(std::string(n) + ": must be one of trace, debug, info, warn, error, critical, off, got " +
                               quoted(v));
         }},
        {"NEXUS_ACCESS_LOG", "--access-log", "true", "one JSON access-log line per request on stdout",
         [](Config& c, auto n, auto v) { c.access_log = parse_bool(n, v); }},
    };
    return table;
}

}  // namespace

std::string parse_secret(std::string_view name, std::string_view value) {
    auto key = value.size() == 64 ? core::from_hex(value) : core::from_base64(value);
    if (!key || key->size() != 32) {
        throw ConfigError(std::string(name) + ": must be 32 bytes as 64 hex characters or as base64");
    }
    return *key;
}

std::vector<OptionInfo> option_table() {
    std::vector<OptionInfo> out;
    for (const auto& o : options()) out.push_back({o.env, o.flag, o.default_text, o.help});
    return out;
}

Config load(int argc, const char* const* argv, const EnvLookup& env) {
    const EnvLookup lookup = env ? env : EnvLookup([](const char* n) { return std::getenv(n); });
    Config config;
    for (const auto& o : options()) {
        if (const char* v = lookup(o.env); v != nullptr) o.apply(config, o.env, v);
    }

    CLI::App app{"nexus-api: an OpenAI-compatible LLM API gateway"};
    app.footer(
        "Commands (each takes --help, and the flags above to find the server's data):\n"
        "  nexus-api backup --to FILE              copy the database while nexus-api serves\n"
        "  nexus-api restore --from FILE           replace the database with a backup (server stopped)\n"
        "  nexus-api rotate-secret [--new-secret KEY]  re-seal the secrets under a new master key (server stopped)\n"
        "  nexus-api admin-key --reset             replace the admin key (server stopped)\n"
        "  nexus-api user reset-password NAME      set a user's password and end his sessions");
    std::vector<std::string> values(options().size());
    std::vector<CLI::Option*> flags;
    for (std::size_t i = 0; i < options().size(); ++i) {
        const auto& o = options()[i];
        flags.push_back(app.add_option(o.flag, values[i], std::string(o.help) + " [env " + o.env + ", default " +
                                                              o.default_text + "]"));
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // --help is 0; any other parse error (an unknown flag, a flag without its value) is a
        // usage error like an invalid value: 2, not CLI11's own codes.
        const int code = app.exit(e);
        throw ExitRequest{code == 0 ? 0 : 2};
    }
    for (std::size_t i = 0; i < options().size(); ++i) {
        if (flags[i]->count() == 0) continue;
        const auto& o = options()[i];
        o.apply(config, std::string(o.flag) + " (" + o.env + ")", values[i]);
    }
    if (!config.redis_url.empty() && config.database_url.empty()) {
        throw ConfigError("NEXUS_REDIS_URL: shares limits between nodes, which share NEXUS_DATABASE_URL; set that too");
    }
    if (!config.database_url.empty()) {
        if (!config.db.empty()) throw ConfigError("NEXUS_DB and NEXUS_DATABASE_URL: set one database, not both");
        // A key file lives in one node's data directory; nodes sharing a database must share the key.
        if (config.secret.empty()) {
            throw ConfigError("NEXUS_DATABASE_URL: needs NEXUS_SECRET, the master key every node of the database shares");
        }
    }
    return config;
}

std::uint64_t raise_descriptor_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
    if (limit.rlim_cur < limit.rlim_max) {
        rlimit raised = limit;
        raised.rlim_cur = limit.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
    }
    return limit.rlim_cur == RLIM_INFINITY ? std::numeric_limits<std::uint64_t>::max() : limit.rlim_cur;
}

std::size_t default_max_connections(std::uint64_t descriptors) {
    // A relayed call holds two descriptors (client and upstream); keep 256 for listeners, the
    // database, logs and idle pooled connections.
    constexpr std::uint64_t kReserve = 256;
    constexpr std::uint64_t kCeiling = 1'000'000;
    const std::uint64_t n = descriptors > 2 * kReserve ? (descriptors - kReserve) / 2 : std::max<std::uint64_t>(descriptors / 4, 1);
    return static_cast<std::size_t>(std::min(n, kCeiling));
}

unsigned affinity_cpu_count() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        const int n = CPU_COUNT(&set);
        if (n > 0) return static_cast<unsigned>(n);
    }
    return 1;
}

}  // namespace nexus::config
