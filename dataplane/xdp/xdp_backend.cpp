// dataplane/xdp/xdp_backend.cpp — writes the FIB compiler's output into rsfwd_fwd.bpf.c's maps.
//
// Why these choices:
// - The object is embedded in the binary (embed_object.py) and opened from memory: no .o to find
//   at run time, no version skew between loader and program.
// - Attachment is a bpf_link (BPF_LINK_CREATE, attach type BPF_XDP), never the netlink
//   "set XDP fd" call: a link belongs to its file descriptor, so when the process dies for any
//   reason the kernel detaches the program and, with no pin anywhere, frees every map.
// - No second compiler: groups, adjacencies and the per-view net changes come from
//   control/fib/compiler (the DPDK engine's, too), so both backends forward the same way.
// - Write order inside apply() mirrors the engine's publication: slots and groups before the
//   trie entries that refer to them; a replaced route is one trie update (old or new, never a
//   hole). The compiler recycles a freed group id only from the next batch on, after this batch
//   has removed every trie entry that used it.
// - A full (bulk) table goes into a fresh trie swapped in with one outer-map update: a packet
//   sees the whole old table or the whole new one, as a DPDK worker sees one generation.

#include "dataplane/xdp/xdp_backend.hpp"

#include "dataplane/xdp/rsfwd_fwd_bpf.hpp" // generated: embedded::rsfwd_fwd_bpf_o
#include "dataplane/xdp/xdp_abi.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

