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
#include "control/policy.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

namespace rsfwd {

namespace {

constexpr std::uint32_t ars_asn = 65515;  // E1
constexpr std::uint32_t msee_asn = 12076; // B3/B4
constexpr std::size_t max_ecmp = 8;       // D7

bool is_private_asn(std::uint32_t a) {
    return (a >= 64512 && a <= 65535) || a >= 4200000000u;
}

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

// Prefix keys are hashed and compared a lot (one look-up per route per event): a cheap v4 path.
std::uint64_t v4_key(const Prefix& p) noexcept {
    return (std::uint64_t{p.addr.v4_host()} << 8) | p.len;
}
struct FastHash {
    std::size_t operator()(const Prefix& p) const noexcept {
        if (!p.addr.is_v4()) return PrefixHash{}(p);
        std::uint64_t k = v4_key(p);
        k ^= k >> 29;
        k *= 0xbf58476d1ce4e5b9ull;
        k ^= k >> 32;
        return static_cast<std::size_t>(k);
    }
};
struct FastEq {
    bool operator()(const Prefix& a, const Prefix& b) const noexcept {
        if (a.len != b.len || a.addr.family != b.addr.family) return false;
        std::uint64_t x[2], y[2];
        std::memcpy(x, a.addr.bytes.data(), 16);
        std::memcpy(y, b.addr.bytes.data(), 16);
        return x[0] == y[0] && x[1] == y[1];
    }
};
// Same order as Prefix::operator<, faster for IPv4.
struct FastLess {
    bool operator()(const Prefix& a, const Prefix& b) const noexcept {
        if (a.addr.is_v4() && b.addr.is_v4()) return v4_key(a) < v4_key(b);
        return a < b;
    }
};
template <typename V>
using PrefixMap = std::unordered_map<Prefix, V, FastHash, FastEq>;

struct InEntry {
    Route received;
    std::optional<Route> held_copy; // only where the held form differs (ER, VPN)
    const char* reason = nullptr;   // nullptr = accepted
    std::uint64_t version = 0;      // globally unique per content
    std::uint32_t len = 0;          // held AS-path length (D8)
    std::uint16_t peer = 0;         // input ordinal it came from
    [[nodiscard]] const Route& held() const noexcept { return held_copy ? *held_copy : received; }
};

struct Slot {
    std::uint16_t peer;
    InEntry* e;
};

// "Peer X gets the route built from entry e (at version v)". version 0 = nothing.
struct OutKey {
    std::uint64_t version = 0;
    const InEntry* e = nullptr;
    [[nodiscard]] bool valid() const noexcept { return version != 0; }
};

// A view entry without allocation: source + up to 8 IPv4 next hops (sorted, unique).
struct CompactVr {
    bool valid = false;
    RouteSource src = RouteSource::nva;
    std::uint8_t n = 0;
    std::array<std::uint32_t, max_ecmp> nh{};
    bool operator==(const CompactVr& o) const noexcept {
        if (valid != o.valid) return false;
        if (!valid) return true;
        return src == o.src && n == o.n && std::equal(nh.begin(), nh.begin() + n, o.nh.begin());
    }
    [[nodiscard]] std::optional<ViewRoute> route(const Prefix& p) const {
        if (!valid) return std::nullopt;
        ViewRoute vr;
        vr.prefix = p;
        vr.source = src;
        vr.next_hops.reserve(n);
        for (std::uint8_t i = 0; i < n; ++i) vr.next_hops.push_back(IpAddr::v4(nh[i]));
        return vr;
    }
};

struct PrefixInfo {
    std::vector<Slot> slots; // sorted by input peer ordinal
    std::uint32_t id = 0;    // row in the OutKey / view-selector arenas (RouteServer::Impl)
    CompactVr vnet_vr, ars_vr, site_vr, er_vr;
    bool er_eligible = false;
};

struct Cand {
    std::uint16_t peer;
    const InEntry* e;
    RouteSource src;
    std::uint32_t len;
    IpAddr nh;
};

struct Best {
    bool valid = false;
    RouteSource src = RouteSource::nva;
    std::uint32_t len = 0;
    std::vector<std::uint16_t> members; // indices into the candidate array, in peer order
};

// B7: the first `cap` eligible prefixes (in prefix order) are advertised, the rest wait.
struct LimitSet {
    std::set<Prefix, FastLess> in, over;
    std::size_t cap = 0;
    bool unlimited = false;

