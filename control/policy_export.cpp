// control/policy_export.cpp — step 3 and 4 of the policy engine: from the selections of a prefix,
// what each output peer gets (Adj-RIB-Out: NVA sessions, the ER and VPN gateways, each circuit's
// on-prem edge, each VPN site) and what the er/<circuit> and vpn/<site> views hold. An output is
// an OutKey (which accepted entry, at which version), not a Route: routes are materialised only
// for deltas and queries, so 16 NVA sessions × 76k prefixes cost a pointer each.
#include "control/policy_impl.hpp"

#include <fmt/format.h>

namespace rsfwd {

using namespace policy_detail;

namespace {

bool is_private_asn(std::uint32_t a) {
    return (a >= 64512 && a <= 65535) || a >= 4200000000u;
}

// MED and LOCAL_PREF do not cross an eBGP hop (and D8: ARS ignores them anyway).
void drop_ibgp_attributes(Route& r) {
    r.med.reset();
    r.local_pref.reset();
}

} // namespace

// The route peer `ord` receives, built from the entry it was given (step 3, policy.cpp).
Route RouteServer::Impl::materialize(std::size_t ord, const InEntry& e) const {
    Route r = e.held();
    if (is_nva_ord(ord)) {
        // E13: next hop = the sending instance, ORIGIN IGP, 65515 prepended. G1: keep
        // communities.
        r.as_path.prepend(ars_asn);
        r.next_hop = cfg.route_server.instance_ips[ord % 2];
        r.origin = Origin::igp;
        drop_ibgp_attributes(r);
    } else if (ord == ord_ergw) {
        // B2: path and next hop unchanged. B5: tagged 65517:65517.
        if (!r.has_community(communities::ars_hairpin)) {
            r.communities.push_back(communities::ars_hairpin);
        }
    } else if (ord == ord_vpngw) {
        // C3: unchanged.
    } else if (is_circuit_ord(ord) && is_circuit_ord(e.peer)) {
        // Global Reach: another circuit's route, exchanged between the MSEEs (outside Route
        // Server): the held "12076 <path>" gets one more 12076 (B4), communities as sent.
        r.as_path.prepend(msee_asn);
        r.next_hop = circuit_port_ip[circuit_of(ord)];
        drop_ibgp_attributes(r);
    } else if (is_circuit_ord(ord)) {
        // B3: the ER gateway prepends 65515, the MSEE strips private ASNs and prepends
        // 12076: on-prem sees "12076" (plus any public ASNs). B5: 65517:65517 survives.
        AsPath p;
        p.segments.push_back({AsPathSegment::sequence, {msee_asn}});
        for (const auto& seg : r.as_path.segments) {
            AsPathSegment s{seg.type, {}};
            for (auto a : seg.asns)
                if (!is_private_asn(a)) s.asns.push_back(a);
            if (s.asns.empty()) continue;
            if (s.type == AsPathSegment::sequence &&
                p.segments.back().type == AsPathSegment::sequence) {
                p.segments.back().asns.insert(p.segments.back().asns.end(), s.asns.begin(),
                                              s.asns.end());
            } else {
                p.segments.push_back(std::move(s));
            }
        }
        r.as_path = std::move(p);
        if (!r.has_community(communities::ars_hairpin)) {
            r.communities.push_back(communities::ars_hairpin);
        }
        r.next_hop = circuit_port_ip[circuit_of(ord)];
        drop_ibgp_attributes(r);
    } else {
        // VPN gateway → its site over eBGP: 65515 prepended, next hop = our port address.
        r.as_path.prepend(ars_asn);
        r.next_hop = site_port_ip[site_of(ord)];
        drop_ibgp_attributes(r);
    }
    return r;
}

void RouteServer::Impl::emit_peer(Builder& b, std::size_t ord, const Prefix& p,
                                  const OutKey& k) const {
    if (!b.peers_enabled) return;
    auto& d = b.per[ord];
    if (k.valid())
        d.advertise.push_back(materialize(ord, *k.e));
    else
        d.withdraw.push_back(p);
}

void RouteServer::Impl::set_out(Builder& b, PrefixInfo& info, std::size_t ord, const Prefix& p,
                                const OutKey& k) {
    if (outs(info)[ord].version == k.version) return;
    const bool was = outs(info)[ord].valid();
    outs(info)[ord] = k;
    if (!was && !k.valid()) return;
    emit_peer(b, ord, p, k);
}

void RouteServer::Impl::emit_view(Builder& b, std::size_t v, const Prefix& p,
                                  const CompactVr& old_vr, const CompactVr& new_vr) const {
    if (old_vr == new_vr) return;
    b.views.push_back(ViewChange{static_cast<ViewId>(v), p, new_vr.route(p)});
}

void RouteServer::Impl::export_prefix(Builder& b, const Prefix& p, PrefixInfo& info,
                                      const CompactVr& new_ars, const CompactVr& new_site) {
    export_nvas(b, p, info);
    // Gateways (iBGP): only with branch-to-branch (A5/A6), never what came from themselves.
    OutKey to_ergw, to_vpngw;
    if (b2b && ars.valid) {
        const auto& rep = cands[ars.members.front()];
        if (!no_advertise(*rep.e)) {
            if (rep.src != RouteSource::er && cfg.expressroute_gateway) to_ergw = key_of(rep);
            if (rep.src != RouteSource::vpn && cfg.vpn_gateway) to_vpngw = key_of(rep);
        }
    }
    if (cfg.expressroute_gateway) set_out(b, info, ord_ergw, p, to_ergw);
    if (cfg.vpn_gateway) set_out(b, info, ord_vpngw, p, to_vpngw);

    export_er_eligibility(b, p, info, to_ergw);
    export_sites(b, p, info, to_vpngw, new_ars, new_site);
    info.site_vr = new_site;
    info.ars_vr = new_ars;
}

void RouteServer::Impl::export_nvas(Builder& b, const Prefix& p, PrefixInfo& info) {
    // NVA sessions: A7 (never back to the sender), A5/A6, G2, E13.
    for (std::size_t ord = 0; ord < 2 * n_nva; ++ord) {
        if (!active[ord]) continue;
        OutKey k;
        if (ars.valid) {
            for (auto m : ars.members) {
                const auto& c = cands[m];
                if (c.src == RouteSource::nva && c.peer / 2 == ord / 2) continue; // A7
                k = key_of(c);
                break;
            }
            if (k.valid() && (no_advertise(*k.e) || no_export(*k.e))) k = {};
        }
        set_out(b, info, ord, p, k);
    }
}

// ER eligibility: B8 (an MSEE-learned copy on any circuit wins at the ER gateway, and
// B1 keeps it off the other circuits) and G2/no_export towards eBGP on-prem. Every
// circuit therefore sees the same eligible set; B7 caps it once for all.
void RouteServer::Impl::export_er_eligibility(Builder& b, const Prefix& p, PrefixInfo& info,
                                              const OutKey& to_ergw) {
    if (n_circuit == 0) return;
    bool eligible = to_ergw.valid() && !no_export(*to_ergw.e);
    for (const auto& c : cands)
        if (c.src == RouteSource::er) eligible = false;
    if (eligible != info.er_eligible) {
        if (eligible) {
            if (er_limit.insert(p, er_dirty) && !b.er_limit_reported) {
                b.er_limit_reported = true;
                b.events.push_back(
                    {PolicyEventKind::er_limit, PeerKey::circuit(0),
                     fmt::format("B7: more than {} prefixes (VNet + reflected) for each "
                                 "circuit; {} not advertised",
                                 cfg.route_server.er_max_advertised, er_limit.over.size())});
            }
        } else {
            er_limit.erase(p, er_dirty);
        }
    }
    if (eligible || info.er_eligible || !global_reach.empty()) er_dirty.push_back(p);
    info.er_eligible = eligible;
}

// VPN sites: the gateway prefers its own sites' routes, never echoes a site's route back
// to it, never sends 0/0 (C4); ARS routes otherwise (C3 path, 65515 prepended).
void RouteServer::Impl::export_sites(Builder& b, const Prefix& p, PrefixInfo& info,
                                     const OutKey& to_vpngw, const CompactVr& new_ars,
                                     const CompactVr& new_site) {
    const bool is_default = p.len == 0;
    for (std::size_t s = 0; s < n_site; ++s) {
        const auto ord = site_ord(s);
        OutKey k;
        std::uint8_t sel = 0;
        if (site.valid) {
            bool own = false;
            for (auto m : site.members)
                if (cands[m].peer == ord) own = true;
            if (!own) {
                k = key_of(cands[site.members.front()]);
                sel = 3;
            }
        } else if (to_vpngw.valid()) {
            k = to_vpngw;
            sel = 2;
        }
        if (k.valid() && (is_default || no_advertise(*k.e) || no_export(*k.e))) {
            k = {};
            sel = 0;
        }
        set_out(b, info, ord, p, k);
        const auto v = 1 + n_circuit + s;
        const auto old_sel = vsels(info)[v];
        emit_view(b, v, p, site_view(old_sel, info.site_vr, info.ars_vr),
                  site_view(sel, new_site, new_ars));
        vsels(info)[v] = sel;
    }
}

const RouteServer::Impl::CompactVr&
RouteServer::Impl::site_view(std::uint8_t sel, const CompactVr& site_vr, const CompactVr& ars_vr) {
    static const CompactVr none;
    return sel == 3 ? site_vr : sel == 2 ? ars_vr : none;
}

// The er/<c> view entry for selector `sel` (0 none, 2 ARS route, 4+k Global Reach from k).
CompactVr RouteServer::Impl::er_view(const PrefixInfo&, std::uint8_t sel,
                                     const CompactVr& ars) const {
    if (sel == 0) return {};
    if (sel == 2) return ars;
    CompactVr vr;
    vr.valid = true;
    vr.src = RouteSource::er;
    vr.n = 1;
    vr.nh[0] = cfg.expressroute_gateway->circuits[sel - 4u].edge_ip.v4_host();
    return vr;
}

// Step 4: circuits after the per-prefix pass (B7 may move prefixes in and out).
void RouteServer::Impl::finalize(Builder& b) {
    if (n_circuit == 0) {
        er_dirty.clear();
        return;
    }
    std::sort(er_dirty.begin(), er_dirty.end(), FastLess{});
    er_dirty.erase(std::unique(er_dirty.begin(), er_dirty.end()), er_dirty.end());
    for (const auto& p : er_dirty) {
        auto it = prefixes.find(p);
        if (it == prefixes.end()) continue;
        auto& info = it->second;
        const bool present = info.er_eligible && er_limit.in.count(p) != 0;
        for (std::size_t c = 0; c < n_circuit; ++c) {
            const auto ord = circuit_ord(c);
            const auto v = 1 + c;
            OutKey k = present ? outs(info)[ord_ergw] : OutKey{};
            std::uint8_t sel = present ? 2 : 0;
            // Global Reach: a partner circuit's route when circuit c has none of its own (an
            // ARS-reflected prefix is never held by a circuit, B8, so the two never meet).
            if (!present && !global_reach.empty() && !global_reach[c].empty()) {
                bool own = false;
                const Slot* partner = nullptr;
                for (const auto& sl : info.slots) {
                    if (sl.peer == ord) own = true;
                    if (!partner && is_circuit_ord(sl.peer) && !sl.e->reason &&
                        global_reach[c].count(circuit_of(sl.peer))) {
                        partner = &sl;
                    }
                }
                if (!own && partner) {
                    k = {partner->e->version, partner->e};
                    sel = static_cast<std::uint8_t>(4 + circuit_of(partner->peer));
                }
            }
            set_out(b, info, ord, p, k);
            emit_view(b, v, p, er_view(info, vsels(info)[v], info.er_vr),
                      er_view(info, sel, info.ars_vr));
            vsels(info)[v] = sel;
        }
        info.er_vr = info.ars_vr;
    }
    er_dirty.clear();
}

} // namespace rsfwd
