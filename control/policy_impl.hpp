// control/policy_impl.hpp — private to the policy engine (policy*.cpp): RouteServer::Impl, the
// state behind the public RouteServer and the steps of its computation, one file per idea:
//   policy_import.cpp  Adj-RIB-In: per-peer acceptance (E10, G3, G4, H1, F1, B5, B10, C5),
//                      the held form (B4, H4), the E8/C5 limits and the E6 consistency check;
//   policy_select.cpp  per prefix: candidates, best path per selection (D1-D9, ECMP D7) and the
//                      vnet view;
//   policy_export.cpp  Adj-RIB-Out per peer (A3, A5-A7, B1-B4, B7, C3, C4, E13, G2) and the
//                      er/<c> and vpn/<s> views;
//   policy.cpp         construction, the event pass (start/finish) and the RouteServer facade.
// policy.cpp's header comment describes the shape of the computation.
//
// Thread: control thread only. Cost: see policy.hpp.
#pragma once

#include "control/policy.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

namespace rsfwd {
namespace policy_detail {

inline constexpr std::uint32_t ars_asn = 65515;  // E1
inline constexpr std::uint32_t msee_asn = 12076; // B3/B4
inline constexpr std::size_t max_ecmp = 8;       // D7

// Prefix keys are hashed and compared a lot (one look-up per route per event): a cheap v4 path.
inline std::uint64_t v4_key(const Prefix& p) noexcept {
    return (std::uint64_t{p.addr.v4_host()} << 8) | p.len;
}
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
// Node-based on purpose: entries are referred to by pointer (OutKey, Cand) across events, so
// their addresses must survive rehashing (unlike fib::PrefixMap, the FIB compiler's flat map).
template <typename V>
using StablePrefixMap = std::unordered_map<Prefix, V, PrefixHash, FastEq>;

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

} // namespace policy_detail

struct RouteServer::Impl {
    using InEntry = policy_detail::InEntry;
    using Slot = policy_detail::Slot;
    using OutKey = policy_detail::OutKey;
    using CompactVr = policy_detail::CompactVr;
    using PrefixInfo = policy_detail::PrefixInfo;
    using Cand = policy_detail::Cand;
    using Best = policy_detail::Best;
    using LimitSet = policy_detail::LimitSet;
    template <typename V>
    using StablePrefixMap = policy_detail::StablePrefixMap<V>;

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

    std::vector<StablePrefixMap<InEntry>> rib_in; // per input ordinal
    // E8 with max_prefix_action: ignore: warned since the peer last went over its limit (one
    // warning per crossing, not one per UPDATE: a 1M feed past the limit would log 1M lines).
    std::vector<bool> over_limit_warned; // per input ordinal
    // E6, per NVA: the prefixes its two sessions disagree on, by kind (e6_only0: held from
    // instance 0 only, e6_only1, e6_differ), and how many of each. check_consistency() keeps them
    // and raises one event per NVA and kind when a count grows (not one per prefix: a 20,000
    // prefix feed on one session is one line, not 20,000); consistency_warnings() lists them.
    enum E6Kind : std::uint8_t { e6_only0, e6_only1, e6_differ, e6_kinds };
    std::vector<StablePrefixMap<std::uint8_t>> e6_state; // per NVA
    std::vector<std::array<std::size_t, e6_kinds>> e6_count;
    StablePrefixMap<PrefixInfo> prefixes;
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

    // ---- import (policy_import.cpp) ----------------------------------------------------------
    // Input filters and the held form (step 1).
    void classify(std::size_t ord, InEntry& e) const;
    PrefixInfo& info_for(const Prefix& p);
    // Adj-RIB-In updates; the prefixes go to `touched`.
    void put(std::size_t ord, const Route& route);
    void remove(std::size_t ord, const Prefix& p);
    void clear_peer(std::size_t ord);
    // One UPDATE. Returns false when the session was torn down (E8 / C5).
    bool apply_update(Builder& b, PeerKey peer, std::span<const Route> routes);
    // E6: after an NVA update, do the NVA's two sessions still agree on these prefixes?
    void check_consistency(Builder& b, std::size_t nva, const std::vector<Prefix>& ps);
    [[nodiscard]] std::string consistency_text(std::size_t nva, const Prefix& p, bool has_a,
                                               bool has_c) const;
    [[nodiscard]] std::string consistency_summary(std::size_t nva, E6Kind kind, std::size_t n,
                                                  const Prefix& example) const;

    // ---- selection (policy_select.cpp) -------------------------------------------------------
    // Steps 2/3 for one prefix: candidates, selections, the vnet view, then export_prefix.
    void recompute(Builder& b, const Prefix& p);
    void collect_candidates(const PrefixInfo& info);
    // D1-D5: routing preference, then shortest AS path, then ECMP over the equal routes.
    void select(Best& b, bool nva_only) const;
    void select_site();

    // ---- export (policy_export.cpp) ----------------------------------------------------------
    [[nodiscard]] static bool no_advertise(const InEntry& e) {
        return e.held().has_community(communities::no_advertise); // G2
    }
    [[nodiscard]] bool no_export(const InEntry& e) const {
        return cfg.route_server.no_export == NoExportMode::rfc1997 &&
               e.held().has_community(communities::no_export); // G2 knob
    }
    static OutKey key_of(const Cand& c) { return {c.e->version, c.e}; }
    // The route peer `ord` receives, built from the entry it was given (step 3).
    [[nodiscard]] Route materialize(std::size_t ord, const InEntry& e) const;
    void emit_peer(Builder& b, std::size_t ord, const Prefix& p, const OutKey& k) const;
    void set_out(Builder& b, PrefixInfo& info, std::size_t ord, const Prefix& p, const OutKey& k);
    void emit_view(Builder& b, std::size_t v, const Prefix& p, const CompactVr& old_vr,
                   const CompactVr& new_vr) const;
    // Every output of one prefix from the selections in ars/site and their views.
    void export_prefix(Builder& b, const Prefix& p, PrefixInfo& info, const CompactVr& new_ars,
                       const CompactVr& new_site);
    void export_nvas(Builder& b, const Prefix& p, PrefixInfo& info);
    void export_er_eligibility(Builder& b, const Prefix& p, PrefixInfo& info,
                               const OutKey& to_ergw);
    void export_sites(Builder& b, const Prefix& p, PrefixInfo& info, const OutKey& to_vpngw,
                      const CompactVr& new_ars, const CompactVr& new_site);
    // The vpn/<s> view entry for selector `sel` (0 none, 2 ARS route, 3 the gateway's own site
    // choice).
    [[nodiscard]] static const CompactVr& site_view(std::uint8_t sel, const CompactVr& site_vr,
                                                    const CompactVr& ars_vr);
    // The er/<c> view entry for selector `sel` (0 none, 2 ARS route, 4+k Global Reach from k).
    [[nodiscard]] CompactVr er_view(const PrefixInfo&, std::uint8_t sel,
                                    const CompactVr& ars) const;
    // Step 4: circuits after the per-prefix pass (B7 may move prefixes in and out).
    void finalize(Builder& b);

    // ---- events (policy.cpp) -----------------------------------------------------------------
    Builder start(bool peers_enabled = true) const;
    PolicyDelta finish(Builder& b);
    PolicyDelta recompute_all(Builder& b);
    [[nodiscard]] std::string name(PeerKey p) const;
    void require_input(PeerKey p) const;
};

} // namespace rsfwd
