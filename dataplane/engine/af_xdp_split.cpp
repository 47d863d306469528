// dataplane/engine/af_xdp_split.cpp — see af_xdp_split.hpp. Compiled with RSFWD_HAVE_XDP (and
// linked with dataplane/xdp and libbpf) when meson found libbpf and clang; stubs otherwise.
#include "dataplane/engine/af_xdp_split.hpp"

#include <stdexcept>

#if defined(RSFWD_HAVE_XDP) && RSFWD_HAVE_XDP
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <unistd.h>

#include "dataplane/xdp/xdp_netlink.hpp"
#include "dataplane/xdp/xdp_split.hpp"

namespace rsfwd::dp::af_xdp {

bool available() noexcept {
    return true;
}

std::string object_path() {
    return xdp::SplitProgram::object_path();
}

bool detach_stale(const std::string& ifname) {
    const unsigned ifindex = ::if_nametoindex(ifname.c_str());
    if (ifindex == 0) return false;
    bpf_xdp_query_opts q{};
    q.sz = sizeof q;
    if (bpf_xdp_query(static_cast<int>(ifindex), 0, &q) != 0 || q.prog_id == 0) return false;
    try {
        (void)xdp::SplitProgram::attached_counters(ifname); // throws unless rsfwd_split
    } catch (const std::exception&) {
        // Someone else's program: the PMD could not attach ours ("XDP program already
        // attached"); say which one instead of guessing whether its owner is gone.
        std::string name = "?";
        if (const int fd = bpf_prog_get_fd_by_id(q.prog_id); fd >= 0) {
            bpf_prog_info info{};
            __u32 len = sizeof info;
            if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) name = info.name;
            ::close(fd);
        }
        throw xdp::XdpError(ifname + " already has XDP program " + std::to_string(q.prog_id) +
                            " (" + name + "), not rsfwd_split: remove it (ip link set dev " +
                            ifname + " xdp off) or give the port xdp_prog=");
    }
    __u32 flags = 0;
    if (q.attach_mode == XDP_ATTACHED_SKB) flags = XDP_FLAGS_SKB_MODE;
    if (q.attach_mode == XDP_ATTACHED_DRV) flags = XDP_FLAGS_DRV_MODE;
    if (q.attach_mode == XDP_ATTACHED_HW) flags = XDP_FLAGS_HW_MODE;
    if (const int err = bpf_xdp_detach(static_cast<int>(ifindex), flags, nullptr); err != 0)
        throw xdp::XdpError("split program on " + ifname +
                            ": detach the stale program: " + std::to_string(err));
    return true;
}

bool add_address(const std::string& ifname, const IpAddr& addr, int len) {
    const auto info = xdp::read_interface(ifname);
    if (!info) throw xdp::XdpError("no interface " + ifname + " in this network namespace");
    for (const auto& a : info->addresses)
        if (a == addr) return false;
    xdp::change_address(info->ifindex, addr, len, true);
    return true;
}

void remove_address(const std::string& ifname, const IpAddr& addr, int len) {
    if (const auto info = xdp::read_interface(ifname))
        xdp::change_address(info->ifindex, addr, len, false);
}

std::vector<KernelNeighbour> kernel_neighbours(const std::vector<std::string>& ifnames) {
    std::vector<std::pair<int, const std::string*>> wanted;
    for (const auto& name : ifnames)
        if (const unsigned ix = ::if_nametoindex(name.c_str()); ix != 0)
            wanted.emplace_back(static_cast<int>(ix), &name);
    std::vector<KernelNeighbour> out;
    if (wanted.empty()) return out;
    for (const auto& n : xdp::read_neighbours())
        for (const auto& [ix, name] : wanted)
            if (n.ifindex == ix) out.push_back({*name, n.addr, n.mac});
    return out;
}

void kick_resolution(const std::string& ifname, const IpAddr& addr) noexcept {
    if (const unsigned ix = ::if_nametoindex(ifname.c_str()); ix != 0)
        xdp::kick_resolution(static_cast<int>(ix), addr);
}

void configure(const std::string& ifname, const std::vector<IpAddr>& local) {
    xdp::SplitConfig cfg;
    cfg.local = local;
    xdp::SplitProgram::configure_attached(ifname, cfg);
}

} // namespace rsfwd::dp::af_xdp

#else // no XDP in this build: net_af_xdp ports keep the PMD's default program

namespace rsfwd::dp::af_xdp {

namespace {
[[noreturn]] void unavailable() {
    throw std::runtime_error("this rsfwd was built without XDP support (libbpf, clang)");
}
} // namespace

bool available() noexcept {
    return false;
}
std::string object_path() {
    unavailable();
}
bool detach_stale(const std::string&) {
    return false;
}
void configure(const std::string&, const std::vector<IpAddr>&) {
    unavailable();
}
bool add_address(const std::string&, const IpAddr&, int) {
    unavailable();
}
void remove_address(const std::string&, const IpAddr&, int) {}
std::vector<KernelNeighbour> kernel_neighbours(const std::vector<std::string>&) {
    return {};
}
void kick_resolution(const std::string&, const IpAddr&) noexcept {}

} // namespace rsfwd::dp::af_xdp

#endif
