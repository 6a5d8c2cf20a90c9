#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace nexus::core {

/// Where a channel's requests go: scheme, host and port (the connection pool's key), and the
/// path prefix that API paths are appended to.
struct Origin {
    bool tls = true;
    std::string host;       ///< without brackets for IPv6
    std::string port;       ///< "443" / "80" when the URL gave none
    std::string base_path;  ///< "" or "/prefix", never ending in "/" or "/v1"
    std::string key;        ///< "https://host:port": one connection pool per key
    std::string host_header;///< Host header value: host, plus ":port" when not the default

    /// Parses an http:// or https:// base URL. A trailing "/" and a trailing "/v1" are dropped,
    /// so "https://api.siliconflow.cn/v1" and "https://api.siliconflow.cn" are the same origin.
    /// Returns nullopt for anything else (other schemes, no host, a query, user info).
    static std::optional<Origin> parse(std::string_view base_url);

    /// base_path + api_path, e.g. "/v1/chat/completions".
    std::string target(std::string_view api_path) const { return base_path + std::string(api_path); }
};

/// True for what a channel's base URL may be: Origin::parse accepts it.
inline bool is_http_base_url(std::string_view url) { return Origin::parse(url).has_value(); }

}  // namespace nexus::core
