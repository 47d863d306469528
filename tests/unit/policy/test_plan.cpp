// `rsfwd plan`: the examples' plans (targeted assertions per scenario and a golden JSON for the
// seed), the JSON schema's shape, and the CLI contract (exit 2 on config errors).
#include "control/plan.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

using namespace rsfwd;
using nlohmann::json;

namespace {

const std::string root = RSFWD_SOURCE_ROOT;

json plan(const std::string& example, const std::string& b2b = "") {
    const Config cfg = load_config(root + "/examples/" + example);
    RouteServer rs(cfg);
    std::vector<PolicyEvent> events;
    for (auto& e : rs.announce_config_routes().events) events.push_back(e);
    if (!b2b.empty()) rs.set_branch_to_branch(b2b == "on");
    return json::parse(render_plan_json(rs, events));
}

const json& peer(const json& j, const std::string& name) {
    for (const auto& p : j["peers"])
        if (p["name"] == name) return p;
    static const json none;
    ADD_FAILURE() << "no peer " << name;
    return none;
}

json adv(const json& j, const std::string& name, const std::string& prefix) {
    for (const auto& r : peer(j, name)["advertised"])
        if (r["prefix"] == prefix) return r;
    return nullptr;
}

json view_route(const json& j, const std::string& view, const std::string& prefix) {
    for (const auto& v : j["views"]) {
        if (v["name"] != view) continue;
        for (const auto& r : v["routes"])
            if (r["prefix"] == prefix) return r;
    }
    return nullptr;
}

struct Run {
    int status;
    std::string out;
};
Run run_tool(const std::string& args) {
    const std::string cmd = std::string(RSFWD_PLAN_TOOL) + " " + args + " 2>&1";
    FILE* f = popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    std::size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
    const int st = pclose(f);
    return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

} // namespace

TEST(Plan, SeedMatchesGoldenJson) {
    auto j = plan("seed.yaml");
    j["config"] = "examples/seed.yaml";
    std::ifstream in(root + "/tests/unit/policy/golden/seed.json");
    ASSERT_TRUE(in) << "golden file missing";
    const auto golden = json::parse(in);
    EXPECT_EQ(j, golden) << "regenerate with: rsfwd-plan --config examples/seed.yaml --json";
}

TEST(Plan, SchemaShape) {
    const auto j = plan("seed.yaml");
    EXPECT_EQ(j["schema"], "rsfwd-plan/1");
    EXPECT_EQ(j["route_server"]["asn"], 65515);
    EXPECT_EQ(j["route_server"]["routing_preference"], "ExpressRoute");
    EXPECT_FALSE(j["route_server"]["branch_to_branch"]);
    for (const auto& p : j["peers"]) {
        for (const char* k : {"name", "kind", "asn", "address", "advertised"}) {
            EXPECT_TRUE(p.contains(k)) << k;
        }
        if (p["kind"] != "er_gateway" && p["kind"] != "vpn_gateway") {
            EXPECT_TRUE(p.contains("learned"));
        }
    }
    ASSERT_EQ(j["views"].size(), 3u);
    EXPECT_EQ(j["views"][0]["name"], "vnet");
}

TEST(Plan, Seed_Scenario1And2) { // A2, A3, A5, A7, A8
    const auto j = plan("seed.yaml");
    EXPECT_EQ(view_route(j, "vnet", "192.168.10.0/24")["next_hops"], json({"10.1.2.4"}));
    EXPECT_EQ(adv(j, "nva/NVA2@0", "192.168.10.0/24")["as_path"], "65515 65001");
    EXPECT_TRUE(adv(j, "nva/NVA1@0", "192.168.10.0/24").is_null());
    EXPECT_TRUE(adv(j, "nva/NVA1@0", "172.16.0.0/16").is_null());
    EXPECT_EQ(view_route(j, "vnet", "172.16.0.0/16")["source"], "expressroute");
    EXPECT_TRUE(peer(j, "ergw")["advertised"].empty());
}

TEST(Plan, Seed_Scenario3_BranchToBranch) { // A6, B2-B5
    const auto j = plan("seed.yaml", "on");
    EXPECT_EQ(adv(j, "nva/NVA1@0", "172.16.0.0/16")["as_path"], "65515 12076 65100");
    EXPECT_EQ(adv(j, "nva/NVA1@0", "172.16.0.0/16")["next_hop"], "10.1.0.4");
    const auto g = adv(j, "ergw", "192.168.10.0/24");
    EXPECT_EQ(g["as_path"], "65001");
    EXPECT_EQ(g["next_hop"], "10.1.2.4");
    EXPECT_EQ(g["communities"], json({"65517:65517"}));
    EXPECT_EQ(adv(j, "er/onprem", "192.168.10.0/24")["as_path"], "12076");
}

TEST(Plan, VpnGatewayVariant) { // C2, C5, A6, C4
    const auto j = plan("vpn-gateway.yaml");
    for (const auto& r : peer(j, "vpn/branch-bgp")["learned"]) {
        if (r["prefix"] == "10.1.7.0/24") {
            EXPECT_FALSE(r["accepted"]);
            EXPECT_EQ(r["reason"].get<std::string>().substr(0, 3), "C5:");
        }
    }
    EXPECT_EQ(adv(j, "nva/SDWAN@0", "172.21.0.0/16")["as_path"], "65515");
    EXPECT_EQ(adv(j, "nva/SDWAN@1", "172.20.0.0/16")["as_path"], "65515 65200");
    EXPECT_EQ(adv(j, "vpn/branch-static", "172.20.0.0/16")["as_path"], "65515 65200");
    EXPECT_TRUE(adv(j, "vpn/branch-static", "0.0.0.0/0").is_null()); // C4
    EXPECT_EQ(view_route(j, "vnet", "0.0.0.0/0")["next_hops"], json({"192.0.2.6"}));
    EXPECT_EQ(view_route(j, "vpn/branch-bgp", "192.168.10.0/24")["next_hops"], json({"10.1.2.4"}));
}

TEST(Plan, Ecmp) { // D7, E12
    const auto j = plan("ecmp.yaml");
    EXPECT_EQ(view_route(j, "vnet", "192.168.20.0/24")["next_hops"],
              json({"10.1.2.4", "10.1.2.5"}));
    EXPECT_EQ(view_route(j, "vnet", "192.168.21.0/24")["next_hops"], json({"10.1.2.100"}));
}

TEST(Plan, PrependFailover) { // D7, D9
    const auto j = plan("prepend-failover.yaml");
    EXPECT_EQ(view_route(j, "vnet", "192.168.20.0/24")["next_hops"], json({"10.1.2.4"}));
    EXPECT_EQ(adv(j, "nva/NVA2@0", "192.168.20.0/24")["as_path"], "65515 65001");
}

TEST(Plan, RoutingPreferences) { // D3, D4, D5, D6
    const auto er = plan("pref-expressroute.yaml");
    EXPECT_EQ(view_route(er, "vnet", "172.16.5.0/24")["source"], "expressroute");
    EXPECT_EQ(view_route(er, "vnet", "172.16.6.0/24")["source"], "expressroute");
    const auto vpn = plan("pref-vpngateway.yaml");
    EXPECT_EQ(view_route(vpn, "vnet", "172.16.5.0/24")["source"], "nva");
    EXPECT_EQ(view_route(vpn, "vnet", "172.16.6.0/24")["source"], "vpn");
    const auto asp = plan("pref-aspath.yaml");
    EXPECT_EQ(view_route(asp, "vnet", "172.16.5.0/24")["source"], "nva");
    EXPECT_EQ(view_route(asp, "vnet", "172.16.6.0/24")["source"], "expressroute");
    EXPECT_EQ(asp["route_server"]["routing_preference"], "ASPath");
}

TEST(Plan, TwoCircuits) { // B1
    const auto j = plan("two-circuits.yaml");
    EXPECT_TRUE(adv(j, "er/A", "172.17.0.0/16").is_null());
    EXPECT_TRUE(adv(j, "er/B", "172.16.0.0/16").is_null());
    EXPECT_FALSE(adv(j, "nva/NVA1@0", "172.16.0.0/16").is_null());
    EXPECT_FALSE(adv(j, "nva/NVA1@0", "172.17.0.0/16").is_null());
    EXPECT_TRUE(view_route(j, "er/A", "172.17.0.0/16").is_null());
    EXPECT_EQ(view_route(j, "er/A", "192.168.10.0/24")["next_hops"], json({"10.1.2.4"}));
}

TEST(PlanCli, TextJsonHelpAndErrors) {
    auto r = run_tool("--config " + root + "/examples/seed.yaml");
    EXPECT_EQ(r.status, 0);
    EXPECT_NE(r.out.find("View vnet"), std::string::npos);
    EXPECT_NE(r.out.find("192.168.10.0/24"), std::string::npos);
    r = run_tool("--config " + root + "/examples/seed.yaml --json --branch-to-branch on");
    EXPECT_EQ(r.status, 0);
    EXPECT_TRUE(json::parse(r.out)["route_server"]["branch_to_branch"]);
    r = run_tool("--help");
    EXPECT_EQ(r.status, 0);
    EXPECT_NE(r.out.find("--config"), std::string::npos);
    r = run_tool("--config /nonexistent.yaml");
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.out.find("/nonexistent.yaml:0"), std::string::npos);
    r = run_tool("");
    EXPECT_EQ(r.status, 2);
    // A broken config: message with file:line: field, exit 2.
    const std::string bad = "/tmp/rsfwd-plan-test-bad.yaml";
    {
        std::ofstream f(bad);
        f << "route_server:\n  instance_ips: [10.1.0.4, 10.1.0.5]\n  colour: blue\nvnet:\n"
             "  address_space: [10.1.0.0/16]\n";
    }
    r = run_tool("--config " + bad);
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.out.find(bad + ":3: route_server.colour: unknown key"), std::string::npos) << r.out;
    std::remove(bad.c_str());
}

TEST(Plan, GlobalReach) { // B1 for ARS, exchange at the MSEE level
    const auto j = plan("global-reach.yaml");
    EXPECT_EQ(adv(j, "er/A", "172.17.0.0/16")["as_path"], "12076 12076 65101");
    EXPECT_EQ(view_route(j, "er/A", "172.17.0.0/16")["next_hops"], json({"192.0.2.6"}));
    EXPECT_EQ(view_route(j, "er/B", "172.16.0.0/16")["next_hops"], json({"192.0.2.2"}));
    EXPECT_TRUE(adv(j, "ergw", "172.17.0.0/16").is_null());
}
