// dataplane/xdp/xdp_backend.hpp — rsfwd's XDP forwarding backend: loads rsfwd_fwd.bpf.c,
// attaches it to ports, and writes the FIB compiler's output (fib::Batch + adjacency slots, the
// same as the DPDK engine publishes) into its BPF maps. It keeps no route state of its own.
//
// What: each port belongs to one view; each view has one LPM trie per family (inner maps of
// views_v4/views_v6), view id = the compiler's view id. apply() translates, entry for entry:
//   adjacency slot a (port = egress ifindex, MAC)   → nexthops[a]     (unresolved: flags 0 → punt)
//   group g with ≥ 2 members (D7)                   → ecmp_groups[g]  {count, adjacency indices}
//   view route → group_connected                    → trie {CONNECTED, 0}: MAC from `neighbours`
//   view route → group_blackhole                    → trie {BLACKHOLE}
//   view route → group g with 1 member a            → trie {NEXTHOP, a} (no flow hash needed)
//   view route → group g with ≥ 2 members           → trie {GROUP, g}
//   view route → group_local (our port addresses)   → no trie entry: `local_addrs`, checked before
//                                                     the trie, already punts every port address
//   hosts entry addr → adjacency a                  → neighbours[(0, addr)] = {MAC, port} while a
//                                                     is resolved, deleted while it is not
//   full4/full6 (bulk) table                        → a new trie, filled, then swapped into the
//                                                     outer map in one update (the XDP analogue of
//                                                     publishing a generation), old one closed
// Why no reference counting here: the compiler already deduplicates groups and never frees an
// adjacency, so a MAC change is still one nexthops write whatever the number of routes behind
// it. The only shadows kept are what a later write needs: each group's member count (the trie
// value of a route depends on it) and each host entry's key (a MAC change rewrites it).
//
// Ownership: the backend owns the BPF object, its maps and one bpf_link per port. Nothing is
// pinned: closing the backend, or the process dying (even SIGKILL), detaches every program and
// frees every map. Not copyable or movable.
//
// Thread: control thread only (one thread at a time). The data path is the kernel's; map updates
// are atomic per entry (a whole trie per outer-map update), so traffic keeps flowing.
//
// Cost: apply() is one map write per op (plus a trie build for a full table); counters() is one
// per-CPU array read.
//
// Errors: control path; set-up throws XdpError with the operation and the kernel's reason;
// apply() counts a failed write, keeps going and reports the first failure.
#pragma once

#include "control/model.hpp"
#include "dataplane/fib/fib.hpp"
#include "dataplane/xdp/xdp_netlink.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

struct bpf_object;
struct rsfwd_route; // xdp_abi.h

namespace rsfwd::xdp {

struct XdpError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// auto: native (driver) mode, falling back to generic (SKB) mode when the driver refuses; on veth
// auto means generic, because native mode there needs the *peer* of every egress veth to have an
// XDP program or GRO enabled, or the kernel drops redirected frames (docs/xdp.md). Ask for
// native explicitly when the peers are set up for it.
enum class AttachMode { automatic, native, generic };
std::string_view to_string(AttachMode m) noexcept;
std::optional<AttachMode> parse_attach_mode(std::string_view s) noexcept;

// Forwarding program counters, in xdp_abi.h order.
enum class FwdCounter : std::uint32_t {
    rx,
    tx,
    pass_arp,
    pass_local,
    pass_control,
    pass_no_port,
    ttl_expired,
    unresolved,
    drop_no_route,
    drop_bad_header,
    drop_no_view,
    drop_tx_port,
    count_
};
inline constexpr std::size_t fwd_counter_count = static_cast<std::size_t>(FwdCounter::count_);
std::string_view to_string(FwdCounter c) noexcept;

struct FwdCounters {
    std::array<std::uint64_t, fwd_counter_count> value{}; // summed over CPUs
    [[nodiscard]] std::uint64_t operator[](FwdCounter c) const noexcept {
        return value[static_cast<std::size_t>(c)];
    }
};

struct PortStatus {
    std::string ifname;
    int ifindex = 0;
    ViewName view;
    AttachMode mode = AttachMode::automatic; // the mode actually attached (native or generic)
};

// The outcome of one apply(): map writes done and failed (the first failure's reason).
struct ApplyResult {
    std::size_t writes = 0;
    std::size_t failed = 0;
    std::string first_error;
};

// What the maps hold, read back from the kernel (tests, stats).
enum class MapRouteKind : std::uint32_t { next_hop = 1, group = 2, connected = 3, blackhole = 4 };
struct MapRoute {
    MapRouteKind kind = MapRouteKind::blackhole;
    std::uint32_t id = 0;
};
struct MapNextHop {
    bool resolved = false;
    int ifindex = 0;
    Mac dmac{}, smac{};
};
struct MapNeighbour {
    Mac mac{};
    int ifindex = 0;
};

class XdpBackend {
public:
    // Opens and loads the embedded BPF object (creates the maps). No interface is touched yet.
    XdpBackend();
    ~XdpBackend(); // detach_all()
    XdpBackend(const XdpBackend&) = delete;
    XdpBackend& operator=(const XdpBackend&) = delete;

