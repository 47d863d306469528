// Unit tests for control/config: every validation error names file:line and the field, the
// reserved-ASN rules (E1, E2), C1, E7, duplicates, malformed values, unknown keys, references.
#include "control/config.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace rsfwd;

namespace {

// T0 of ROUTE_SERVER.md in compact form. Line numbers below refer to this text.
const std::string base = R"(route_server:
  instance_ips: [10.1.0.4, 10.1.0.5]
vnet:
  address_space: [10.1.0.0/16]
  peerings:
    - {name: spoke, address_space: [10.2.0.0/16], use_remote_gateway: true}
ports:
  - {name: nva, device: net_null0, address: 10.1.2.1/24}
  - {name: er, device: net_null1, address: 192.0.2.1/30, view: er/c1}
  - {name: vpn, device: net_null2, address: 192.0.2.5/30, view: vpn/branch}
neighbours:
  - {ip: 10.1.2.9, mac: "02:00:00:00:00:09", port: nva}
expressroute_gateway:
  instance_ips: [10.1.1.4, 10.1.1.5]
  circuits:
    - name: c1
      port: er
      onprem_asn: 65100
      edge_ip: 192.0.2.2
      routes:
        - {prefix: 172.16.0.0/16, as_path: "65100"}
vpn_gateway:
  instance_ips: [10.1.1.6, 10.1.1.7]
  sites:
    - {name: branch, port: vpn, asn: 65200, device_ip: 192.0.2.6, prefixes: [172.20.0.0/16]}
nvas:
  - name: NVA1
    asn: 65001
    ip: 10.1.2.4
    port: nva
    routes:
      - {prefix: 192.168.10.0/24, as_path: "65001"}
)";

std::string with(std::string text, const std::string& from, const std::string& to) {
    const auto pos = text.find(from);
    EXPECT_NE(pos, std::string::npos) << from;
    if (pos != std::string::npos) text.replace(pos, from.size(), to);
    return text;
}

// Expects a ConfigError whose message has "<test>:LINE: FIELD" and contains `needle`.
void expect_error(const std::string& text, int line, const std::string& field,
                  const std::string& needle) {
    try {
        (void)parse_config(text, "<test>");
        ADD_FAILURE() << "no error; expected " << field << ": " << needle;
    } catch (const ConfigError& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("<test>:" + std::to_string(line) + ": " + field), std::string::npos)
            << what;
        EXPECT_NE(what.find(needle), std::string::npos) << what;
        EXPECT_EQ(e.line(), line) << what;
        EXPECT_EQ(e.field(), field) << what;
    }
}

} // namespace

TEST(Config, LoadsBaseTopology) {
    const auto c = parse_config(base, "<test>");
    EXPECT_EQ(c.route_server.asn, 65515u);
    EXPECT_FALSE(c.route_server.branch_to_branch);                                 // A5
    EXPECT_EQ(c.route_server.routing_preference, RoutingPreference::expressroute); // D2
    EXPECT_EQ(c.route_server.max_prefixes, 1000u);                                 // E8
    EXPECT_EQ(c.route_server.er_max_advertised, 1000u);                            // B7
    EXPECT_EQ(c.route_server.no_export, NoExportMode::ignore);                     // G2
    EXPECT_FALSE(c.route_server.p2s_transit);
    ASSERT_EQ(c.ports.size(), 3u);
    EXPECT_EQ(c.ports[0].view, "vnet");
    EXPECT_EQ(c.ports[0].address.str(), "10.1.2.1");
    EXPECT_EQ(c.ports[0].subnet.str(), "10.1.2.0/24");
    EXPECT_EQ(c.ports[1].view, "er/c1");
    ASSERT_TRUE(c.expressroute_gateway);
    EXPECT_EQ(c.expressroute_gateway->circuits[0].routes[0].as_path.str(), "65100");
    ASSERT_TRUE(c.vpn_gateway);
    EXPECT_TRUE(c.vpn_gateway->active_active);
    ASSERT_EQ(c.nvas.size(), 1u);
    EXPECT_EQ(c.nvas[0].peers_with, (std::vector<int>{0, 1})); // E6 default: both
    EXPECT_EQ(c.neighbours[0].mac[5], 9);
    EXPECT_TRUE(c.warnings.empty());
}

// RFC 1812 §5.3.7's switch: martian sources are dropped unless the config lets them through.
TEST(Config, DataplaneAllowMartianSources) {
    EXPECT_FALSE(parse_config(base, "<test>").dataplane.allow_martian_sources);
    const auto c = parse_config(base + "dataplane:\n  allow_martian_sources: true\n", "<test>");
    EXPECT_TRUE(c.dataplane.allow_martian_sources);
    const auto lines = static_cast<int>(std::count(base.begin(), base.end(), '\n'));
    expect_error(base + "dataplane:\n  allow_martians: true\n", lines + 2,
                 "dataplane.allow_martians", "unknown key");
}

