// Rule-by-rule tests of the Route Server policy engine (ROUTE_SERVER.md ids in each test name)
// and the "Example scenarios" (Scenario<N>).
#include "policy_fixture.hpp"

#include <fmt/format.h>

using namespace rsfwd;
using namespace rsfwd::test;

namespace {

RouteServer make(const std::string& yaml) {
    return RouteServer(parse_config(yaml, "<t0>"));
}
RouteServer t0(bool b2b = false, const std::string& more = "") {
    return make(t0_yaml(b2b ? "  branch_to_branch: true\n" + more : more));
}

const Community no_adv = communities::no_advertise;
const Community hairpin = communities::ars_hairpin;

} // namespace

// ---------------------------------------------------------------------------------------------
// Example scenarios
// ---------------------------------------------------------------------------------------------

TEST(Scenario, S1_NvaRouteInjection_A2_A3_A5_A7_E13) {
    auto rs = t0();
    nva_announce(rs, 0, R("192.168.10.0/24", "65001"));
    // A2: every NIC (one vnet view: VM-H, VM-S, NVA1, NVA2) → 10.1.2.4.
    auto v = vr(rs, "vnet", "192.168.10.0/24");
    ASSERT_TRUE(v);
    EXPECT_EQ(v->source, RouteSource::nva);
    EXPECT_EQ(v->next_hops, nhs({"10.1.2.4"}));
    // A5: the gateways get nothing from ARS.
    EXPECT_TRUE(rs.adj_rib_out(ergw).empty());
    EXPECT_TRUE(rs.adj_rib_out(vpngw).empty());
    EXPECT_FALSE(vr(rs, "er/onprem", "192.168.10.0/24"));
    // A3/E13: NVA1 gets hub and spoke space [65515], next hop = the instance.
    for (std::uint8_t i = 0; i < 2; ++i) {
        const auto o = rs.adj_rib_out(PeerKey::nva(0, i));
        ASSERT_EQ(o.size(), 2u);
        EXPECT_EQ(o[0].prefix, P("10.1.0.0/16"));
        EXPECT_EQ(o[1].prefix, P("10.2.0.0/16"));
        for (const auto& r : o) {
            EXPECT_EQ(r.as_path.str(), "65515");
            EXPECT_EQ(r.next_hop, i == 0 ? A("10.1.0.4") : A("10.1.0.5"));
            EXPECT_EQ(r.origin, Origin::igp);
        }
    }
    // A7: NVA2 gets [65515 65001]; NVA1 does not get its own route back.
    auto r2 = out(rs, nva2_1, "192.168.10.0/24");
    ASSERT_TRUE(r2);
    EXPECT_EQ(r2->as_path.str(), "65515 65001");
    EXPECT_EQ(r2->next_hop, A("10.1.0.5"));
    EXPECT_FALSE(out(rs, nva1_0, "192.168.10.0/24"));
}

TEST(Scenario, S2_GatewayRoutesNotReflected_A5_A8) {
    auto rs = t0();
    rs.announce(er0, R("172.16.0.0/16", "65100"));
    EXPECT_FALSE(out(rs, nva1_0, "172.16.0.0/16"));
    EXPECT_FALSE(out(rs, nva2_1, "172.16.0.0/16"));
    auto v = vr(rs, "vnet", "172.16.0.0/16"); // A8: the ER gateway programs it itself
    ASSERT_TRUE(v);
    EXPECT_EQ(v->source, RouteSource::er);
    EXPECT_EQ(v->next_hops, nhs({"192.0.2.2"}));
}

TEST(Scenario, S3_BranchToBranchOn_A6_B2_B3_B4_B5) {
    auto rs = t0(true);
    nva_announce(rs, 0, R("192.168.10.0/24", "65001"));
    rs.announce(er0, R("172.16.0.0/16", "65100"));
    auto n1 = out(rs, nva1_0, "172.16.0.0/16"); // B4
    ASSERT_TRUE(n1);
    EXPECT_EQ(n1->as_path.str(), "65515 12076 65100");
    EXPECT_EQ(n1->next_hop, A("10.1.0.4"));
    auto g = out(rs, ergw, "192.168.10.0/24"); // B2, B5
    ASSERT_TRUE(g);
    EXPECT_EQ(g->as_path.str(), "65001");
    EXPECT_EQ(g->next_hop, A("10.1.2.4"));
    EXPECT_TRUE(g->has_community(hairpin));
    auto op = out(rs, er0, "192.168.10.0/24"); // B3: on-prem sees 12076 only; B5 survives
    ASSERT_TRUE(op);
    EXPECT_EQ(op->as_path.str(), "12076");
    EXPECT_TRUE(op->has_community(hairpin));
    EXPECT_EQ(op->next_hop, A("192.0.2.1"));
    // The er/onprem view forwards on-prem's packets for it to the NVA.
    auto v = vr(rs, "er/onprem", "192.168.10.0/24");
    ASSERT_TRUE(v);
    EXPECT_EQ(v->next_hops, nhs({"10.1.2.4"}));
}

TEST(Scenario, S4_Ecmp_D7) {
    auto rs = t0();
    nva_announce(rs, 0, R("192.168.20.0/24", "65001"));
    nva_announce(rs, 1, R("192.168.20.0/24", "65002"));
    auto v = vr(rs, "vnet", "192.168.20.0/24");
    ASSERT_TRUE(v);
    EXPECT_EQ(v->next_hops, nhs({"10.1.2.4", "10.1.2.5"}));
}

TEST(Scenario, S5_PrependFailover_D7_D9) {
    auto rs = t0();
    nva_announce(rs, 0, R("192.168.20.0/24", "65001"));
    nva_announce(rs, 1, R("192.168.20.0/24", "65002 65002 65002"));
    EXPECT_EQ(vr(rs, "vnet", "192.168.20.0/24")->next_hops, nhs({"10.1.2.4"}));
    rs.withdraw(nva1_0, P("192.168.20.0/24"));
    const auto d = rs.withdraw(nva1_1, P("192.168.20.0/24"));
    // D9: the backup appears in the same update (one delta), no stickiness.
    bool seen = false;
    for (const auto& vc : d.views) {
        if (rs.views()[vc.view] == "vnet" && vc.prefix == P("192.168.20.0/24")) {
            ASSERT_TRUE(vc.route);
            EXPECT_EQ(vc.route->next_hops, nhs({"10.1.2.5"}));
            seen = true;
        }
    }
    EXPECT_TRUE(seen);
}

