// dataplane/xdp/xdp_backend.cpp — keeps rsfwd_fwd.bpf.c's maps equal to the views.
//
// Why these choices:
// - The object is embedded in the binary (embed_object.py) and opened from memory: no .o to find
//   at run time, no version skew between loader and program.
// - Attachment is a bpf_link (BPF_LINK_CREATE, attach type BPF_XDP), never the netlink
//   "set XDP fd" call: a link belongs to its file descriptor, so when the process dies for any
//   reason the kernel detaches the program and, with no pin anywhere, frees every map.
// - Next hops and ECMP groups are reference-counted and shared between routes and views, so a
//   MAC change is one next-hop write, whatever the number of routes behind it.
// - A route replacement writes the new trie entry first and releases the old next hop/group
//   after: a packet sees the old or the new route, never a hole.
#include "dataplane/xdp/xdp_backend.hpp"

#include "dataplane/xdp/rsfwd_fwd_bpf.hpp" // generated: embedded::rsfwd_fwd_bpf_o
#include "dataplane/xdp/xdp_abi.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
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
    return std::vfprintf(stderr, fmt, args);
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

rsfwd_neigh_key neigh_key(int ifindex, const IpAddr& a) {
    rsfwd_neigh_key k{};
    k.ifindex = static_cast<__u32>(ifindex);
    k.family = a.is_v4() ? 4 : 6;
    std::memcpy(k.addr, a.bytes.data(), a.is_v4() ? 4 : 16);
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
    for (auto& [name, v] : views_) {
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

XdpBackend::View& XdpBackend::view_of(const ViewName& name) {
    auto it = views_.find(name);
    if (it != views_.end()) return it->second;
    if (next_view_ >= RSFWD_XDP_MAX_VIEWS)
        throw XdpError("view " + name + ": more than " + std::to_string(RSFWD_XDP_MAX_VIEWS) +
                       " views");
    View v;
    v.id = next_view_++;
    bpf_map_create_opts mopts{};
    mopts.sz = sizeof mopts;
    mopts.map_flags = BPF_F_NO_PREALLOC;
    v.trie_v4 = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "view_v4", sizeof(rsfwd_lpm4_key),
                               sizeof(rsfwd_route), RSFWD_XDP_MAX_ROUTES, &mopts);
    if (v.trie_v4 < 0) fail("view " + name + ": create IPv4 LPM trie", errno);
    v.trie_v6 = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "view_v6", sizeof(rsfwd_lpm6_key),
                               sizeof(rsfwd_route), RSFWD_XDP_MAX_ROUTES, &mopts);
    if (v.trie_v6 < 0) {
        int err = errno;
        ::close(v.trie_v4);
        fail("view " + name + ": create IPv6 LPM trie", err);
    }
    __u32 key = v.id;
    __u32 fd4 = static_cast<__u32>(v.trie_v4), fd6 = static_cast<__u32>(v.trie_v6);
    if (bpf_map_update_elem(fd_views_v4_, &key, &fd4, BPF_ANY) != 0 ||
        bpf_map_update_elem(fd_views_v6_, &key, &fd6, BPF_ANY) != 0) {
        int err = errno;
        ::close(v.trie_v4);
        ::close(v.trie_v6);
        fail("view " + name + ": insert tries into views_v4/views_v6", err);
    }
    return views_.emplace(name, std::move(v)).first->second;
}

PortStatus XdpBackend::add_port(const std::string& ifname, const ViewName& view, AttachMode mode) {
    for (const auto& p : ports_)
        if (p.status.ifname == ifname) throw XdpError("port " + ifname + ": already attached");
    auto info = read_interface(ifname);
    if (!info) throw XdpError("port " + ifname + ": no such interface in this network namespace");
    if (info->ifindex >= static_cast<int>(RSFWD_XDP_MAX_IFINDEX))
        throw XdpError("port " + ifname + ": ifindex " + std::to_string(info->ifindex) +
                       " above the port map size " + std::to_string(RSFWD_XDP_MAX_IFINDEX));
    View& v = view_of(view);

    // Maps first, program last: the first packet the program sees finds its port configured.
    __u32 key = static_cast<__u32>(info->ifindex);
    rsfwd_port pv{};
    pv.view = v.id;
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

    // New subnets may resolve next hops that had no port until now.
    refresh_neighbours();
    return ports_.back().status;
}

const XdpBackend::Port* XdpBackend::port_by_ifindex(int ifindex) const {
    for (const auto& p : ports_)
        if (p.status.ifindex == ifindex) return &p;
    return nullptr;
}

