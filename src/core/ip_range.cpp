#include "core/ip_range.hpp"

#include <charconv>
#include <string>

namespace nexus::core {

namespace ip = boost::asio::ip;

namespace {

// A v4-mapped v6 address as the v4 address it carries.
ip::address unmapped(const ip::address& a) {
    if (a.is_v6() && a.to_v6().is_v4_mapped()) return ip::make_address_v4(ip::v4_mapped, a.to_v6());
    return a;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

std::optional<ip::address> parse_address(std::string_view text) {
    boost::system::error_code ec;
    const auto a = ip::make_address(std::string(trim(text)), ec);
    if (ec) return std::nullopt;
    return unmapped(a);
}

}  // namespace

std::optional<IpRange> IpRange::parse(std::string_view text) {
    const auto slash = text.find('/');
    const auto address = parse_address(text.substr(0, slash));
    if (!address) return std::nullopt;
    IpRange r;
    r.v4_ = address->is_v4();
    const unsigned max_prefix = r.v4_ ? 32 : 128;
    r.prefix_ = max_prefix;
    if (slash != std::string_view::npos) {
        const auto p = text.substr(slash + 1);
        const auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), r.prefix_);
        if (p.empty() || ec != std::errc{} || end != p.data() + p.size() || r.prefix_ > max_prefix) return std::nullopt;
    }
    if (r.v4_) {
        const auto b = address->to_v4().to_bytes();
        std::copy(b.begin(), b.end(), r.bytes_.begin());
    } else {
        r.bytes_ = address->to_v6().to_bytes();
    }
    return r;
}

bool IpRange::contains(const ip::address& candidate) const {
    const auto a = unmapped(candidate);
    if (a.is_v4() != v4_) return false;
    std::array<unsigned char, 16> bytes{};
    if (v4_) {
        const auto b = a.to_v4().to_bytes();
        std::copy(b.begin(), b.end(), bytes.begin());
    } else {
        bytes = a.to_v6().to_bytes();
    }
    const unsigned whole = prefix_ / 8;
    for (unsigned i = 0; i < whole; ++i) {
        if (bytes[i] != bytes_[i]) return false;
    }
    const unsigned bits = prefix_ % 8;
    if (bits == 0) return true;
    const auto mask = static_cast<unsigned char>(0xff << (8 - bits));
    return (bytes[whole] & mask) == (bytes_[whole] & mask);
}

bool any_contains(const std::vector<IpRange>& ranges, const ip::address& address) {
    for (const auto& r : ranges) {
        if (r.contains(address)) return true;
    }
    return false;
}

ip::address client_address(const ip::address& peer, std::string_view forwarded_for,
                           const std::vector<IpRange>& trusted_proxies) {
    ip::address client = unmapped(peer);
    if (trusted_proxies.empty() || !any_contains(trusted_proxies, client)) return client;
    // Walk from the right: each hop was added by the proxy after it; stop at the first one that
    // is not ours.
    std::string_view rest = forwarded_for;
    while (!trim(rest).empty()) {
        const auto comma = rest.rfind(',');
        const auto entry = comma == std::string_view::npos ? rest : rest.substr(comma + 1);
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(0, comma);
        const auto address = parse_address(entry);
        if (!address) break;
        client = *address;
        if (!any_contains(trusted_proxies, client)) break;
    }
    return client;
}

}  // namespace nexus::core
