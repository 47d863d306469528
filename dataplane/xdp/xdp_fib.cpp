// dataplane/xdp/xdp_fib.cpp — why it is built this way:
// - The kernel owns ARP/ND for XDP ports (XDP_PASS), so the neighbour source is its table, read
//   every refresh; the compiler only learns the result (set_mac / set_unresolved), exactly as the
//   DPDK engine's split ports do (dataplane/engine/exception.cpp, sync_kernel_neighbours).
// - Every kernel neighbour on a port becomes a compiler neighbour with a hosts entry: that is how
//   a connected route (D11, possibly spanning several ports) finds the destination's MAC and port.
//   Neighbours are never removed (the compiler's adjacency indices are stable); one the kernel no
//   longer lists is unresolved, which deletes its hosts entry and punts its traffic.
#include "dataplane/xdp/xdp_fib.hpp"

#include "dataplane/xdp/xdp_abi.h"

#include <algorithm>

namespace rsfwd::xdp {

namespace {

bool link_local6(const IpAddr& a) {
    return a.is_v6() && a.bytes[0] == 0xFE && (a.bytes[1] & 0xC0) == 0x80;
}

} // namespace

std::vector<fib::FibPort> XdpFib::kernel_ports(const XdpBackend& backend) {
    std::vector<fib::FibPort> out;
    for (const auto& ps : backend.ports()) {
        const InterfaceInfo* info = backend.interface(ps.ifindex);
        fib::FibPort fp;
        fp.port_id = static_cast<std::uint16_t>(ps.ifindex); // < RSFWD_XDP_MAX_IFINDEX
        bool have4 = false;
        for (std::size_t i = 0; info && i < info->addresses.size(); ++i) {
            const IpAddr& a = info->addresses[i];
            if (a.is_v4() && !have4) {
                fp.addr4 = a;
                fp.subnet4 = info->subnets[i];
                have4 = true;
            } else if (a.is_v6() && !fp.addr6 && !link_local6(a)) {
                fp.addr6 = a;
                fp.subnet6 = info->subnets[i];
            }
        }
        if (!have4)
            throw XdpError("port " + ps.ifname +
                           ": no IPv4 address (the FIB compiler needs one per port)");
        out.push_back(fp);
    }
    return out;
}

XdpFib::XdpFib(XdpBackend& backend) : XdpFib(backend, kernel_ports(backend)) {}

XdpFib::XdpFib(XdpBackend& backend, std::vector<fib::FibPort> ports)
    : backend_(backend), comp_(std::move(ports), backend.view_names(), RSFWD_XDP_MAX_NEXTHOPS) {}

void XdpFib::set_static_neighbour(const IpAddr& addr, const Mac& mac) {
    const auto adj = comp_.neighbour(addr);
    if (!adj) throw XdpError("static neighbour " + addr.str() + ": no port subnet holds it");
    comp_.set_mac(*adj, mac, true);
    comp_.ensure_host(*adj);
}

ApplyResult XdpFib::refresh_neighbours() {
    backend_.refresh_interfaces();
    const auto& ports = comp_.ports();
    std::vector<bool> seen;
    for (const auto& kn : read_neighbours()) {
        if (!backend_.interface(kn.ifindex)) continue; // not one of our ports
        const auto adj = comp_.neighbour(kn.addr);     // link-local, off-subnet: nullopt
        if (!adj) continue;
        const fib::Neighbour& n = comp_.neighbour_info(*adj);
        if (ports[n.port].port_id != kn.ifindex) continue; // listed on another port than its own
        if (seen.size() <= *adj) seen.resize(*adj + 1, false);
        seen[*adj] = true;
        if (n.is_static) continue;
        if (!n.resolved || n.mac != kn.mac) comp_.set_mac(*adj, kn.mac);
        comp_.ensure_host(*adj);
    }
    for (std::uint32_t a = 0; a < comp_.neighbour_count(); ++a) {
        const fib::Neighbour& n = comp_.neighbour_info(a);
        if (n.is_static) continue;
        if (n.resolved && (a >= seen.size() || !seen[a])) comp_.set_unresolved(a);
        // The kernel resolves on demand only; a next hop nobody has sent to needs a nudge.
        if (!n.resolved) kick_resolution(ports[n.port].port_id, n.ip);
    }
    return flush();
}

ApplyResult XdpFib::flush() {
    const fib::Batch b = comp_.take_batch();
    const std::vector<std::uint32_t> changed = comp_.take_adj_changes();
    return backend_.apply(b, changed, comp_.adjacencies());
}

std::vector<NeighbourStatus> XdpFib::neighbours() const {
    std::vector<NeighbourStatus> out;
    for (std::uint32_t a = 0; a < comp_.neighbour_count(); ++a) {
        const fib::Neighbour& n = comp_.neighbour_info(a);
        NeighbourStatus s;
        s.addr = n.ip;
        s.ifindex = comp_.ports()[n.port].port_id;
        if (n.resolved) s.mac = n.mac;
        s.is_static = n.is_static;
        s.host = n.host;
        out.push_back(s);
    }
    return out;
}

} // namespace rsfwd::xdp