int XdpBackend::port_for(const IpAddr& addr) const {
    // The most specific port subnet that holds the address.
    int best = 0, best_len = -1;
    for (const auto& p : ports_)
        for (const auto& s : p.info.subnets)
            if (s.contains(addr) && s.len > best_len) {
                best = p.status.ifindex;
                best_len = s.len;
            }
    return best;
}

void XdpBackend::resolve(NextHop& nh, const std::vector<Neighbour>& neigh) const {
    nh.mac.reset();
    nh.ifindex = port_for(nh.addr);
    if (auto s = static_neigh_.find(nh.addr); s != static_neigh_.end()) {
        if (!s->second.ifname.empty())
            for (const auto& p : ports_)
                if (p.status.ifname == s->second.ifname) nh.ifindex = p.status.ifindex;
        if (nh.ifindex != 0) nh.mac = s->second.mac;
        return;
    }
    if (nh.ifindex == 0) return;
    for (const auto& n : neigh)
        if (n.ifindex == nh.ifindex && n.addr == nh.addr) {
            nh.mac = n.mac;
            return;
        }
}

void XdpBackend::write_next_hop(const NextHop& nh) {
    rsfwd_nexthop v{};
    const Port* p = port_by_ifindex(nh.ifindex);
    if (p && nh.mac) {
        v.ifindex = static_cast<__u32>(nh.ifindex);
        v.flags = RSFWD_NH_RESOLVED;
        std::memcpy(v.dmac, nh.mac->data(), 6);
        std::memcpy(v.smac, p->info.mac.data(), 6);
    }
    __u32 key = nh.id;
    update(fd_nexthops_, &key, &v, "nexthops");
}

std::uint32_t XdpBackend::acquire_next_hop(const IpAddr& addr) {
    if (auto it = next_hops_.find(addr); it != next_hops_.end()) {
        ++it->second.users;
        return it->second.id;
    }
    NextHop nh;
    nh.addr = addr;
    if (!free_nh_.empty()) {
        nh.id = free_nh_.back();
        free_nh_.pop_back();
    } else if (next_nh_ < RSFWD_XDP_MAX_NEXTHOPS) {
        nh.id = next_nh_++;
    } else {
        throw XdpError("next hop " + addr.str() + ": next-hop table full (" +
                       std::to_string(RSFWD_XDP_MAX_NEXTHOPS) + ")");
    }
    nh.users = 1;
    resolve(nh, last_neigh_);
    write_next_hop(nh);
    if (!nh.mac && nh.ifindex != 0) kick_resolution(nh.ifindex, nh.addr);
    next_hop_ids_[nh.id] = addr;
    return next_hops_.emplace(addr, nh).first->second.id;
}

void XdpBackend::release_next_hop(std::uint32_t id) {
    auto idit = next_hop_ids_.find(id);
    if (idit == next_hop_ids_.end()) return;
    auto it = next_hops_.find(idit->second);
    if (--it->second.users > 0) return;
    rsfwd_nexthop off{};
    __u32 key = id;
    (void)bpf_map_update_elem(fd_nexthops_, &key, &off, BPF_ANY);
    free_nh_.push_back(id);
    next_hops_.erase(it);
    next_hop_ids_.erase(idit);
}

std::uint32_t XdpBackend::acquire_group(const std::vector<std::uint32_t>& nh_ids) {
    if (auto it = groups_.find(nh_ids); it != groups_.end()) {
        ++it->second.users;
        return it->second.id;
    }
    Group g;
    if (!free_groups_.empty()) {
        g.id = free_groups_.back();
        free_groups_.pop_back();
    } else if (next_group_ < RSFWD_XDP_MAX_GROUPS) {
        g.id = next_group_++;
    } else {
        throw XdpError("ECMP group table full (" + std::to_string(RSFWD_XDP_MAX_GROUPS) + ")");
    }
    g.users = 1;
    rsfwd_group v{};
    v.count = static_cast<__u32>(nh_ids.size());
    for (std::size_t i = 0; i < nh_ids.size(); ++i) v.nh[i] = nh_ids[i];
    __u32 key = g.id;
    update(fd_groups_, &key, &v, "ecmp_groups");
    group_ids_[g.id] = nh_ids;
    return groups_.emplace(nh_ids, g).first->second.id;
}

void XdpBackend::release_group(std::uint32_t id) {
    auto idit = group_ids_.find(id);
    if (idit == group_ids_.end()) return;
    auto it = groups_.find(idit->second);
    if (--it->second.users > 0) return;
    rsfwd_group off{};
    __u32 key = id;
    (void)bpf_map_update_elem(fd_groups_, &key, &off, BPF_ANY);
    free_groups_.push_back(id);
    groups_.erase(it);
    group_ids_.erase(idit);
}