TEST(Scenario, S7_NoAdvertise_G2) {
    auto rs = t0(true);
    nva_announce(rs, 0, R("192.168.30.0/24", "65001", nullptr, {no_adv}));
    EXPECT_TRUE(vr(rs, "vnet", "192.168.30.0/24"));
    EXPECT_FALSE(out(rs, ergw, "192.168.30.0/24"));
    EXPECT_FALSE(out(rs, vpngw, "192.168.30.0/24"));
    EXPECT_FALSE(out(rs, nva2_0, "192.168.30.0/24"));
    EXPECT_FALSE(out(rs, er0, "192.168.30.0/24"));
}

TEST(Scenario, S8_VnetSpaceFilter_F1_F2) {
    auto rs = t0(true);
    for (const char* p : {"10.1.0.0/16", "10.1.3.0/24", "10.2.0.0/24", "10.0.0.0/8"}) {
        nva_announce(rs, 0, R(p, "65001"));
    }
    // The learned-routes API lists all four; three are rejected by F1.
    const auto learned = rs.adj_rib_in(nva1_0);
    ASSERT_EQ(learned.size(), 4u);
    for (const auto& r : learned) {
        if (r.received.prefix == P("10.0.0.0/8")) {
            EXPECT_TRUE(r.accepted);
        } else {
            EXPECT_FALSE(r.accepted);
            EXPECT_EQ(r.reason.rfind("F1:", 0), 0u) << r.reason;
        }
    }
    // Only 10.0.0.0/8 is programmed or re-sent (F2).
    EXPECT_TRUE(vr(rs, "vnet", "10.0.0.0/8"));
    EXPECT_FALSE(vr(rs, "vnet", "10.1.3.0/24"));
    EXPECT_EQ(vr(rs, "vnet", "10.1.0.0/16")->source, RouteSource::vnet_local);
    EXPECT_TRUE(out(rs, nva2_0, "10.0.0.0/8"));
    EXPECT_EQ(out(rs, nva2_0, "10.1.0.0/16")->as_path.str(), "65515"); // A3 only
    EXPECT_FALSE(out(rs, nva2_0, "10.2.0.0/24"));
    EXPECT_TRUE(out(rs, ergw, "10.0.0.0/8"));
    EXPECT_FALSE(out(rs, ergw, "10.1.3.0/24"));
}

TEST(Scenario, S13_PrefExpressRoute_D3_B6) {
    auto rs = t0(true);
    rs.announce(er0, R("172.16.5.0/24", "65100"));
    nva_announce(rs, 0, R("172.16.5.0/24", "65001"));
    auto v = vr(rs, "vnet", "172.16.5.0/24");
    EXPECT_EQ(v->source, RouteSource::er);
    EXPECT_EQ(v->next_hops, nhs({"192.0.2.2"}));
    EXPECT_EQ(out(rs, nva2_0, "172.16.5.0/24")->as_path.str(), "65515 12076 65100");
    EXPECT_EQ(out(rs, nva1_0, "172.16.5.0/24")->as_path.str(), "65515 12076 65100");
    EXPECT_FALSE(out(rs, ergw, "172.16.5.0/24")); // the winner came from the ER gateway itself
}

TEST(Scenario, S16_LongestPrefixBeatsPreference_D1) {
    auto rs = t0();
    rs.announce(er0, R("172.16.0.0/16", "65100"));
    nva_announce(rs, 0, R("172.16.1.0/24", "65001"));
    EXPECT_EQ(vr(rs, "vnet", "172.16.1.0/24")->next_hops, nhs({"10.1.2.4"}));
    EXPECT_EQ(vr(rs, "vnet", "172.16.0.0/16")->next_hops, nhs({"192.0.2.2"}));
}

namespace {
const std::string circuit_b =
    "    - {name: b, port: er-b, onprem_asn: 65101, edge_ip: 192.0.2.10}\n";
const std::string port_b =
    "  - {name: er-b, device: net_null4, address: 192.0.2.9/30, view: er/b}\n";
} // namespace

TEST(Scenario, S18_NoErToEr_B1) {
    auto rs = make(t0_yaml("  branch_to_branch: true\n", "", "", circuit_b, port_b));
    rs.announce(er0, R("172.16.0.0/16", "65100"));
    rs.announce(er1, R("172.17.0.0/16", "65101"));
    EXPECT_FALSE(out(rs, er0, "172.17.0.0/16"));
    EXPECT_FALSE(out(rs, er1, "172.16.0.0/16"));
    EXPECT_FALSE(vr(rs, "er/onprem", "172.17.0.0/16"));
    EXPECT_FALSE(vr(rs, "er/b", "172.16.0.0/16"));
    EXPECT_TRUE(out(rs, nva1_0, "172.16.0.0/16"));
    EXPECT_TRUE(out(rs, nva1_0, "172.17.0.0/16"));
}

TEST(Scenario, S20_DefaultRouteFromNva_F4_F5_C4) {
    auto rs = t0();
    nva_announce(rs, 0, R("0.0.0.0/0", "65001"));
    EXPECT_EQ(vr(rs, "vnet", "0.0.0.0/0")->next_hops, nhs({"10.1.2.4"})); // F4 incl. NVA1's NIC
    rs.set_branch_to_branch(true);
    EXPECT_TRUE(out(rs, er0, "0.0.0.0/0"));    // F5: forced tunnelling to on-prem
    EXPECT_TRUE(out(rs, vpngw, "0.0.0.0/0"));  // ARS gives it to the VPN gateway...
    EXPECT_FALSE(out(rs, site0, "0.0.0.0/0")); // ...which never passes it on (C4)
    EXPECT_FALSE(vr(rs, "vpn/branch", "0.0.0.0/0"));
    nva_announce(rs, 0, R("0.0.0.0/0", "65001", nullptr, {no_adv}));
    EXPECT_FALSE(out(rs, er0, "0.0.0.0/0"));
    EXPECT_FALSE(out(rs, site0, "0.0.0.0/0"));
    EXPECT_TRUE(vr(rs, "vnet", "0.0.0.0/0"));
}

