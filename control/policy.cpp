// control/policy.cpp — the Route Server policy engine.
//
// Shape of the computation (docs/policy.md has the long form):
//   1. Input: each peer's Adj-RIB-In holds every received route with the verdict of the input
//      filters (E10, G4, G3, H1, F1 for NVAs; B5, B10 for ER; C5 for VPN) and the route as it is
//      held (ER: "12076 <path>", B4; gateway next hops).
//   2. Per prefix, the accepted routes form candidates: one per NVA (E6: union of its two
//      sessions), one per circuit, one per site. Three selections run over them with the D-rules:
//        all  — every candidate (what VMs get: the `vnet` view, A2/A8, D1-D12);
//        ars  — what Route Server itself selects and reflects: NVA candidates, plus gateway
//               candidates only when branch-to-branch is on (A5/A6);
//        site — the VPN gateway's own choice among its sites (it prefers them over ARS copies).
//   3. Outputs per prefix are "which accepted entry does peer X get" (an OutKey: the entry and
//      its version), so the engine never stores a materialised Route per peer; routes are built
//      only for deltas and queries. This keeps 16 NVA sessions × 76k prefixes affordable.
//   4. ER circuits get the ARS→ER-gateway routes that no circuit announces itself (B8 + B1),
//      capped per circuit (B7) by an ordered in/over split, which is why circuits are finalised
//      after the per-prefix pass of an event.
// Everything is per prefix except B7, so an event recomputes exactly the prefixes it touches.
//
// This file: construction, the event pass (start → recompute per touched prefix → finalize →
// finish) and the public RouteServer facade. policy_impl.hpp lists where each step lives.
#include "control/policy_impl.hpp"

#include <algorithm>
#include <stdexcept>

#include <fmt/format.h>