void XdpBackend::release(const Installed& inst) {
    if (inst.kind == RSFWD_ROUTE_GROUP) release_group(inst.id);
    for (auto id : inst.nh_ids) release_next_hop(id);
}

void XdpBackend::install(View& v, const Prefix& prefix, Installed inst) {
    rsfwd_route val{inst.kind, inst.id};
    int rc;
    if (prefix.family() == Family::v4) {
        rsfwd_lpm4_key k{};
        k.prefixlen = prefix.len;
        std::memcpy(k.addr, prefix.addr.bytes.data(), 4);
        rc = bpf_map_update_elem(v.trie_v4, &k, &val, BPF_ANY);
    } else {
        rsfwd_lpm6_key k{};
        k.prefixlen = prefix.len;
        std::memcpy(k.addr, prefix.addr.bytes.data(), 16);
        rc = bpf_map_update_elem(v.trie_v6, &k, &val, BPF_ANY);
    }
    if (rc != 0) {
        int err = errno;
        release(inst);
        fail("route " + prefix.str() + ": LPM trie update", err);
    }
    auto [it, fresh] = v.routes.try_emplace(prefix, inst);
    if (!fresh) {
        Installed old = std::move(it->second);
        it->second = std::move(inst);
        release(old); // after the new entry is visible: no window without a route
    }
}

void XdpBackend::upsert(const ViewName& view, const ViewRoute& route) {
    if (!route.prefix.addr.valid()) throw XdpError("route in view " + view + ": invalid prefix");
    if (route.next_hops.overflowed() || route.next_hops.size() > RSFWD_XDP_MAX_ECMP)
        throw XdpError("route " + route.prefix.str() + " in view " + view + ": " +
                       std::to_string(route.next_hops.size()) + " next hops, at most " +
                       std::to_string(RSFWD_XDP_MAX_ECMP) + " (D7)");
    for (const auto& nh : route.next_hops)
        if (nh.family != route.prefix.family())
            throw XdpError("route " + route.prefix.str() + " in view " + view + ": next hop " +
                           nh.str() + " of the other address family");
    View& v = view_of(view);
    Installed inst;
    if (route.next_hops.empty()) {
        // D11: connected — the destination is its own next hop, on the port whose subnet holds
        // the prefix.
        int ifindex = port_for(route.prefix.addr);
        inst.kind = RSFWD_ROUTE_CONNECTED;
        inst.id = static_cast<std::uint32_t>(ifindex);
    } else {
        std::vector<IpAddr> addrs(route.next_hops.begin(), route.next_hops.end());
        std::sort(addrs.begin(), addrs.end());
        addrs.erase(std::unique(addrs.begin(), addrs.end()), addrs.end());
        try {
            for (const auto& a : addrs) inst.nh_ids.push_back(acquire_next_hop(a));
            if (inst.nh_ids.size() == 1) {
                inst.kind = RSFWD_ROUTE_NEXTHOP;
                inst.id = inst.nh_ids[0];
            } else {
                inst.kind = RSFWD_ROUTE_GROUP;
                inst.id = acquire_group(inst.nh_ids); // D7: ECMP over the flow hash
            }
        } catch (...) {
            for (auto id : inst.nh_ids) release_next_hop(id);
            throw;
        }
    }
    install(v, route.prefix, std::move(inst));
}

void XdpBackend::upsert_blackhole(const ViewName& view, const Prefix& prefix) {
    View& v = view_of(view);
    Installed inst;
    inst.kind = RSFWD_ROUTE_BLACKHOLE;
    install(v, prefix, std::move(inst));
}

bool XdpBackend::remove(const ViewName& view, const Prefix& prefix) {
    auto vit = views_.find(view);
    if (vit == views_.end()) return false;
    View& v = vit->second;
    auto it = v.routes.find(prefix);
    if (it == v.routes.end()) return false;
    int rc;
    if (prefix.family() == Family::v4) {
        rsfwd_lpm4_key k{};
        k.prefixlen = prefix.len;
        std::memcpy(k.addr, prefix.addr.bytes.data(), 4);
        rc = bpf_map_delete_elem(v.trie_v4, &k);
    } else {
        rsfwd_lpm6_key k{};
        k.prefixlen = prefix.len;
        std::memcpy(k.addr, prefix.addr.bytes.data(), 16);
        rc = bpf_map_delete_elem(v.trie_v6, &k);
    }
    if (rc != 0 && errno != ENOENT)
        fail("route " + prefix.str() + " in view " + view + ": LPM trie delete", errno);
    release(it->second);
    v.routes.erase(it);
    return true;
}