    // Returns true when p (or another prefix) ended up over the limit.
    bool insert(const Prefix& p, std::vector<Prefix>& dirty) {
        if (unlimited || in.size() < cap) {
            in.insert(p);
            return false;
        }
        if (cap > 0) {
            auto last = std::prev(in.end());
            if (FastLess{}(p, *last)) {
                over.insert(*last);
                dirty.push_back(*last);
                in.erase(last);
                in.insert(p);
                return true;
            }
        }
        over.insert(p);
        return true;
    }
    void erase(const Prefix& p, std::vector<Prefix>& dirty) {
        if (in.erase(p) != 0) {
            if (!over.empty()) {
                in.insert(*over.begin());
                dirty.push_back(*over.begin());
                over.erase(over.begin());
            }
        } else {
            over.erase(p);
        }
    }
};

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

struct RouteServer::Impl {
    Config cfg;
    bool b2b = false;
    RoutingPreference pref = RoutingPreference::expressroute;

    std::size_t n_nva = 0, n_circuit = 0, n_site = 0;
    std::size_t n_in = 0, n_out = 0;
    std::uint16_t ord_ergw = 0, ord_vpngw = 0;
    std::vector<PeerKey> ord_key; // ordinal → key
    std::vector<bool> active;     // output ordinal configured (NVA instance peered, gws exist)
    std::vector<PeerKey> peer_list;
    std::vector<ViewName> view_names;
    std::vector<Prefix> hub_space; // hub + use-remote-gateway peerings (F1, B10, C5, A3)
    std::vector<Prefix> all_local; // + plain peerings (D11 in the vnet view)
    std::vector<IpAddr> circuit_port_ip, site_port_ip;

    std::vector<PrefixMap<InEntry>> rib_in; // per input ordinal
    // E8 with max_prefix_action: ignore: warned since the peer last went over its limit (one
    // warning per crossing, not one per UPDATE: a 1M feed past the limit would log 1M lines).
    std::vector<bool> over_limit_warned; // per input ordinal
    PrefixMap<PrefixInfo> prefixes;
    // Per prefix: one OutKey per output ordinal and one selector per view (0 none, 2 ars_vr /
    // er_vr, 3 site_vr), in flat arenas (one row per prefix id) rather than two small vectors
    // per prefix: fewer allocations and better locality at 60k+ prefixes.
    std::vector<OutKey> out_arena;
    std::vector<std::uint8_t> vsel_arena;
    std::vector<std::uint32_t> free_ids;
    std::uint32_t next_id = 0;
    OutKey* outs(const PrefixInfo& i) { return &out_arena[std::size_t{i.id} * n_out]; }
    const OutKey* outs(const PrefixInfo& i) const { return &out_arena[std::size_t{i.id} * n_out]; }
    std::uint8_t* vsels(const PrefixInfo& i) {
        return &vsel_arena[std::size_t{i.id} * view_names.size()];
    }
    const std::uint8_t* vsels(const PrefixInfo& i) const {
        return &vsel_arena[std::size_t{i.id} * view_names.size()];
    }
    std::vector<std::set<std::size_t>> global_reach; // per circuit: its Global Reach partners
    LimitSet er_limit; // B7: one for all circuits (they see the same eligible set, B1/B8)
    std::vector<std::vector<Route>> static_out;      // per output ordinal
    std::vector<std::vector<ViewRoute>> static_view; // per view
    std::uint64_t next_version = 1;

    // ---- per-event scratch ----
    struct Builder {
        std::vector<PeerDelta> per; // per output ordinal
        std::vector<ViewChange> views;
        std::vector<PolicyEvent> events;
        bool peers_enabled = true;
        bool er_limit_reported = false;
    };
    std::vector<Cand> cands;
    Best all, ars, site; // selections of the prefix being recomputed
    std::vector<Prefix> touched, er_dirty, to_erase;

    explicit Impl(const Config& c);

    // ordinal helpers
    [[nodiscard]] std::uint16_t ord_of(PeerKey p) const {
        switch (p.kind) {
        case PeerKind::nva:
            return static_cast<std::uint16_t>(2 * p.index + p.instance);
        case PeerKind::er_circuit:
            return static_cast<std::uint16_t>(2 * n_nva + p.index);
        case PeerKind::vpn_site:
            return static_cast<std::uint16_t>(2 * n_nva + n_circuit + p.index);
        case PeerKind::er_gateway:
            return ord_ergw;
        case PeerKind::vpn_gateway:
            return ord_vpngw;
        }
        return 0;
    }
    [[nodiscard]] bool valid_key(PeerKey p) const {
        switch (p.kind) {
        case PeerKind::nva:
            return p.index < n_nva && p.instance < 2 && active[ord_of(p)];
        case PeerKind::er_circuit:
            return p.index < n_circuit && p.instance == 0;
        case PeerKind::vpn_site:
            return p.index < n_site && p.instance == 0;
        case PeerKind::er_gateway:
            return cfg.expressroute_gateway.has_value();
        case PeerKind::vpn_gateway:
            return cfg.vpn_gateway.has_value();
        }
        return false;
    }
    [[nodiscard]] bool is_nva_ord(std::size_t o) const { return o < 2 * n_nva; }
    [[nodiscard]] bool is_circuit_ord(std::size_t o) const {
        return o >= 2 * n_nva && o < 2 * n_nva + n_circuit;
    }
    [[nodiscard]] bool is_site_ord(std::size_t o) const {
        return o >= 2 * n_nva + n_circuit && o < n_in;
    }
    [[nodiscard]] std::size_t circuit_of(std::size_t o) const { return o - 2 * n_nva; }
    [[nodiscard]] std::size_t site_of(std::size_t o) const { return o - 2 * n_nva - n_circuit; }
    [[nodiscard]] std::uint16_t circuit_ord(std::size_t c) const {
        return static_cast<std::uint16_t>(2 * n_nva + c);
    }
    [[nodiscard]] std::uint16_t site_ord(std::size_t s) const {
        return static_cast<std::uint16_t>(2 * n_nva + n_circuit + s);
    }