TEST(Config, LoadsTheSeedExample) {
    const auto c = load_config(std::string(RSFWD_SOURCE_ROOT) + "/examples/seed.yaml");
    EXPECT_EQ(c.nvas.size(), 2u);
    EXPECT_EQ(c.route_server.instance_ips[0].str(), "10.1.0.4");
}

TEST(Config, MissingFileIsAnError) {
    EXPECT_THROW((void)load_config("/nonexistent/rsfwd.yaml"), ConfigError);
}

TEST(Config, YamlSyntaxErrorHasLine) {
    try {
        (void)parse_config("route_server:\n  instance_ips: [10.1.0.4\n", "<test>");
        FAIL();
    } catch (const ConfigError& e) {
        EXPECT_GE(e.line(), 2) << e.what();
        EXPECT_NE(std::string(e.what()).find("<test>:"), std::string::npos);
    }
}

TEST(Config, E1NvaWithRouteServerAsn) {
    expect_error(with(base, "asn: 65001", "asn: 65515"), 28, "nvas[0].asn", "E1");
}

TEST(Config, E2ReservedPeerAsns) {
    for (const char* asn : {"8074", "8075", "12076", "65517", "65520", "23456", "64496", "64511",
                            "65535", "65551", "65536", "4200000000"}) {
        expect_error(with(base, "asn: 65001", std::string("asn: ") + asn), 28, "nvas[0].asn", "E2");
    }
    EXPECT_TRUE(is_reserved_peer_asn(65519));
    EXPECT_FALSE(is_reserved_peer_asn(65001));
    EXPECT_FALSE(is_reserved_peer_asn(64512));
    // On-prem ASNs are checked the same way.
    expect_error(with(base, "onprem_asn: 65100", "onprem_asn: 12076"), 18,
                 "expressroute_gateway.circuits[0].onprem_asn", "E2");
    expect_error(with(base, "asn: 65200", "asn: 65515"), 25, "vpn_gateway.sites[0].asn", "E2");
}

TEST(Config, RouteServerAsnIsFixed) {
    expect_error(with(base, "route_server:\n", "route_server:\n  asn: 65000\n"), 2,
                 "route_server.asn", "E1");
}

TEST(Config, BgpWriteQueueMaxDefaultAndBounds) { // issue #24
    EXPECT_EQ(parse_config(base, "<test>").route_server.bgp_write_queue_max, 64u << 20);
    const auto c = parse_config(
        with(base, "route_server:\n", "route_server:\n  bgp_write_queue_max: 8388608\n"), "<test>");
    EXPECT_EQ(c.route_server.bgp_write_queue_max, 8u << 20);
    expect_error(with(base, "route_server:\n", "route_server:\n  bgp_write_queue_max: 65536\n"), 2,
                 "route_server.bgp_write_queue_max", "at least");
}

TEST(Config, C1VpnGatewayMustBeActiveActiveWith65515) {
    expect_error(with(base, "vpn_gateway:\n", "vpn_gateway:\n  active_active: false\n"), 23,
                 "vpn_gateway.active_active", "C1");
    expect_error(with(base, "vpn_gateway:\n", "vpn_gateway:\n  asn: 65000\n"), 23,
                 "vpn_gateway.asn", "C1");
}

TEST(Config, E7AtMostEightNvas) {
    std::string text = base;
    for (int i = 2; i <= 9; ++i) {
        text += "  - {name: N" + std::to_string(i) + ", asn: " + std::to_string(65000 + i) +
                ", ip: 10.1.2." + std::to_string(10 + i) + ", port: nva}\n";
    }
    expect_error(text, 40, "nvas[8]", "E7");
}

TEST(Config, UnknownKeysAtEveryLevel) {
    expect_error(with(base, "vnet:\n", "bogus: 1\nvnet:\n"), 3, "bogus", "unknown key");
    expect_error(with(base, "  instance_ips: [10.1.0.4, 10.1.0.5]\n",
                      "  instance_ips: [10.1.0.4, 10.1.0.5]\n  branch_to_brnch: true\n"),
                 3, "route_server.branch_to_brnch", "unknown key");
    expect_error(with(base, "use_remote_gateway: true}", "use_remote_gateway: true, x: 1}"), 6,
                 "vnet.peerings[0].x", "unknown key");
    expect_error(with(base, "view: er/c1}", "view: er/c1, speed: 10}"), 9, "ports[1].speed",
                 "unknown key");
    expect_error(with(base, "{prefix: 172.16.0.0/16, as_path: \"65100\"}",
                      "{prefix: 172.16.0.0/16, as_path: \"65100\", next_hop: 1.2.3.4}"),
                 21, "expressroute_gateway.circuits[0].routes[0].next_hop", "unknown key");
    expect_error(with(base, "    port: nva\n", "    port: nva\n    colour: red\n"), 31,
                 "nvas[0].colour", "unknown key");
}