void XdpBackend::apply(const ViewName& view, const ViewChange& change) {
    if (change.route)
        upsert(view, *change.route);
    else
        remove(view, change.prefix);
}

void XdpBackend::set_static_neighbour(const IpAddr& addr, const Mac& mac,
                                      const std::string& ifname) {
    static_neigh_[addr] = StaticNeigh{mac, ifname};
    if (auto it = next_hops_.find(addr); it != next_hops_.end()) {
        resolve(it->second, last_neigh_);
        write_next_hop(it->second);
    }
    sync_connected_neighbours(last_neigh_);
}

void XdpBackend::add_local_address(const IpAddr& addr) {
    auto lk = local_key(addr);
    __u8 one = 1;
    update(fd_local_, &lk, &one, "local_addrs");
}

void XdpBackend::sync_connected_neighbours(const std::vector<Neighbour>& neigh) {
    // Value = (MAC, the port it is on); key ifindex 0 = the "any port" entry (xdp_abi.h).
    std::map<std::pair<int, IpAddr>, std::pair<Mac, int>> want;
    for (const auto& n : neigh)
        if (port_by_ifindex(n.ifindex)) want[{n.ifindex, n.addr}] = {n.mac, n.ifindex};
    for (const auto& [addr, s] : static_neigh_) {
        int ifindex = port_for(addr);
        if (!s.ifname.empty())
            for (const auto& p : ports_)
                if (p.status.ifname == s.ifname) ifindex = p.status.ifindex;
        if (ifindex != 0) want[{ifindex, addr}] = {s.mac, ifindex};
    }
    // "Any port" entries, for connected routes that span several ports: the neighbour's own
    // port, preferring the port whose subnet holds the address when it is known on several.
    std::map<std::pair<int, IpAddr>, std::pair<Mac, int>> any;
    for (const auto& [k, v] : want) {
        auto it = any.find({0, k.second});
        if (it == any.end() || port_for(k.second) == k.first) any[{0, k.second}] = v;
    }
    want.insert(any.begin(), any.end());
    for (const auto& [k, v] : installed_neigh_)
        if (!want.count(k)) {
            auto key = neigh_key(k.first, k.second);
            (void)bpf_map_delete_elem(fd_neigh_, &key);
        }
    for (const auto& [k, v] : want) {
        auto old = installed_neigh_.find(k);
        if (old != installed_neigh_.end() && old->second == v) continue;
        auto key = neigh_key(k.first, k.second);
        rsfwd_neigh val{};
        std::memcpy(val.mac, v.first.data(), 6);
        val.ifindex = static_cast<__u32>(v.second);
        update(fd_neigh_, &key, &val, "neighbours");
    }
    installed_neigh_ = std::move(want);
}

void XdpBackend::refresh_neighbours() {
    for (auto& p : ports_) {
        if (auto info = read_interface(p.status.ifname);
            info && info->ifindex == p.status.ifindex) {
            for (const auto& a : info->addresses)
                if (std::find(p.info.addresses.begin(), p.info.addresses.end(), a) ==
                    p.info.addresses.end())
                    add_local_address(a);
            p.info = std::move(*info);
        }
    }
    last_neigh_ = read_neighbours();
    for (auto& [addr, nh] : next_hops_) {
        NextHop before = nh;
        resolve(nh, last_neigh_);
        if (nh.ifindex != before.ifindex || nh.mac != before.mac) write_next_hop(nh);
        if (!nh.mac && nh.ifindex != 0) kick_resolution(nh.ifindex, nh.addr);
    }
    // Connected routes installed before their port existed: retry the port lookup.
    for (auto& [name, v] : views_)
        for (auto& [prefix, inst] : v.routes)
            if (inst.kind == RSFWD_ROUTE_CONNECTED && inst.id == 0) {
                if (int ifx = port_for(prefix.addr); ifx != 0) {
                    Installed fixed = inst;
                    fixed.id = static_cast<std::uint32_t>(ifx);
                    install(v, prefix, fixed);
                }
            }
    sync_connected_neighbours(last_neigh_);
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

std::vector<NextHopStatus> XdpBackend::next_hops() const {
    std::vector<NextHopStatus> out;
    for (const auto& [addr, nh] : next_hops_)
        out.push_back(NextHopStatus{addr, nh.ifindex, nh.mac, nh.users});
    return out;
}

std::size_t XdpBackend::route_count() const noexcept {
    std::size_t n = 0;
    for (const auto& [name, v] : views_) n += v.routes.size();
    return n;
}

} // namespace rsfwd::xdp
