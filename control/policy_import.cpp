// control/policy_import.cpp — step 1 of the policy engine: what Route Server (or the gateway in
// front of it) does with a route a peer sends. Every received route is kept in the peer's
// Adj-RIB-In with its verdict, so `rsfwd plan` and the API can say why a route is not used; a
// rejected route costs a static string, not an allocation. Also the per-session limits (E8, C5)
// and the E6 check that an NVA's two sessions agree.
#include "control/policy_impl.hpp"

#include <fmt/format.h>

namespace rsfwd {

using namespace policy_detail;

namespace {

// Route Server's rule texts. Static strings: a rejected route costs no allocation.
namespace why {
constexpr const char* e10 = "E10: IPv4 only";
constexpr const char* g4 = "G4: AS path contains AS 0";
constexpr const char* g3 = "G3: AS path contains 65515 (loop check)";
constexpr const char* h1 = "H1: next hop is a Route Server instance";
constexpr const char* f1 = "F1: inside VNet space (kept in learned routes, not programmed or "
                           "re-advertised)";
constexpr const char* b5 = "B5: carries 65517:65517 (ER gateway drops hairpin routes from MSEE)";
constexpr const char* b10 = "B10: inside VNet space (ER gateway drops local subnets)";
constexpr const char* c5 = "C5: inside VNet space (VPN gateway filter)";
} // namespace why

} // namespace

// Input filters and the held form.
void RouteServer::Impl::classify(std::size_t ord, InEntry& e) const {
    const Route& r = e.received;
    e.held_copy.reset();
    e.reason = nullptr;
    if (!r.prefix.addr.is_v4() || (r.next_hop.valid() && !r.next_hop.is_v4())) {
        e.reason = why::e10;
        return;
    }
    if (r.as_path.contains(0)) {
        e.reason = why::g4;
        return;
    }
    if (is_nva_ord(ord)) {
        if (r.as_path.contains(ars_asn))
            e.reason = why::g3;
        else if (is_ars_ip(r.next_hop))
            e.reason = why::h1;
        else if (covered(hub_space, r.prefix))
            e.reason = why::f1;
    } else if (is_circuit_ord(ord)) {
        e.held_copy = r;
        e.held_copy->as_path.prepend(msee_asn);                            // B4
        e.held_copy->next_hop = cfg.expressroute_gateway->instance_ips[0]; // H4
        if (r.as_path.contains(ars_asn))
            e.reason = why::g3;
        else if (cfg.route_server.er_drop_hairpin && r.has_community(communities::ars_hairpin))
            e.reason = why::b5;
        else if (covered(hub_space, r.prefix))
            e.reason = why::b10;
    } else {
        e.held_copy = r;
        e.held_copy->next_hop = cfg.vpn_gateway->instance_ips[0]; // B2: next hop = VPN instance
        if (r.as_path.contains(ars_asn))
            e.reason = why::g3;
        else if (covered(hub_space, r.prefix))
            e.reason = why::c5;
    }
}

PrefixInfo& RouteServer::Impl::info_for(const Prefix& p) {
    auto [it, inserted] = prefixes.try_emplace(p);
    if (inserted) {
        if (!free_ids.empty()) {
            it->second.id = free_ids.back();
            free_ids.pop_back();
        } else {
            it->second.id = next_id++;
            out_arena.resize(std::size_t{next_id} * n_out);
            vsel_arena.resize(std::size_t{next_id} * view_names.size());
        }
    }
    return it->second;
}

// Adj-RIB-In updates; the prefixes go to `touched`.
void RouteServer::Impl::put(std::size_t ord, const Route& route) {
    auto& rib = rib_in[ord];
    auto [it, inserted] = rib.try_emplace(route.prefix);
    InEntry& e = it->second;
    if (!inserted && e.received == route) return; // duplicate announce: nothing changes
    e.received = route;
    e.peer = static_cast<std::uint16_t>(ord);
    classify(ord, e);
    e.len = static_cast<std::uint32_t>(e.held().as_path.length());
    e.version = next_version++;
    if (inserted) {
        auto& slots = info_for(route.prefix).slots;
        const Slot s{static_cast<std::uint16_t>(ord), &e};
        slots.insert(std::upper_bound(slots.begin(), slots.end(), s,
                                      [](const Slot& a, const Slot& x) { return a.peer < x.peer; }),
                     s);
    }
    touched.push_back(route.prefix);
}

void RouteServer::Impl::remove(std::size_t ord, const Prefix& p) {
    auto& rib = rib_in[ord];
    auto it = rib.find(p);
    if (it == rib.end()) return;
    auto pit = prefixes.find(p);
    if (pit != prefixes.end()) {
        auto& slots = pit->second.slots;
        slots.erase(std::remove_if(slots.begin(), slots.end(),
                                   [&](const Slot& s) { return s.peer == ord; }),
                    slots.end());
    }
    rib.erase(it);
    touched.push_back(p);
}

void RouteServer::Impl::clear_peer(std::size_t ord) {
    auto& rib = rib_in[ord];
    std::vector<Prefix> ps;
    ps.reserve(rib.size());
    for (const auto& [p, e] : rib) ps.push_back(p);
    for (const auto& p : ps) remove(ord, p);
}

// One UPDATE. Returns false when the session was torn down (E8 / C5).
bool RouteServer::Impl::apply_update(Builder& b, PeerKey peer, std::span<const Route> routes) {
    const auto ord = ord_of(peer);
    auto& rib = rib_in[ord];
    if (peer.kind == PeerKind::nva) {
        const auto limit = cfg.route_server.max_prefixes;
        // E8 (FAQ counting): routes held from the peer plus the routes in this UPDATE.
        const bool teardown = cfg.route_server.max_prefix_action == MaxPrefixAction::teardown;
        if (rib.size() + routes.size() <= limit) {
            over_limit_warned[ord] = false; // back under: the next crossing warns again
        } else if (teardown || !over_limit_warned[ord]) {
            over_limit_warned[ord] = !teardown;
            b.events.push_back(
                {teardown ? PolicyEventKind::max_prefix_teardown
                          : PolicyEventKind::max_prefix_warning,
                 peer,
                 fmt::format("E8: {}: {} held + {} in UPDATE > limit {}{}", name(peer), rib.size(),
                             routes.size(), limit, teardown ? "; session torn down" : "")});
            if (teardown) {
                clear_peer(ord);
                return false;
            }
        }
    } else if (peer.kind == PeerKind::vpn_site) {
        // C5: more than vpn_max_prefixes distinct prefixes drops the session.
        std::size_t fresh = 0;
        std::set<Prefix> seen;
        for (const auto& r : routes)
            if (!rib.count(r.prefix) && seen.insert(r.prefix).second) ++fresh;
        if (rib.size() + fresh > cfg.route_server.vpn_max_prefixes) {
            b.events.push_back(
                {PolicyEventKind::max_prefix_teardown, peer,
                 fmt::format("C5: {}: {} prefixes > limit {}; session dropped", name(peer),
                             rib.size() + fresh, cfg.route_server.vpn_max_prefixes)});
            clear_peer(ord);
            return false;
        }
    }
    const IpAddr default_nh = peer.kind == PeerKind::nva ? cfg.nvas[peer.index].ip
                              : peer.kind == PeerKind::er_circuit
                                  ? cfg.expressroute_gateway->circuits[peer.index].edge_ip
                                  : cfg.vpn_gateway->sites[peer.index].device_ip;
    for (const auto& r : routes) {
        if (r.next_hop.valid()) {
            put(ord, r);
        } else {
            Route copy = r;
            copy.next_hop = default_nh;
            put(ord, copy);
        }
    }
    return true;
}

// E6: after an NVA update, do the NVA's two sessions still agree on these prefixes? The per-prefix
// verdicts go to e6_state (the standing list); the log gets one event per kind whose count grew
// in this update, with the total: a feed on one session only is a handful of lines, not one per
// prefix (DESIGN.md: a repeated condition is one line with a count).
void RouteServer::Impl::check_consistency(Builder& b, std::size_t nva,
                                          const std::vector<Prefix>& ps) {
    const auto o0 = 2 * nva, o1 = 2 * nva + 1;
    if (!active[o0] || !active[o1]) return;
    auto& state = e6_state[nva];
    auto& count = e6_count[nva];
    const auto before = count;
    std::array<std::optional<Prefix>, e6_kinds> example;
    for (const auto& p : ps) {
        auto a = rib_in[o0].find(p);
        auto c = rib_in[o1].find(p);
        const bool has_a = a != rib_in[o0].end(), has_c = c != rib_in[o1].end();
        std::optional<E6Kind> kind;
        if (has_a && has_c) {
            if (!(a->second.received == c->second.received)) kind = e6_differ;
        } else if (has_a) {
            kind = e6_only0;
        } else if (has_c) {
            kind = e6_only1;
        }
        auto it = state.find(p);
        if (it != state.end()) {
            if (kind && *kind == it->second) continue;
            --count[it->second];
            if (kind) {
                it->second = *kind;
            } else {
                state.erase(it);
            }
        } else if (kind) {
            state.emplace(p, *kind);
        }
        if (kind) {
            ++count[*kind];
            if (!example[*kind]) example[*kind] = p;
        }
    }
    for (std::uint8_t k = 0; k < e6_kinds; ++k) {
        if (count[k] <= before[k] || !example[k]) continue;
        // The instance that misses the routes (or instance 1 when they differ) is the peer.
        const std::uint8_t peer_instance = k == e6_only1 ? 0 : 1;
        b.events.push_back(
            {PolicyEventKind::consistency_warning,
             PeerKey::nva(static_cast<std::uint16_t>(nva), peer_instance),
             consistency_summary(nva, static_cast<E6Kind>(k), count[k], *example[k])});
    }
}

std::string RouteServer::Impl::consistency_summary(std::size_t nva, E6Kind kind, std::size_t n,
                                                   const Prefix& example) const {
    const auto& rs = cfg.route_server;
    const auto& name = cfg.nvas[nva].name;
    const char* s = n == 1 ? "" : "es";
    if (kind == e6_differ) {
        return fmt::format("E6: NVA {}: {} prefix{} sent differently to instance 0 ({}) and "
                           "instance 1 ({}), e.g. {}",
                           name, n, s, rs.instance_ips[0].str(), rs.instance_ips[1].str(),
                           example.str());
    }
    const int has = kind == e6_only0 ? 0 : 1;
    return fmt::format("E6: NVA {}: {} prefix{} known to instance {} ({}) only, e.g. {}; VMs "
                       "served by {} may miss them",
                       name, n, s, has, rs.instance_ips[has].str(), example.str(),
                       rs.instance_ips[1 - has].str());
}

std::string RouteServer::Impl::consistency_text(std::size_t nva, const Prefix& p, bool has_a,
                                                bool has_c) const {
    const auto& rs = cfg.route_server;
    if (has_a && has_c) {
        return fmt::format("E6: NVA {} sends {} differently to {} and {}", cfg.nvas[nva].name,
                           p.str(), rs.instance_ips[0].str(), rs.instance_ips[1].str());
    }
    return fmt::format("E6: NVA {} sends {} to {} only; VMs served by {} may miss it",
                       cfg.nvas[nva].name, p.str(), rs.instance_ips[has_a ? 0 : 1].str(),
                       rs.instance_ips[has_a ? 1 : 0].str());
}

} // namespace rsfwd
