// control/config_validate.cpp — the Route Server rules a config must satisfy (ROUTE_SERVER.md ids
// in the messages) and its cross references. A rule that Azure enforces when the resource is
// created (E1, E2, C1, E7) is an error here too: a lab that Azure would refuse to build teaches
// nothing about what Azure does. Messages are part of the interface: tests and users grep them.
#include "control/config_validate.hpp"

#include <algorithm>
#include <span>

#include <fmt/format.h>

namespace rsfwd {

bool is_reserved_peer_asn(std::uint32_t asn) noexcept {
    // E2 (FAQ): 8074, 8075, 12076, 65515, 65517-65520, 23456, 64496-64511, 65535-65551, > 65535.
    if (asn == 8074 || asn == 8075 || asn == 12076 || asn == 65515 || asn == 23456) return true;
    if (asn >= 65517 && asn <= 65520) return true;
    if (asn >= 64496 && asn <= 64511) return true;
    if (asn >= 65535) return true; // covers 65535-65551 and everything above 65535
    return asn == 0;
}

namespace config_check {

std::string sub(const std::string& field, std::string_view key) {
    return field.empty() ? std::string(key) : field + "." + std::string(key);
}
std::string idx(const std::string& field, std::size_t i) {
    return fmt::format("{}[{}]", field, i);
}

void Where::fail(const std::string& message) const {
    throw ConfigError(file, line, field, message);
}

void route_server_asn(const Where& at, std::uint32_t asn) {
    if (asn != 65515) at.fail("E1: Route Server's ASN is fixed at 65515");
}

void distinct_instance_ips(const Where& at, const std::array<IpAddr, 2>& ips) {
    if (ips[0] == ips[1]) at.fail("E5: the two instances need distinct IPs");
}

void peer_asn(const Where& at, std::uint32_t asn, bool nva) {
    if (nva && asn == 65515) at.fail("E1: an NVA must not use 65515, Route Server's own ASN");
    if (is_reserved_peer_asn(asn)) {
        at.fail(fmt::format("E2: ASN {} is reserved and refused by Route Server", asn));
    }
}

void vpn_gateway_asn(const Where& at, std::uint32_t asn) {
    if (asn != 65515) at.fail("C1: the VPN gateway must use ASN 65515 to work with Route Server");
}

void vpn_active_active(const Where& at, bool active_active) {
    if (!active_active) at.fail("C1: Route Server requires an active-active VPN gateway");
}

void nva_count(const Where& at, std::size_t count) {
    if (count > 8) at.fail(fmt::format("E7: at most 8 NVA peers ({} given)", count));
}

void warn_one_instance(Config& c, const Where& at, const std::string& nva_field,
                       const std::string& nva_name, std::size_t instances) {
    if (instances >= 2) return;
    c.warnings.push_back(
        fmt::format("{}:{}: {}.peers_with: E6: NVA {} peers with one Route Server instance "
                    "only; VMs served by the other instance may miss its routes",
                    at.file, at.line, nva_field, nva_name));
}

const PortConfig& port_ref(const Config& c, const Where& at, const std::string& name) {
    const auto* p = c.find_port(name);
    if (!p) at.fail(fmt::format("no port named '{}'", name));
    return *p;
}

void port_view(const Where& at, const PortConfig& port, const std::string& view,
               std::string_view who) {
    if (port.view != view) {
        at.fail(fmt::format("{}port '{}' must have view {} (it has {})", who, port.name, view,
                            port.view));
    }
}

void host_of_port(const Where& at, const PortConfig& port, const IpAddr& ip) {
    if (!port.subnet.contains(ip) || ip == port.address) {
        at.fail(fmt::format("{} must be a host of port {}'s subnet {}", ip.str(), port.name,
                            port.subnet.str()));
    }
}

void global_reach_circuit(const Where& at, const std::vector<CircuitConfig>& circuits,
                          const std::string& name) {
    for (const auto& cc : circuits)
        if (cc.name == name) return;
    at.fail(fmt::format("no circuit named '{}'", name));
}

void global_reach_pair(const Where& at, const GlobalReachConfig& pair,
                       const std::vector<GlobalReachConfig>& earlier) {
    if (pair.a == pair.b) at.fail("a circuit cannot reach itself");
    for (const auto& prev : earlier) {
        if ((prev.a == pair.a && prev.b == pair.b) || (prev.a == pair.b && prev.b == pair.a)) {
            at.fail("duplicate Global Reach pair");
        }
    }
}

void nva_route_instances(const std::string& file, const NvaConfig& nva,
                         const std::string& nva_field) {
    const auto& pw = nva.peers_with;
    for (std::size_t j = 0; j < nva.routes.size(); ++j) {
        const auto& rc = nva.routes[j];
        if (rc.instance >= 0 && std::find(pw.begin(), pw.end(), rc.instance) == pw.end()) {
            Where{file, rc.line, idx(nva_field + ".routes", j) + ".instance"}.fail(
                fmt::format("NVA {} does not peer with instance {}", nva.name, rc.instance));
        }
    }
}

void neighbour(const Where& at, const PortConfig& port, const NeighbourConfig& nb,
               const std::vector<NeighbourConfig>& earlier) {
    const auto outside = [&](const Prefix& subnet) {
        at.fail(
            fmt::format("{} is outside port {}'s subnet {}", nb.ip.str(), port.name, subnet.str()));
    };
    if (nb.ip.is_v4() && !port.subnet.contains(nb.ip)) outside(port.subnet);
    if (nb.ip.is_v6()) {
        if (!port.subnet6)
            at.fail(fmt::format("{}: port {} has no address6", nb.ip.str(), port.name));
        if (!port.subnet6->contains(nb.ip)) outside(*port.subnet6);
        if (nb.ip == *port.address6) {
            at.fail(fmt::format("{} is port {}'s own address", nb.ip.str(), port.name));
        }
    }
    for (const auto& prev : earlier) {
        if (prev.ip == nb.ip) {
            at.fail(fmt::format("duplicate neighbour {} (line {})", nb.ip.str(), prev.line));
        }
    }
}

namespace {

// Port views must name something that exists.
void port_views(const Config& c) {
    for (std::size_t i = 0; i < c.ports.size(); ++i) {
        const auto& p = c.ports[i];
        const Where at{c.file, p.line, idx("ports", i) + ".view"};
        if (p.view == "vnet") continue;
        if (p.view.rfind("er/", 0) == 0) {
            if (!c.find_circuit(p.view.substr(3))) {
                at.fail(fmt::format("view {}: no circuit named '{}'", p.view, p.view.substr(3)));
            }
        } else if (p.view.rfind("vpn/", 0) == 0) {
            if (!c.find_site(p.view.substr(4))) {
                at.fail(fmt::format("view {}: no VPN site named '{}'", p.view, p.view.substr(4)));
            }
        } else {
            at.fail(fmt::format("'{}': expected vnet, er/<circuit> or vpn/<site>", p.view));
        }
    }
}

// Address spaces: no duplicates and no overlap (Azure refuses overlapping peered VNets).
void address_spaces(const Config& c) {
    struct Space {
        Prefix p;
        std::string where;
        int line;
    };
    std::vector<Space> all;
    for (const auto& p : c.vnet.address_space)
        all.push_back({p, "vnet.address_space", c.vnet.line});
    for (std::size_t i = 0; i < c.vnet.peerings.size(); ++i) {
        for (const auto& p : c.vnet.peerings[i].address_space) {
            all.push_back({p, idx("vnet.peerings", i) + ".address_space", c.vnet.peerings[i].line});
        }
    }
    for (std::size_t i = 0; i < all.size(); ++i) {
        for (std::size_t j = 0; j < i; ++j) {
            if (all[i].p.covers(all[j].p) || all[j].p.covers(all[i].p)) {
                Where{c.file, all[i].line, all[i].where}.fail(fmt::format(
                    "{} overlaps {} ({})", all[i].p.str(), all[j].p.str(), all[j].where));
            }
        }
    }
}

void peering_names(const Config& c) {
    const auto& ps = c.vnet.peerings;
    for (std::size_t i = 0; i < ps.size(); ++i) {
        unique_name(Where{c.file, ps[i].line, idx("vnet.peerings", i) + ".name"},
                    std::span(ps.data(), i), ps[i].name, "peering");
    }
}

// Every configured address is unique (two owners of one IP break ARP and next hops).
void unique_addresses(const Config& c) {
    struct Owner {
        IpAddr ip;
        std::string field;
        int line;
    };
    std::vector<Owner> owners;
    auto add = [&](const IpAddr& ip, std::string field, int line) {
        for (const auto& o : owners) {
            if (o.ip == ip) {
                Where{c.file, line, field}.fail(fmt::format(
                    "duplicate address {} (also {} at line {})", ip.str(), o.field, o.line));
            }
        }
        owners.push_back({ip, std::move(field), line});
    };
    auto add_instances = [&](const std::array<IpAddr, 2>& ips, const char* owner, int line) {
        for (std::size_t i = 0; i < 2; ++i) add(ips[i], idx(owner, i), line);
    };
    add_instances(c.route_server.instance_ips, "route_server.instance_ips", c.route_server.line);
    if (const auto& g = c.expressroute_gateway) {
        add_instances(g->instance_ips, "expressroute_gateway.instance_ips", g->line);
        for (std::size_t i = 0; i < g->circuits.size(); ++i) {
            add(g->circuits[i].edge_ip, idx("expressroute_gateway.circuits", i) + ".edge_ip",
                g->circuits[i].line);
        }
    }
    if (const auto& g = c.vpn_gateway) {
        add_instances(g->instance_ips, "vpn_gateway.instance_ips", g->line);
        for (std::size_t i = 0; i < g->sites.size(); ++i) {
            add(g->sites[i].device_ip, idx("vpn_gateway.sites", i) + ".device_ip",
                g->sites[i].line);
        }
    }
    for (std::size_t i = 0; i < c.nvas.size(); ++i)
        add(c.nvas[i].ip, idx("nvas", i) + ".ip", c.nvas[i].line);
    for (std::size_t i = 0; i < c.ports.size(); ++i)
        add(c.ports[i].address, idx("ports", i) + ".address", c.ports[i].line);
}

// H1: an NVA may not point its routes at Route Server.
void no_route_server_next_hop(const Config& c) {
    const auto& ars = c.route_server.instance_ips;
    for (std::size_t i = 0; i < c.nvas.size(); ++i) {
        for (std::size_t j = 0; j < c.nvas[i].routes.size(); ++j) {
            const auto& rc = c.nvas[i].routes[j];
            if (rc.next_hop && (*rc.next_hop == ars[0] || *rc.next_hop == ars[1])) {
                Where{c.file, rc.line, fmt::format("nvas[{}].routes[{}].next_hop", i, j)}.fail(
                    "H1: Route Server is never a next hop");
            }
        }
    }
}

} // namespace

void validate_config(const Config& c) {
    port_views(c);
    address_spaces(c);
    peering_names(c);
    unique_addresses(c);
    no_route_server_next_hop(c);
}

} // namespace config_check
} // namespace rsfwd
