// control/policy.hpp — the Route Server policy engine: ROUTE_SERVER.md as code.
//
// What: given a Config (topology, switches) and the routes each peer announces, RouteServer
// computes what Route Server, the ExpressRoute gateway and the VPN gateway do with them:
//   - per input peer the Adj-RIB-In, each route accepted or rejected with the rule that says why;
//   - per output peer the Adj-RIB-Out (each NVA session, each ER circuit's on-prem edge, each VPN
//     site, and the ER / VPN gateways as Route Server's iBGP neighbours);
//   - per view ("vnet", "er/<circuit>", "vpn/<site>") the effective routes (ViewRoute);
//   - optionally ExpressRoute Global Reach between circuits (at the MSEE, outside ARS; B1).
// Every event returns a PolicyDelta: only what changed. An event recomputes only the prefixes it
// touches (a switch change touches every prefix). docs/policy.md explains the model.
//
// Ownership: RouteServer copies what it needs from the Config; it owns all its state.
// Thread: control thread only; not thread-safe; pure (no I/O, no clock, no randomness), so the
// same events in the same order always give the same deltas.
// Cost: an announce/withdraw of one prefix is O(peers + views) plus hash look-ups (µs); a switch
// change is O(prefixes × peers). Queries materialise routes and are O(n log n) in the result.
#pragma once

#include "control/config.hpp"
#include "control/model.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace rsfwd {

// Who a route comes from or goes to.
//   nva:         one eBGP session NVA `index` ↔ Route Server instance `instance` (A1, E6)
//   er_circuit:  the on-prem edge router behind circuit `index`, as the MSEE (AS 12076) sees it
//   vpn_site:    the on-prem VPN device of site `index`
//   er_gateway:  Route Server's iBGP neighbour, the ExpressRoute gateway (output only)
//   vpn_gateway: Route Server's iBGP neighbour, the VPN gateway (output only)
enum class PeerKind : std::uint8_t { nva, er_circuit, vpn_site, er_gateway, vpn_gateway };

struct PeerKey {
    PeerKind kind = PeerKind::nva;
    std::uint16_t index = 0;
    std::uint8_t instance = 0; // nva only

    static PeerKey nva(std::uint16_t i, std::uint8_t inst) { return {PeerKind::nva, i, inst}; }
    static PeerKey circuit(std::uint16_t i) { return {PeerKind::er_circuit, i, 0}; }
    static PeerKey site(std::uint16_t i) { return {PeerKind::vpn_site, i, 0}; }
    static PeerKey er_gateway() { return {PeerKind::er_gateway, 0, 0}; }
    static PeerKey vpn_gateway() { return {PeerKind::vpn_gateway, 0, 0}; }
    auto operator<=>(const PeerKey&) const = default;
};

// One route of an Adj-RIB-In. `received` is exactly what the peer sent; `held` is the route as
// Route Server (or the gateway in front of it) holds it, e.g. "12076 65100" for an ER route
// (B4). reason is "" when accepted, else starts with the rule id ("F1: inside VNet space ...").
struct RibInRoute {
    Route received;
    Route held;
    bool accepted = true;
    std::string reason;
};

// Adj-RIB-Out changes for one peer. Apply withdraws, then advertises (a prefix appears at most
// once per PeerDelta).
struct PeerDelta {
    PeerKey peer;
    std::vector<Route> advertise;
    std::vector<Prefix> withdraw;
};

enum class PolicyEventKind : std::uint8_t {
    max_prefix_teardown, // E8 / C5: the session went over its limit; its routes were removed
    max_prefix_warning,  // E8 with max_prefix_action: ignore
    consistency_warning, // E6: an NVA's two sessions disagree on a prefix
    er_limit,            // B7: more than er_max_advertised prefixes per circuit (peer: circuit 0;
                         // every circuit sees the same reflected set)
};
std::string_view to_string(PolicyEventKind k) noexcept;

struct PolicyEvent {
    PolicyEventKind kind;
    PeerKey peer;
    std::string message; // starts with the rule id
};