    [[nodiscard]] static bool covered(const std::vector<Prefix>& space, const Prefix& p) {
        for (const auto& s : space)
            if (s.covers(p)) return true;
        return false;
    }

    [[nodiscard]] bool is_ars_ip(const IpAddr& a) const {
        return a == cfg.route_server.instance_ips[0] || a == cfg.route_server.instance_ips[1];
    }

    // Input filters and the held form (section 1 above).
    void classify(std::size_t ord, InEntry& e) const {
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

    // The route peer `ord` receives, built from the entry it was given (section 3 above).
    [[nodiscard]] Route materialize(std::size_t ord, const InEntry& e) const {
        Route r = e.held();
        if (is_nva_ord(ord)) {
            // E13: next hop = the sending instance, ORIGIN IGP, 65515 prepended. G1: keep
            // communities.
            r.as_path.prepend(ars_asn);
            r.next_hop = cfg.route_server.instance_ips[ord % 2];
            r.origin = Origin::igp;
            r.med.reset();
            r.local_pref.reset();
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
            r.med.reset();
            r.local_pref.reset();
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
            r.med.reset();
            r.local_pref.reset();
        } else {
            // VPN gateway → its site over eBGP: 65515 prepended, next hop = our port address.
            r.as_path.prepend(ars_asn);
            r.next_hop = site_port_ip[site_of(ord)];
            r.med.reset();
            r.local_pref.reset();
        }
        return r;
    }

    // D1-D5: routing preference, then shortest AS path, then ECMP over the equal routes.
    void select(Best& b, bool nva_only) const {
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

    [[nodiscard]] static bool no_advertise(const InEntry& e) {
        return e.held().has_community(communities::no_advertise); // G2
    }
    [[nodiscard]] bool no_export(const InEntry& e) const {
        return cfg.route_server.no_export == NoExportMode::rfc1997 &&
               e.held().has_community(communities::no_export); // G2 knob
    }

    static OutKey key_of(const Cand& c) { return {c.e->version, c.e}; }

    void emit_peer(Builder& b, std::size_t ord, const Prefix& p, const OutKey& k) const {
        if (!b.peers_enabled) return;
        auto& d = b.per[ord];
        if (k.valid())
            d.advertise.push_back(materialize(ord, *k.e));
        else
            d.withdraw.push_back(p);
    }
    void set_out(Builder& b, PrefixInfo& info, std::size_t ord, const Prefix& p, const OutKey& k) {
        if (outs(info)[ord].version == k.version) return;
        const bool was = outs(info)[ord].valid();
        outs(info)[ord] = k;
        if (!was && !k.valid()) return;
        emit_peer(b, ord, p, k);
    }
    void emit_view(Builder& b, std::size_t v, const Prefix& p, const CompactVr& old_vr,
                   const CompactVr& new_vr) const {
        if (old_vr == new_vr) return;
        b.views.push_back(ViewChange{view_names[v], p, new_vr.route(p)});
    }

    // Step 2/3 for one prefix.
    void recompute(Builder& b, const Prefix& p) {
        auto it = prefixes.find(p);
        if (it == prefixes.end()) return;
        PrefixInfo& info = it->second;

        // Candidates. E6: one per NVA — the union of its sessions (instance 0's copy first).
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

        select(all, false);
        select(ars, !b2b); // A5: without branch-to-branch ARS reflects NVA routes only
        // The VPN gateway's choice among its own sites.
        site.valid = false;
        site.members.clear();
        {
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

        // vnet view: A2/A8 everything programmed, D11 system routes beat BGP inside local space.
        {
            CompactVr vr;
            if (all.valid && !covered(all_local, p)) vr = make_vr(all, cands);
            emit_view(b, 0, p, info.vnet_vr, vr);
            info.vnet_vr = vr;
        }

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

        const CompactVr new_ars = b2b ? make_vr(ars, cands) : CompactVr{};
        const CompactVr new_site = make_vr(site, cands);

        // ER eligibility: B8 (an MSEE-learned copy on any circuit wins at the ER gateway, and
        // B1 keeps it off the other circuits) and G2/no_export towards eBGP on-prem. Every
        // circuit therefore sees the same eligible set; B7 caps it once for all.
        if (n_circuit > 0) {
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
                                         cfg.route_server.er_max_advertised,
                                         er_limit.over.size())});
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
            const CompactVr none;
            const CompactVr& old_vr = old_sel == 3   ? info.site_vr
                                      : old_sel == 2 ? info.ars_vr
                                                     : none;
            const CompactVr& new_vr = sel == 3 ? new_site : sel == 2 ? new_ars : none;
            emit_view(b, v, p, old_vr, new_vr);
            vsels(info)[v] = sel;
        }
        info.site_vr = new_site;
        info.ars_vr = new_ars;
        if (info.slots.empty()) to_erase.push_back(p);
    }