// ---------------------------------------------------------------------------------------------
// A: route exchange
// ---------------------------------------------------------------------------------------------

TEST(RuleA, A4_PeeringWithoutRemoteGatewayIsNotLearned) {
    auto rs =
        make(t0_yaml("", "", "", "", "", "    - {name: plain, address_space: [10.3.0.0/16]}\n"));
    EXPECT_FALSE(out(rs, nva1_0, "10.3.0.0/16")); // A3 lists only URG peerings
    EXPECT_FALSE(out(rs, er0, "10.3.0.0/16"));
    // VMs of the hub still reach it over the peering (D11 system route).
    EXPECT_EQ(vr(rs, "vnet", "10.3.0.0/16")->source, RouteSource::vnet_local);
    EXPECT_FALSE(vr(rs, "er/onprem", "10.3.0.0/16"));
    // An NVA route for it is accepted (not F1) but the system route wins in VMs (D11).
    nva_announce(rs, 0, R("10.3.1.0/24", "65001"));
    EXPECT_TRUE(in(rs, nva1_0, "10.3.1.0/24")->accepted);
    EXPECT_FALSE(vr(rs, "vnet", "10.3.1.0/24"));
    EXPECT_TRUE(out(rs, nva2_0, "10.3.1.0/24"));
}

TEST(RuleA, A5_BranchToBranchOffKeepsWorldsApart) {
    auto rs = t0();
    nva_announce(rs, 0, R("192.168.10.0/24", "65001"));
    rs.announce(er0, R("172.16.0.0/16", "65100"));
    rs.announce(site0, R("172.20.0.0/16", "65200"));
    EXPECT_FALSE(out(rs, er0, "192.168.10.0/24"));
    EXPECT_FALSE(out(rs, er0, "172.20.0.0/16"));
    EXPECT_FALSE(out(rs, site0, "192.168.10.0/24"));
    EXPECT_FALSE(out(rs, site0, "172.16.0.0/16"));
    EXPECT_FALSE(out(rs, nva1_0, "172.16.0.0/16"));
    EXPECT_FALSE(out(rs, nva1_0, "172.20.0.0/16"));
    EXPECT_TRUE(rs.adj_rib_out(ergw).empty());
    EXPECT_TRUE(rs.adj_rib_out(vpngw).empty());
    // "on-prem 1 cannot reach on-prem 2": no route in the ingress views.
    EXPECT_FALSE(vr(rs, "er/onprem", "172.20.0.0/16"));
    EXPECT_FALSE(vr(rs, "vpn/branch", "172.16.0.0/16"));
}

TEST(RuleA, A6_BranchToBranchOnPassesEverything) {
    auto rs = t0();
    nva_announce(rs, 0, R("192.168.10.0/24", "65001"));
    rs.announce(er0, R("172.16.0.0/16", "65100"));
    rs.announce(site0, R("172.20.0.0/16", "65200"));
    auto d = rs.set_branch_to_branch(true);
    EXPECT_FALSE(d.peers.empty());
    EXPECT_TRUE(out(rs, er0, "192.168.10.0/24"));
    EXPECT_TRUE(out(rs, er0, "172.20.0.0/16"));
    EXPECT_TRUE(out(rs, site0, "192.168.10.0/24"));
    EXPECT_TRUE(out(rs, site0, "172.16.0.0/16"));
    EXPECT_TRUE(out(rs, nva1_0, "172.16.0.0/16"));
    EXPECT_TRUE(out(rs, nva1_0, "172.20.0.0/16"));
    EXPECT_EQ(vr(rs, "er/onprem", "172.20.0.0/16")->next_hops, nhs({"192.0.2.6"}));
    EXPECT_EQ(vr(rs, "vpn/branch", "172.16.0.0/16")->next_hops, nhs({"192.0.2.2"}));
    // And back off: everything goes away again.
    rs.set_branch_to_branch(false);
    EXPECT_FALSE(out(rs, er0, "192.168.10.0/24"));
    EXPECT_FALSE(vr(rs, "vpn/branch", "172.16.0.0/16"));
}

TEST(RuleA, A7_NvaToNvaNotGatedByBranchToBranch) {
    for (bool b2b : {false, true}) {
        auto rs = t0(b2b);
        nva_announce(rs, 1, R("192.168.40.0/24", "65002"));
        EXPECT_EQ(out(rs, nva1_0, "192.168.40.0/24")->as_path.str(), "65515 65002");
        EXPECT_FALSE(out(rs, nva2_0, "192.168.40.0/24"));
        EXPECT_FALSE(out(rs, nva2_1, "192.168.40.0/24"));
    }
}

// ---------------------------------------------------------------------------------------------
// B: ExpressRoute
// ---------------------------------------------------------------------------------------------

TEST(RuleB, B2_VpnStaticPrefixReachesErGatewayWithEmptyPath) {
    auto rs = t0(true);
    Route r;
    r.prefix = P("172.20.0.0/16"); // a local-network-gateway prefix (C2): no AS path
    rs.announce(site0, r);
    auto g = out(rs, ergw, "172.20.0.0/16");
    ASSERT_TRUE(g);
    EXPECT_TRUE(g->as_path.empty());
    EXPECT_EQ(g->next_hop, A("10.1.1.6")); // the VPN instance IP
}

TEST(RuleB, B3_OnPremNeverSeesNvaPrepending) {
    auto rs = t0(true);
    nva_announce(rs, 0, R("192.168.10.0/24", "65001 65001 65001"));
    EXPECT_EQ(out(rs, er0, "192.168.10.0/24")->as_path.str(), "12076");
    EXPECT_EQ(out(rs, er0, "10.1.0.0/16")->as_path.str(), "12076"); // VNet space too
    // Public ASNs survive the MSEE's private-AS removal.
    nva_announce(rs, 0, R("192.168.11.0/24", "65001 3356"));
    EXPECT_EQ(out(rs, er0, "192.168.11.0/24")->as_path.str(), "12076 3356");
}

TEST(RuleB, B4_OnPremRoutesHeldWith12076) {
    auto rs = t0(true);
    rs.announce(er0, R("172.16.0.0/16", "65100 65101"));
    const auto r = in(rs, er0, "172.16.0.0/16");
    EXPECT_EQ(r->held.as_path.str(), "12076 65100 65101");
    EXPECT_EQ(out(rs, nva2_1, "172.16.0.0/16")->as_path.str(), "65515 12076 65100 65101");
    EXPECT_EQ(out(rs, nva2_1, "172.16.0.0/16")->next_hop, A("10.1.0.5"));
}