struct PolicyDelta {
    std::vector<PeerDelta> peers;  // only peers with changes, in peer order
    std::vector<ViewChange> views; // each (view, prefix) at most once
    std::vector<PolicyEvent> events;
    [[nodiscard]] bool empty() const noexcept {
        return peers.empty() && views.empty() && events.empty();
    }
};

// A peer's announcements, for bulk loading.
struct PeerRoutes {
    PeerKey peer;
    std::vector<Route> routes;
};

class RouteServer {
public:
    // Throws std::invalid_argument on a Config that load_config would not have returned.
    explicit RouteServer(const Config& config);
    ~RouteServer();
    RouteServer(const RouteServer&) = delete;
    RouteServer& operator=(const RouteServer&) = delete;
    RouteServer(RouteServer&&) noexcept;
    RouteServer& operator=(RouteServer&&) noexcept;

    // ---- peers and views --------------------------------------------------------------------
    // Every peer, in a stable order: NVA sessions (by NVA, then instance; only configured
    // instances), circuits, sites, then the ER and VPN gateways when configured.
    [[nodiscard]] const std::vector<PeerKey>& peers() const noexcept;
    [[nodiscard]] bool accepts_routes(PeerKey p) const noexcept; // nva, circuit, site
    // "nva/NVA1@0", "er/<circuit>", "vpn/<site>", "ergw", "vpngw".
    [[nodiscard]] std::string peer_name(PeerKey p) const;
    [[nodiscard]] std::optional<PeerKey> find_peer(std::string_view name) const;
    // "vnet", "er/<circuit>"..., "vpn/<site>"...
    [[nodiscard]] const std::vector<ViewName>& views() const noexcept;

    // ---- events (each returns what changed) -------------------------------------------------
    // One UPDATE from `peer` (E8 counts held + routes.size()). A route without a next hop gets
    // the peer's address. Throws std::invalid_argument for a peer that cannot announce.
    PolicyDelta announce(PeerKey peer, std::span<const Route> routes);
    PolicyDelta announce(PeerKey peer, const Route& route);
    PolicyDelta withdraw(PeerKey peer, std::span<const Prefix> prefixes);
    PolicyDelta withdraw(PeerKey peer, const Prefix& prefix);
    // Session loss: every route of the peer is gone.
    PolicyDelta peer_down(PeerKey peer);
    PolicyDelta set_branch_to_branch(bool on);                  // A5/A6
    PolicyDelta set_routing_preference(RoutingPreference pref); // D2
    // Announces the static routes of the config (nvas[].routes, circuits[].routes,
    // sites[].prefixes and sites[].routes), one UPDATE per peer.
    PolicyDelta announce_config_routes();
    // Bulk start-up: all updates are applied, then each touched prefix is computed once. Views
    // and events are returned; per-peer advertisements are not (query adj_rib_out when a
    // session comes up) unless with_peer_deltas.
    PolicyDelta load(std::span<const PeerRoutes> updates, bool with_peer_deltas = false);

    // ---- queries (sorted by prefix) ---------------------------------------------------------
    [[nodiscard]] std::vector<RibInRoute> adj_rib_in(PeerKey peer) const;
    [[nodiscard]] std::vector<Route> adj_rib_out(PeerKey peer) const;
    [[nodiscard]] std::vector<ViewRoute> view(std::string_view name) const;
    // Sizes only, without copying or sorting (`rsctl peers`, /metrics at a full table): routes
    // held from `peer` and how many of them are accepted (O(Adj-RIB-In)); routes advertised to
    // `peer` (O(prefixes)). Same numbers as adj_rib_in()/adj_rib_out().size().
    struct RibCounts {
        std::size_t received = 0, accepted = 0, advertised = 0;
    };
    [[nodiscard]] RibCounts rib_counts(PeerKey peer) const;
    // The whole state as a delta from an empty engine (peers: advertise only; views: upserts).
    [[nodiscard]] PolicyDelta snapshot() const;
    // E6: NVAs whose sessions currently disagree, one line per (NVA, prefix).
    [[nodiscard]] std::vector<std::string> consistency_warnings() const;

    [[nodiscard]] bool branch_to_branch() const noexcept;
    [[nodiscard]] RoutingPreference routing_preference() const noexcept;
    [[nodiscard]] const Config& config() const noexcept;

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

} // namespace rsfwd
