// tests/unit/fib — static neighbours in the config: IPv4 (static ARP) and IPv6 (static ND)
// entries, and what the loader refuses about them (file:line and field in every error).
#include "control/config.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace rsfwd;

namespace {

// Line numbers below refer to this text (the neighbours start at line 7).
std::string config(const std::string& neighbours) {
    return R"(route_server:
  instance_ips: [10.1.0.4, 10.1.0.5]
vnet:
  address_space: [10.1.0.0/16]
ports:
  - {name: vms, device: net_null0, address: 10.1.3.1/24, address6: "2001:db8:3::1/64"}
  - {name: nva, device: net_null1, address: 10.1.2.1/24}
neighbours:
)" + neighbours;
}

// Expects a ConfigError at `line` naming `field` and containing `needle`.
void expect_error(const std::string& text, int line, const std::string& field,
                  const std::string& needle) {
    try {
        (void)parse_config(text, "t.yaml");
        FAIL() << "accepted: " << text;
    } catch (const ConfigError& e) {
        EXPECT_EQ(e.line(), line) << e.what();
        EXPECT_EQ(e.field(), field) << e.what();
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
}

} // namespace

TEST(ConfigNeighbours, Ipv4AndIpv6StaticNeighbours) {
    const Config c = parse_config(config(R"(  - {ip: 10.1.3.10, mac: "02:00:00:00:03:0a", port: vms}
  - {ip: "2001:db8:3::20", mac: "02:00:00:00:06:20", port: vms}
  - {ip: 10.1.2.4, mac: "02:00:00:00:02:04", port: nva}
)"));
    ASSERT_EQ(c.neighbours.size(), 3u);
    EXPECT_TRUE(c.neighbours[0].ip.is_v4());
    EXPECT_TRUE(c.neighbours[1].ip.is_v6());
    EXPECT_EQ(c.neighbours[1].ip.str(), "2001:db8:3::20");
    EXPECT_EQ(c.neighbours[1].mac[5], 0x20);
    EXPECT_EQ(c.neighbours[1].port, "vms");
    EXPECT_EQ(c.neighbours[1].line, 10);
}

TEST(ConfigNeighbours, RefusesBadIpv6Neighbours) {
    // Outside the port's IPv6 subnet.
    expect_error(config("  - {ip: \"2001:db8:4::20\", mac: \"02:00:00:00:06:20\", port: vms}\n"), 9,
                 "neighbours[0].ip", "outside port vms's subnet 2001:db8:3::/64");
    // On a port without address6.
    expect_error(config("  - {ip: \"2001:db8:3::20\", mac: \"02:00:00:00:06:20\", port: nva}\n"), 9,
                 "neighbours[0].ip", "port nva has no address6");
    // The port's own IPv6 address.
    expect_error(config("  - {ip: \"2001:db8:3::1\", mac: \"02:00:00:00:06:20\", port: vms}\n"), 9,
                 "neighbours[0].ip", "own address");
    // Not an address; a prefix is not an address either.
    expect_error(config("  - {ip: \"2001:db8:3::/64\", mac: \"02:00:00:00:06:20\", port: vms}\n"),
                 9, "neighbours[0].ip", "is not an IP address");
    // Duplicates are refused for IPv6 too.
    expect_error(config(R"(  - {ip: "2001:db8:3::20", mac: "02:00:00:00:06:20", port: vms}
  - {ip: "2001:db8:3:0::20", mac: "02:00:00:00:06:21", port: vms}
)"),
                 10, "neighbours[1].ip", "duplicate neighbour 2001:db8:3::20 (line 9)");
    // IPv4 rules are unchanged.
    expect_error(config("  - {ip: 10.1.9.9, mac: \"02:00:00:00:06:20\", port: vms}\n"), 9,
                 "neighbours[0].ip", "outside port vms's subnet 10.1.3.0/24");
}