    // The er/<c> view entry for selector `sel` (0 none, 2 ARS route, 4+k Global Reach from k).
    [[nodiscard]] CompactVr er_view(const PrefixInfo&, std::uint8_t sel,
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
    void finalize(Builder& b) {
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

    Builder start(bool peers_enabled = true) const {
        Builder b;
        b.per.resize(n_out);
        b.peers_enabled = peers_enabled;
        return b;
    }

    PolicyDelta finish(Builder& b) {
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

    PrefixInfo& info_for(const Prefix& p) {
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
    void put(std::size_t ord, const Route& route) {
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
            slots.insert(
                std::upper_bound(slots.begin(), slots.end(), s,
                                 [](const Slot& a, const Slot& x) { return a.peer < x.peer; }),
                s);
        }
        touched.push_back(route.prefix);
    }
    void remove(std::size_t ord, const Prefix& p) {
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
    void clear_peer(std::size_t ord) {
        auto& rib = rib_in[ord];
        std::vector<Prefix> ps;
        ps.reserve(rib.size());
        for (const auto& [p, e] : rib) ps.push_back(p);
        for (const auto& p : ps) remove(ord, p);
    }

    // E6: after an NVA update, do the NVA's two sessions still agree on these prefixes?
    void check_consistency(Builder& b, std::size_t nva, const std::vector<Prefix>& ps) {
        const auto o0 = 2 * nva, o1 = 2 * nva + 1;
        if (!active[o0] || !active[o1]) return;
        for (const auto& p : ps) {
            auto a = rib_in[o0].find(p);
            auto c = rib_in[o1].find(p);
            const bool has_a = a != rib_in[o0].end(), has_c = c != rib_in[o1].end();
            if (!has_a && !has_c) continue;
            if (has_a && has_c && a->second.received == c->second.received) continue;
            b.events.push_back({PolicyEventKind::consistency_warning,
                                PeerKey::nva(static_cast<std::uint16_t>(nva), has_a ? 1 : 0),
                                consistency_text(nva, p, has_a, has_c)});
        }
    }
    [[nodiscard]] std::string consistency_text(std::size_t nva, const Prefix& p, bool has_a,
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

    // One UPDATE. Returns false when the session was torn down (E8 / C5).
    bool apply_update(Builder& b, PeerKey peer, std::span<const Route> routes) {
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
                b.events.push_back({teardown ? PolicyEventKind::max_prefix_teardown
                                             : PolicyEventKind::max_prefix_warning,
                                    peer,
                                    fmt::format("E8: {}: {} held + {} in UPDATE > limit {}{}",
                                                name(peer), rib.size(), routes.size(), limit,
                                                teardown ? "; session torn down" : "")});
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

    [[nodiscard]] std::string name(PeerKey p) const {
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

    void require_input(PeerKey p) const {
        if (!valid_key(p) || p.kind == PeerKind::er_gateway || p.kind == PeerKind::vpn_gateway) {
            throw std::invalid_argument("policy: not a route-announcing peer");
        }
    }

    PolicyDelta recompute_all(Builder& b) {
        touched.clear();
        touched.reserve(prefixes.size());
        for (const auto& [p, info] : prefixes) touched.push_back(p);
        return finish(b);
    }
};

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
            const auto sel = impl_->vsels(info)[v];
            if (sel == 3 && info.site_vr.valid)
                out.push_back(*info.site_vr.route(p));
            else if (sel == 2 && info.ars_vr.valid)
                out.push_back(*info.ars_vr.route(p));
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
    for (const auto& v : impl_->view_names) {
        for (auto& vr : view(v)) {
            const auto prefix = vr.prefix;
            d.views.push_back({v, prefix, std::move(vr)});
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
    for (auto& [p, s] : w) out.push_back(std::move(s));
    return out;
}

} // namespace rsfwd