namespace rsfwd::xdp {

std::string_view to_string(AttachMode m) noexcept {
    switch (m) {
    case AttachMode::automatic:
        return "auto";
    case AttachMode::native:
        return "native";
    case AttachMode::generic:
        return "generic";
    }
    return "?";
}

std::optional<AttachMode> parse_attach_mode(std::string_view s) noexcept {
    if (s == "auto") return AttachMode::automatic;
    if (s == "native" || s == "drv") return AttachMode::native;
    if (s == "generic" || s == "skb") return AttachMode::generic;
    return std::nullopt;
}

std::string_view to_string(FwdCounter c) noexcept {
    static constexpr std::string_view names[] = {
        "rx",           "tx",          "pass_arp",   "pass_local",    "pass_control",
        "pass_no_port", "ttl_expired", "unresolved", "drop_no_route", "drop_bad_header",
        "drop_no_view", "drop_tx_port"};
    static_assert(std::size(names) == fwd_counter_count);
    static_assert(fwd_counter_count == RSFWD_C_COUNT);
    auto i = static_cast<std::size_t>(c);
    return i < fwd_counter_count ? names[i] : "?";
}

namespace {

std::string errstr(int err) {
    return std::strerror(err < 0 ? -err : err);
}

[[noreturn]] void fail(const std::string& what, int err) {
    throw XdpError(what + ": " + errstr(err));
}

int libbpf_print(enum libbpf_print_level level, const char* fmt, va_list args) {
    // libbpf's debug output is the verifier log: useful when loading fails, noise otherwise.
    static const bool verbose = std::getenv("RSFWD_XDP_VERBOSE") != nullptr;
    if (level == LIBBPF_DEBUG && !verbose) return 0;
    // One log for everything: libbpf's lines go to spdlog at its level.
    char buf[1024];
    const int n = std::vsnprintf(buf, sizeof buf, fmt, args);
    std::string_view line(
        buf, n < 0 ? 0 : std::min<std::size_t>(static_cast<std::size_t>(n), sizeof buf - 1));
    while (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    const auto lvl = level == LIBBPF_WARN   ? spdlog::level::warn
                     : level == LIBBPF_INFO ? spdlog::level::info
                                            : spdlog::level::debug;
    spdlog::log(lvl, "libbpf: {}", line);
    return n;
}

int map_fd(bpf_object* obj, const char* name) {
    int fd = bpf_object__find_map_fd_by_name(obj, name);
    if (fd < 0) fail(std::string("rsfwd_fwd.bpf.o has no map ") + name, fd);
    return fd;
}

void update(int fd, const void* key, const void* value, const char* what) {
    if (bpf_map_update_elem(fd, key, value, BPF_ANY) != 0)
        fail(std::string("map update ") + what, errno);
}

rsfwd_local_key local_key(const IpAddr& a) {
    rsfwd_local_key k{};
    k.family = a.is_v4() ? 4 : 6;
    std::memcpy(k.addr, a.bytes.data(), a.is_v4() ? 4 : 16);
    return k;
}

rsfwd_lpm4_key lpm4_key(std::uint32_t addr_host, unsigned len) {
    rsfwd_lpm4_key k{};
    k.prefixlen = len;
    for (unsigned i = 0; i < 4; ++i) k.addr[i] = static_cast<__u8>(addr_host >> (24 - 8 * i));
    return k;
}

rsfwd_lpm6_key lpm6_key(const lpm::Addr6& addr, unsigned len) {
    rsfwd_lpm6_key k{};
    k.prefixlen = len;
    std::memcpy(k.addr, addr.data(), 16);
    return k;
}

// The "any port" key (ifindex 0, xdp_abi.h): connected trie entries always have id 0, because
// the compiler's adjacency, not the route, names the destination's port.
rsfwd_neigh_key neigh_key(std::uint32_t family, const std::array<std::uint8_t, 16>& addr) {
    rsfwd_neigh_key k{};
    k.family = family;
    std::memcpy(k.addr, addr.data(), family == 4 ? 4 : 16);
    return k;
}

} // namespace

XdpBackend::XdpBackend() {
    libbpf_set_print(libbpf_print);
    bpf_object_open_opts opts{};
    opts.sz = sizeof opts;
    opts.object_name = "rsfwd_fwd";
    obj_ = bpf_object__open_mem(embedded::rsfwd_fwd_bpf_o, embedded::rsfwd_fwd_bpf_o_size, &opts);
    if (!obj_) fail("open rsfwd_fwd.bpf.o", errno);
    if (int err = bpf_object__load(obj_); err != 0) {
        bpf_object__close(obj_);
        obj_ = nullptr;
        fail("load rsfwd_fwd.bpf.o (set RSFWD_XDP_VERBOSE=1 for the verifier log)", err);
    }
    bpf_program* prog = bpf_object__find_program_by_name(obj_, "rsfwd_fwd");
    prog_fd_ = prog ? bpf_program__fd(prog) : -1;
    if (prog_fd_ < 0) fail("rsfwd_fwd.bpf.o has no program rsfwd_fwd", ENOENT);
    fd_views_v4_ = map_fd(obj_, "views_v4");
    fd_views_v6_ = map_fd(obj_, "views_v6");
    fd_ports_ = map_fd(obj_, "ports");
    fd_nexthops_ = map_fd(obj_, "nexthops");
    fd_groups_ = map_fd(obj_, "ecmp_groups");
    fd_neigh_ = map_fd(obj_, "neighbours");
    fd_local_ = map_fd(obj_, "local_addrs");
    fd_tx_ = map_fd(obj_, "tx_ports");
    fd_counters_ = map_fd(obj_, "fwd_counters");
}

XdpBackend::~XdpBackend() {
    detach_all();
    for (auto& v : views_) {
        if (v.trie_v4 >= 0) ::close(v.trie_v4);
        if (v.trie_v6 >= 0) ::close(v.trie_v6);
    }
    if (obj_) bpf_object__close(obj_);
}

void XdpBackend::detach_all() noexcept {
    for (auto& p : ports_) {
        if (p.link_fd >= 0) {
            ::close(p.link_fd); // last reference to the link: the kernel detaches the program
            p.link_fd = -1;
        }
        __u32 key = static_cast<__u32>(p.status.ifindex);
        rsfwd_port off{};
        (void)bpf_map_update_elem(fd_ports_, &key, &off, BPF_ANY);
        (void)bpf_map_delete_elem(fd_tx_, &key);
    }
    ports_.clear();
}

PortStatus XdpBackend::add_port(const std::string& ifname, const ViewName& view, AttachMode mode) {
    for (const auto& p : ports_)
        if (p.status.ifname == ifname) throw XdpError("port " + ifname + ": already attached");
    auto info = read_interface(ifname);
    if (!info) throw XdpError("port " + ifname + ": no such interface in this network namespace");
    if (info->ifindex >= static_cast<int>(RSFWD_XDP_MAX_IFINDEX))
        throw XdpError("port " + ifname + ": ifindex " + std::to_string(info->ifindex) +
                       " above the port map size " + std::to_string(RSFWD_XDP_MAX_IFINDEX));
    const std::size_t vid = add_view(view);

    // Maps first, program last: the first packet the program sees finds its port configured.
    __u32 key = static_cast<__u32>(info->ifindex);
    rsfwd_port pv{};
    pv.view = static_cast<__u32>(vid);
    pv.flags = RSFWD_PORT_ENABLED;
    std::memcpy(pv.mac, info->mac.data(), 6);
    update(fd_ports_, &key, &pv, "ports");
    __u32 devval = key;
    update(fd_tx_, &key, &devval, "tx_ports");
    for (const auto& a : info->addresses) {
        auto lk = local_key(a);
        __u8 one = 1;
        update(fd_local_, &lk, &one, "local_addrs");
    }

    auto try_attach = [&](__u32 flags) {
        bpf_link_create_opts lopts{};
        lopts.sz = sizeof lopts;
        lopts.flags = flags;
        return bpf_link_create(prog_fd_, info->ifindex, BPF_XDP, &lopts);
    };
    int link = -1;
    AttachMode got = mode;
    // veth accepts native XDP, but frames redirected into a veth are dropped unless its peer
    // has an XDP program or GRO on — which we cannot see from here. auto stays safe: generic.
    bool veth = driver_name(ifname) == "veth";
    if (mode == AttachMode::native || (mode == AttachMode::automatic && !veth)) {
        link = try_attach(XDP_FLAGS_DRV_MODE);
        got = AttachMode::native;
        if (link < 0 && mode == AttachMode::native)
            fail("port " + ifname + ": attach in native mode", errno);
    }
    if (link < 0) {
        link = try_attach(XDP_FLAGS_SKB_MODE);
        got = AttachMode::generic;
        if (link < 0) {
            int err = errno;
            rsfwd_port off{};
            (void)bpf_map_update_elem(fd_ports_, &key, &off, BPF_ANY);
            (void)bpf_map_delete_elem(fd_tx_, &key);
            fail("port " + ifname + ": attach XDP (is another XDP program attached?)", err);
        }
    }
    Port p;
    p.status = PortStatus{ifname, info->ifindex, view, got};
    p.info = std::move(*info);
    p.link_fd = link;
    ports_.push_back(std::move(p));
    return ports_.back().status;
}

std::size_t XdpBackend::add_view(const ViewName& name) {
    for (std::size_t i = 0; i < views_.size(); ++i)
        if (views_[i].name == name) return i;
    if (views_.size() >= RSFWD_XDP_MAX_VIEWS)
        throw XdpError("view " + name + ": more than " + std::to_string(RSFWD_XDP_MAX_VIEWS) +
                       " views");
    View v;
    v.name = name;
    v.trie_v4 = new_trie(false, name);
    try {
        v.trie_v6 = new_trie(true, name);
    } catch (...) {
        ::close(v.trie_v4);
        throw;
    }
    views_.push_back(v);
    const std::size_t id = views_.size() - 1;
    __u32 key = static_cast<__u32>(id);
    __u32 fd4 = static_cast<__u32>(v.trie_v4), fd6 = static_cast<__u32>(v.trie_v6);
    if (bpf_map_update_elem(fd_views_v4_, &key, &fd4, BPF_ANY) != 0 ||
        bpf_map_update_elem(fd_views_v6_, &key, &fd6, BPF_ANY) != 0) {
        int err = errno;
        ::close(v.trie_v4);
        ::close(v.trie_v6);
        views_.pop_back();
        fail("view " + name + ": insert tries into views_v4/views_v6", err);
    }
    return id;
}

std::vector<ViewName> XdpBackend::view_names() const {
    std::vector<ViewName> out;
    for (const auto& v : views_) out.push_back(v.name);
    return out;
}

int XdpBackend::new_trie(bool v6, const ViewName& name) const {
    bpf_map_create_opts mopts{};
    mopts.sz = sizeof mopts;
    mopts.map_flags = BPF_F_NO_PREALLOC;
    // Same type, sizes, flags and max_entries as the inner-map templates of rsfwd_fwd.bpf.c.
    int fd = v6 ? bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "view_v6", sizeof(rsfwd_lpm6_key),
                                 sizeof(rsfwd_route), RSFWD_XDP_MAX_ROUTES, &mopts)
                : bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "view_v4", sizeof(rsfwd_lpm4_key),
                                 sizeof(rsfwd_route), RSFWD_XDP_MAX_ROUTES, &mopts);
    if (fd < 0) fail("view " + name + ": create " + (v6 ? "IPv6" : "IPv4") + " LPM trie", errno);
    return fd;
}

