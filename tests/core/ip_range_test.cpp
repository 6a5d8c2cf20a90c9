#include "core/ip_range.hpp"

#include <gtest/gtest.h>

namespace nexus::core {
namespace {

namespace ip = boost::asio::ip;

std::vector<IpRange> ranges(std::initializer_list<const char*> texts) {
    std::vector<IpRange> out;
    for (const auto* t : texts) {
        auto r = IpRange::parse(t);
        EXPECT_TRUE(r) << t;
        if (r) out.push_back(*r);
    }
    return out;
}

TEST(IpRange, ParsesAddressesAndCidrs) {
    for (const auto* bad : {"", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/x", "example.com", "10.0.0.256"}) {
        EXPECT_FALSE(IpRange::parse(bad)) << bad;
    }
    const auto r = ranges({"10.0.0.0/8", "192.168.1.7", "2001:db8::/32", "0.0.0.0/0"});
    EXPECT_TRUE(r[0].contains(ip::make_address("10.255.0.1")));
    EXPECT_FALSE(r[0].contains(ip::make_address("11.0.0.1")));
    EXPECT_TRUE(r[1].contains(ip::make_address("192.168.1.7")));
    EXPECT_FALSE(r[1].contains(ip::make_address("192.168.1.8")));
    EXPECT_TRUE(r[2].contains(ip::make_address("2001:db8:ffff::1")));
    EXPECT_FALSE(r[2].contains(ip::make_address("2001:db9::1")));
    EXPECT_FALSE(r[2].contains(ip::make_address("10.0.0.1")));
    EXPECT_TRUE(r[3].contains(ip::make_address("8.8.8.8")));
    EXPECT_TRUE(r[0].contains(ip::make_address("::ffff:10.1.2.3"))) << "a v4-mapped peer is its v4 address";
    EXPECT_TRUE(ranges({"172.16.0.0/12"})[0].contains(ip::make_address("172.31.255.255")));
    EXPECT_FALSE(ranges({"172.16.0.0/12"})[0].contains(ip::make_address("172.32.0.0")));
}

TEST(IpRange, ClientAddressIsTheRightMostUntrustedHop) {
    const auto trusted = ranges({"127.0.0.0/8", "10.0.0.0/8"});
    const auto peer = ip::make_address("127.0.0.1");
    EXPECT_EQ(client_address(ip::make_address("8.8.4.4"), "1.1.1.1", trusted).to_string(), "8.8.4.4")
        << "an untrusted peer's header is ignored";
    EXPECT_EQ(client_address(peer, "", trusted).to_string(), "127.0.0.1");
    EXPECT_EQ(client_address(peer, "1.1.1.1, 2.2.2.2, 10.0.0.5", trusted).to_string(), "2.2.2.2");
    EXPECT_EQ(client_address(peer, "10.0.0.9, 10.0.0.5", trusted).to_string(), "10.0.0.9") << "all trusted: the left-most";
    EXPECT_EQ(client_address(peer, "junk, 3.3.3.3", trusted).to_string(), "3.3.3.3");
    EXPECT_EQ(client_address(peer, "3.3.3.3, junk", trusted).to_string(), "127.0.0.1") << "an unreadable hop stops the walk";
    EXPECT_EQ(client_address(peer, "1.1.1.1", {}).to_string(), "127.0.0.1") << "no trusted proxies: the peer";
}

}  // namespace
}  // namespace nexus::core
