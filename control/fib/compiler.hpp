// control/fib/compiler.hpp — the FIB compiler: per-view effective routes (ViewRoute) → lpm
// tables + next-hop groups + adjacencies, incrementally.
//
// What: FibCompiler keeps the control-side truth (installed prefix → group per view, group
// contents and refcounts, neighbours and their adjacency slots) and accumulates the *net* effect
// of route and neighbour events into a pending Batch. take_batch() hands that batch to the
// publisher, which applies it to both copies of the double-buffered Generation.
//   - A route with no next hops (vnet_local, "connected") maps to group_connected: the worker
//     then looks the destination up in the generation's hosts table (one adjacency per host).
//   - A route with next hops maps to a deduplicated group of up to 8 adjacencies (D7, E12); a next
//     hop no port subnet holds is left out; a route left with none maps to group_blackhole.
//   - Each port address is installed as a /32 (/128) → group_local in every view; routes for the
//     same prefix are ignored (we never forward to ourselves; H1 is the policy's job).
//   - E10: views carry IPv4 only; each port's connected IPv6 subnet is installed in every view
//     as group_connected, so IPv6 is routed between the ports' IPv6 subnets.
// Ownership: owns the AdjTable that every Generation refers to by index.
// Thread: control thread only; the AdjTable is also read by workers (see fib.hpp).
// Cost: change() is O(1) expected (flat hash maps, no allocation once a group exists) plus
// O(members); set_view() is O(routes + installed); take_batch() is O(pending), or, for a view
// whose pending changes reach an eighth of its routes (or loaded by set_view in bulk), one
// lpm::Table build of the view (≈ 0.3 s for 1M routes) instead of two incremental applies.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "control/fib/prefix_map.hpp"
#include "control/model.hpp"
#include "dataplane/fib/fib.hpp"
#include "dataplane/fib/publisher.hpp"

namespace rsfwd::fib {

// A port as the compiler needs it: which DPDK port, its addresses and connected subnets.
struct FibPort {
    std::uint16_t port_id = 0; // DPDK port id (goes into adjacency slots)
    Prefix subnet4;            // connected IPv4 subnet (masked)
    IpAddr addr4;              // our IPv4 address on it
    std::optional<Prefix> subnet6;
    std::optional<IpAddr> addr6;
};

struct Neighbour {
    IpAddr ip;
    std::size_t port = 0; // index into the compiler's ports
    std::uint32_t adj = no_adj;
    bool resolved = false;
    bool is_static = false;
    bool host = false; // has a hosts-table entry (connected destination)
    Mac mac{};
};

class FibCompiler {
public:
    // A view gets whole-table builds instead of per-prefix ops from this many changes on.
    static constexpr std::size_t bulk_min_routes = 4096;

    // views: the view names that ports use; their index is the view id.
    FibCompiler(std::vector<FibPort> ports, std::vector<std::string> views,
                std::uint32_t adj_capacity = 65536);

    [[nodiscard]] std::optional<std::size_t> view_id(std::string_view name) const noexcept;
    [[nodiscard]] const std::vector<std::string>& views() const noexcept { return views_; }
    [[nodiscard]] const std::vector<FibPort>& ports() const noexcept { return ports_; }
    [[nodiscard]] AdjTable& adjacencies() noexcept { return adj_; }

    // The policy's view list (RouteServer::views()), which ViewChange::view indexes: one table
    // from policy view id to this compiler's, built once, so a change finds its view by one
    // index. Without it, ViewChange::view is this compiler's own view id (tests, benchmarks).
    void bind_views(std::span<const ViewName> policy_views);
    // Route events. Views no port uses are ignored (nothing forwards with them). tsc: when the
    // event happened (for publication latency); 0 = unknown.
    void change(const ViewChange& c, std::uint64_t tsc = 0);
    // Replaces a whole view's routes (diffed against what is installed; duplicates: last wins).
    // Bulk path: when the view holds few routes compared with `routes` (start-up, a full load),
    // no per-prefix ops are kept and the next batch carries whole tables built in one go.
    void set_view(std::string_view view, std::span<const ViewRoute> routes, std::uint64_t tsc = 0);

    // Neighbours. neighbour(): find or create (unresolved) the adjacency of `ip` on the port whose
    // subnet holds it; nullopt if no subnet holds it or the slot array is full.
    [[nodiscard]] std::optional<std::uint32_t> neighbour(const IpAddr& ip);
    [[nodiscard]] std::optional<std::uint32_t> find_neighbour(const IpAddr& ip) const;
    [[nodiscard]] const Neighbour& neighbour_info(std::uint32_t adj) const {
        return neighbours_[adj];
    }
    [[nodiscard]] std::size_t neighbour_count() const noexcept { return neighbours_.size(); }
    // Gives a connected destination its hosts-table entry (pending until the next publication).
    void ensure_host(std::uint32_t adj, std::uint64_t tsc = 0);
    // Resolves (or re-resolves) a neighbour: one atomic slot store, no publication needed.
    void set_mac(std::uint32_t adj, const Mac& mac, bool is_static = false);
    void set_unresolved(std::uint32_t adj);
    // Adjacency slots stored since the last call (a new neighbour, set_mac, set_unresolved), each
    // index once, in first-store order. For a backend that mirrors the AdjTable into its own
    // table (XDP: the nexthops map), since slot stores publish nothing. The DPDK workers read the
    // AdjTable itself and never call it. Cost: one flag test (and a push on the first store since
    // the last drain) per slot store; bounded by neighbour_count() whether or not anyone drains.
    [[nodiscard]] std::vector<std::uint32_t> take_adj_changes();
    [[nodiscard]] std::optional<std::size_t> port_for(const IpAddr& ip) const noexcept;