void XdpBackend::swap_trie(std::size_t view, bool v6, int fd) {
    __u32 key = static_cast<__u32>(view);
    __u32 val = static_cast<__u32>(fd);
    if (bpf_map_update_elem(v6 ? fd_views_v6_ : fd_views_v4_, &key, &val, BPF_ANY) != 0) {
        int err = errno;
        ::close(fd);
        fail("view " + views_[view].name + ": swap in the rebuilt trie", err);
    }
    int& slot = v6 ? views_[view].trie_v6 : views_[view].trie_v4;
    ::close(slot); // the kernel frees the old trie once no program run holds it (RCU)
    slot = fd;
}

const XdpBackend::Port* XdpBackend::port_by_ifindex(int ifindex) const noexcept {
    for (const auto& p : ports_)
        if (p.status.ifindex == ifindex) return &p;
    return nullptr;
}

const InterfaceInfo* XdpBackend::interface(int ifindex) const noexcept {
    const Port* p = port_by_ifindex(ifindex);
    return p ? &p->info : nullptr;
}

// ---- Batch → maps -----------------------------------------------------------------------------

struct XdpBackend::Writer {
    ApplyResult r;
    void update(int fd, const void* key, const void* value, const char* what) {
        if (bpf_map_update_elem(fd, key, value, BPF_ANY) == 0) {
            ++r.writes;
            return;
        }
        failed(what, errno);
    }
    void erase(int fd, const void* key, const char* what) {
        if (bpf_map_delete_elem(fd, key) == 0 || errno == ENOENT) {
            ++r.writes;
            return;
        }
        failed(what, errno);
    }
    void failed(const std::string& what, int err) {
        if (r.failed++ == 0) r.first_error = what + ": " + errstr(err);
    }
    // An index the compiler handed out beyond an array map's size.
    void full(const char* what, std::uint32_t id, std::uint32_t size) {
        failed(std::string(what) + " " + std::to_string(id) + ": beyond the map's " +
                   std::to_string(size) + " entries",
               ENOSPC);
    }
};

