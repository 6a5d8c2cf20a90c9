#pragma once
#include <boost/asio/ip/address.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace nexus::core {

/// An IP address or a CIDR block, v4 or v6 ("10.0.0.0/8", "2001:db8::/32", "192.0.2.7").
/// A v4 address seen as v4-mapped v6 ("::ffff:192.0.2.7") matches v4 ranges.
class IpRange {
public:
    /// Nullopt when `text` is neither an address nor address/prefix with a prefix in range.
    static std::optional<IpRange> parse(std::string_view text);
    bool contains(const boost::asio::ip::address& address) const;

private:
    std::array<unsigned char, 16> bytes_{};
    bool v4_ = false;
    unsigned prefix_ = 0;
};

/// Whether any of `ranges` contains `address`.
bool any_contains(const std::vector<IpRange>& ranges, const boost::asio::ip::address& address);

/// The address a call comes from: the socket's `peer`, unless `trusted_proxies` lists it; then
/// the right-most address of `forwarded_for` (an X-Forwarded-For value) that is not a trusted
/// proxy, or the left-most one when all are. An unparsable entry is where the walk stops: the
/// last address it read is taken (the peer, when the header is unreadable).
boost::asio::ip::address client_address(const boost::asio::ip::address& peer, std::string_view forwarded_for,
                                        const std::vector<IpRange>& trusted_proxies);

}  // namespace nexus::core