TEST(Config, DuplicateKey) {
    expect_error(with(base, "    port: nva\n", "    port: nva\n    port: nva\n"), 31,
                 "nvas[0].port", "duplicate key");
}

TEST(Config, Duplicates) {
    // names
    expect_error(base + "  - {name: NVA1, asn: 65002, ip: 10.1.2.5, port: nva}\n", 33,
                 "nvas[1].name", "duplicate NVA name");
    expect_error(with(base, "view: vpn/branch}",
                      "view: vpn/branch}\n  - {name: nva, device: x, "
                      "address: 10.9.0.1/24}"),
                 11, "ports[3].name", "duplicate port name");
    // addresses
    expect_error(base + "  - {name: NVA2, asn: 65002, ip: 10.1.2.4, port: nva}\n", 33, "nvas[1].ip",
                 "duplicate address 10.1.2.4");
    expect_error(
        with(base, "instance_ips: [10.1.1.6, 10.1.1.7]", "instance_ips: [10.1.1.6, 10.1.0.5]"), 23,
        "vpn_gateway.instance_ips[1]", "duplicate address");
    // prefixes
    expect_error(
        with(base, "address_space: [10.1.0.0/16]", "address_space: [10.1.0.0/16, 10.1.0.0/16]"), 4,
        "vnet.address_space[1]", "duplicate prefix");
    expect_error(with(base, "[10.2.0.0/16]", "[10.1.128.0/17]"), 6,
                 "vnet.peerings[0].address_space", "overlaps");
    expect_error(with(base, "      - {prefix: 192.168.10.0/24, as_path: \"65001\"}\n",
                      "      - {prefix: 192.168.10.0/24, as_path: \"65001\"}\n"
                      "      - {prefix: 192.168.10.0/24, as_path: \"65001 65001\"}\n"),
                 33, "nvas[0].routes[1].prefix", "duplicate prefix");
    expect_error(with(base, "{ip: 10.1.2.9,",
                      "{ip: 10.1.2.9, mac: \"02:00:00:00:00:09\", port: nva}\n  - {ip: 10.1.2.9,"),
                 13, "neighbours[1].ip", "duplicate neighbour");
}

TEST(Config, MalformedValues) {
    expect_error(with(base, "[10.1.0.0/16]", "[10.1.0.1/16]"), 4, "vnet.address_space[0]",
                 "not an IPv4 prefix");
    expect_error(with(base, "[10.1.0.0/16]", "[10.1.0.0/33]"), 4, "vnet.address_space[0]",
                 "not an IPv4 prefix");
    expect_error(with(base, "ip: 10.1.2.4", "ip: 10.1.2.400"), 29, "nvas[0].ip",
                 "not an IPv4 address");
    expect_error(with(base, "asn: 65001", "asn: sixty"), 28, "nvas[0].asn", "not an integer");
    expect_error(with(base, "asn: 65001", "asn: 99999999999"), 28, "nvas[0].asn", "not an integer");
    expect_error(with(base, "as_path: \"65001\"", "as_path: \"65001 x\""), 32,
                 "nvas[0].routes[0].as_path", "not an AS path");
    expect_error(with(base, "as_path: \"65001\"}", "as_path: \"65001\", communities: [\"1:2:3\"]}"),
                 32, "nvas[0].routes[0].communities[0]", "not a community");
    expect_error(with(base, "mac: \"02:00:00:00:00:09\"", "mac: \"02:00:00:00:00\""), 12,
                 "neighbours[0].mac", "not a MAC");
    expect_error(with(base, "address: 10.1.2.1/24", "address: 10.1.2.1"), 8, "ports[0].address",
                 "interface address");
    expect_error(with(base, "  instance_ips: [10.1.0.4, 10.1.0.5]\n",
                      "  instance_ips: [10.1.0.4, 10.1.0.5]\n  branch_to_branch: yes\n"),
                 3, "route_server.branch_to_branch", "not true or false");
    expect_error(with(base, "  instance_ips: [10.1.0.4, 10.1.0.5]\n",
                      "  instance_ips: [10.1.0.4, 10.1.0.5]\n  routing_preference: Fastest\n"),
                 3, "route_server.routing_preference", "D2");
    expect_error(with(base, "instance_ips: [10.1.0.4, 10.1.0.5]", "instance_ips: [10.1.0.4]"), 2,
                 "route_server.instance_ips", "exactly 2");
}

