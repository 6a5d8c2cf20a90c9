#include "http/console.hpp"

#include "core/error.hpp"
#include "core/wire.hpp"
#include "http/exchange.hpp"

namespace nexus::http {

namespace {

constexpr std::string_view kPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

bool under(std::string_view path, std::string_view root) {
    return path == root || (path.starts_with(root) && path.size() > root.size() && path[root.size()] == '/');
}

// Paths whose answers are the API's own: never a page, whatever the client accepts.
bool api_path(std::string_view path) {
    return under(path, "/api") || under(path, "/v1") || under(path, "/healthz") || under(path, "/readyz") ||
           under(path, "/metrics");
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

bool iequal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

}  // namespace

bool accepts_gzip(std::string_view accept_encoding) {
    while (!accept_encoding.empty()) {
        const auto comma = accept_encoding.find(',');
        auto item = accept_encoding.substr(0, comma);
        accept_encoding = comma == std::string_view::npos ? std::string_view() : accept_encoding.substr(comma + 1);
        const auto semi = item.find(';');
        const auto coding = trim(item.substr(0, semi));
        if (!iequal(coding, "gzip") && !iequal(coding, "x-gzip")) continue;
        if (semi == std::string_view::npos) return true;
        // "q=0", "q=0.0", "q=0.000": refused; any other weight takes it.
        auto q = trim(item.substr(semi + 1));
        if (!q.starts_with("q=") && !q.starts_with("Q=")) return true;
        q.remove_prefix(2);
        return q.find_first_not_of("0.") != std::string_view::npos;
    }
    return false;
}

Console::Console(std::span<const ConsoleAsset> assets) {
    for (const auto& a : assets) {
        by_path_.emplace(a.path, &a);
        if (a.path == "/index.html") index_ = &a;
    }
}

const ConsoleAsset* Console::find(beast::http::verb method, std::string_view target, std::string_view accept) const {
    if (index_ == nullptr) return nullptr;
    if (method != beast::http::verb::get && method != beast::http::verb::head) return nullptr;
    const auto path = target.substr(0, target.find('?'));
    if (path == "/") return index_;
    if (const auto it = by_path_.find(path); it != by_path_.end()) return it->second;
    // A hashed file that is not here (an old page asking for a chunk of an older build) is a
    // 404, never index.html served as script.
    if (api_path(path) || under(path, "/assets")) return nullptr;
    return accept.find("text/html") != std::string_view::npos ? index_ : nullptr;
}

std::string Console::fields(const ConsoleAsset& asset, bool gzipped) {
    std::string out;
    out.reserve(640);
    core::append_field(out, "Content-Type", asset.content_type);
    core::append_field(out, "Cache-Control",
                       asset.path.starts_with("/assets/") ? "public, max-age=31536000, immutable" : "no-cache");
    core::append_field(out, "ETag", asset.etag);
    if (!asset.gzip.empty()) core::append_field(out, "Vary", "Accept-Encoding");
    if (gzipped) core::append_field(out, "Content-Encoding", "gzip");
    core::append_field(out, "Content-Security-Policy", kPolicy);
    core::append_field(out, "X-Content-Type-Options", "nosniff");
    core::append_field(out, "Referrer-Policy", "same-origin");
    core::append_field(out, "X-Frame-Options", "DENY");
    core::append_field(out, "Cross-Origin-Opener-Policy", "same-origin");
    return out;
}

net::awaitable<void> Console::serve(Exchange& exchange) const {
    const auto& request = exchange.request();
    const auto* asset = find(request.method(), request.target(), request[beast::http::field::accept]);
    if (asset == nullptr) {
        const std::string_view target = request.target();
        co_await exchange.send_error(core::Error::not_found("Unknown path: " + std::string(target.substr(0, target.find('?')))));
        co_return;
    }
    const bool gzipped = !asset->gzip.empty() && accepts_gzip(request[beast::http::field::accept_encoding]);
    const auto fields = Console::fields(*asset, gzipped);
    if (request[beast::http::field::if_none_match] == asset->etag) {
        co_await exchange.send(304, fields, {});
        co_return;
    }
    co_await exchange.send(200, fields, gzipped ? asset->gzip : asset->body);
}

}  // namespace nexus::http