TEST(RuleB, B5_HairpinCommunity) {
    auto rs = t0(true);
    nva_announce(rs, 0, R("192.168.10.0/24", "65001"));
    EXPECT_TRUE(out(rs, ergw, "192.168.10.0/24")->has_community(hairpin));
    EXPECT_FALSE(out(rs, vpngw, "192.168.10.0/24")->has_community(hairpin));
    // An ER gateway with ARS as neighbour drops MSEE routes carrying 65517:65517.
    rs.announce(er0, R("172.18.0.0/16", "65100", nullptr, {hairpin}));
    const auto r = in(rs, er0, "172.18.0.0/16");
    EXPECT_FALSE(r->accepted);
    EXPECT_EQ(r->reason.rfind("B5:", 0), 0u);
    EXPECT_FALSE(vr(rs, "vnet", "172.18.0.0/16"));
    // Without the drop (knob) the route is used.
    auto rs2 = make(t0_yaml("  er_drop_hairpin: false\n"));
    rs2.announce(er0, R("172.18.0.0/16", "65100", nullptr, {hairpin}));
    EXPECT_TRUE(in(rs2, er0, "172.18.0.0/16")->accepted);
}

TEST(RuleB, B6_ErPreferredForEqualPrefix) {
    auto rs = t0();
    rs.announce(site0, R("172.16.0.0/16", "65200"));
    nva_announce(rs, 0, R("172.16.0.0/16", "65001"));
    rs.announce(er0, R("172.16.0.0/16", "65100 65100 65100"));
    EXPECT_EQ(vr(rs, "vnet", "172.16.0.0/16")->source, RouteSource::er);
}

TEST(RuleB, B7_CircuitAdvertisementLimit) {
    // 2 VNet prefixes + 2 reflected = limit 4.
    auto rs = make(t0_yaml("  branch_to_branch: true\n  er_max_advertised: 4\n"));
    nva_announce(rs, 0, R("192.168.3.0/24", "65001"));
    nva_announce(rs, 0, R("192.168.2.0/24", "65001"));
    EXPECT_EQ(rs.adj_rib_out(er0).size(), 4u);
    const auto d = nva_announce(rs, 0, R("192.168.1.0/24", "65001"));
    (void)d;
    const auto o = rs.adj_rib_out(er0);
    ASSERT_EQ(o.size(), 4u); // stop advertising beyond the limit (lowest prefixes kept)
    EXPECT_TRUE(out(rs, er0, "192.168.1.0/24"));
    EXPECT_FALSE(out(rs, er0, "192.168.3.0/24"));
    EXPECT_FALSE(vr(rs, "er/onprem", "192.168.3.0/24"));
    // The event names the rule.
    auto rs3 = make(t0_yaml("  branch_to_branch: true\n  er_max_advertised: 2\n"));
    const auto d3 = rs3.announce(nva1_0, R("192.168.9.0/24", "65001"));
    ASSERT_FALSE(d3.events.empty());
    bool b7 = false;
    for (const auto& e : d3.events) b7 |= e.kind == PolicyEventKind::er_limit;
    EXPECT_TRUE(b7);
    // A withdraw frees a slot: the waiting prefix is advertised.
    nva_withdraw(rs, 0, "192.168.1.0/24");
    EXPECT_TRUE(out(rs, er0, "192.168.3.0/24"));
    // Knob: ignore.
    auto rs2 = make(
        t0_yaml("  branch_to_branch: true\n  er_max_advertised: 2\n  er_limit_action: ignore\n"));
    nva_announce(rs2, 0, R("192.168.1.0/24", "65001"));
    EXPECT_EQ(rs2.adj_rib_out(er0).size(), 3u);
}

TEST(RuleB, B8_MseeCopyWinsAtErGateway) {
    auto rs = make(t0_yaml("  branch_to_branch: true\n  routing_preference: VpnGateway\n"));
    rs.announce(er0, R("172.16.0.0/16", "65100"));
    nva_announce(rs, 0, R("172.16.0.0/16", "65001"));
    // ARS prefers the NVA (D4) and gives it to the ER gateway...
    EXPECT_TRUE(out(rs, ergw, "172.16.0.0/16"));
    // ...which keeps its MSEE-learned copy and does not send the ARS copy to any circuit.
    EXPECT_FALSE(out(rs, er0, "172.16.0.0/16"));
    EXPECT_EQ(vr(rs, "vnet", "172.16.0.0/16")->source, RouteSource::nva);
}

TEST(RuleB, B10_ErGatewayDropsLocalSubnets) {
    auto rs = t0();
    rs.announce(er0, R("10.1.5.0/24", "65100"));
    rs.announce(er0, R("10.2.0.0/16", "65100"));
    rs.announce(er0, R("10.0.0.0/8", "65100"));
    EXPECT_EQ(in(rs, er0, "10.1.5.0/24")->reason.rfind("B10:", 0), 0u);
    EXPECT_FALSE(in(rs, er0, "10.2.0.0/16")->accepted);
    EXPECT_TRUE(in(rs, er0, "10.0.0.0/8")->accepted);
    EXPECT_FALSE(vr(rs, "vnet", "10.1.5.0/24"));
}

// ---------------------------------------------------------------------------------------------
// C: VPN gateway
// ---------------------------------------------------------------------------------------------

TEST(RuleC, C2_StaticSitePrefixesReachArsWithBranchToBranch) {
    auto cfg = parse_config(t0_yaml(), "<t0>");
    cfg.vpn_gateway->sites[0].prefixes = {P("172.20.0.0/16")};
    RouteServer rs(cfg);
    rs.announce_config_routes();
    EXPECT_TRUE(vr(rs, "vnet", "172.20.0.0/16"));
    EXPECT_FALSE(out(rs, nva1_0, "172.20.0.0/16"));
    rs.set_branch_to_branch(true);
    auto r = out(rs, nva1_0, "172.20.0.0/16");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->as_path.str(), "65515");
}

