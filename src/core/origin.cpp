#include "core/origin.hpp"

#include <boost/url/parse.hpp>

#include <charconv>

namespace nexus::core {

std::optional<Origin> Origin::parse(std::string_view base_url) {
    const auto url = boost::urls::parse_absolute_uri(base_url);
    if (!url) return std::nullopt;
    Origin o;
    if (url->scheme() == "https") {
        o.tls = true;
    } else if (url->scheme() == "http") {
        o.tls = false;
    } else {
        return std::nullopt;
    }
    if (url->has_query() || url->has_fragment() || url->has_userinfo()) return std::nullopt;
    if (url->host_type() == boost::urls::host_type::ipv6) {
        o.host = std::string(url->encoded_host_address());
    } else {
        o.host = std::string(url->encoded_host());
    }
    if (o.host.empty() || o.host.find('%') != std::string::npos) return std::nullopt;
    const std::string default_port = o.tls ? "443" : "80";
    o.port = url->has_port() ? std::string(url->port()) : default_port;
    if (o.port.empty()) o.port = default_port;
    // The port as text may be any run of digits: read it without overflow or exceptions.
    unsigned port_number = 0;
    const auto [end, ec] = std::from_chars(o.port.data(), o.port.data() + o.port.size(), port_number);
    if (ec != std::errc{} || end != o.port.data() + o.port.size() || port_number == 0 || port_number > 65535) {
        return std::nullopt;
    }

    std::string path(url->encoded_path());
    while (!path.empty() && path.back() == '/') path.pop_back();
    if (path.size() >= 3 && path.compare(path.size() - 3, 3, "/v1") == 0) path.resize(path.size() - 3);
    while (!path.empty() && path.back() == '/') path.pop_back();
    o.base_path = path;

    const std::string bracketed = url->host_type() == boost::urls::host_type::ipv6 ? "[" + o.host + "]" : o.host;
    o.key = (o.tls ? "https://" : "http://") + bracketed + ":" + o.port;
    o.host_header = o.port == default_port ? bracketed : bracketed + ":" + o.port;
    return o;
}

}  // namespace nexus::core
