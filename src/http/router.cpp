#include "http/router.hpp"

#include <boost/url/decode_view.hpp>
#include <boost/url/pct_string_view.hpp>

#include <algorithm>

namespace nexus::http {

namespace {

std::vector<std::string_view> split(std::string_view path) {
    std::vector<std::string_view> out;
    std::size_t i = path.starts_with('/') ? 1 : 0;
    while (i <= path.size()) {
        const auto slash = path.find('/', i);
        const auto end = slash == std::string_view::npos ? path.size() : slash;
        out.push_back(path.substr(i, end - i));
        if (slash == std::string_view::npos) break;
        i = slash + 1;
    }
    return out;
}

bool is_param(std::string_view s) { return s.size() > 2 && s.front() == '{' && s.back() == '}'; }

}  // namespace

// More literal segments first; at equal count, a pattern without a rest before one with.
bool Router::more_specific(const Route& a, const Route& b) {
    if (a.literals != b.literals) return a.literals > b.literals;
    return !a.rest && b.rest;
}

void Router::add(bhttp::verb method, std::string_view pattern, RouteInfo info, Handler handler) {
    Route r{method, {}, 0, false, info, std::move(handler)};
    for (const auto s : split(pattern)) {
        r.segments.emplace_back(s);
        if (!is_param(s)) ++r.literals;
    }
    r.rest = !r.segments.empty() && r.segments.back().ends_with("...}");
    const bool literal = r.literals == static_cast<int>(r.segments.size());
    routes_.push_back(std::move(r));
    const auto index = routes_.size() - 1;
    if (literal) {
        exact_[std::string(pattern)].push_back(index);
        return;
    }
    patterns_.push_back(index);
    std::stable_sort(patterns_.begin(), patterns_.end(),
                     [this](std::size_t a, std::size_t b) { return more_specific(routes_[a], routes_[b]); });
}

void Router::set_fallback(RouteInfo info, Handler handler) {
    fallback_ = Route{bhttp::verb::unknown, {}, 0, true, info, std::move(handler)};
}

void Router::set_guard(Access access, Guard guard) { guards_[access] = std::move(guard); }

bool Router::matches(const Route& r, const std::vector<std::string_view>& path,
                     std::vector<std::pair<std::string, std::string>>* params) const {
    const auto& seg = r.segments;
    if (r.rest ? path.size() < seg.size() : path.size() != seg.size()) return false;
    for (std::size_t i = 0; i < seg.size(); ++i) {
        const bool last_rest = r.rest && i + 1 == seg.size();
        if (!is_param(seg[i])) {
            if (seg[i] != path[i]) return false;
            continue;
        }
        // The rest of the path, from this segment on, slashes and all; or one segment.
        const std::string_view value =
            last_rest ? std::string_view(path[i].data(), path.back().data() + path.back().size() - path[i].data())
                      : path[i];
        if (value.empty()) return false;
        if (params == nullptr) continue;
        const std::string_view name(seg[i].data() + 1, seg[i].size() - (last_rest ? 5 : 2));
        params->emplace_back(name, value);
    }
    return true;
}

Router::Match Router::result(const Route& r) const {
    Match m;
    m.handler = &r.handler;
    m.info = r.info;
    if (const auto g = guards_.find(r.info.access); g != guards_.end()) m.guard = &g->second;
    return m;
}

Router::Match Router::find(bhttp::verb method, std::string_view target) const {
    const auto path = target.substr(0, target.find('?'));
    if (method == bhttp::verb::head) method = bhttp::verb::get;  // Exchange leaves the body out
    auto fits = [method](const Route& r) { return r.method == bhttp::verb::unknown || r.method == method; };

    // Literal paths: one lookup.
    if (const auto it = exact_.find(path); it != exact_.end()) {
        for (const auto i : it->second) {
            if (fits(routes_[i])) return result(routes_[i]);
        }
        auto m = result(routes_[it->second.front()]);
        m.handler = nullptr;
        m.path_known = true;
        return m;
    }
    // Patterns, most specific first. The most specific that takes the path decides: a route of
    // the same specificity for this method, or a 405 (never a vaguer catch-all's answer).
    const auto segments = split(path);
    const Route* known = nullptr;
    for (const auto i : patterns_) {
        const auto& r = routes_[i];
        if (known != nullptr && (more_specific(*known, r) || more_specific(r, *known))) break;
        if (!matches(r, segments, nullptr)) continue;
        if (!fits(r)) {
            if (known == nullptr) known = &r;
            continue;
        }
        auto m = result(r);
        matches(r, segments, &m.params);
        return m;
    }
    if (known != nullptr) {
        auto m = result(*known);
        m.handler = nullptr;
        m.path_known = true;
        return m;
    }
    if (fallback_) return result(*fallback_);
    return {};
}

std::optional<std::string> percent_decoded(std::string_view text) {
    const auto escaped = boost::urls::make_pct_string_view(text);
    if (!escaped) return std::nullopt;
    return std::string(escaped->decode());
}

}  // namespace nexus::http