TEST(RuleC, C3_ErRoutesReachVpnGatewayUnchanged) {
    auto rs = t0(true);
    rs.announce(er0, R("172.16.0.0/16", "65100"));
    auto g = out(rs, vpngw, "172.16.0.0/16");
    ASSERT_TRUE(g);
    EXPECT_EQ(g->as_path.str(), "12076 65100");
    EXPECT_EQ(g->next_hop, A("10.1.1.4"));
    EXPECT_EQ(out(rs, site0, "172.16.0.0/16")->as_path.str(), "65515 12076 65100");
}

TEST(RuleC, C4_NoDefaultRouteToVpnSites) {
    auto rs = t0(true);
    rs.announce(er0, R("0.0.0.0/0", "65100"));
    EXPECT_TRUE(out(rs, vpngw, "0.0.0.0/0"));
    EXPECT_FALSE(out(rs, site0, "0.0.0.0/0"));
}

TEST(RuleC, C5_VpnGatewayFiltersVnetSpaceAndLimitsPrefixes) {
    auto rs = make(t0_yaml("  vpn_max_prefixes: 3\n"));
    rs.announce(site0, R("10.1.7.0/24", "65200"));
    EXPECT_EQ(in(rs, site0, "10.1.7.0/24")->reason.rfind("C5:", 0), 0u);
    rs.announce(site0, R("10.0.0.0/8", "65200")); // supernet accepted
    EXPECT_TRUE(in(rs, site0, "10.0.0.0/8")->accepted);
    rs.announce(site0, R("172.20.0.0/16", "65200"));
    const std::vector<Route> two{R("172.21.0.0/16", "65200"), R("172.22.0.0/16", "65200")};
    const auto d = rs.announce(site0, two); // 3 held + 2 new > 3: session dropped
    ASSERT_EQ(d.events.size(), 1u);
    EXPECT_EQ(d.events[0].kind, PolicyEventKind::max_prefix_teardown);
    EXPECT_EQ(d.events[0].message.rfind("C5:", 0), 0u);
    EXPECT_TRUE(rs.adj_rib_in(site0).empty());
    EXPECT_FALSE(vr(rs, "vnet", "172.20.0.0/16"));
}

TEST(RuleC, VpnGatewayTransitsBetweenItsSites) {
    const std::string port2 =
        "  - {name: vpn-b2, device: net_null5, address: 192.0.2.13/30, view: vpn/b2}\n";
    auto text = t0_yaml("", "", "", "", port2);
    text.replace(text.find("nvas:"), 5,
                 "    - {name: b2, port: vpn-b2, asn: 65201, device_ip: 192.0.2.14}\nnvas:");
    auto rs = make(text);
    rs.announce(site0, R("172.20.0.0/16", "65200"));
    EXPECT_EQ(out(rs, PeerKey::site(1), "172.20.0.0/16")->as_path.str(), "65515 65200");
    EXPECT_FALSE(out(rs, site0, "172.20.0.0/16"));
    EXPECT_EQ(vr(rs, "vpn/b2", "172.20.0.0/16")->next_hops, nhs({"192.0.2.6"}));
}

// ---------------------------------------------------------------------------------------------
// D: selection and preference
// ---------------------------------------------------------------------------------------------

TEST(RuleD, D3_ExpressRouteModeVpnVsNvaByLength) {
    auto rs = t0();
    rs.announce(site0, R("172.30.0.0/16", "65200 65200"));
    nva_announce(rs, 0, R("172.30.0.0/16", "65001"));
    EXPECT_EQ(vr(rs, "vnet", "172.30.0.0/16")->source, RouteSource::nva);
    rs.announce(site0, R("172.30.0.0/16", ""));
    EXPECT_EQ(vr(rs, "vnet", "172.30.0.0/16")->source, RouteSource::vpn);
}

TEST(RuleD, D4_VpnGatewayModeBeatsEr) {
    auto rs = make(t0_yaml("  routing_preference: VpnGateway\n"));
    rs.announce(er0, R("172.16.0.0/16", "65100"));
    nva_announce(rs, 0, R("172.16.0.0/16", "65001 65001 65001 65001"));
    EXPECT_EQ(vr(rs, "vnet", "172.16.0.0/16")->source, RouteSource::nva);
    rs.set_routing_preference(RoutingPreference::expressroute);
    EXPECT_EQ(vr(rs, "vnet", "172.16.0.0/16")->source, RouteSource::er);
}

TEST(RuleD, D5_D6_AsPathMode) {
    auto rs = make(t0_yaml("  routing_preference: ASPath\n"));
    rs.announce(er0, R("172.16.0.0/16", "65100"));    // held "12076 65100": length 2 (D6)
    nva_announce(rs, 0, R("172.16.0.0/16", "65001")); // length 1 wins
    EXPECT_EQ(vr(rs, "vnet", "172.16.0.0/16")->source, RouteSource::nva);
    nva_announce(rs, 0, R("172.16.0.0/16", "65001 65100")); // equal length: ER (D5 tie)
    EXPECT_EQ(vr(rs, "vnet", "172.16.0.0/16")->source, RouteSource::er);
    rs.announce(site0, R("172.16.0.0/16", "65200")); // VPN length 1 wins
    EXPECT_EQ(vr(rs, "vnet", "172.16.0.0/16")->source, RouteSource::vpn);
}

TEST(RuleD, D7_EcmpAtMostEightAndNextHopCollapse) {
    // Two NVAs announcing the same ILB next hop collapse into one next hop (E12 + D7).
    auto rs = t0();
    nva_announce(rs, 0, R("192.168.50.0/24", "65001", "10.1.2.100"));
    nva_announce(rs, 1, R("192.168.50.0/24", "65002", "10.1.2.100"));
    EXPECT_EQ(vr(rs, "vnet", "192.168.50.0/24")->next_hops, nhs({"10.1.2.100"}));
    // Nine circuits with equal routes: at most 8 next hops.
    std::string circuits, ports;
    for (int i = 1; i <= 8; ++i) {
        circuits += "    - {name: c" + std::to_string(i) + ", port: p" + std::to_string(i) +
                    ", onprem_asn: 65100, edge_ip: 198.51.100." + std::to_string(4 * i + 2) + "}\n";
        ports += "  - {name: p" + std::to_string(i) + ", device: d" + std::to_string(i) +
                 ", address: 198.51.100." + std::to_string(4 * i + 1) + "/30, view: er/c" +
                 std::to_string(i) + "}\n";
    }
    auto big = make(t0_yaml("", "", "", circuits, ports));
    for (std::uint16_t c = 0; c < 9; ++c)
        big.announce(PeerKey::circuit(c), R("172.16.0.0/16", "65100"));
    auto v = vr(big, "vnet", "172.16.0.0/16");
    ASSERT_TRUE(v);
    EXPECT_EQ(v->next_hops.size(), 8u);
    EXPECT_TRUE(std::is_sorted(v->next_hops.begin(), v->next_hops.end()));
}

