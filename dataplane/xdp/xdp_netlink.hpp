// dataplane/xdp/xdp_netlink.hpp — the few rtnetlink reads the XDP backend needs: an interface's
// MAC and addresses, and the kernel neighbour table (the `ip addr` / `ip neigh` of this process's
// network namespace).
//
// Thread: control thread. Cost: one netlink dump per call (a syscall round trip per ~16 KiB).
// Errors: throw std::system_error with the operation in the message.
#pragma once

#include "control/model.hpp"
#include "dataplane/fib/mac.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rsfwd::xdp {

using rsfwd::Mac;
using rsfwd::mac_str;
using rsfwd::parse_mac;

struct InterfaceInfo {
    std::string name;
    int ifindex = 0;
    Mac mac{};
    std::vector<Prefix> subnets;   // connected subnets (address masked to its prefix length)
    std::vector<IpAddr> addresses; // the addresses themselves
};

// Reads one interface by name; nullopt when it does not exist.
std::optional<InterfaceInfo> read_interface(const std::string& name);

struct Neighbour {
    int ifindex = 0;
    IpAddr addr;
    Mac mac{};
};

// Usable entries of the kernel neighbour table (REACHABLE, STALE, DELAY, PROBE, PERMANENT,
// NOARP with a link-layer address), both families.
std::vector<Neighbour> read_neighbours();

// Adds (add = true; already present is fine) or deletes an address on an interface: the
// `ip addr add|del ADDR/LEN dev IF` of `rsfwd run --backend xdp`, whose ports are kernel
// interfaces that need the config's addresses (next-hop resolution, ARP, BGP). IPv6: no DAD.
void change_address(int ifindex, const IpAddr& addr, int prefix_len, bool add);

// The interface's driver name (ethtool -i), e.g. "veth"; empty when unknown.
std::string driver_name(const std::string& ifname) noexcept;

// Asks the kernel to resolve `addr` on `ifindex` (sends one empty UDP datagram to the discard
// port through the device): the kernel ARPs / solicits, and a later read_neighbours() sees it.
void kick_resolution(int ifindex, const IpAddr& addr) noexcept;

} // namespace rsfwd::xdp
