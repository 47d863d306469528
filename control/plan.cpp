// control/plan.cpp — `rsfwd plan`. The JSON document is a contract (docs/plan-json.md): keys are
// only ever added, never renamed, and every list is sorted, so a plan can be diffed and golden-
// tested. The text form is for people and may change.
#include "control/plan.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <iostream>

#include <fmt/format.h>

namespace rsfwd {

namespace {

using nlohmann::ordered_json;

std::string_view kind_str(PeerKind k) {
    switch (k) {
    case PeerKind::nva:
        return "nva";
    case PeerKind::er_circuit:
        return "er_circuit";
    case PeerKind::vpn_site:
        return "vpn_site";
    case PeerKind::er_gateway:
        return "er_gateway";
    case PeerKind::vpn_gateway:
        return "vpn_gateway";
    }
    return "?";
}

std::string_view origin_str(Origin o) {
    switch (o) {
    case Origin::igp:
        return "igp";
    case Origin::egp:
        return "egp";
    case Origin::incomplete:
        return "incomplete";
    }
    return "?";
}

ordered_json communities_json(const Route& r) {
    auto a = ordered_json::array();
    for (auto c : r.communities) a.push_back(community_str(c));
    return a;
}

std::string communities_text(const Route& r) {
    std::string s;
    for (auto c : r.communities) {
        if (!s.empty()) s += ' ';
        s += community_str(c);
    }
    return s.empty() ? "-" : s;
}

std::string path_text(const AsPath& p) {
    return p.empty() ? "(empty)" : p.str();
}

struct PeerInfo {
    std::uint32_t asn = 0;
    IpAddr address;
};

PeerInfo peer_info(const RouteServer& rs, PeerKey p) {
    const auto& c = rs.config();
    switch (p.kind) {
    case PeerKind::nva:
        return {c.nvas[p.index].asn, c.nvas[p.index].ip};
    case PeerKind::er_circuit: {
        const auto& cc = c.expressroute_gateway->circuits[p.index];
        return {cc.onprem_asn, cc.edge_ip};
    }
    case PeerKind::vpn_site: {
        const auto& s = c.vpn_gateway->sites[p.index];
        return {s.asn, s.device_ip};
    }
    case PeerKind::er_gateway:
        return {65515, c.expressroute_gateway->instance_ips[0]};
    case PeerKind::vpn_gateway:
        return {65515, c.vpn_gateway->instance_ips[0]};
    }
    return {};
}

std::vector<std::string> all_warnings(const RouteServer& rs) {
    auto w = rs.config().warnings;
    for (auto& s : rs.consistency_warnings()) w.push_back(std::move(s));
    return w;
}

// A minimal column formatter: widths from the content.
class Table {
public:
    explicit Table(std::vector<std::string> head) : rows_{std::move(head)} {}
    void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
    [[nodiscard]] std::string str(const std::string& indent) const {
        std::vector<std::size_t> w(rows_[0].size(), 0);
        for (const auto& r : rows_)
            for (std::size_t i = 0; i < r.size(); ++i) w[i] = std::max(w[i], r[i].size());
        std::string out;
        for (const auto& r : rows_) {
            std::string line = indent;
            for (std::size_t i = 0; i < r.size(); ++i) {
                line += r[i];
                if (i + 1 < r.size()) line += std::string(w[i] - r[i].size() + 2, ' ');
            }
            while (!line.empty() && line.back() == ' ') line.pop_back();
            out += line + "\n";
        }
        return out;
    }
    [[nodiscard]] bool empty() const { return rows_.size() == 1; }

private:
    std::vector<std::vector<std::string>> rows_;
};

} // namespace

std::string render_plan_json(const RouteServer& rs, const std::vector<PolicyEvent>& events) {
    const auto& c = rs.config();
    ordered_json j;
    j["schema"] = "rsfwd-plan/1";
    j["config"] = c.file;
    j["route_server"] = {
        {"name", c.route_server.name},
        {"asn", 65515},
        {"instance_ips",
         {c.route_server.instance_ips[0].str(), c.route_server.instance_ips[1].str()}},
        {"branch_to_branch", rs.branch_to_branch()},
        {"routing_preference", std::string(to_string(rs.routing_preference()))},
        {"max_prefixes", c.route_server.max_prefixes},
    };
    j["warnings"] = all_warnings(rs);
    auto ev = ordered_json::array();
    for (const auto& e : events) {
        ev.push_back({{"kind", std::string(to_string(e.kind))},
                      {"peer", rs.peer_name(e.peer)},
                      {"message", e.message}});
    }
    j["events"] = ev;
    auto peers = ordered_json::array();
    for (const auto& p : rs.peers()) {
        const auto info = peer_info(rs, p);
        ordered_json pj;
        pj["name"] = rs.peer_name(p);
        pj["kind"] = std::string(kind_str(p.kind));
        pj["asn"] = info.asn;
        pj["address"] = info.address.str();
        if (p.kind == PeerKind::nva) {
            pj["instance"] = p.instance;
            pj["instance_ip"] = c.route_server.instance_ips[p.instance].str();
        }
        auto learned = ordered_json::array();
        for (const auto& r : rs.adj_rib_in(p)) {
            learned.push_back({{"prefix", r.received.prefix.str()},
                               {"as_path", r.received.as_path.str()},
                               {"next_hop", r.received.next_hop.str()},
                               {"communities", communities_json(r.received)},
                               {"held_as_path", r.held.as_path.str()},
                               {"held_next_hop", r.held.next_hop.str()},
                               {"accepted", r.accepted},
                               {"reason", r.reason}});
        }
        if (rs.accepts_routes(p)) pj["learned"] = learned;
        auto adv = ordered_json::array();
        for (const auto& r : rs.adj_rib_out(p)) {
            adv.push_back({{"prefix", r.prefix.str()},
                           {"as_path", r.as_path.str()},
                           {"next_hop", r.next_hop.str()},
                           {"origin", std::string(origin_str(r.origin))},
                           {"communities", communities_json(r)}});
        }
        pj["advertised"] = adv;
        peers.push_back(std::move(pj));
    }
    j["peers"] = peers;
    auto views = ordered_json::array();
    for (const auto& v : rs.views()) {
        auto routes = ordered_json::array();
        for (const auto& vr : rs.view(v)) {
            auto nh = ordered_json::array();
            for (const auto& a : vr.next_hops) nh.push_back(a.str());
            routes.push_back({{"prefix", vr.prefix.str()},
                              {"source", std::string(to_string(vr.source))},
                              {"next_hops", nh}});
        }
        views.push_back({{"name", v}, {"routes", routes}});
    }
    j["views"] = views;
    return j.dump(2) + "\n";
}

std::string render_plan_text(const RouteServer& rs, const std::vector<PolicyEvent>& events) {
    const auto& c = rs.config();
    std::string out;
    out += fmt::format("Route Server {} (AS 65515, instances {} {}): branch-to-branch {}, "
                       "routing preference {}\n",
                       c.route_server.name, c.route_server.instance_ips[0].str(),
                       c.route_server.instance_ips[1].str(), rs.branch_to_branch() ? "on" : "off",
                       to_string(rs.routing_preference()));
    const auto warnings = all_warnings(rs);
    if (!warnings.empty() || !events.empty()) {
        out += "\nWarnings and events:\n";
        for (const auto& w : warnings) out += "  " + w + "\n";
        for (const auto& e : events) {
            out +=
                fmt::format("  [{}] {}: {}\n", to_string(e.kind), rs.peer_name(e.peer), e.message);
        }
    }
    for (const auto& p : rs.peers()) {
        const auto info = peer_info(rs, p);
        out +=
            fmt::format("\nPeer {} (AS {}, {})\n", rs.peer_name(p), info.asn, info.address.str());
        if (rs.accepts_routes(p)) {
            Table t({"prefix", "as_path", "held_as_path", "next_hop", "communities", "status"});
            for (const auto& r : rs.adj_rib_in(p)) {
                t.add({r.received.prefix.str(), path_text(r.received.as_path),
                       path_text(r.held.as_path), r.received.next_hop.str(),
                       communities_text(r.received),
                       r.accepted ? "accepted" : "rejected: " + r.reason});
            }
            out += "  learned:\n";
            out += t.empty() ? "    (none)\n" : t.str("    ");
        }
        Table t({"prefix", "as_path", "next_hop", "communities"});
        for (const auto& r : rs.adj_rib_out(p)) {
            t.add({r.prefix.str(), path_text(r.as_path), r.next_hop.str(), communities_text(r)});
        }
        out += "  advertised:\n";
        out += t.empty() ? "    (none)\n" : t.str("    ");
    }
    for (const auto& v : rs.views()) {
        out += fmt::format("\nView {}\n", v);
        Table t({"prefix", "source", "next_hops"});
        for (const auto& vr : rs.view(v)) {
            std::string nh;
            for (const auto& a : vr.next_hops) {
                if (!nh.empty()) nh += ',';
                nh += a.str();
            }
            t.add({vr.prefix.str(), std::string(to_string(vr.source)),
                   nh.empty() ? "connected" : nh});
        }
        out += t.empty() ? "  (none)\n" : t.str("  ");
    }
    return out;
}

int plan_main(int argc, char** argv) {
    CLI::App app{"rsfwd plan: show what Route Server would learn, advertise and program for a "
                 "config (no DPDK, no sockets)"};
    app.name("rsfwd plan");
    std::string config_path;
    bool json = false;
    std::string b2b, pref;
    app.add_option("--config,-c", config_path, "config file (YAML, docs/config.md)")->required();
    app.add_flag("--json", json, "emit JSON (schema: docs/plan-json.md)");
    app.add_option("--branch-to-branch", b2b, "override route_server.branch_to_branch")
        ->check(CLI::IsMember({"on", "off"}));
    app.add_option("--routing-preference", pref, "override route_server.routing_preference")
        ->check(CLI::IsMember({"ExpressRoute", "VpnGateway", "ASPath"}));
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);
        return rc == 0 ? 0 : 2;
    }
    try {
        const Config cfg = load_config(config_path);
        RouteServer rs(cfg);
        std::vector<PolicyEvent> events;
        auto keep = [&events](PolicyDelta&& d) {
            for (auto& e : d.events) events.push_back(std::move(e));
        };
        keep(rs.announce_config_routes());
        if (!b2b.empty()) keep(rs.set_branch_to_branch(b2b == "on"));
        if (!pref.empty()) keep(rs.set_routing_preference(*parse_routing_preference(pref)));
        // E6 warnings raised while loading are also standing warnings; report them once.
        events.erase(std::remove_if(events.begin(), events.end(),
                                    [](const PolicyEvent& e) {
                                        return e.kind == PolicyEventKind::consistency_warning;
                                    }),
                     events.end());
        const auto text = json ? render_plan_json(rs, events) : render_plan_text(rs, events);
        std::fwrite(text.data(), 1, text.size(), stdout);
        return 0;
    } catch (const ConfigError& e) {
        std::fprintf(stderr, "rsfwd plan: %s\n", e.what());
        return 2;
    }
}

} // namespace rsfwd
