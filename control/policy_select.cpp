// control/policy_select.cpp — step 2 of the policy engine: per prefix, the accepted routes become
// candidates and three selections run over them with the D-rules (all, ars, site; policy.cpp's
// header comment says who uses which). The selections live in Impl scratch (cands, all, ars,
// site) because recompute runs once per touched prefix and must not allocate.
#include "control/policy_impl.hpp"

#include <limits>

namespace rsfwd {

using namespace policy_detail;

namespace {

CompactVr make_vr(const Best& b, const std::vector<Cand>& cands) {
    CompactVr vr;
    if (!b.valid) return vr;
    vr.valid = true;
    vr.src = b.src;
    std::uint32_t tmp[64];
    std::size_t n = 0;
    for (auto m : b.members)
        if (n < 64) tmp[n++] = cands[m].nh.v4_host();
    std::sort(tmp, tmp + n);
    n = static_cast<std::size_t>(std::unique(tmp, tmp + n) - tmp);
    if (n > max_ecmp) n = max_ecmp; // D7: at most 8 (the lowest addresses, deterministic)
    vr.n = static_cast<std::uint8_t>(n);
    std::copy(tmp, tmp + n, vr.nh.begin());
    return vr;
}

int class_rank(RouteSource s) {
    // Fixed order for ties between different sources (D5 tie: ER before VPN; I: VPN before NVA).
    switch (s) {
    case RouteSource::er:
        return 0;
    case RouteSource::vpn:
        return 1;
    default:
        return 2;
    }
}

} // namespace

// Steps 2/3 for one prefix (policy.cpp describes them).
void RouteServer::Impl::recompute(Builder& b, const Prefix& p) {
    auto it = prefixes.find(p);
    if (it == prefixes.end()) return;
    PrefixInfo& info = it->second;

    collect_candidates(info);
    select(all, false);
    select(ars, !b2b); // A5: without branch-to-branch ARS reflects NVA routes only
    select_site();

    // vnet view: A2/A8 everything programmed, D11 system routes beat BGP inside local space.
    {
        CompactVr vr;
        if (all.valid && !covered(all_local, p)) vr = make_vr(all, cands);
        emit_view(b, 0, p, info.vnet_vr, vr);
        info.vnet_vr = vr;
    }

    // The views the export step hands out: ARS's reflected choice (only with branch-to-branch)
    // and the VPN gateway's own site choice.
    const CompactVr new_ars = b2b ? make_vr(ars, cands) : CompactVr{};
    const CompactVr new_site = make_vr(site, cands);
    export_prefix(b, p, info, new_ars, new_site);
    if (info.slots.empty()) to_erase.push_back(p);
}

// E6: one candidate per NVA — the union of its sessions (instance 0's copy first).
void RouteServer::Impl::collect_candidates(const PrefixInfo& info) {
    cands.clear();
    for (const auto& s : info.slots) {
        if (s.e->reason) continue;
        if (is_nva_ord(s.peer)) {
            if (!cands.empty() && cands.back().src == RouteSource::nva &&
                cands.back().peer / 2 == s.peer / 2) {
                continue;
            }
            cands.push_back({s.peer, s.e, RouteSource::nva, s.e->len,
                             s.e->received.next_hop}); // E12: next hop kept as is
        } else if (is_circuit_ord(s.peer)) {
            cands.push_back({s.peer, s.e, RouteSource::er,
                             s.e->len, // D6
                             cfg.expressroute_gateway->circuits[circuit_of(s.peer)].edge_ip});
        } else {
            cands.push_back({s.peer, s.e, RouteSource::vpn, s.e->len,
                             cfg.vpn_gateway->sites[site_of(s.peer)].device_ip});
        }
    }
}

// D1-D5: routing preference, then shortest AS path, then ECMP over the equal routes.
void RouteServer::Impl::select(Best& b, bool nva_only) const {
    b.valid = false;
    b.members.clear();
    constexpr auto none = std::numeric_limits<std::uint32_t>::max();
    std::uint32_t min_len[3] = {none, none, none}; // by class_rank: er, vpn, nva
    for (const auto& c : cands) {
        if (nva_only && c.src != RouteSource::nva) continue;
        auto& m = min_len[class_rank(c.src)];
        m = std::min(m, c.len);
    }
    int cls = -1;
    auto shortest_of = [&](std::initializer_list<int> classes) {
        int best = -1;
        for (int k : classes) {
            if (min_len[k] == none) continue;
            if (best < 0 || min_len[k] < min_len[best]) best = k; // ties keep the first
        }
        return best;
    };
    switch (pref) {
    case RoutingPreference::expressroute: // D3: any ER route wins; else VPN/NVA by length
        cls = min_len[0] != none ? 0 : shortest_of({1, 2});
        break;
    case RoutingPreference::vpn_gateway: // D4: VPN and NVA beat ER; by length inside
        cls = shortest_of({1, 2});
        if (cls < 0) cls = min_len[0] != none ? 0 : -1;
        break;
    case RoutingPreference::as_path: // D5/D6: length as held, ties ER, VPN, NVA
        cls = shortest_of({0, 1, 2});
        break;
    }
    if (cls < 0) return;
    b.valid = true;
    b.len = min_len[cls];
    for (std::size_t i = 0; i < cands.size(); ++i) {
        const auto& c = cands[i];
        if (class_rank(c.src) == cls && c.len == b.len &&
            !(nva_only && c.src != RouteSource::nva)) {
            b.members.push_back(static_cast<std::uint16_t>(i));
        }
    }
    b.src = cands[b.members.front()].src;
}

// The VPN gateway's choice among its own sites.
void RouteServer::Impl::select_site() {
    site.valid = false;
    site.members.clear();
    std::uint32_t m = std::numeric_limits<std::uint32_t>::max();
    for (const auto& c : cands)
        if (c.src == RouteSource::vpn) m = std::min(m, c.len);
    for (std::size_t i = 0; i < cands.size(); ++i) {
        if (cands[i].src == RouteSource::vpn && cands[i].len == m) {
            site.members.push_back(static_cast<std::uint16_t>(i));
        }
    }
    if (!site.members.empty()) {
        site.valid = true;
        site.src = RouteSource::vpn;
        site.len = m;
    }
}

} // namespace rsfwd