namespace rsfwd {

using namespace policy_detail;

std::string_view to_string(PolicyEventKind k) noexcept {
    switch (k) {
    case PolicyEventKind::max_prefix_teardown:
        return "max_prefix_teardown";
    case PolicyEventKind::max_prefix_warning:
        return "max_prefix_warning";
    case PolicyEventKind::consistency_warning:
        return "consistency_warning";
    case PolicyEventKind::er_limit:
        return "er_limit";
    }
    return "?";
}

RouteServer::Impl::Impl(const Config& c) : cfg(c) {
    b2b = cfg.route_server.branch_to_branch;
    pref = cfg.route_server.routing_preference;
    n_nva = cfg.nvas.size();
    n_circuit = cfg.expressroute_gateway ? cfg.expressroute_gateway->circuits.size() : 0;
    n_site = cfg.vpn_gateway ? cfg.vpn_gateway->sites.size() : 0;
    if (n_nva > 8) throw std::invalid_argument("policy: more than 8 NVAs (E7)");
    n_in = 2 * n_nva + n_circuit + n_site;
    ord_ergw = static_cast<std::uint16_t>(n_in);
    ord_vpngw = static_cast<std::uint16_t>(n_in + 1);
    n_out = n_in + 2;
    rib_in.resize(n_in);
    over_limit_warned.assign(n_in, false);
    e6_state.resize(n_nva);
    e6_count.assign(n_nva, {});
    active.assign(n_out, true);
    ord_key.resize(n_out);
    for (std::size_t n = 0; n < n_nva; ++n) {
        for (std::uint8_t i = 0; i < 2; ++i) {
            const auto& pw = cfg.nvas[n].peers_with;
            active[2 * n + i] = std::find(pw.begin(), pw.end(), i) != pw.end();
            ord_key[2 * n + i] = PeerKey::nva(static_cast<std::uint16_t>(n), i);
        }
    }
    for (std::size_t k = 0; k < n_circuit; ++k) {
        ord_key[circuit_ord(k)] = PeerKey::circuit(static_cast<std::uint16_t>(k));
        const auto* port = cfg.find_port(cfg.expressroute_gateway->circuits[k].port);
        if (!port) throw std::invalid_argument("policy: circuit port missing");
        circuit_port_ip.push_back(port->address);
    }
    for (std::size_t s = 0; s < n_site; ++s) {
        ord_key[site_ord(s)] = PeerKey::site(static_cast<std::uint16_t>(s));
        const auto* port = cfg.find_port(cfg.vpn_gateway->sites[s].port);
        if (!port) throw std::invalid_argument("policy: site port missing");
        site_port_ip.push_back(port->address);
    }
    ord_key[ord_ergw] = PeerKey::er_gateway();
    ord_key[ord_vpngw] = PeerKey::vpn_gateway();
    active[ord_ergw] = cfg.expressroute_gateway.has_value();
    active[ord_vpngw] = cfg.vpn_gateway.has_value();
    for (std::size_t o = 0; o < n_out; ++o)
        if (active[o]) peer_list.push_back(ord_key[o]);

    view_names.push_back("vnet");
    for (std::size_t k = 0; k < n_circuit; ++k) {
        view_names.push_back("er/" + cfg.expressroute_gateway->circuits[k].name);
    }
    for (std::size_t s = 0; s < n_site; ++s) {
        view_names.push_back("vpn/" + cfg.vpn_gateway->sites[s].name);
    }

    // A3/A4: hub + use-remote-gateway peerings are "VNet space"; plain peerings are local to
    // the VMs (D11) but unknown to ARS.
    hub_space = cfg.vnet.address_space;
    for (const auto& pe : cfg.vnet.peerings)
        if (pe.use_remote_gateway)
            hub_space.insert(hub_space.end(), pe.address_space.begin(), pe.address_space.end());
    all_local = hub_space;
    for (const auto& pe : cfg.vnet.peerings)
        if (!pe.use_remote_gateway)
            all_local.insert(all_local.end(), pe.address_space.begin(), pe.address_space.end());
    std::sort(hub_space.begin(), hub_space.end());
    std::sort(all_local.begin(), all_local.end());

    // B7: VNet prefixes count towards the circuit's limit.
    global_reach.assign(n_circuit, {});
    if (cfg.expressroute_gateway) {
        const auto& circuits = cfg.expressroute_gateway->circuits;
        auto index = [&](const std::string& name) {
            for (std::size_t k = 0; k < circuits.size(); ++k)
                if (circuits[k].name == name) return k;
            throw std::invalid_argument("policy: Global Reach names an unknown circuit");
        };
        bool any = false;
        for (const auto& gr : cfg.expressroute_gateway->global_reach) {
            global_reach[index(gr.a)].insert(index(gr.b));
            global_reach[index(gr.b)].insert(index(gr.a));
            any = true;
        }
        if (!any) global_reach.clear();
    }
    er_limit.unlimited = cfg.route_server.er_limit_action == ErLimitAction::ignore;
    {
        const auto lim = cfg.route_server.er_max_advertised;
        er_limit.cap = lim > hub_space.size() ? lim - hub_space.size() : 0;
    }

    // Static outputs: VNet space towards NVAs (A3, E13), on-prem via ER (B3) and VPN sites.
    static_out.resize(n_out);
    for (std::size_t o = 0; o < n_out; ++o) {
        if (!active[o] || o == ord_ergw || o == ord_vpngw) continue;
        for (const auto& p : hub_space) {
            Route r;
            r.prefix = p;
            r.origin = Origin::igp;
            if (is_nva_ord(o)) {
                r.as_path = AsPath::of({ars_asn});
                r.next_hop = cfg.route_server.instance_ips[o % 2];
            } else if (is_circuit_ord(o)) {
                r.as_path = AsPath::of({msee_asn});
                r.next_hop = circuit_port_ip[circuit_of(o)];
            } else {
                r.as_path = AsPath::of({ars_asn});
                r.next_hop = site_port_ip[site_of(o)];
            }
            static_out[o].push_back(std::move(r));
        }
    }
    static_view.resize(view_names.size());
    for (const auto& p : all_local) static_view[0].push_back({p, RouteSource::vnet_local, {}});
    for (std::size_t v = 1; v < view_names.size(); ++v)
        for (const auto& p : hub_space) static_view[v].push_back({p, RouteSource::vnet_local, {}});
}

RouteServer::Impl::Builder RouteServer::Impl::start(bool peers_enabled) const {
    Builder b;
    b.per.resize(n_out);
    b.peers_enabled = peers_enabled;
    return b;
}

PolicyDelta RouteServer::Impl::finish(Builder& b) {
    std::sort(touched.begin(), touched.end(), FastLess{});
    touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
    for (const auto& p : touched) recompute(b, p);
    finalize(b);
    for (const auto& p : to_erase) {
        auto it = prefixes.find(p);
        if (it != prefixes.end() && it->second.slots.empty()) {
            const auto id = it->second.id;
            std::fill_n(&out_arena[std::size_t{id} * n_out], n_out, OutKey{});
            std::fill_n(&vsel_arena[std::size_t{id} * view_names.size()], view_names.size(), 0);
            free_ids.push_back(id);
            prefixes.erase(it);
        }
    }
    to_erase.clear();
    touched.clear();
    PolicyDelta d;
    for (std::size_t o = 0; o < n_out; ++o) {
        auto& pd = b.per[o];
        if (pd.advertise.empty() && pd.withdraw.empty()) continue;
        pd.peer = ord_key[o];
        d.peers.push_back(std::move(pd));
    }
    d.views = std::move(b.views);
    d.events = std::move(b.events);
    return d;
}

PolicyDelta RouteServer::Impl::recompute_all(Builder& b) {
    touched.clear();
    touched.reserve(prefixes.size());
    for (const auto& [p, info] : prefixes) touched.push_back(p);
    return finish(b);
}

std::string RouteServer::Impl::name(PeerKey p) const {
    switch (p.kind) {
    case PeerKind::nva:
        return fmt::format("nva/{}@{}", cfg.nvas[p.index].name, p.instance);
    case PeerKind::er_circuit:
        return "er/" + cfg.expressroute_gateway->circuits[p.index].name;
    case PeerKind::vpn_site:
        return "vpn/" + cfg.vpn_gateway->sites[p.index].name;
    case PeerKind::er_gateway:
        return "ergw";
    case PeerKind::vpn_gateway:
        return "vpngw";
    }
    return "?";
}

void RouteServer::Impl::require_input(PeerKey p) const {
    if (!valid_key(p) || p.kind == PeerKind::er_gateway || p.kind == PeerKind::vpn_gateway) {
        throw std::invalid_argument("policy: not a route-announcing peer");
    }
}

RouteServer::RouteServer(const Config& config) : impl_(std::make_unique<Impl>(config)) {}
RouteServer::~RouteServer() = default;
RouteServer::RouteServer(RouteServer&&) noexcept = default;
RouteServer& RouteServer::operator=(RouteServer&&) noexcept = default;

const std::vector<PeerKey>& RouteServer::peers() const noexcept {
    return impl_->peer_list;
}
bool RouteServer::accepts_routes(PeerKey p) const noexcept {
    return impl_->valid_key(p) && p.kind != PeerKind::er_gateway && p.kind != PeerKind::vpn_gateway;
}
std::string RouteServer::peer_name(PeerKey p) const {
    if (!impl_->valid_key(p)) return "?";
    return impl_->name(p);
}
std::optional<PeerKey> RouteServer::find_peer(std::string_view name) const {
    for (const auto& p : impl_->peer_list)
        if (impl_->name(p) == name) return p;
    return std::nullopt;
}
const std::vector<ViewName>& RouteServer::views() const noexcept {
    return impl_->view_names;
}
bool RouteServer::branch_to_branch() const noexcept {
    return impl_->b2b;
}
RoutingPreference RouteServer::routing_preference() const noexcept {
    return impl_->pref;
}
const Config& RouteServer::config() const noexcept {
    return impl_->cfg;
}

PolicyDelta RouteServer::announce(PeerKey peer, std::span<const Route> routes) {
    impl_->require_input(peer);
    auto b = impl_->start();
    if (impl_->apply_update(b, peer, routes) && peer.kind == PeerKind::nva) {
        std::vector<Prefix> ps;
        for (const auto& r : routes) ps.push_back(r.prefix);
        impl_->check_consistency(b, peer.index, ps);
    }
    return impl_->finish(b);
}
PolicyDelta RouteServer::announce(PeerKey peer, const Route& route) {
    return announce(peer, std::span<const Route>(&route, 1));
}
PolicyDelta RouteServer::withdraw(PeerKey peer, std::span<const Prefix> prefixes) {
    impl_->require_input(peer);
    auto b = impl_->start();
    const auto ord = impl_->ord_of(peer);
    for (const auto& p : prefixes) impl_->remove(ord, p);
    if (peer.kind == PeerKind::nva) {
        impl_->check_consistency(b, peer.index, {prefixes.begin(), prefixes.end()});
    }
    return impl_->finish(b);
}
PolicyDelta RouteServer::withdraw(PeerKey peer, const Prefix& prefix) {
    return withdraw(peer, std::span<const Prefix>(&prefix, 1));
}
PolicyDelta RouteServer::peer_down(PeerKey peer) {
    impl_->require_input(peer);
    auto b = impl_->start();
    const auto ord = impl_->ord_of(peer);
    std::vector<Prefix> ps;
    for (const auto& [p, e] : impl_->rib_in[ord]) ps.push_back(p);
    impl_->clear_peer(ord);
    impl_->over_limit_warned[ord] = false; // a new session warns again (E8)
    if (peer.kind == PeerKind::nva) {
        std::sort(ps.begin(), ps.end());
        impl_->check_consistency(b, peer.index, ps);
    }
    return impl_->finish(b);
}
PolicyDelta RouteServer::set_branch_to_branch(bool on) {
    auto b = impl_->start();
    if (impl_->b2b == on) return impl_->finish(b);
    impl_->b2b = on;
    return impl_->recompute_all(b);
}
PolicyDelta RouteServer::set_routing_preference(RoutingPreference pref) {
    auto b = impl_->start();
    if (impl_->pref == pref) return impl_->finish(b);
    impl_->pref = pref;
    return impl_->recompute_all(b);
}

namespace {
std::vector<PeerRoutes> config_routes(const RouteServer& rs, const Config& cfg) {
    std::vector<PeerRoutes> out;
    auto to_route = [](const RouteConfig& rc, const IpAddr& nh) {
        Route r;
        r.prefix = rc.prefix;
        r.as_path = rc.as_path;
        r.next_hop = rc.next_hop.value_or(nh);
        r.communities = rc.communities;
        return r;
    };
    for (std::size_t n = 0; n < cfg.nvas.size(); ++n) {
        const auto& v = cfg.nvas[n];
        for (int inst : v.peers_with) {
            PeerRoutes pr{
                PeerKey::nva(static_cast<std::uint16_t>(n), static_cast<std::uint8_t>(inst)), {}};
            for (const auto& rc : v.routes)
                if (rc.instance < 0 || rc.instance == inst) pr.routes.push_back(to_route(rc, v.ip));
            if (!pr.routes.empty()) out.push_back(std::move(pr));
        }
    }
    if (cfg.expressroute_gateway) {
        for (std::size_t k = 0; k < cfg.expressroute_gateway->circuits.size(); ++k) {
            const auto& c = cfg.expressroute_gateway->circuits[k];
            PeerRoutes pr{PeerKey::circuit(static_cast<std::uint16_t>(k)), {}};
            for (const auto& rc : c.routes) pr.routes.push_back(to_route(rc, c.edge_ip));
            if (!pr.routes.empty()) out.push_back(std::move(pr));
        }
    }
    if (cfg.vpn_gateway) {
        for (std::size_t s = 0; s < cfg.vpn_gateway->sites.size(); ++s) {
            const auto& site = cfg.vpn_gateway->sites[s];
            PeerRoutes pr{PeerKey::site(static_cast<std::uint16_t>(s)), {}};
            for (const auto& p : site.prefixes) { // C2: local network gateway prefixes
                Route r;
                r.prefix = p;
                r.next_hop = site.device_ip;
                pr.routes.push_back(std::move(r));
            }
            for (const auto& rc : site.routes) pr.routes.push_back(to_route(rc, site.device_ip));
            if (!pr.routes.empty()) out.push_back(std::move(pr));
        }
    }
    (void)rs;
    return out;
}
} // namespace

PolicyDelta RouteServer::announce_config_routes() {
    const auto updates = config_routes(*this, impl_->cfg);
    return load(updates, true);
}

PolicyDelta RouteServer::load(std::span<const PeerRoutes> updates, bool with_peer_deltas) {
    for (const auto& u : updates) impl_->require_input(u.peer);
    auto b = impl_->start(with_peer_deltas);
    // Bulk: size the tables once instead of rehashing 60k+ nodes several times.
    std::size_t total = impl_->prefixes.size();
    for (const auto& u : updates) {
        total += u.routes.size();
        auto& rib = impl_->rib_in[impl_->ord_of(u.peer)];
        rib.reserve(rib.size() + u.routes.size());
    }
    impl_->prefixes.reserve(total);
    impl_->out_arena.reserve(total * impl_->n_out);
    impl_->vsel_arena.reserve(total * impl_->view_names.size());
    impl_->touched.reserve(total);
    std::vector<std::vector<Prefix>> nva_touched(impl_->n_nva);
    for (const auto& u : updates) {
        if (impl_->apply_update(b, u.peer, u.routes) && u.peer.kind == PeerKind::nva) {
            for (const auto& r : u.routes) nva_touched[u.peer.index].push_back(r.prefix);
        }
    }
    for (std::size_t n = 0; n < impl_->n_nva; ++n) {
        auto& ps = nva_touched[n];
        std::sort(ps.begin(), ps.end());
        ps.erase(std::unique(ps.begin(), ps.end()), ps.end());
        impl_->check_consistency(b, n, ps);
    }
    return impl_->finish(b);
}

std::vector<RibInRoute> RouteServer::adj_rib_in(PeerKey peer) const {
    std::vector<RibInRoute> out;
    if (!accepts_routes(peer)) return out;
    const auto& rib = impl_->rib_in[impl_->ord_of(peer)];
    out.reserve(rib.size());
    for (const auto& [p, e] : rib) {
        out.push_back({e.received, e.held(), e.reason == nullptr, e.reason ? e.reason : ""});
    }
    std::sort(out.begin(), out.end(), [](const RibInRoute& a, const RibInRoute& b) {
        return a.received.prefix < b.received.prefix;
    });
    return out;
}

std::vector<Route> RouteServer::adj_rib_out(PeerKey peer) const {
    std::vector<Route> out;
    if (!impl_->valid_key(peer)) return out;
    const auto ord = impl_->ord_of(peer);
    out = impl_->static_out[ord];
    for (const auto& [p, info] : impl_->prefixes) {
        const OutKey& k = impl_->outs(info)[ord];
        if (k.valid()) out.push_back(impl_->materialize(ord, *k.e));
    }
    std::sort(out.begin(), out.end(),
              [](const Route& a, const Route& b) { return a.prefix < b.prefix; });
    return out;
}

RouteServer::RibCounts RouteServer::rib_counts(PeerKey peer) const {
    RibCounts c;
    if (!impl_->valid_key(peer)) return c;
    const auto ord = impl_->ord_of(peer);
    if (accepts_routes(peer)) {
        const auto& rib = impl_->rib_in[ord];
        c.received = rib.size();
        for (const auto& [p, e] : rib)
            if (e.reason == nullptr) ++c.accepted;
    }
    c.advertised = impl_->static_out[ord].size();
    for (const auto& [p, info] : impl_->prefixes)
        if (impl_->outs(info)[ord].valid()) ++c.advertised;
    return c;
}

std::vector<ViewRoute> RouteServer::view(std::string_view name) const {
    std::vector<ViewRoute> out;
    const auto& names = impl_->view_names;
    const auto it = std::find(names.begin(), names.end(), name);
    if (it == names.end()) return out;
    const auto v = static_cast<std::size_t>(it - names.begin());
    out = impl_->static_view[v];
    for (const auto& [p, info] : impl_->prefixes) {
        if (v == 0) {
            if (info.vnet_vr.valid) out.push_back(*info.vnet_vr.route(p));
        } else if (v <= impl_->n_circuit) {
            const auto vr = impl_->er_view(info, impl_->vsels(info)[v], info.er_vr);
            if (vr.valid) out.push_back(*vr.route(p));
        } else {
            const auto& vr =
                RouteServer::Impl::site_view(impl_->vsels(info)[v], info.site_vr, info.ars_vr);
            if (vr.valid) out.push_back(*vr.route(p));
        }
    }
    std::sort(out.begin(), out.end(),
              [](const ViewRoute& a, const ViewRoute& b) { return a.prefix < b.prefix; });
    return out;
}

PolicyDelta RouteServer::snapshot() const {
    PolicyDelta d;
    for (const auto& p : impl_->peer_list) {
        auto routes = adj_rib_out(p);
        if (routes.empty()) continue;
        d.peers.push_back({p, std::move(routes), {}});
    }
    for (std::size_t v = 0; v < impl_->view_names.size(); ++v) {
        for (auto& vr : view(impl_->view_names[v])) {
            const auto prefix = vr.prefix;
            d.views.push_back({static_cast<ViewId>(v), prefix, vr});
        }
    }
    return d;
}

std::vector<std::string> RouteServer::consistency_warnings() const {
    std::vector<std::pair<Prefix, std::string>> w;
    const auto& im = *impl_;
    for (std::size_t n = 0; n < im.n_nva; ++n) {
        const auto o0 = 2 * n, o1 = 2 * n + 1;
        if (!im.active[o0] || !im.active[o1]) continue;
        for (const auto& [p, e] : im.rib_in[o0]) {
            auto c = im.rib_in[o1].find(p);
            if (c == im.rib_in[o1].end())
                w.emplace_back(p, im.consistency_text(n, p, true, false));
            else if (!(c->second.received == e.received))
                w.emplace_back(p, im.consistency_text(n, p, true, true));
        }
        for (const auto& [p, e] : im.rib_in[o1]) {
            if (!im.rib_in[o0].count(p)) w.emplace_back(p, im.consistency_text(n, p, false, true));
        }
    }
    std::sort(w.begin(), w.end());
    std::vector<std::string> out;
    out.reserve(w.size());
    for (auto& [p, s] : w) out.push_back(std::move(s));
    return out;
}

} // namespace rsfwd