    // Pending work for the publisher.
    [[nodiscard]] bool has_pending() const noexcept { return pending_events_ != 0; }
    [[nodiscard]] std::uint64_t pending_since() const noexcept { return pending_tsc_; }
    [[nodiscard]] std::size_t pending_events() const noexcept { return pending_events_; }
    Batch take_batch();
    // Drops what is pending without building anything (the caller has just made a full
    // generation with build_generation(), e.g. at start-up).
    void discard_pending();
    // A full generation from the installed state (start-up, or a rebuild).
    [[nodiscard]] Generation build_generation() const;

    // Introspection (tests, rsctl fib): the group a prefix is installed with, or nullopt.
    [[nodiscard]] std::optional<nh_t> installed(std::string_view view, const Prefix& p) const;
    [[nodiscard]] const NhGroup& group(nh_t g) const { return groups_[g]; }
    [[nodiscard]] std::size_t group_count() const noexcept { return groups_.size(); }
    [[nodiscard]] std::size_t live_groups() const noexcept { return group_ids_.size(); }
    // Tests only: advance the set_view() pass counter as if n passes had run on other views (the
    // counter is 32-bit; its wrap-around is what this lets a test reach).
    void skip_passes_for_test(std::uint32_t n) noexcept { stamp_ += n; }

private:
    // An installed route: its group and the set_view() pass that last saw it (pinned: a fixed
    // prefix — port address or connected IPv6 subnet — that route events never override).
    struct Installed {
        nh_t nh = 0;
        std::uint32_t stamp = 0;
    };
    static constexpr std::uint32_t pinned = 0xFFFFFFFFu;
    static constexpr nh_t pending_remove = lpm::no_route;

    struct NhGroupHash {
        std::size_t operator()(const NhGroup& g) const noexcept;
    };

    nh_t group_for(const ViewRoute& r);
    void store_adj(std::uint32_t adj, std::uint64_t slot); // AdjTable store + take_adj_changes()
    [[nodiscard]] std::optional<std::uint32_t> next_hop_adj(const IpAddr& ip);
    void unref(nh_t g);
    // Upsert (nh != pending_remove) or delete one prefix of a view; p must be masked.
    void set_route(std::size_t view, const Prefix& p, nh_t nh, std::uint64_t tsc,
                   std::uint32_t stamp);
    void change_in(std::size_t view, const Prefix& p, const ViewRoute* r, std::uint64_t tsc);
    void note_event(std::uint64_t tsc) noexcept;
    void count_route(const Prefix& p, std::size_t view, int delta) noexcept;
    [[nodiscard]] bool wants_rebuild(std::size_t view) const noexcept;
    void fill_rebuild(std::size_t view, TableOps& o) const;

    static constexpr ViewId no_view = 0xFFFF;

    std::vector<FibPort> ports_;
    std::vector<std::string> views_;
    std::vector<ViewId> by_policy_id_; // policy view id → ours (bind_views), or no_view
    AdjTable adj_;
    std::vector<Neighbour> neighbours_; // index = adjacency index
    std::unordered_map<IpAddr, std::uint32_t, IpAddrHash> by_ip_;
    IpAddr last_hop_ip_; // one-entry memo of next_hop_adj() (neighbours are never removed)
    std::uint32_t last_hop_adj_ = no_adj;
    std::vector<std::uint32_t> adj_changed_; // take_adj_changes(): indices, each once
    std::vector<bool> adj_dirty_;            // index = adjacency index: in adj_changed_

    std::vector<NhGroup> groups_;                              // index = nh_t (0..2 reserved)
    std::vector<std::uint32_t> refs_;                          // route references per group
    std::unordered_map<NhGroup, nh_t, NhGroupHash> group_ids_; // member set → id (no allocation)
    std::vector<nh_t> free_groups_; // reusable ids (refs == 0), recycled at take_batch()
    std::vector<nh_t> freed_now_;   // freed during the pending batch

    std::vector<PrefixMap<Installed>> installed_;    // per view
    std::vector<std::array<std::size_t, 2>> counts_; // per view: installed IPv4, IPv6 routes
    std::uint32_t stamp_ = 0;                        // set_view() pass number
    // Pending net ops per view: prefix → new nh (pending_remove = remove). A view marked for
    // rebuild carries no per-prefix ops: take_batch() builds its tables from installed_.
    std::vector<PrefixMap<nh_t>> pending_;
    std::vector<bool> rebuild_;
    std::vector<std::pair<nh_t, NhGroup>> pending_groups_;
    std::vector<std::uint32_t> pending_hosts_;
    std::size_t pending_events_ = 0;
    std::uint64_t pending_tsc_ = 0;
};

// The control loop's publication step: advances the publication in flight, then publishes the
// compiler's pending batch when it is due (coalescing window elapsed or batch large). now:
// rte_rdtsc(). True if a batch was published.
inline bool publish_step(Publisher& pub, FibCompiler& c, std::uint64_t now) {
    if (!pub.due(c.pending_events(), c.pending_since(), now)) return false;
    pub.publish(c.take_batch());
    return true;
}

} // namespace rsfwd::fib
