// dataplane/xdp/xdp_split.hpp — the control/data split program for AF_XDP ports
// (rsfwd_split.bpf.c): ARP, BGP (TCP 179 to/from our addresses), ICMP to our addresses and IPv6
// neighbour discovery stay with the kernel; everything else goes to xsks_map[rx_queue].
//
// Two ways to use it:
// 1. DPDK's net_af_xdp PMD loads it: pass `xdp_prog=<object_path()>` in the vdev devargs
//    (e.g. `--vdev net_af_xdp0,iface=eth1,start_queue=0,queue_count=1,xdp_prog=/proc/self/fd/7`),
//    start the port, then call configure_attached(iface, cfg) to fill the PMD's copy of the maps.
//    Until then the program passes everything to the kernel (BGP is never stolen).
// 2. rsfwd attaches it itself (SplitProgram::attach, a bpf_link) and hands xsks_map_fd() to an
//    AF_XDP user. The link dies with the process.
//
// Thread: control thread. Errors: XdpError (xdp_backend.hpp) with the interface and the reason.
#pragma once

#include "control/model.hpp"
#include "dataplane/xdp/xdp_backend.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

struct bpf_object;

namespace rsfwd::xdp {

struct SplitConfig {
    std::vector<IpAddr> local; // rsfwd's addresses on the port
    std::uint16_t bgp_port = 179;
    bool pass_all_local = false; // also pass any other traffic to `local` (ssh, BFD, ...)
};

enum class SplitCounter : std::uint32_t {
    rx,
    pass_arp,
    pass_bgp,
    pass_icmp,
    pass_local,
    pass_unconfigured,
    redirect,
    count_
};
inline constexpr std::size_t split_counter_count = static_cast<std::size_t>(SplitCounter::count_);
std::string_view to_string(SplitCounter c) noexcept;
using SplitCounters = std::array<std::uint64_t, split_counter_count>;

class SplitProgram {
public:
    // Way 2: load our own copy and attach it to `ifname` (bpf_link), configured with `cfg`.
    static std::unique_ptr<SplitProgram> attach(const std::string& ifname, const SplitConfig& cfg,
                                                AttachMode mode = AttachMode::automatic);
    ~SplitProgram(); // detaches
    SplitProgram(const SplitProgram&) = delete;
    SplitProgram& operator=(const SplitProgram&) = delete;

    [[nodiscard]] int xsks_map_fd() const noexcept { return fd_xsks_; }
    [[nodiscard]] AttachMode mode() const noexcept { return mode_; }
    [[nodiscard]] SplitCounters counters() const;

    // Way 1 (DPDK xdp_prog=): a path to the embedded object. The first call copies it into a
    // memfd and returns "/proc/self/fd/N" (valid in this process only, no file left behind).
    static std::string object_path();
    // Writes the embedded object to `path` (for tools outside this process).
    static void write_object(const std::string& path);
    // Finds the XDP program attached to `ifname` (any attach mode), checks it is ours (maps
    // split_cfg and split_local), and configures it. Throws when no such program is attached.
    static void configure_attached(const std::string& ifname, const SplitConfig& cfg);
    static SplitCounters attached_counters(const std::string& ifname);

private:
    SplitProgram() = default;
    bpf_object* obj_ = nullptr;
    int link_fd_ = -1;
    int fd_xsks_ = -1, fd_cfg_ = -1, fd_local_ = -1, fd_counters_ = -1;
    AttachMode mode_ = AttachMode::automatic;
};

} // namespace rsfwd::xdp
