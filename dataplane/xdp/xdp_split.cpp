// dataplane/xdp/xdp_split.cpp — loads/configures rsfwd_split.bpf.c.
//
// Why configure_attached() goes through the kernel's program/map ids: DPDK's net_af_xdp loads the
// object from a path with its own libbpf/libxdp handle, so the maps it creates are not ours and
// are not pinned. The only handle we share is the interface: the attached program's id leads to
// its map ids, and the map ids to fds in this process. No bpffs, nothing left behind.
#include "dataplane/xdp/xdp_split.hpp"

#include "dataplane/xdp/rsfwd_split_bpf.hpp" // generated: embedded::rsfwd_split_bpf_o
#include "dataplane/xdp/xdp_abi.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>

namespace rsfwd::xdp {

std::string_view to_string(SplitCounter c) noexcept {
    static constexpr std::string_view names[] = {
        "rx", "pass_arp", "pass_bgp", "pass_icmp", "pass_local", "pass_unconfigured", "redirect"};
    static_assert(std::size(names) == split_counter_count);
    static_assert(split_counter_count == RSFWD_S_COUNT);
    auto i = static_cast<std::size_t>(c);
    return i < split_counter_count ? names[i] : "?";
}

namespace {

[[noreturn]] void fail(const std::string& what, int err) {
    throw XdpError(what + ": " + std::strerror(err < 0 ? -err : err));
}

struct MapFds {
    int cfg = -1, local = -1, counters = -1;
    void close_all() {
        for (int fd : {cfg, local, counters})
            if (fd >= 0) ::close(fd);
    }
};

void fill(int fd_cfg, int fd_local, const SplitConfig& cfg, const std::string& ifname) {
    // Local addresses first, the CONFIGURED flag last: the program never runs half-configured.
    for (const auto& a : cfg.local) {
        rsfwd_local_key k{};
        k.family = a.is_v4() ? 4 : 6;
        std::memcpy(k.addr, a.bytes.data(), a.is_v4() ? 4 : 16);
        __u8 one = 1;
        if (bpf_map_update_elem(fd_local, &k, &one, BPF_ANY) != 0)
            fail("split program on " + ifname + ": add local address " + a.str(), errno);
    }
    rsfwd_split_cfg c{};
    c.flags = RSFWD_SPLIT_CONFIGURED | (cfg.pass_all_local ? RSFWD_SPLIT_PASS_ALL_LOCAL : 0u);
    c.bgp_port = cfg.bgp_port;
    __u32 zero = 0;
    if (bpf_map_update_elem(fd_cfg, &zero, &c, BPF_ANY) != 0)
        fail("split program on " + ifname + ": write split_cfg", errno);
}

SplitCounters read_counters(int fd) {
    SplitCounters out{};
    int ncpu = libbpf_num_possible_cpus();
    if (ncpu <= 0) return out;
    std::vector<std::uint64_t> per_cpu(static_cast<std::size_t>(ncpu));
    for (__u32 i = 0; i < split_counter_count; ++i) {
        if (bpf_map_lookup_elem(fd, &i, per_cpu.data()) != 0) continue;
        for (auto v : per_cpu) out[i] += v;
    }
    return out;
}

// The maps of the XDP program attached to `ifname`, looked up through kernel ids.
MapFds attached_maps(const std::string& ifname) {
    unsigned ifindex = ::if_nametoindex(ifname.c_str());
    if (ifindex == 0) fail("split program: interface " + ifname, ENODEV);
    bpf_xdp_query_opts q{};
    q.sz = sizeof q;
    if (int err = bpf_xdp_query(static_cast<int>(ifindex), 0, &q); err != 0)
        fail("split program on " + ifname + ": query XDP", err);
    __u32 prog_id = q.prog_id ? q.prog_id : (q.drv_prog_id ? q.drv_prog_id : q.skb_prog_id);
    if (prog_id == 0) throw XdpError("split program on " + ifname + ": no XDP program attached");
    int prog_fd = bpf_prog_get_fd_by_id(prog_id);
    if (prog_fd < 0)
        fail("split program on " + ifname + ": open program id " + std::to_string(prog_id), errno);
    std::array<__u32, 16> ids{};
    bpf_prog_info info{};
    info.nr_map_ids = ids.size();
    info.map_ids = reinterpret_cast<__u64>(ids.data());
    __u32 len = sizeof info;
    int rc = bpf_obj_get_info_by_fd(prog_fd, &info, &len);
    int err = errno;
    ::close(prog_fd);
    if (rc != 0) fail("split program on " + ifname + ": program info", err);
    MapFds m;
    for (__u32 i = 0; i < std::min<__u32>(info.nr_map_ids, ids.size()); ++i) {
        int fd = bpf_map_get_fd_by_id(ids[i]);
        if (fd < 0) continue;
        bpf_map_info mi{};
        __u32 mlen = sizeof mi;
        if (bpf_obj_get_info_by_fd(fd, &mi, &mlen) == 0) {
            std::string name = mi.name;
            if (name == "split_cfg" && m.cfg < 0) {
                m.cfg = fd;
                continue;
            }
            if (name == "split_local" && m.local < 0) {
                m.local = fd;
                continue;
            }
            if (name == "split_counters" && m.counters < 0) {
                m.counters = fd;
                continue;
            }
        }
        ::close(fd);
    }
    if (m.cfg < 0 || m.local < 0 || m.counters < 0) {
        m.close_all();
        throw XdpError("split program on " + ifname + ": the attached XDP program (id " +
                       std::to_string(prog_id) + ") is not rsfwd_split");
    }
    return m;
}

} // namespace

std::unique_ptr<SplitProgram> SplitProgram::attach(const std::string& ifname,
                                                   const SplitConfig& cfg, AttachMode mode) {
    unsigned ifindex = ::if_nametoindex(ifname.c_str());
    if (ifindex == 0) fail("split program: interface " + ifname, ENODEV);
    std::unique_ptr<SplitProgram> sp(new SplitProgram());
    bpf_object_open_opts opts{};
    opts.sz = sizeof opts;
    opts.object_name = "rsfwd_split";
    sp->obj_ =
        bpf_object__open_mem(embedded::rsfwd_split_bpf_o, embedded::rsfwd_split_bpf_o_size, &opts);
    if (!sp->obj_) fail("open rsfwd_split.bpf.o", errno);
    if (int err = bpf_object__load(sp->obj_); err != 0) fail("load rsfwd_split.bpf.o", err);
    sp->fd_xsks_ = bpf_object__find_map_fd_by_name(sp->obj_, "xsks_map");
    sp->fd_cfg_ = bpf_object__find_map_fd_by_name(sp->obj_, "split_cfg");
    sp->fd_local_ = bpf_object__find_map_fd_by_name(sp->obj_, "split_local");
    sp->fd_counters_ = bpf_object__find_map_fd_by_name(sp->obj_, "split_counters");
    bpf_program* prog = bpf_object__find_program_by_name(sp->obj_, "xdp_prog");
    if (!prog || sp->fd_xsks_ < 0 || sp->fd_cfg_ < 0 || sp->fd_local_ < 0 || sp->fd_counters_ < 0)
        fail("rsfwd_split.bpf.o: missing program or map", ENOENT);
    fill(sp->fd_cfg_, sp->fd_local_, cfg, ifname);

    auto try_attach = [&](__u32 flags) {
        bpf_link_create_opts lopts{};
        lopts.sz = sizeof lopts;
        lopts.flags = flags;
        return bpf_link_create(bpf_program__fd(prog), static_cast<int>(ifindex), BPF_XDP, &lopts);
    };
    if (mode != AttachMode::generic) {
        sp->link_fd_ = try_attach(XDP_FLAGS_DRV_MODE);
        sp->mode_ = AttachMode::native;
        if (sp->link_fd_ < 0 && mode == AttachMode::native)
            fail("split program on " + ifname + ": attach in native mode", errno);
    }
    if (sp->link_fd_ < 0) {
        sp->link_fd_ = try_attach(XDP_FLAGS_SKB_MODE);
        sp->mode_ = AttachMode::generic;
        if (sp->link_fd_ < 0) fail("split program on " + ifname + ": attach XDP", errno);
    }
    return sp;
}

SplitProgram::~SplitProgram() {
    if (link_fd_ >= 0) ::close(link_fd_);
    if (obj_) bpf_object__close(obj_);
}

SplitCounters SplitProgram::counters() const {
    return read_counters(fd_counters_);
}

std::string SplitProgram::object_path() {
    static std::once_flag once;
    static std::string path;
    std::call_once(once, [] {
        int fd = ::memfd_create("rsfwd_split.bpf.o", MFD_CLOEXEC);
        if (fd < 0) fail("memfd for rsfwd_split.bpf.o", errno);
        const unsigned char* p = embedded::rsfwd_split_bpf_o;
        std::size_t left = embedded::rsfwd_split_bpf_o_size;
        while (left > 0) {
            ssize_t n = ::write(fd, p, left);
            if (n <= 0) fail("write rsfwd_split.bpf.o to memfd", errno);
            p += n;
            left -= static_cast<std::size_t>(n);
        }
        path = "/proc/self/fd/" + std::to_string(fd); // kept open for the process lifetime
    });
    return path;
}

void SplitProgram::write_object(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) fail("write " + path, errno);
    bool ok = std::fwrite(embedded::rsfwd_split_bpf_o, 1, embedded::rsfwd_split_bpf_o_size, f) ==
              embedded::rsfwd_split_bpf_o_size;
    ok = (std::fclose(f) == 0) && ok;
    if (!ok) fail("write " + path, errno);
}

void SplitProgram::configure_attached(const std::string& ifname, const SplitConfig& cfg) {
    MapFds m = attached_maps(ifname);
    try {
        fill(m.cfg, m.local, cfg, ifname);
    } catch (...) {
        m.close_all();
        throw;
    }
    m.close_all();
}

SplitCounters SplitProgram::attached_counters(const std::string& ifname) {
    MapFds m = attached_maps(ifname);
    auto c = read_counters(m.counters);
    m.close_all();
    return c;
}

} // namespace rsfwd::xdp