    // Attaches the program to `ifname`, makes it an egress port (devmap) and an ingress port of
    // `view` (created on first use), and registers its addresses as local (punted).
    PortStatus add_port(const std::string& ifname, const ViewName& view,
                        AttachMode mode = AttachMode::automatic);
    // Finds or creates a view (its two tries); returns its id. Throws past RSFWD_XDP_MAX_VIEWS.
    std::size_t add_view(const ViewName& view);
    // View names by id: the compiler that feeds apply() must be built with exactly these.
    [[nodiscard]] std::vector<ViewName> view_names() const;
    // Detaches every port (idempotent). Called by the destructor.
    void detach_all() noexcept;

    // Writes one compiler batch and the adjacency slots that changed (FibCompiler::
    // take_adj_changes(), read from `adj`) into the maps: slots first, then groups, hosts and the
    // view tables, so a route never points at a group or slot not yet written. Every index in
    // `b` must come from one compiler whose ports' port_id are this backend's ifindexes.
    ApplyResult apply(const fib::Batch& b, std::span<const std::uint32_t> changed_adj,
                      const fib::AdjTable& adj);

    // Extra address punted to the kernel (port addresses are added automatically).
    void add_local_address(const IpAddr& addr);
    // Re-reads the ports' interfaces; addresses that appeared are registered as local.
    void refresh_interfaces();

    [[nodiscard]] FwdCounters counters() const;
    [[nodiscard]] std::vector<PortStatus> ports() const;
    // The kernel's view of a port (addresses, subnets, MAC) as last read; nullptr if not a port.
    [[nodiscard]] const InterfaceInfo* interface(int ifindex) const noexcept;

    // Read-back (tests, stats): what the program finds for `dst` in view `view` (longest match),
    // a nexthops slot, an ECMP group's members, the "any port" neighbour entry of `addr`.
    [[nodiscard]] std::optional<MapRoute> lookup(std::size_t view, const IpAddr& dst) const;
    [[nodiscard]] MapNextHop next_hop(std::uint32_t adj) const;
    [[nodiscard]] std::vector<std::uint32_t> group(std::uint32_t id) const;
    [[nodiscard]] std::optional<MapNeighbour> neighbour(const IpAddr& addr) const;

private:
    struct Port {
        PortStatus status;
        InterfaceInfo info;
        int link_fd = -1; // bpf_link (BPF_LINK_CREATE): closing it detaches
    };
    struct View {
        ViewName name;
        int trie_v4 = -1, trie_v6 = -1; // owned fds
    };
    struct Writer; // one apply(): counts writes, keeps the first error

    [[nodiscard]] int new_trie(bool v6, const ViewName& name) const;
    void swap_trie(std::size_t view, bool v6, int fd);
    void write_tables(Writer& w, std::size_t view, const fib::TableOps& ops);
    void write_adjacency(Writer& w, std::uint32_t a, std::uint64_t slot);
    void write_host(Writer& w, std::uint32_t a, std::uint64_t slot);
    [[nodiscard]] const Port* port_by_ifindex(int ifindex) const noexcept;
    bool trie_value(fib::nh_t nh, rsfwd_route& out) const noexcept;

    bpf_object* obj_ = nullptr;
    int prog_fd_ = -1;
    int fd_views_v4_ = -1, fd_views_v6_ = -1, fd_ports_ = -1, fd_nexthops_ = -1, fd_groups_ = -1,
        fd_neigh_ = -1, fd_local_ = -1, fd_tx_ = -1, fd_counters_ = -1;

    std::vector<Port> ports_;
    std::vector<View> views_; // index = view id
    // Shadows of what was written (see the header comment): group id → member count and first
    // member, and adjacency → the key of its hosts entry (family 4 or 6, addr).
    struct GroupShadow {
        std::uint8_t n = 0;
        std::uint16_t first = 0;
    };
    std::vector<GroupShadow> groups_;
    struct HostKey {
        std::uint32_t family = 0;
        std::array<std::uint8_t, 16> addr{};
    };
    std::unordered_map<std::uint32_t, HostKey> hosts_;
};

} // namespace rsfwd::xdp
