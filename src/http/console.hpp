#pragma once
#include <boost/beast/http/verb.hpp>

#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/asio.hpp"

namespace nexus::http {

class Exchange;

/// One file of the web console, embedded in the binary at build time (web/scripts/embed.mjs
/// writes the table; console_assets() returns it).
struct ConsoleAsset {
    std::string_view path;          ///< as requested: "/index.html", "/assets/index-3f2a1c9d.js"
    std::string_view content_type;
    std::string_view body;
    std::string_view gzip;          ///< the body gzipped; empty when that would not be smaller
    std::string_view etag;          ///< quoted, from the body's hash
};

/// The embedded console; empty when the binary was built without it (NEXUS_CONSOLE=OFF).
std::span<const ConsoleAsset> console_assets();

/// Serves the console: a file by its path, and index.html for every other GET that accepts
/// text/html (the console's own routes, such as /channels), so each page has a URL that opens
/// directly. API paths (/api, /v1, /healthz, /readyz, /metrics) are never a page: they, and
/// whatever else asks for no HTML, get the JSON 404. Answers carry the console's security
/// headers; hashed files are cached for a year, index.html is revalidated (ETag) each time.
class Console {
public:
    explicit Console(std::span<const ConsoleAsset> assets);

    bool empty() const { return index_ == nullptr; }

    /// The file a request names, or null for the JSON 404 (pure: the handler's decision).
    const ConsoleAsset* find(beast::http::verb method, std::string_view target, std::string_view accept) const;
    /// The fields of an answer with `asset` (gzipped or not).
    static std::string fields(const ConsoleAsset& asset, bool gzipped);

    /// The router's fallback.
    net::awaitable<void> serve(Exchange& exchange) const;

private:
    std::unordered_map<std::string_view, const ConsoleAsset*> by_path_;
    const ConsoleAsset* index_ = nullptr;
};

/// Whether an Accept-Encoding value takes gzip (a q=0 refuses it).
bool accepts_gzip(std::string_view accept_encoding);

}  // namespace nexus::http