TEST(RuleD, D8_MedAndLocalPrefIgnored) {
    auto rs = t0();
    auto a = R("192.168.60.0/24", "65001");
    a.med = 0;
    auto b = R("192.168.60.0/24", "65002");
    b.med = 500;
    b.local_pref = 10;
    nva_announce(rs, 0, a);
    nva_announce(rs, 1, b);
    EXPECT_EQ(vr(rs, "vnet", "192.168.60.0/24")->next_hops.size(), 2u);
}

TEST(RuleD, D11_SystemRoutesBeatMoreSpecificBgp) {
    auto rs = t0();
    rs.announce(er0, R("10.1.3.0/24", "65100"));    // dropped by B10 anyway
    nva_announce(rs, 0, R("10.2.5.0/24", "65001")); // F1
    EXPECT_EQ(vr(rs, "vnet", "10.2.0.0/16")->source, RouteSource::vnet_local);
    EXPECT_FALSE(vr(rs, "vnet", "10.2.5.0/24"));
}

TEST(RuleD, D12_ErOverNvaWithoutBranchToBranch) {
    auto rs = t0();
    rs.announce(er0, R("172.16.0.0/16", "65100"));
    nva_announce(rs, 0, R("172.16.0.0/16", "65001"));
    EXPECT_EQ(vr(rs, "vnet", "172.16.0.0/16")->source, RouteSource::er);
    // ARS itself (b2b off) only knows the NVA route and reflects it to the other NVA.
    EXPECT_EQ(out(rs, nva2_0, "172.16.0.0/16")->as_path.str(), "65515 65001");
}

// ---------------------------------------------------------------------------------------------
// E: sessions and limits
// ---------------------------------------------------------------------------------------------

TEST(RuleE, E6_UnionOfSessionsWithWarning) {
    auto rs = t0();
    const auto d = rs.announce(nva1_0, R("192.168.70.0/24", "65001"));
    EXPECT_TRUE(vr(rs, "vnet", "192.168.70.0/24")); // union: one session is enough
    ASSERT_EQ(d.events.size(), 1u);
    EXPECT_EQ(d.events[0].kind, PolicyEventKind::consistency_warning);
    EXPECT_EQ(d.events[0].message.rfind("E6:", 0), 0u);
    EXPECT_EQ(rs.consistency_warnings().size(), 1u);
    // Same route on the other session: consistent.
    EXPECT_TRUE(rs.announce(nva1_1, R("192.168.70.0/24", "65001")).events.empty());
    EXPECT_TRUE(rs.consistency_warnings().empty());
    // Different attributes: warning again.
    EXPECT_EQ(rs.announce(nva1_1, R("192.168.70.0/24", "65001 65001")).events.size(), 1u);
    // Session loss of one instance (E14): routes stay via the other.
    rs.peer_down(nva1_0);
    EXPECT_TRUE(vr(rs, "vnet", "192.168.70.0/24"));
    rs.peer_down(nva1_1);
    EXPECT_FALSE(vr(rs, "vnet", "192.168.70.0/24"));
}

TEST(RuleE, E6_OneSessionFeedIsOneEventPerUpdateWithACountNotOnePerPrefix) {
    // Issue #24: 20,000 prefixes on instance 0 only used to raise 20,000 events (one log line
    // each); now one per UPDATE that grows the condition, with the running total, and the full
    // list stays in consistency_warnings().
    auto rs = make(t0_yaml("  max_prefixes: 100000\n"));
    std::size_t events = 0;
    std::string last;
    for (int batch = 0; batch < 20; ++batch) {
        std::vector<Route> routes;
        for (int i = 0; i < 1000; ++i) {
            const int n = batch * 1000 + i;
            routes.push_back(
                R(fmt::format("10.{}.{}.0/24", 100 + n / 256, n % 256).c_str(), "65001"));
        }
        for (const auto& e : rs.announce(nva1_0, routes).events) {
            if (e.kind != PolicyEventKind::consistency_warning) continue;
            ++events;
            last = e.message;
            EXPECT_EQ(e.peer, nva1_1); // the instance that misses them
        }
    }
    EXPECT_EQ(events, 20u);
    EXPECT_NE(last.find("20000 prefixes known to instance 0"), std::string::npos) << last;
    EXPECT_EQ(rs.consistency_warnings().size(), 20000u);
    // Re-sending the same routes changes nothing: no event at all.
    std::vector<Route> again{R("10.100.0.0/24", "65001")};
    EXPECT_TRUE(rs.announce(nva1_0, again).events.empty());
    // The other session catches up: the condition shrinks silently, the list empties.
    for (int batch = 0; batch < 20; ++batch) {
        std::vector<Route> routes;
        for (int i = 0; i < 1000; ++i) {
            const int n = batch * 1000 + i;
            routes.push_back(
                R(fmt::format("10.{}.{}.0/24", 100 + n / 256, n % 256).c_str(), "65001"));
        }
        EXPECT_TRUE(rs.announce(nva1_1, routes).events.empty());
    }
    EXPECT_TRUE(rs.consistency_warnings().empty());
    // One session going down: one event for all its prefixes.
    const auto d = rs.peer_down(nva1_0);
    ASSERT_EQ(d.events.size(), 1u);
    EXPECT_NE(d.events[0].message.find("20000 prefixes known to instance 1"), std::string::npos)
        << d.events[0].message;
}