// A view table value (compiler group id) → the trie value; false: no trie entry (group_local,
// see the header).
bool XdpBackend::trie_value(fib::nh_t nh, rsfwd_route& out) const noexcept {
    switch (nh) {
    case fib::group_local:
        return false;
    case fib::group_connected:
        out = rsfwd_route{RSFWD_ROUTE_CONNECTED, 0};
        return true;
    case fib::group_blackhole:
        out = rsfwd_route{RSFWD_ROUTE_BLACKHOLE, 0};
        return true;
    default:
        break;
    }
    const GroupShadow g = nh < groups_.size() ? groups_[nh] : GroupShadow{};
    if (g.n == 0)
        out = rsfwd_route{RSFWD_ROUTE_BLACKHOLE, 0}; // a group never written: cannot happen
    else if (g.n == 1)
        out = rsfwd_route{RSFWD_ROUTE_NEXTHOP, g.first};
    else
        out = rsfwd_route{RSFWD_ROUTE_GROUP, static_cast<__u32>(nh)};
    return true;
}

void XdpBackend::write_adjacency(Writer& w, std::uint32_t a, std::uint64_t slot) {
    if (a >= RSFWD_XDP_MAX_NEXTHOPS) return w.full("adjacency", a, RSFWD_XDP_MAX_NEXTHOPS);
    rsfwd_nexthop v{};
    const Port* p = port_by_ifindex(fib::adj_port(slot));
    if (fib::adj_port(slot) != fib::adj_unresolved && p) {
        const Mac mac = fib::adj_mac(slot);
        v.ifindex = static_cast<__u32>(p->status.ifindex);
        v.flags = RSFWD_NH_RESOLVED;
        std::memcpy(v.dmac, mac.data(), 6);
        std::memcpy(v.smac, p->info.mac.data(), 6);
    }
    __u32 key = a;
    w.update(fd_nexthops_, &key, &v, "nexthops");
}