TEST(Config, MissingRequiredKey) {
    expect_error(with(base, "    ip: 10.1.2.4\n", ""), 27, "nvas[0].ip", "required");
    expect_error(with(base, "  instance_ips: [10.1.0.4, 10.1.0.5]\n", "  name: ars\n"), 2,
                 "route_server.instance_ips", "required");
}

TEST(Config, References) {
    expect_error(with(base, "    port: nva\n", "    port: nope\n"), 30, "nvas[0].port",
                 "no port named 'nope'");
    expect_error(with(base, "port: er\n", "port: nope\n"), 17,
                 "expressroute_gateway.circuits[0].port", "no port named");
    expect_error(with(base, "port: vpn,", "port: nva,"), 25, "vpn_gateway.sites[0].port",
                 "must have view vpn/branch");
    const std::string extra_port =
        "view: vpn/branch}\n  - {name: x, device: d, address: 10.9.0.1/24, ";
    expect_error(with(base, "view: vpn/branch}", extra_port + "view: er/c2}"), 11, "ports[3].view",
                 "no circuit named 'c2'");
    expect_error(with(base, "view: vpn/branch}", extra_port + "view: vpn/nope}"), 11,
                 "ports[3].view", "no VPN site named");
    expect_error(with(base, "view: vpn/branch}", "view: lan}"), 10, "ports[2].view",
                 "expected vnet");
    expect_error(with(base, "view: er/c1}", "view: er/c2}"), 17,
                 "expressroute_gateway.circuits[0].port", "must have view er/c1");
    expect_error(with(base, "port: nva}", "port: er}"), 12, "neighbours[0].ip", "outside");
    expect_error(with(base, "edge_ip: 192.0.2.2", "edge_ip: 192.0.3.2"), 19,
                 "expressroute_gateway.circuits[0].edge_ip", "must be a host of port er");
    expect_error(
        with(base, "    routes:\n      - {prefix: 192.168.10.0/24",
             "    peers_with: [0]\n    routes:\n      - {instance: 1, prefix: 192.168.10.0/24"),
        33, "nvas[0].routes[0].instance", "does not peer with instance 1");
}

TEST(Config, PeersWithOneInstanceWarns) { // E6
    const auto c = parse_config(
        with(base, "    port: nva\n", "    port: nva\n    peers_with: [0]\n"), "<test>");
    ASSERT_EQ(c.warnings.size(), 1u);
    EXPECT_NE(c.warnings[0].find("E6"), std::string::npos);
    expect_error(with(base, "    port: nva\n",
                      "    port: nva\n    peers_with: [0]\n"
                      "    bgp: {md5: x}\n"
                      "    extra: 1\n"),
                 33, "nvas[0].extra", "unknown key");
}

TEST(Config, H1NextHopMayNotBeRouteServer) {
    expect_error(with(base, "as_path: \"65001\"}", "as_path: \"65001\", next_hop: 10.1.0.5}"), 32,
                 "nvas[0].routes[0].next_hop", "H1");
}

TEST(Config, KnobsParse) {
    const auto c = parse_config(
        with(base, "  instance_ips: [10.1.0.4, 10.1.0.5]\n",
             "  instance_ips: [10.1.0.4, 10.1.0.5]\n  branch_to_branch: true\n"
             "  routing_preference: ASPath\n  max_prefixes: 4000\n  max_prefix_action: ignore\n"
             "  er_max_advertised: 10\n  er_limit_action: ignore\n  no_export: rfc1997\n"
             "  p2s_transit: true\n  er_drop_hairpin: false\n  vpn_max_prefixes: 10\n"),
        "<test>");
    EXPECT_TRUE(c.route_server.branch_to_branch);
    EXPECT_EQ(c.route_server.routing_preference, RoutingPreference::as_path);
    EXPECT_EQ(c.route_server.max_prefixes, 4000u);
    EXPECT_EQ(c.route_server.max_prefix_action, MaxPrefixAction::ignore);
    EXPECT_EQ(c.route_server.er_limit_action, ErLimitAction::ignore);
    EXPECT_EQ(c.route_server.no_export, NoExportMode::rfc1997);
    EXPECT_FALSE(c.route_server.er_drop_hairpin);
}