TEST(RuleE, E8_MaxPrefixTeardownCountsHeldPlusIncoming) {
    auto rs = make(t0_yaml("  max_prefixes: 3\n"));
    const std::vector<Route> three{R("192.168.1.0/24", "65001"), R("192.168.2.0/24", "65001"),
                                   R("192.168.3.0/24", "65001")};
    EXPECT_TRUE(rs.announce(nva1_0, three).events.size() <= 3); // E6 warnings only
    EXPECT_EQ(rs.adj_rib_in(nva1_0).size(), 3u);
    // Re-sending one held route: 3 held + 1 incoming = 4 > 3 → teardown (FAQ counting).
    const auto d = rs.announce(nva1_0, three[0]);
    bool torn = false;
    for (const auto& e : d.events) {
        if (e.kind == PolicyEventKind::max_prefix_teardown) {
            torn = true;
            EXPECT_EQ(e.message.rfind("E8:", 0), 0u);
            EXPECT_EQ(e.peer, nva1_0);
        }
    }
    EXPECT_TRUE(torn);
    EXPECT_TRUE(rs.adj_rib_in(nva1_0).empty());
    EXPECT_FALSE(vr(rs, "vnet", "192.168.1.0/24"));
    // Knob: ignore → warning, update applied.
    auto rs2 = make(t0_yaml("  max_prefixes: 1\n  max_prefix_action: ignore\n"));
    const auto d2 = rs2.announce(nva1_0, three);
    EXPECT_EQ(d2.events[0].kind, PolicyEventKind::max_prefix_warning);
    EXPECT_EQ(rs2.adj_rib_in(nva1_0).size(), 3u);
}

// E8 with ignore: one warning when the peer goes over its limit, not one per UPDATE; it warns
// again after the peer came back under the limit, and after its session went down.
TEST(RuleE, E8_IgnoreWarnsOncePerCrossing) {
    auto rs = make(t0_yaml("  max_prefixes: 2\n  max_prefix_action: ignore\n"));
    auto warnings = [](const PolicyDelta& d) {
        return std::count_if(d.events.begin(), d.events.end(), [](const PolicyEvent& e) {
            return e.kind == PolicyEventKind::max_prefix_warning;
        });
    };
    EXPECT_EQ(warnings(rs.announce(nva1_0, R("192.168.1.0/24", "65001"))), 0);
    EXPECT_EQ(warnings(rs.announce(nva1_0, R("192.168.2.0/24", "65001"))), 0); // 1 + 1 <= 2
    EXPECT_EQ(warnings(rs.announce(nva1_0, R("192.168.3.0/24", "65001"))), 1); // 2 + 1 > 2
    EXPECT_EQ(warnings(rs.announce(nva1_0, R("192.168.4.0/24", "65001"))), 0);
    EXPECT_EQ(rs.adj_rib_in(nva1_0).size(), 4u); // ignore: every route still applied
    rs.withdraw(nva1_0, P("192.168.1.0/24"));
    rs.withdraw(nva1_0, P("192.168.2.0/24"));
    rs.withdraw(nva1_0, P("192.168.3.0/24"));
    EXPECT_EQ(warnings(rs.announce(nva1_0, R("192.168.1.0/24", "65001"))), 0); // 1 + 1 <= 2
    EXPECT_EQ(warnings(rs.announce(nva1_0, R("192.168.5.0/24", "65001"))), 1); // over again
    rs.peer_down(nva1_0);
    EXPECT_EQ(warnings(rs.announce(nva1_0, std::vector<Route>{R("192.168.1.0/24", "65001"),
                                                              R("192.168.2.0/24", "65001"),
                                                              R("192.168.3.0/24", "65001")})),
              1);
}

TEST(RuleE, E12_ThirdPartyNextHopKept) {
    auto rs = t0();
    nva_announce(rs, 0, R("192.168.80.0/24", "65001", "10.1.2.200"));
    EXPECT_EQ(vr(rs, "vnet", "192.168.80.0/24")->next_hops, nhs({"10.1.2.200"}));
}

TEST(RuleE, E13_UpdatesToNvasUseInstanceIpAndOriginIgp) {
    auto rs = t0();
    auto r = R("192.168.90.0/24", "65001");
    r.origin = Origin::incomplete;
    nva_announce(rs, 0, r);
    const auto o = out(rs, nva2_1, "192.168.90.0/24");
    EXPECT_EQ(o->origin, Origin::igp);
    EXPECT_EQ(o->next_hop, A("10.1.0.5"));
}

// ---------------------------------------------------------------------------------------------
// F, G, H
// ---------------------------------------------------------------------------------------------

TEST(RuleF, F6_MoreSpecificOnPremBeatsNvaDefault) {
    auto rs = t0();
    nva_announce(rs, 0, R("0.0.0.0/0", "65001"));
    rs.announce(er0, R("172.16.0.0/16", "65100"));
    EXPECT_EQ(vr(rs, "vnet", "0.0.0.0/0")->source, RouteSource::nva);
    EXPECT_EQ(vr(rs, "vnet", "172.16.0.0/16")->source, RouteSource::er); // LPM in the FIB
}

TEST(RuleG, G1_G5_CommunitiesAndPathKept) {
    auto rs = t0(true);
    const std::vector<Community> cs{community(65517, 12001), community(65001, 7),
                                    community(65515, 10000)};
    nva_announce(rs, 0, R("192.168.100.0/24", "65001 {65010,65011}", nullptr, cs));
    const auto o = out(rs, nva2_0, "192.168.100.0/24");
    EXPECT_EQ(o->communities, cs);
    EXPECT_EQ(o->as_path.str(), "65515 65001 {65010,65011}");
    const auto g = out(rs, ergw, "192.168.100.0/24");
    EXPECT_TRUE(g->has_community(community(65517, 12001)));
    EXPECT_TRUE(g->has_community(community(65515, 10000)));
}

TEST(RuleG, G2_NoExportKnob) {
    const Community ne = communities::no_export;
    auto normal = t0(true);
    nva_announce(normal, 0, R("192.168.110.0/24", "65001", nullptr, {ne}));
    EXPECT_TRUE(out(normal, nva2_0, "192.168.110.0/24")); // default: a normal route
    EXPECT_TRUE(out(normal, er0, "192.168.110.0/24"));
    auto strict = make(t0_yaml("  branch_to_branch: true\n  no_export: rfc1997\n"));
    nva_announce(strict, 0, R("192.168.110.0/24", "65001", nullptr, {ne}));
    EXPECT_FALSE(out(strict, nva2_0, "192.168.110.0/24"));
    EXPECT_TRUE(out(strict, ergw, "192.168.110.0/24")); // iBGP neighbour
    EXPECT_FALSE(out(strict, er0, "192.168.110.0/24")); // not beyond the AS
    EXPECT_FALSE(out(strict, site0, "192.168.110.0/24"));
    EXPECT_TRUE(vr(strict, "vnet", "192.168.110.0/24"));
}