void XdpBackend::write_host(Writer& w, std::uint32_t a, std::uint64_t slot) {
    auto it = hosts_.find(a);
    if (it == hosts_.end()) return;
    const rsfwd_neigh_key key = neigh_key(it->second.family, it->second.addr);
    const int ifindex = fib::adj_port(slot);
    if (fib::adj_port(slot) == fib::adj_unresolved || !port_by_ifindex(ifindex)) {
        w.erase(fd_neigh_, &key, "neighbours"); // no entry: the program punts (unresolved)
        return;
    }
    rsfwd_neigh val{};
    const Mac mac = fib::adj_mac(slot);
    std::memcpy(val.mac, mac.data(), 6);
    val.ifindex = static_cast<__u32>(ifindex);
    w.update(fd_neigh_, &key, &val, "neighbours");
}

void XdpBackend::write_tables(Writer& w, std::size_t view, const fib::TableOps& o) {
    const View& v = views_[view];
    auto put4 = [&](int fd, const lpm::Route4& r) {
        rsfwd_route val{};
        if (!trie_value(r.nh, val)) return;
        const auto k = lpm4_key(r.addr, r.len);
        w.update(fd, &k, &val, "IPv4 LPM trie");
    };
    auto put6 = [&](int fd, const lpm::Route6& r) {
        rsfwd_route val{};
        if (!trie_value(r.nh, val)) return;
        const auto k = lpm6_key(r.addr, r.len);
        w.update(fd, &k, &val, "IPv6 LPM trie");
    };
    if (o.full4) {
        const int fd = new_trie(false, v.name);
        for (const auto& r : o.full4->routes()) put4(fd, r);
        swap_trie(view, false, fd);
    }
    if (o.full6) {
        const int fd = new_trie(true, v.name);
        for (const auto& r : o.full6->routes()) put6(fd, r);
        swap_trie(view, true, fd);
    }
    // Removals first: the compiler's net ops never hold one prefix twice, so order between
    // removes and upserts does not matter for correctness; removing first keeps the trie small.
    for (const auto& r : o.rm4) {
        const auto k = lpm4_key(r.addr, r.len);
        w.erase(v.trie_v4, &k, "IPv4 LPM trie delete");
    }
    for (const auto& r : o.rm6) {
        const auto k = lpm6_key(r.addr, r.len);
        w.erase(v.trie_v6, &k, "IPv6 LPM trie delete");
    }
    for (const auto& r : o.up4) put4(v.trie_v4, r);
    for (const auto& r : o.up6) put6(v.trie_v6, r);
}

ApplyResult XdpBackend::apply(const fib::Batch& b, std::span<const std::uint32_t> changed_adj,
                              const fib::AdjTable& adj) {
    Writer w;
    for (std::uint32_t a : changed_adj) write_adjacency(w, a, adj.load(a));
    for (const auto& [id, g] : b.group_writes) {
        if (id >= groups_.size()) groups_.resize(id + 1);
        groups_[id] = GroupShadow{g.n, g.adj[0]};
        if (g.n < 2) continue; // a one-member group is a NEXTHOP trie value, never looked up
        if (id >= RSFWD_XDP_MAX_GROUPS) {
            w.full("ECMP group", id, RSFWD_XDP_MAX_GROUPS);
            continue;
        }
        rsfwd_group v{};
        v.count = g.n;
        for (unsigned i = 0; i < g.n; ++i) v.nh[i] = g.adj[i];
        __u32 key = id;
        w.update(fd_groups_, &key, &v, "ecmp_groups");
    }
    // Hosts (connected destinations): remember each entry's key, then write it from its slot.
    auto host = [&](std::uint32_t a, std::uint32_t family, const std::uint8_t* addr) {
        HostKey k;
        k.family = family;
        std::memcpy(k.addr.data(), addr, family == 4 ? 4 : 16);
        hosts_[a] = k;
        write_host(w, a, adj.load(a));
    };
    for (const auto& r : b.hosts.up4) {
        std::array<std::uint8_t, 4> a4{};
        for (unsigned i = 0; i < 4; ++i) a4[i] = static_cast<std::uint8_t>(r.addr >> (24 - 8 * i));
        host(r.nh, 4, a4.data());
    }
    for (const auto& r : b.hosts.up6) host(r.nh, 6, r.addr.data());
    for (std::uint32_t a : changed_adj) write_host(w, a, adj.load(a));
    for (std::size_t v = 0; v < b.views.size(); ++v) {
        if (b.views[v].empty()) continue;
        if (v >= views_.size()) {
            w.failed("view id " + std::to_string(v) + ": no such view in the XDP backend", EINVAL);
            continue;
        }
        try {
            write_tables(w, v, b.views[v]);
        } catch (const XdpError& e) { // a trie could not be created or swapped in
            if (w.r.failed++ == 0) w.r.first_error = e.what();
        }
    }
    return w.r;
}

