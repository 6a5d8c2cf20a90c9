#pragma once
#include <boost/beast/http/verb.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/asio.hpp"
#include "core/metrics.hpp"
#include "core/text.hpp"

namespace nexus::http {

class Exchange;
namespace bhttp = beast::http;

/// Who may call a route. The router runs the guard registered for its access before the
/// handler, so authorisation is decided in one place, never by each handler.
enum class Access : std::uint8_t {
    kPublic,  ///< anyone: health, readiness
    kToken,   ///< a nexus token: the relay checks it from the request's head
    kAdmin,   ///< the admin API: the admin guard (the admin key)
};

/// What a route declares besides its handler.
struct RouteInfo {
    core::Route metric = core::Route::kOther;  ///< its label in the metrics
    Access access = Access::kPublic;
    bool csrf = false;  ///< a write made with a session cookie must carry the CSRF token
    std::uint8_t scope = 0;  ///< what the route acts on, in its guard's own terms (the admin API's Resource)
};

using Handler = std::function<net::awaitable<void>(Exchange&)>;
/// Lets the caller of a route go on (true), or answers it (401, 403, 429…) and returns false.
using Guard = std::function<net::awaitable<bool>(Exchange&, const RouteInfo&)>;

/// Maps (method, path) to a route. Patterns are paths whose segments may be "{name}" (one
/// segment) or, last, "{name...}" (the rest, at least one segment); the query string is not
/// part of the path. A path with no pattern segment is matched first (a hash lookup, the hot
/// path's case); then patterns, most literal segments first (and at equal count one without a
/// rest first); the most specific pattern that takes the path decides. A known path with another
/// method → the route's access and no handler (405 once allowed);
/// an unknown path → the fallback, if any, or nothing (404). HEAD is served by GET routes.
/// Built before the server starts; then only read (any thread).
class Router {
public:
    /// `method` bhttp::verb::unknown: every method.
    void add(bhttp::verb method, std::string_view pattern, RouteInfo info, Handler handler);
    /// Sets the route for what no other route takes (the web console's pages); it never shadows
    /// another route, nor a known path with another method.
    void set_fallback(RouteInfo info, Handler handler);
    /// Sets the guard run before every route of `access` (also before its 405).
    void set_guard(Access access, Guard guard);

    struct Match {
        const Handler* handler = nullptr;  ///< null: no route for this method (and path)
        const Guard* guard = nullptr;      ///< run first, when set
        RouteInfo info;
        bool path_known = false;  ///< some route takes this path under another method
        std::vector<std::pair<std::string, std::string>> params;  ///< pattern name → raw segment(s)
    };
    Match find(bhttp::verb method, std::string_view target) const;

private:
    struct Route {
        bhttp::verb method;
        std::vector<std::string> segments;  ///< the pattern's
        int literals = 0;
        bool rest = false;  ///< ends in "{name...}"
        RouteInfo info;
        Handler handler;
    };
    static bool more_specific(const Route& a, const Route& b);
    bool matches(const Route& r, const std::vector<std::string_view>& path,
                 std::vector<std::pair<std::string, std::string>>* params) const;
    Match result(const Route& r) const;

    std::vector<Route> routes_;
    core::StringMap<std::vector<std::size_t>> exact_;  ///< literal path → routes
    std::vector<std::size_t> patterns_;  ///< routes with a parameter, most literal segments first
    std::optional<Route> fallback_;
    std::unordered_map<Access, Guard> guards_;
};

/// `text` percent-decoded; nullopt for a malformed escape.
std::optional<std::string> percent_decoded(std::string_view text);

}  // namespace nexus::http
