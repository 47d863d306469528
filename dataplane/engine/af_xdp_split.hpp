// dataplane/engine/af_xdp_split.hpp — the engine's side of the AF_XDP control/data split (issue 9).
//
// What: for `net_af_xdp` ports the engine hands DPDK's PMD rsfwd's split program
// (dataplane/xdp/rsfwd_split.bpf.c) instead of the PMD's default one, so ARP, BGP and ICMP to
// our addresses reach the kernel of the very interface DPDK forwards on (docs/xdp.md, "AF_XDP
// ports in the DPDK engine"). These functions are what the engine needs from dataplane/xdp.
// Builds without XDP (no libbpf or clang at configure time) get stubs: available() is false and
// net_af_xdp ports keep the PMD's default program.
// Thread: control thread only. Errors: std::runtime_error (xdp::XdpError) with the interface.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "control/model.hpp"

namespace rsfwd::dp::af_xdp {

// True when this build can load the split program.
[[nodiscard]] bool available() noexcept;

// The split program's object file for the PMD's `xdp_prog=` devarg ("/proc/self/fd/N").
[[nodiscard]] std::string object_path();

// Detaches an rsfwd_split program left on `ifname` by a killed run; true when one was there.
// Throws when another program is attached: the PMD could not attach ours, and the message says
// which one and how to remove it.
bool detach_stale(const std::string& ifname);

// Tells the program attached on `ifname` which destination addresses are ours (to the kernel).
void configure(const std::string& ifname, const std::vector<IpAddr>& local);

// Puts addr/len on the kernel interface unless it is there; true when it added it.
bool add_address(const std::string& ifname, const IpAddr& addr, int len);
void remove_address(const std::string& ifname, const IpAddr& addr, int len);

// The kernel's usable neighbour entries (both families) on the named interfaces: the next-hop
// MACs of split ports, whose ARP/ND replies reach the kernel, not the engine. Stub: none.
struct KernelNeighbour {
    std::string ifname;
    IpAddr addr;
    std::array<std::uint8_t, 6> mac{};
};
[[nodiscard]] std::vector<KernelNeighbour>
kernel_neighbours(const std::vector<std::string>& ifnames);

// Asks the kernel to resolve `addr` on `ifname` (it ARPs / solicits; a later
// kernel_neighbours() sees the answer). Never throws; stub: no-op.
void kick_resolution(const std::string& ifname, const IpAddr& addr) noexcept;

} // namespace rsfwd::dp::af_xdp