// ---- the rest ---------------------------------------------------------------------------------

void XdpBackend::add_local_address(const IpAddr& addr) {
    auto lk = local_key(addr);
    __u8 one = 1;
    update(fd_local_, &lk, &one, "local_addrs");
}

void XdpBackend::refresh_interfaces() {
    for (auto& p : ports_) {
        auto info = read_interface(p.status.ifname);
        if (!info || info->ifindex != p.status.ifindex) continue;
        for (const auto& a : info->addresses)
            if (std::find(p.info.addresses.begin(), p.info.addresses.end(), a) ==
                p.info.addresses.end())
                add_local_address(a);
        p.info = std::move(*info);
    }
}

FwdCounters XdpBackend::counters() const {
    FwdCounters out;
    int ncpu = libbpf_num_possible_cpus();
    if (ncpu <= 0) return out;
    std::vector<std::uint64_t> per_cpu(static_cast<std::size_t>(ncpu));
    for (__u32 i = 0; i < fwd_counter_count; ++i) {
        if (bpf_map_lookup_elem(fd_counters_, &i, per_cpu.data()) != 0) continue;
        for (auto v : per_cpu) out.value[i] += v;
    }
    return out;
}

std::vector<PortStatus> XdpBackend::ports() const {
    std::vector<PortStatus> out;
    for (const auto& p : ports_) out.push_back(p.status);
    return out;
}

std::optional<MapRoute> XdpBackend::lookup(std::size_t view, const IpAddr& dst) const {
    if (view >= views_.size() || !dst.valid()) return std::nullopt;
    rsfwd_route val{};
    int rc;
    if (dst.is_v4()) {
        rsfwd_lpm4_key k{};
        k.prefixlen = 32;
        std::memcpy(k.addr, dst.bytes.data(), 4);
        rc = bpf_map_lookup_elem(views_[view].trie_v4, &k, &val);
    } else {
        rsfwd_lpm6_key k{};
        k.prefixlen = 128;
        std::memcpy(k.addr, dst.bytes.data(), 16);
        rc = bpf_map_lookup_elem(views_[view].trie_v6, &k, &val);
    }
    if (rc != 0) return std::nullopt;
    return MapRoute{static_cast<MapRouteKind>(val.kind), val.id};
}

MapNextHop XdpBackend::next_hop(std::uint32_t adj) const {
    MapNextHop out;
    rsfwd_nexthop v{};
    __u32 key = adj;
    if (bpf_map_lookup_elem(fd_nexthops_, &key, &v) != 0) return out;
    out.resolved = (v.flags & RSFWD_NH_RESOLVED) != 0;
    out.ifindex = static_cast<int>(v.ifindex);
    std::memcpy(out.dmac.data(), v.dmac, 6);
    std::memcpy(out.smac.data(), v.smac, 6);
    return out;
}

std::vector<std::uint32_t> XdpBackend::group(std::uint32_t id) const {
    rsfwd_group v{};
    __u32 key = id;
    if (bpf_map_lookup_elem(fd_groups_, &key, &v) != 0 || v.count > RSFWD_XDP_MAX_ECMP) return {};
    return {v.nh, v.nh + v.count};
}

std::optional<MapNeighbour> XdpBackend::neighbour(const IpAddr& addr) const {
    if (!addr.valid()) return std::nullopt;
    std::array<std::uint8_t, 16> a{};
    std::memcpy(a.data(), addr.bytes.data(), addr.is_v4() ? 4 : 16);
    const rsfwd_neigh_key key = neigh_key(addr.is_v4() ? 4 : 6, a);
    rsfwd_neigh v{};
    if (bpf_map_lookup_elem(fd_neigh_, &key, &v) != 0) return std::nullopt;
    MapNeighbour out;
    std::memcpy(out.mac.data(), v.mac, 6);
    out.ifindex = static_cast<int>(v.ifindex);
    return out;
}

} // namespace rsfwd::xdp
