// dataplane/xdp/xdp_fib.hpp — the FIB compiler (control/fib, the DPDK engine's) feeding the XDP
// backend: view changes, static and kernel neighbours in; fib::Batch + changed adjacency slots
// out, written by XdpBackend::apply().
//
// What: XdpFib owns one fib::FibCompiler built from the backend's ports (FibPort.port_id = the
// port's ifindex, addresses and subnets from the kernel interface) and views (the compiler's view
// id is the backend's). flush() hands the compiler's pending batch and its changed adjacency slots
// to the backend. Both `rsfwd run --backend xdp` (XdpSink) and `rsfwd-xdp forward` use it, so
// every XDP route goes through the same compiler as every DPDK route:
//   - a next hop no port subnet holds is left out of its group; a route left with none is a
//     blackhole (dropped, drop_no_route); a route with no next hops is connected (D11);
//   - each port's IPv6 subnet is connected in every view (E10), port addresses are local;
//   - neighbours come from refresh_neighbours() (the kernel's table: ARP/ND stay the kernel's)
//     and static ones; a kernel neighbour on a port is also a connected destination (hosts).
// Why not in the sink: the standalone tool needs the same glue without the ControlPlane.
//
// Ownership: owns the compiler; refers to the backend, which must outlive it. The backend's ports
// and views are fixed once an XdpFib exists (the compiler's are).
// Thread: control thread only.
// Cost: change() is the compiler's; flush() one map write per op; refresh_neighbours() one
// netlink dump plus one write per neighbour that changed.
// Errors: the constructor throws XdpError (a port without an IPv4 address); flush() returns the
// backend's ApplyResult (failed writes are counted, never thrown).
#pragma once

#include "control/fib/compiler.hpp"
#include "dataplane/xdp/xdp_backend.hpp"

#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace rsfwd::xdp {

// One compiler neighbour as the tool's `stats` shows it.
struct NeighbourStatus {
    IpAddr addr;
    int ifindex = 0;
    std::optional<Mac> mac; // resolved
    bool is_static = false;
    bool host = false; // has a connected-destination entry
};

class XdpFib {
public:
    // The compiler's ports from the backend's interfaces: per port its first IPv4 address and
    // subnet (required) and its first global IPv6 one (optional; link-local ones are skipped).
    static std::vector<fib::FibPort> kernel_ports(const XdpBackend& backend);

    explicit XdpFib(XdpBackend& backend);
    XdpFib(XdpBackend& backend, std::vector<fib::FibPort> ports);

    // The policy's views, which ViewChange::view indexes (see FibCompiler::bind_views).
    void bind_views(std::span<const ViewName> views) { comp_.bind_views(views); }
    // Route events (unknown views are ignored, as the compiler does). Nothing reaches the maps
    // before flush().
    void change(const ViewChange& c) { comp_.change(c); }
    // The same for a view given by name (rsfwd-xdp, tests): one look-up of the name.
    void change(std::string_view view, const Prefix& p, const std::optional<ViewRoute>& r) {
        if (const auto v = comp_.view_id(view))
            comp_.change(ViewChange{static_cast<ViewId>(*v), p, r});
    }
    // Static neighbour: wins over the kernel's table. Throws XdpError if no port subnet holds it.
    void set_static_neighbour(const IpAddr& addr, const Mac& mac);
    // Re-reads interface addresses (new ones become local) and the kernel neighbour table:
    // resolves, re-resolves or unresolves adjacencies, adds connected destinations, asks the
    // kernel to resolve what is still unresolved; then flush().
    ApplyResult refresh_neighbours();
    // Writes what is pending (batch and adjacency slots) into the maps.
    ApplyResult flush();

    [[nodiscard]] std::vector<NeighbourStatus> neighbours() const;
    [[nodiscard]] fib::FibCompiler& compiler() noexcept { return comp_; }
    [[nodiscard]] const fib::FibCompiler& compiler() const noexcept { return comp_; }

private:
    XdpBackend& backend_;
    fib::FibCompiler comp_;
};

} // namespace rsfwd::xdp
