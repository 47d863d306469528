// Shared helpers for the policy tests: the T0 topology of ROUTE_SERVER.md and small accessors.
#pragma once

#include "control/config.hpp"
#include "control/policy.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace rsfwd::test {

// T0: hub 10.1.0.0/16, ARS 10.1.0.4/.5, ERGW 10.1.1.4/.5, VPNGW 10.1.1.6/.7, NVA1 10.1.2.4 AS
// 65001, NVA2 10.1.2.5 AS 65002, spoke 10.2.0.0/16 (use-remote-gateway), ER on-prem AS 65100
// (edge 192.0.2.2 on port er-onprem 192.0.2.1/30), VPN branch AS 65200 (device 192.0.2.6 on
// 192.0.2.5/30). `rs_extra` is appended to route_server:, `extra` at the end of the document.
inline std::string t0_yaml(const std::string& rs_extra = "", const std::string& extra = "",
                           const std::string& more_nvas = "", const std::string& more_circuits = "",
                           const std::string& more_ports = "", const std::string& peerings = "") {
    return "route_server:\n  instance_ips: [10.1.0.4, 10.1.0.5]\n" + rs_extra +
           "vnet:\n  address_space: [10.1.0.0/16]\n  peerings:\n"
           "    - {name: spoke, address_space: [10.2.0.0/16], use_remote_gateway: true}\n" +
           peerings +
           "ports:\n"
           "  - {name: nva, device: net_null0, address: 10.1.2.1/24}\n"
           "  - {name: vms, device: net_null1, address: 10.1.3.1/24}\n"
           "  - {name: er-onprem, device: net_null2, address: 192.0.2.1/30, view: er/onprem}\n"
           "  - {name: vpn-branch, device: net_null3, address: 192.0.2.5/30, view: vpn/branch}\n" +
           more_ports +
           "expressroute_gateway:\n  instance_ips: [10.1.1.4, 10.1.1.5]\n  circuits:\n"
           "    - {name: onprem, port: er-onprem, onprem_asn: 65100, edge_ip: 192.0.2.2}\n" +
           more_circuits +
           "vpn_gateway:\n  instance_ips: [10.1.1.6, 10.1.1.7]\n  sites:\n"
           "    - {name: branch, port: vpn-branch, asn: 65200, device_ip: 192.0.2.6}\n"
           "nvas:\n"
           "  - {name: NVA1, asn: 65001, ip: 10.1.2.4, port: nva}\n"
           "  - {name: NVA2, asn: 65002, ip: 10.1.2.5, port: nva}\n" +
           more_nvas + extra;
}

inline Prefix P(const char* s) {
    auto p = Prefix::parse(s);
    EXPECT_TRUE(p) << s;
    return p.value_or(Prefix{});
}
inline IpAddr A(const char* s) {
    auto a = IpAddr::parse(s);
    EXPECT_TRUE(a) << s;
    return a.value_or(IpAddr{});
}
inline Route R(const char* prefix, const char* path, const char* nh = nullptr,
               std::vector<Community> comms = {}) {
    Route r;
    r.prefix = P(prefix);
    r.as_path = *AsPath::parse(path);
    if (nh) r.next_hop = A(nh);
    r.communities = std::move(comms);
    return r;
}

const PeerKey nva1_0 = PeerKey::nva(0, 0), nva1_1 = PeerKey::nva(0, 1);
const PeerKey nva2_0 = PeerKey::nva(1, 0), nva2_1 = PeerKey::nva(1, 1);
const PeerKey er0 = PeerKey::circuit(0), er1 = PeerKey::circuit(1);
const PeerKey site0 = PeerKey::site(0);
const PeerKey ergw = PeerKey::er_gateway(), vpngw = PeerKey::vpn_gateway();

// Announces to both sessions of an NVA (E6: NVAs send identical routes to both instances).
inline PolicyDelta nva_announce(RouteServer& rs, std::uint16_t nva, const Route& r) {
    rs.announce(PeerKey::nva(nva, 0), r);
    return rs.announce(PeerKey::nva(nva, 1), r);
}
inline void nva_withdraw(RouteServer& rs, std::uint16_t nva, const char* p) {
    rs.withdraw(PeerKey::nva(nva, 0), P(p));
    rs.withdraw(PeerKey::nva(nva, 1), P(p));
}

inline std::optional<Route> out(const RouteServer& rs, PeerKey peer, const char* prefix) {
    for (auto& r : rs.adj_rib_out(peer))
        if (r.prefix == P(prefix)) return r;
    return std::nullopt;
}
inline std::optional<ViewRoute> vr(const RouteServer& rs, const char* view, const char* prefix) {
    for (auto& v : rs.view(view))
        if (v.prefix == P(prefix)) return v;
    return std::nullopt;
}
inline std::optional<RibInRoute> in(const RouteServer& rs, PeerKey peer, const char* prefix) {
    for (auto& r : rs.adj_rib_in(peer))
        if (r.received.prefix == P(prefix)) return r;
    return std::nullopt;
}
inline NextHops nhs(std::initializer_list<const char*> l) {
    NextHops v;
    for (auto s : l) v.push_back(A(s));
    return v;
}

} // namespace rsfwd::test