TEST(RuleG, G3_LoopCheck65515) {
    auto rs = t0();
    nva_announce(rs, 0, R("192.168.120.0/24", "65001 65515 65100"));
    const auto r = in(rs, nva1_0, "192.168.120.0/24");
    EXPECT_FALSE(r->accepted);
    EXPECT_EQ(r->reason.rfind("G3:", 0), 0u);
    EXPECT_FALSE(vr(rs, "vnet", "192.168.120.0/24"));
    EXPECT_FALSE(out(rs, nva2_0, "192.168.120.0/24"));
}

TEST(RuleG, G4_AsZeroDropped) {
    auto rs = t0();
    nva_announce(rs, 0, R("192.168.130.0/24", "65001 0"));
    EXPECT_EQ(in(rs, nva1_0, "192.168.130.0/24")->reason.rfind("G4:", 0), 0u);
    rs.announce(er0, R("172.16.0.0/16", "0"));
    EXPECT_FALSE(in(rs, er0, "172.16.0.0/16")->accepted);
}

TEST(RuleH, H1_RouteServerIsNeverANextHop) {
    auto rs = t0(true);
    nva_announce(rs, 0, R("192.168.140.0/24", "65001", "10.1.0.4"));
    EXPECT_EQ(in(rs, nva1_0, "192.168.140.0/24")->reason.rfind("H1:", 0), 0u);
    rs.announce(er0, R("172.16.0.0/16", "65100"));
    nva_announce(rs, 1, R("192.168.141.0/24", "65002"));
    for (const auto& v : rs.views()) {
        for (const auto& r : rs.view(v)) {
            for (const auto& nh : r.next_hops) {
                EXPECT_NE(nh, A("10.1.0.4"));
                EXPECT_NE(nh, A("10.1.0.5"));
            }
        }
    }
}

TEST(RuleE, E10_Ipv6Refused) {
    auto rs = t0();
    Route r;
    r.prefix = *Prefix::parse("2001:db8::/32");
    r.next_hop = *IpAddr::parse("2001:db8::1");
    rs.announce(nva1_0, r);
    EXPECT_EQ(rs.adj_rib_in(nva1_0).at(0).reason.rfind("E10:", 0), 0u);
}

// ---------------------------------------------------------------------------------------------
// API behaviour
// ---------------------------------------------------------------------------------------------

TEST(Api, PeersViewsAndNames) {
    auto rs = t0();
    EXPECT_EQ(rs.peers().size(), 4u + 1 + 1 + 2);
    EXPECT_EQ(rs.peer_name(nva1_1), "nva/NVA1@1");
    EXPECT_EQ(rs.find_peer("er/onprem"), er0);
    EXPECT_EQ(rs.find_peer("vpngw"), vpngw);
    EXPECT_EQ(rs.views(), (std::vector<ViewName>{"vnet", "er/onprem", "vpn/branch"}));
    EXPECT_THROW(rs.announce(ergw, R("1.0.0.0/8", "1")), std::invalid_argument);
    EXPECT_THROW(rs.announce(PeerKey::nva(7, 0), R("1.0.0.0/8", "1")), std::invalid_argument);
}

TEST(Api, DuplicateAnnounceIsANoOp) {
    auto rs = t0();
    nva_announce(rs, 0, R("192.168.10.0/24", "65001"));
    EXPECT_TRUE(rs.announce(nva1_0, R("192.168.10.0/24", "65001")).empty());
    EXPECT_TRUE(rs.withdraw(nva1_0, P("192.168.99.0/24")).empty());
    EXPECT_TRUE(rs.set_branch_to_branch(false).empty());
}

TEST(Api, DeltaNamesOnlyChanges) {
    auto rs = t0();
    const auto d = rs.announce(nva2_0, R("192.168.10.0/24", "65002"));
    // NVA1's two sessions get it; NVA2 does not; the vnet view changes.
    ASSERT_EQ(d.peers.size(), 2u);
    EXPECT_EQ(d.peers[0].peer, nva1_0);
    EXPECT_EQ(d.peers[1].peer, nva1_1);
    ASSERT_EQ(d.views.size(), 1u);
    EXPECT_EQ(rs.views()[d.views[0].view], "vnet");
}

TEST(RuleB, B1_GlobalReachExchangesAtMseeOnly) {
    auto text = t0_yaml("  branch_to_branch: true\n", "", "", circuit_b, port_b);
    text.replace(text.find("vpn_gateway:"), 12,
                 "  global_reach:\n    - {a: onprem, b: b}\nvpn_gateway:");
    auto rs = make(text);
    rs.announce(er0, R("172.16.0.0/16", "65100"));
    rs.announce(er1, R("172.17.0.0/16", "65101"));
    auto a = out(rs, er0, "172.17.0.0/16");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->as_path.str(), "12076 12076 65101");
    EXPECT_EQ(a->next_hop, A("192.0.2.1"));
    EXPECT_FALSE(a->has_community(hairpin));
    EXPECT_EQ(vr(rs, "er/onprem", "172.17.0.0/16")->next_hops, nhs({"192.0.2.10"}));
    EXPECT_EQ(vr(rs, "er/b", "172.16.0.0/16")->next_hops, nhs({"192.0.2.2"}));
    // Route Server itself still never passes circuit routes between circuits (B1).
    EXPECT_FALSE(out(rs, ergw, "172.17.0.0/16"));
    // A circuit with its own route for the prefix keeps it.
    rs.announce(er0, R("172.17.0.0/16", "65100"));
    EXPECT_FALSE(out(rs, er0, "172.17.0.0/16"));
    rs.withdraw(er0, P("172.17.0.0/16"));
    EXPECT_TRUE(out(rs, er0, "172.17.0.0/16"));
    rs.withdraw(er1, P("172.17.0.0/16"));
    EXPECT_FALSE(out(rs, er0, "172.17.0.0/16"));
    EXPECT_FALSE(vr(rs, "er/onprem", "172.17.0.0/16"));
}
