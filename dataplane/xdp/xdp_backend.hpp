// dataplane/xdp/xdp_backend.hpp — rsfwd's XDP forwarding backend: loads rsfwd_fwd.bpf.c,
// attaches it to ports, and keeps its BPF maps equal to the views' effective routes.
//
// What: each port belongs to one view; each view has one LPM trie per family (inner maps of
// views_v4/views_v6). A ViewRoute becomes a trie entry pointing at a next hop, an ECMP group of
// next hops (D7, ≤ 8), or "connected" (the destination's own MAC, from the neighbour table; D11).
// Next hops are resolved to (egress port, MAC) from the kernel neighbour table or static entries;
// unresolved ones punt to the kernel (XDP_PASS) until refresh_neighbours() finds their MAC.
//
// Ownership: the backend owns the BPF object, its maps and one bpf_link per port. Nothing is
// pinned: closing the backend, or the process dying (even SIGKILL), detaches every program and
// frees every map. Not copyable or movable.
//
// Thread: control thread only (one thread at a time). The data path is the kernel's; map updates
// are atomic per entry, so traffic keeps flowing during updates.
//
// Cost: a route update is 1 map update plus, for a new next hop/group, 1-2 more; counters() is one
// per-CPU array read. refresh_neighbours() is one netlink dump plus updates for what changed.
//
// Errors: control path; throws XdpError with the operation and the kernel's reason.
#pragma once

#include "control/model.hpp"
#include "dataplane/xdp/xdp_netlink.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct bpf_object;

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

struct NextHopStatus {
    IpAddr addr;
    int ifindex = 0; // 0: no port subnet holds it
    std::optional<Mac> mac;
    unsigned users = 0; // routes and groups referring to it
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
    // Detaches every port (idempotent). Called by the destructor.
    void detach_all() noexcept;

    // Route updates: one map update each. upsert replaces any previous route for the prefix.
    void upsert(const ViewName& view, const ViewRoute& route);
    bool remove(const ViewName& view, const Prefix& prefix);    // false when absent
    void apply(const ViewName& view, const ViewChange& change); // change.view is ignored
    // A blackhole route: matching packets are dropped and counted as drop_no_route.
    void upsert_blackhole(const ViewName& view, const Prefix& prefix);

    // Static neighbour (wins over the kernel's table). ifname empty: any port whose subnet holds
    // the address.
    void set_static_neighbour(const IpAddr& addr, const Mac& mac, const std::string& ifname = {});
    // Extra address punted to the kernel (port addresses are added automatically).
    void add_local_address(const IpAddr& addr);

    // Re-reads interface addresses and the kernel neighbour table; updates next hops and the
    // connected-route neighbours that changed; asks the kernel to resolve unresolved next hops.
    void refresh_neighbours();

    [[nodiscard]] FwdCounters counters() const;
    [[nodiscard]] std::vector<PortStatus> ports() const;
    [[nodiscard]] std::vector<NextHopStatus> next_hops() const;
    [[nodiscard]] std::size_t route_count() const noexcept;

private:
    struct Port {
        PortStatus status;
        InterfaceInfo info;
        int link_fd = -1; // bpf_link (BPF_LINK_CREATE): closing it detaches
    };
    struct NextHop {
        IpAddr addr;
        std::uint32_t id = 0;
        int ifindex = 0;
        std::optional<Mac> mac;
        unsigned users = 0;
    };
    struct Group {
        std::uint32_t id = 0;
        unsigned users = 0;
    };
    struct Installed {
        std::uint32_t kind = 0;
        std::uint32_t id = 0;
        std::vector<std::uint32_t> nh_ids; // next hops referenced (directly or via the group)
    };
    struct View {
        std::uint32_t id = 0;
        int trie_v4 = -1, trie_v6 = -1; // owned fds
        std::map<Prefix, Installed> routes;
    };

    View& view_of(const ViewName& name);
    std::uint32_t acquire_next_hop(const IpAddr& addr);
    void release_next_hop(std::uint32_t id);
    std::uint32_t acquire_group(const std::vector<std::uint32_t>& nh_ids);
    void release_group(std::uint32_t id);
    void release(const Installed& inst);
    void write_next_hop(const NextHop& nh);
    void resolve(NextHop& nh, const std::vector<Neighbour>& neigh) const;
    [[nodiscard]] int port_for(const IpAddr& addr) const;
    const Port* port_by_ifindex(int ifindex) const;
    void install(View& v, const Prefix& prefix, Installed inst);
    void sync_connected_neighbours(const std::vector<Neighbour>& neigh);

    bpf_object* obj_ = nullptr;
    int prog_fd_ = -1;
    int fd_views_v4_ = -1, fd_views_v6_ = -1, fd_ports_ = -1, fd_nexthops_ = -1, fd_groups_ = -1,
        fd_neigh_ = -1, fd_local_ = -1, fd_tx_ = -1, fd_counters_ = -1;

    std::vector<Port> ports_;
    std::map<ViewName, View> views_;
    std::map<IpAddr, NextHop> next_hops_;          // by address
    std::map<std::uint32_t, IpAddr> next_hop_ids_; // id → address
    std::map<std::vector<std::uint32_t>, Group> groups_;
    std::map<std::uint32_t, std::vector<std::uint32_t>> group_ids_; // id → members
    std::vector<std::uint32_t> free_nh_, free_groups_;
    std::uint32_t next_nh_ = 0, next_group_ = 0, next_view_ = 0;
    struct StaticNeigh {
        Mac mac;
        std::string ifname;
    };
    std::map<IpAddr, StaticNeigh> static_neigh_;
    std::vector<Neighbour> last_neigh_;
    // Connected-route neighbours in the map: (ifindex or 0 = any port, addr) → (MAC, port).
    std::map<std::pair<int, IpAddr>, std::pair<Mac, int>> installed_neigh_;
};

} // namespace rsfwd::xdp
