// Model check of the incremental engine: random event sequences (announce, withdraw, session
// loss, branch-to-branch and routing-preference switches, E8/C5 teardowns, B7 churn) — after
// every event the accumulated deltas must equal the engine's own state, and periodically a
// fresh engine fed the same Adj-RIB-Ins from scratch must produce the same state.
#include "policy_fixture.hpp"

#include <algorithm>
#include <map>
#include <random>

using namespace rsfwd;
using namespace rsfwd::test;

namespace {

struct State {
    std::map<std::pair<PeerKey, Prefix>, Route> peers;
    std::map<std::pair<ViewId, Prefix>, ViewRoute> views;

    void apply(const PolicyDelta& d) {
        for (const auto& pd : d.peers) {
            std::set<Prefix> seen;
            for (const auto& p : pd.withdraw) {
                EXPECT_TRUE(seen.insert(p).second) << "prefix twice in one PeerDelta";
                EXPECT_EQ(peers.erase({pd.peer, p}), 1u) << "withdraw of unadvertised " << p.str();
            }
            for (const auto& r : pd.advertise) {
                EXPECT_TRUE(seen.insert(r.prefix).second) << "prefix twice in one PeerDelta";
                peers[{pd.peer, r.prefix}] = r;
            }
        }
        std::set<std::pair<ViewId, Prefix>> seen;
        for (const auto& vc : d.views) {
            EXPECT_TRUE(seen.insert({vc.view, vc.prefix}).second) << "view change twice";
            if (vc.route) {
                EXPECT_EQ(vc.route->prefix, vc.prefix);
                views[{vc.view, vc.prefix}] = *vc.route;
            } else {
                EXPECT_EQ(views.erase({vc.view, vc.prefix}), 1u) << "delete of absent route";
            }
        }
    }
    bool operator==(const State&) const = default;
};

State of(const PolicyDelta& snapshot) {
    State s;
    s.apply(snapshot);
    return s;
}

void check_invariants(const RouteServer& rs) {
    const auto& ars = rs.config().route_server.instance_ips;
    // rib_counts (rsctl peers, /metrics) = the sizes of the copies, for every peer.
    for (const auto& p : rs.peers()) {
        const auto c = rs.rib_counts(p);
        const auto in = rs.adj_rib_in(p);
        EXPECT_EQ(c.received, in.size());
        EXPECT_EQ(c.accepted, static_cast<std::size_t>(std::count_if(
                                  in.begin(), in.end(), [](const auto& r) { return r.accepted; })));
        EXPECT_EQ(c.advertised, rs.adj_rib_out(p).size());
    }
    for (const auto& v : rs.views()) {
        for (const auto& r : rs.view(v)) {
            EXPECT_LE(r.next_hops.size(), 8u); // D7
            EXPECT_TRUE(std::is_sorted(r.next_hops.begin(), r.next_hops.end()));
            for (const auto& nh : r.next_hops) EXPECT_TRUE(nh != ars[0] && nh != ars[1]); // H1
            if (r.source == RouteSource::vnet_local) {
                EXPECT_TRUE(r.next_hops.empty());
            }
            if (v.rfind("vpn/", 0) == 0) {
                EXPECT_NE(r.prefix.len, 0) << "C4";
            }
        }
    }
}

// A fresh engine with the same switches, loaded from `rs`'s Adj-RIB-Ins in one go.
State from_scratch(const RouteServer& rs, bool with_peer_deltas) {
    Config cfg = rs.config();
    cfg.route_server.branch_to_branch = rs.branch_to_branch();
    cfg.route_server.routing_preference = rs.routing_preference();
    RouteServer fresh(cfg);
    std::vector<PeerRoutes> updates;
    for (const auto& p : rs.peers()) {
        if (!rs.accepts_routes(p)) continue;
        PeerRoutes pr{p, {}};
        for (const auto& r : rs.adj_rib_in(p)) pr.routes.push_back(r.received);
        if (!pr.routes.empty()) updates.push_back(std::move(pr));
    }
    if (!with_peer_deltas) {
        fresh.load(updates);
        return of(fresh.snapshot());
    }
    State s = of(fresh.snapshot());
    s.apply(fresh.load(updates, true));
    EXPECT_TRUE(s == of(fresh.snapshot())) << "load() deltas disagree with its own state";
    return s;
}

std::string topology(bool global_reach) {
    // 3 NVAs (NVA3 peers with instance 0 only), 2 circuits, 2 sites, a plain peering.
    const std::string circuit_b =
        "    - {name: b, port: er-b, onprem_asn: 65101, edge_ip: 192.0.2.10}\n";
    const std::string ports =
        "  - {name: er-b, device: net_null4, address: 192.0.2.9/30, view: er/b}\n"
        "  - {name: vpn-b2, device: net_null5, address: 192.0.2.13/30, view: vpn/b2}\n";
    auto text = t0_yaml("  max_prefixes: 6\n  er_max_advertised: 6\n  vpn_max_prefixes: 6\n", "",
                        "  - {name: NVA3, asn: 65003, ip: 10.1.2.6, port: nva, peers_with: [0]}\n",
                        circuit_b, ports, "    - {name: plain, address_space: [10.3.0.0/16]}\n");
    text.replace(text.find("nvas:"), 5,
                 "    - {name: b2, port: vpn-b2, asn: 65201, device_ip: 192.0.2.14}\nnvas:");
    if (global_reach) {
        text.replace(text.find("vpn_gateway:"), 12,
                     "  global_reach:\n    - {a: onprem, b: b}\nvpn_gateway:");
    }
    return text;
}

void run(std::uint32_t seed, int steps, bool global_reach) {
    std::mt19937 rng(seed);
    auto pick = [&](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
    RouteServer rs(parse_config(topology(global_reach), "<model>"));
    State acc = of(rs.snapshot());

    const std::vector<const char*> prefixes = {
        "0.0.0.0/0",      "10.0.0.0/8",     "10.1.9.0/24",    "10.3.1.0/24",
        "172.16.0.0/16",  "172.16.1.0/24",  "172.17.0.0/16",  "192.168.1.0/24",
        "192.168.2.0/24", "192.168.3.0/24", "192.168.4.0/24", "192.168.5.0/24"};
    const std::vector<const char*> paths = {
        "",      "65001",       "65002 65002", "65100",     "65100 65100 65100",
        "65200", "65001 65515", "65001 0",     "3356 65001"};
    const std::vector<Community> comms = {communities::no_advertise, communities::no_export,
                                          communities::ars_hairpin, community(65001, 1)};
    const std::vector<const char*> nva_nhs = {nullptr, "10.1.2.100", "10.1.2.5", "10.1.0.4"};
    std::vector<PeerKey> inputs;
    for (const auto& p : rs.peers())
        if (rs.accepts_routes(p)) inputs.push_back(p);

    for (int step = 0; step < steps; ++step) {
        PolicyDelta d;
        const auto what = pick(100);
        const auto peer = inputs[pick(inputs.size())];
        if (what < 55) {
            std::vector<Route> batch;
            const auto n = 1 + pick(3);
            for (std::size_t i = 0; i < n; ++i) {
                const char* nh =
                    peer.kind == PeerKind::nva ? nva_nhs[pick(nva_nhs.size())] : nullptr;
                auto r = R(prefixes[pick(prefixes.size())], paths[pick(paths.size())], nh);
                if (pick(4) == 0) r.communities.push_back(comms[pick(comms.size())]);
                batch.push_back(std::move(r));
            }
            d = rs.announce(peer, batch);
        } else if (what < 85) {
            d = rs.withdraw(peer, P(prefixes[pick(prefixes.size())]));
        } else if (what < 90) {
            d = rs.peer_down(peer);
        } else if (what < 95) {
            d = rs.set_branch_to_branch(!rs.branch_to_branch());
        } else {
            d = rs.set_routing_preference(static_cast<RoutingPreference>(pick(3)));
        }
        acc.apply(d);
        const State now = of(rs.snapshot());
        ASSERT_TRUE(acc == now) << "seed " << seed << " step " << step;
        if (step % 25 == 24) {
            ASSERT_TRUE(from_scratch(rs, step % 50 == 49) == now)
                << "seed " << seed << " step " << step;
            check_invariants(rs);
        }
    }
}

} // namespace

TEST(ModelCheck, IncrementalEqualsFromScratch) {
    for (std::uint32_t seed = 1; seed <= 12; ++seed) {
        run(seed, 300, seed % 2 == 0); // even seeds with ER Global Reach between the circuits
        if (HasFatalFailure()) return;
    }
}
