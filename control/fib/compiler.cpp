// control/fib/compiler.cpp — why it is built this way:
// - The compiler keeps the installed state itself (prefix → group per view) so that a batch
//   carries only the *net* change: an upsert followed by a delete of the same prefix inside one
//   coalescing window costs nothing on the workers' tables.
// - Groups are deduplicated by member set: a BGP table of 1M prefixes over 8 next hops has a
//   handful of groups, so the group array stays in L1/L2 for the workers.
// - Group ids freed in a batch are recycled only from the next batch on; with the double buffer
//   (publisher.hpp) a copy is only mutated when no worker reads it, so a recycled id can never be
//   seen with new members by a packet that was looked up with the old meaning.
#include "control/fib/compiler.hpp"

#include <algorithm>
#include <stdexcept>

namespace rsfwd::fib {

bool Batch::empty() const noexcept {
    if (!group_writes.empty() || !hosts.empty()) return false;
    return std::all_of(views.begin(), views.end(), [](const TableOps& o) { return o.empty(); });
}

void apply(Generation& g, const Batch& b) {
    if (g.groups.size() < b.groups_size) g.groups.resize(b.groups_size);
    for (const auto& [id, grp] : b.group_writes) g.groups[id] = grp;
    for (std::size_t v = 0; v < b.views.size() && v < g.views.size(); ++v) {
        const TableOps& o = b.views[v];
        if (!o.rm4.empty() || !o.up4.empty()) g.views[v].v4.apply(o.up4, o.rm4);
        if (!o.rm6.empty() || !o.up6.empty()) g.views[v].v6.apply(o.up6, o.rm6);
    }
    if (!b.hosts.up4.empty() || !b.hosts.rm4.empty()) g.hosts4.apply(b.hosts.up4, b.hosts.rm4);
    if (!b.hosts.up6.empty() || !b.hosts.rm6.empty()) g.hosts6.apply(b.hosts.up6, b.hosts.rm6);
}

std::size_t IpHash::operator()(const IpAddr& a) const noexcept {
    std::uint64_t h = static_cast<std::uint64_t>(a.family) * 0x9E3779B97F4A7C15ull;
    for (auto b : a.bytes) h = (h ^ b) * 0x100000001B3ull;
    return static_cast<std::size_t>(h ^ (h >> 29));
}

namespace {
lpm::Route4 route4(const Prefix& p, nh_t nh) {
    return lpm::Route4{p.addr.v4_host(), p.len, nh};
}
lpm::Route6 route6(const Prefix& p, nh_t nh) {
    return lpm::Route6{p.addr.bytes, p.len, nh};
}
Prefix host_prefix(const IpAddr& a) {
    return Prefix::make(a, a.bit_width());
}
} // namespace

FibCompiler::FibCompiler(std::vector<FibPort> ports, std::vector<std::string> views,
                         std::uint32_t adj_capacity)
    : ports_(std::move(ports)), views_(std::move(views)), adj_(adj_capacity),
      groups_(first_dynamic_group), refs_(first_dynamic_group, 0), installed_(views_.size()),
      pending_(views_.size()) {
    if (adj_capacity > 0x10000) throw std::invalid_argument("adjacency capacity > 65536");
    for (const FibPort& p : ports_) {
        locals_.push_back(host_prefix(p.addr4));
        if (p.addr6) locals_.push_back(host_prefix(*p.addr6));
    }
    for (std::size_t v = 0; v < views_.size(); ++v) {
        for (const Prefix& l : locals_) set_route(v, l, group_local, 0);
        // E10: Route Server is IPv4 only, so no view carries IPv6 routes; the emulator routes
        // IPv6 between the ports' connected IPv6 subnets, in every view.
        for (const FibPort& p : ports_)
            if (p.subnet6) set_route(v, *p.subnet6, group_connected, 0);
    }
    // Fixed prefixes: route events never override them.
    for (const FibPort& p : ports_)
        if (p.subnet6) locals_.push_back(*p.subnet6);
}

std::optional<std::size_t> FibCompiler::view_id(std::string_view name) const noexcept {
    for (std::size_t i = 0; i < views_.size(); ++i)
        if (views_[i] == name) return i;
    return std::nullopt;
}

std::optional<std::size_t> FibCompiler::port_for(const IpAddr& ip) const noexcept {
    // The longest connected subnet wins when subnets nest.
    std::optional<std::size_t> best;
    int best_len = -1;
    for (std::size_t i = 0; i < ports_.size(); ++i) {
        const FibPort& p = ports_[i];
        const Prefix* s = ip.is_v4() ? &p.subnet4 : (p.subnet6 ? &*p.subnet6 : nullptr);
        if (s && s->family() == ip.family && s->contains(ip) && s->len > best_len) {
            best = i;
            best_len = s->len;
        }
    }
    return best;
}

std::optional<std::uint32_t> FibCompiler::find_neighbour(const IpAddr& ip) const {
    auto it = by_ip_.find(ip);
    if (it == by_ip_.end()) return std::nullopt;
    return it->second;
}

std::optional<std::uint32_t> FibCompiler::neighbour(const IpAddr& ip) {
    if (auto n = find_neighbour(ip)) return n;
    auto port = port_for(ip);
    if (!port || neighbours_.size() >= adj_.capacity()) return std::nullopt;
    const auto idx = static_cast<std::uint32_t>(neighbours_.size());
    Neighbour n;
    n.ip = ip;
    n.port = *port;
    n.adj = idx;
    neighbours_.push_back(n);
    by_ip_.emplace(ip, idx);
    adj_.store(idx, adj_unresolved_slot);
    return idx;
}

void FibCompiler::ensure_host(std::uint32_t adj, std::uint64_t tsc) {
    Neighbour& n = neighbours_.at(adj);
    if (n.host) return;
    n.host = true;
    pending_hosts_.push_back(adj);
    note_event(tsc);
}

void FibCompiler::set_mac(std::uint32_t adj, const Mac& mac, bool is_static) {
    Neighbour& n = neighbours_.at(adj);
    n.mac = mac;
    n.resolved = true;
    n.is_static = n.is_static || is_static;
    adj_.store(adj, adj_pack(ports_[n.port].port_id, mac));
}

void FibCompiler::set_unresolved(std::uint32_t adj) {
    Neighbour& n = neighbours_.at(adj);
    if (n.is_static) return;
    n.resolved = false;
    adj_.store(adj, adj_unresolved_slot);
}

void FibCompiler::note_event(std::uint64_t tsc) noexcept {
    if (pending_events_ == 0 || (tsc != 0 && (pending_tsc_ == 0 || tsc < pending_tsc_)))
        pending_tsc_ = tsc;
    ++pending_events_;
}

nh_t FibCompiler::group_for(const ViewRoute& r) {
    if (r.next_hops.empty()) return group_connected;
    std::vector<std::uint16_t> members;
    for (const IpAddr& nh : r.next_hops) {
        if (members.size() == max_ecmp) break;
        if (auto a = neighbour(nh)) members.push_back(static_cast<std::uint16_t>(*a));
    }
    if (members.empty()) return group_blackhole;
    std::sort(members.begin(), members.end());
    members.erase(std::unique(members.begin(), members.end()), members.end());
    auto it = group_ids_.find(members);
    if (it != group_ids_.end()) return it->second;
    nh_t id;
    if (!free_groups_.empty()) {
        id = free_groups_.back();
        free_groups_.pop_back();
    } else {
        id = static_cast<nh_t>(groups_.size());
        if (id > lpm::max_nexthop) throw std::length_error("next-hop group ids exhausted");
        groups_.emplace_back();
        refs_.push_back(0);
    }
    NhGroup g;
    g.n = static_cast<std::uint8_t>(members.size());
    std::copy(members.begin(), members.end(), g.adj.begin());
    groups_[id] = g;
    group_ids_.emplace(std::move(members), id);
    pending_groups_.emplace_back(id, g);
    return id;
}

void FibCompiler::unref(nh_t g) {
    if (g < first_dynamic_group) return;
    if (--refs_[g] != 0) return;
    const NhGroup& grp = groups_[g];
    group_ids_.erase(std::vector<std::uint16_t>(grp.adj.begin(), grp.adj.begin() + grp.n));
    freed_now_.push_back(g);
}

void FibCompiler::set_route(std::size_t view, const Prefix& p, std::optional<nh_t> nh,
                            std::uint64_t tsc) {
    auto& inst = installed_[view];
    auto it = inst.find(p);
    const std::optional<nh_t> old =
        it == inst.end() ? std::nullopt : std::optional<nh_t>(it->second);
    if (old == nh) return;
    if (nh) {
        if (*nh >= first_dynamic_group) ++refs_[*nh];
        inst[p] = *nh;
    } else {
        inst.erase(it);
    }
    if (old) unref(*old);
    pending_[view][p] = nh;
    note_event(tsc);
}

void FibCompiler::change(const ViewChange& c, std::uint64_t tsc) {
    auto v = view_id(c.view);
    if (!v) return;
    const Prefix p = Prefix::make(c.prefix.addr, c.prefix.len);
    if (std::find(locals_.begin(), locals_.end(), p) != locals_.end()) return;
    if (!c.route) {
        set_route(*v, p, std::nullopt, tsc);
        return;
    }
    // group_for() may create a group (refs 0); set_route() takes its reference.
    set_route(*v, p, group_for(*c.route), tsc);
}

void FibCompiler::set_view(std::string_view view, std::span<const ViewRoute> routes,
                           std::uint64_t tsc) {
    auto v = view_id(view);
    if (!v) return;
    std::unordered_map<Prefix, const ViewRoute*, PrefixHash> want;
    want.reserve(routes.size());
    for (const ViewRoute& r : routes) want[Prefix::make(r.prefix.addr, r.prefix.len)] = &r;
    std::vector<Prefix> gone;
    for (const auto& [p, g] : installed_[*v]) {
        (void)g;
        if (!want.count(p) && std::find(locals_.begin(), locals_.end(), p) == locals_.end())
            gone.push_back(p);
    }
    for (const Prefix& p : gone) change(ViewChange{views_[*v], p, std::nullopt}, tsc);
    for (const auto& [p, r] : want) change(ViewChange{views_[*v], p, *r}, tsc);
}

Batch FibCompiler::take_batch() {
    Batch b;
    b.views.resize(views_.size());
    b.first_event_tsc = pending_tsc_;
    b.events = pending_events_;
    // Freed groups: drop their pending writes only if they were created in this batch too; the
    // write is harmless otherwise. Recycle their ids from the next batch on.
    b.group_writes = std::move(pending_groups_);
    pending_groups_.clear();
    b.groups_size = groups_.size();
    for (std::size_t v = 0; v < views_.size(); ++v) {
        for (const auto& [p, nh] : pending_[v]) {
            TableOps& o = b.views[v];
            if (p.family() == Family::v4) {
                if (nh)
                    o.up4.push_back(route4(p, *nh));
                else
                    o.rm4.push_back(route4(p, 0));
            } else {
                if (nh)
                    o.up6.push_back(route6(p, *nh));
                else
                    o.rm6.push_back(route6(p, 0));
            }
        }
        pending_[v].clear();
    }
    for (std::uint32_t a : pending_hosts_) {
        const Neighbour& n = neighbours_[a];
        if (n.ip.is_v4())
            b.hosts.up4.push_back(route4(host_prefix(n.ip), a));
        else
            b.hosts.up6.push_back(route6(host_prefix(n.ip), a));
    }
    pending_hosts_.clear();
    for (nh_t g : freed_now_)
        if (refs_[g] == 0) free_groups_.push_back(g);
    freed_now_.clear();
    pending_events_ = 0;
    pending_tsc_ = 0;
    return b;
}

Generation FibCompiler::build_generation() const {
    Generation g;
    g.views.resize(views_.size());
    for (std::size_t v = 0; v < views_.size(); ++v) {
        std::vector<lpm::Route4> r4;
        std::vector<lpm::Route6> r6;
        for (const auto& [p, nh] : installed_[v]) {
            if (p.family() == Family::v4)
                r4.push_back(route4(p, nh));
            else
                r6.push_back(route6(p, nh));
        }
        g.views[v].v4 = lpm::Table4::build(r4);
        g.views[v].v6 = lpm::Table6::build(r6);
    }
    g.groups = groups_;
    std::vector<lpm::Route4> h4;
    std::vector<lpm::Route6> h6;
    for (const Neighbour& n : neighbours_) {
        if (!n.host) continue;
        if (n.ip.is_v4())
            h4.push_back(route4(host_prefix(n.ip), n.adj));
        else
            h6.push_back(route6(host_prefix(n.ip), n.adj));
    }
    g.hosts4 = lpm::Table4::build(h4);
    g.hosts6 = lpm::Table6::build(h6);
    return g;
}

std::optional<nh_t> FibCompiler::installed(std::string_view view, const Prefix& p) const {
    auto v = view_id(view);
    if (!v) return std::nullopt;
    auto it = installed_[*v].find(Prefix::make(p.addr, p.len));
    if (it == installed_[*v].end()) return std::nullopt;
    return it->second;
}

} // namespace rsfwd::fib
