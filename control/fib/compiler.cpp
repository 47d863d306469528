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
#include <cstring>
#include <memory>
#include <stdexcept>
#include <utility>

namespace rsfwd::fib {

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
      counts_(views_.size(), {0, 0}), pending_(views_.size()), rebuild_(views_.size(), false) {
    if (adj_capacity > 0x10000) throw std::invalid_argument("adjacency capacity > 65536");
    // Fixed (pinned) prefixes: route events never override them.
    for (std::size_t v = 0; v < views_.size(); ++v) {
        for (const FibPort& p : ports_) {
            set_route(v, host_prefix(p.addr4), group_local, 0, pinned);
            if (p.addr6) set_route(v, host_prefix(*p.addr6), group_local, 0, pinned);
        }
        // E10: Route Server is IPv4 only, so no view carries IPv6 routes; the emulator routes
        // IPv6 between the ports' connected IPv6 subnets, in every view.
        for (const FibPort& p : ports_)
            if (p.subnet6) set_route(v, *p.subnet6, group_connected, 0, pinned);
    }
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
    adj_dirty_.push_back(false);
    store_adj(idx, adj_unresolved_slot);
    return idx;
}

void FibCompiler::store_adj(std::uint32_t adj, std::uint64_t slot) {
    adj_.store(adj, slot);
    if (adj_dirty_[adj]) return;
    adj_dirty_[adj] = true;
    adj_changed_.push_back(adj);
}

std::vector<std::uint32_t> FibCompiler::take_adj_changes() {
    for (std::uint32_t a : adj_changed_) adj_dirty_[a] = false;
    return std::exchange(adj_changed_, {});
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
    store_adj(adj, adj_pack(ports_[n.port].port_id, mac));
}

void FibCompiler::set_unresolved(std::uint32_t adj) {
    Neighbour& n = neighbours_.at(adj);
    if (n.is_static) return;
    n.resolved = false;
    store_adj(adj, adj_unresolved_slot);
}

void FibCompiler::note_event(std::uint64_t tsc) noexcept {
    if (pending_events_ == 0 || (tsc != 0 && (pending_tsc_ == 0 || tsc < pending_tsc_)))
        pending_tsc_ = tsc;
    ++pending_events_;
}

std::size_t FibCompiler::NhGroupHash::operator()(const NhGroup& g) const noexcept {
    std::uint64_t a, b;
    std::memcpy(&a, g.adj.data(), 8);
    std::memcpy(&b, g.adj.data() + 4, 8);
    std::uint64_t h = (a ^ (std::uint64_t{g.n} << 59)) * 0x9E3779B97F4A7C15ull;
    h ^= b * 0xC2B2AE3D27D4EB4Full;
    return static_cast<std::size_t>(h ^ (h >> 29));
}

std::optional<std::uint32_t> FibCompiler::next_hop_adj(const IpAddr& ip) {
    // A BGP table has a handful of next hops and consecutive routes often share one.
    if (last_hop_adj_ != no_adj && ip == last_hop_ip_) return last_hop_adj_;
    auto a = neighbour(ip);
    if (a) {
        last_hop_ip_ = ip;
        last_hop_adj_ = *a;
    }
    return a;
}

nh_t FibCompiler::group_for(const ViewRoute& r) {
    if (r.next_hops.empty()) return group_connected;
    NhGroup key; // unused members stay 0, so equality and hash see the member set only
    unsigned n = 0;
    for (const IpAddr& nh : r.next_hops) {
        if (n == max_ecmp) break;
        if (auto a = next_hop_adj(nh)) key.adj[n++] = static_cast<std::uint16_t>(*a);
    }
    if (n == 0) return group_blackhole;
    std::sort(key.adj.begin(), key.adj.begin() + n);
    n = static_cast<unsigned>(std::unique(key.adj.begin(), key.adj.begin() + n) - key.adj.begin());
    std::fill(key.adj.begin() + n, key.adj.end(), 0);
    key.n = static_cast<std::uint8_t>(n);
    auto it = group_ids_.find(key);
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
    groups_[id] = key;
    group_ids_.emplace(key, id);
    pending_groups_.emplace_back(id, key);
    return id;
}

void FibCompiler::unref(nh_t g) {
    if (g < first_dynamic_group) return;
    if (--refs_[g] != 0) return;
    group_ids_.erase(groups_[g]);
    freed_now_.push_back(g);
}

void FibCompiler::count_route(const Prefix& p, std::size_t view, int delta) noexcept {
    std::size_t& c = counts_[view][p.family() == Family::v4 ? 0 : 1];
    c = static_cast<std::size_t>(static_cast<std::ptrdiff_t>(c) + delta);
}

void FibCompiler::set_route(std::size_t view, const Prefix& p, nh_t nh, std::uint64_t tsc,
                            std::uint32_t stamp) {
    auto& inst = installed_[view];
    nh_t old;
    if (nh == pending_remove) {
        Installed* e = inst.find(p);
        if (!e || e->stamp == pinned) return;
        old = e->nh;
        inst.erase(p);
        count_route(p, view, -1);
    } else {
        auto [e, inserted] = inst.try_emplace(p, Installed{nh, stamp});
        if (inserted) {
            count_route(p, view, +1);
            if (nh >= first_dynamic_group) ++refs_[nh];
            if (!rebuild_[view]) pending_[view].insert_or_assign(p, nh);
            note_event(tsc);
            return;
        }
        if (e->stamp == pinned && stamp != pinned) return; // fixed prefixes stay
        e->stamp = stamp;
        if (e->nh == nh) return;
        old = e->nh;
        e->nh = nh;
        if (nh >= first_dynamic_group) ++refs_[nh];
    }
    unref(old);
    if (!rebuild_[view]) pending_[view].insert_or_assign(p, nh);
    note_event(tsc);
}

void FibCompiler::change_in(std::size_t view, const Prefix& p, const ViewRoute* r,
                            std::uint64_t tsc) {
    const Installed* e = installed_[view].find(p);
    if (e && e->stamp == pinned) return; // before group_for: no orphan group gets created
    if (!r) {
        set_route(view, p, pending_remove, tsc, stamp_);
        return;
    }
    // group_for() may create a group (refs 0); set_route() takes its reference.
    set_route(view, p, group_for(*r), tsc, stamp_);
}

void FibCompiler::bind_views(std::span<const ViewName> policy_views) {
    by_policy_id_.assign(policy_views.size(), no_view);
    for (std::size_t i = 0; i < policy_views.size(); ++i)
        if (const auto v = view_id(policy_views[i])) by_policy_id_[i] = static_cast<ViewId>(*v);
}

void FibCompiler::change(const ViewChange& c, std::uint64_t tsc) {
    std::size_t v = c.view;
    if (!by_policy_id_.empty()) v = c.view < by_policy_id_.size() ? by_policy_id_[c.view] : no_view;
    if (v >= views_.size()) return; // no port forwards with this view
    change_in(v, Prefix::make(c.prefix.addr, c.prefix.len), c.route ? &*c.route : nullptr, tsc);
}

void FibCompiler::set_view(std::string_view view, std::span<const ViewRoute> routes,
                           std::uint64_t tsc) {
    auto v = view_id(view);
    if (!v) return;
    auto& inst = installed_[*v];
    // Bulk load: the view is (nearly) empty compared with what arrives, so per-prefix ops would
    // cost more than building its tables once at take_batch().
    if (routes.size() >= bulk_min_routes && inst.size() * 8 < routes.size()) {
        rebuild_[*v] = true;
        pending_[*v].clear();
        inst.reserve(inst.size() + routes.size());
    }
    if (++stamp_ == pinned) {
        // The 32-bit pass counter wrapped (once per 2^32 - 1 passes): stamps of earlier passes
        // could now equal the new ones, and a prefix that this pass leaves out would survive.
        // Clear every unpinned stamp (0 is never a pass number) and start again at 1.
        for (auto& view : installed_)
            view.for_each([](const Prefix&, Installed& e) {
                if (e.stamp != pinned) e.stamp = 0;
            });
        stamp_ = 1;
    }
    // Upserts stamp every prefix they touch (duplicates: the last one wins); whatever the pass
    // did not stamp is gone.
    const ViewRoute* prev = nullptr;
    nh_t prev_group = group_blackhole;
    for (const ViewRoute& r : routes) {
        const Prefix p = Prefix::make(r.prefix.addr, r.prefix.len);
        const Installed* e = inst.find(p);
        if (e && e->stamp == pinned) continue;
        nh_t g;
        // Consecutive routes with the same next hops share a group; the memo is only trusted
        // while that group is still referenced (a freed id is never handed out again here).
        if (prev && prev->next_hops == r.next_hops &&
            (prev_group < first_dynamic_group || refs_[prev_group] > 0))
            g = prev_group;
        else
            g = group_for(r);
        set_route(*v, p, g, tsc, stamp_);
        prev = &r;
        prev_group = g;
    }
    std::vector<Prefix> gone;
    inst.for_each([&](const Prefix& p, const Installed& e) {
        if (e.stamp != stamp_ && e.stamp != pinned) gone.push_back(p);
    });
    for (const Prefix& p : gone) set_route(*v, p, pending_remove, tsc, stamp_);
}

bool FibCompiler::wants_rebuild(std::size_t v) const noexcept {
    const std::size_t n = pending_[v].size();
    return rebuild_[v] || (n >= bulk_min_routes && n * 8 >= counts_[v][0] + counts_[v][1]);
}

void FibCompiler::fill_rebuild(std::size_t v, TableOps& o) const {
    std::vector<lpm::Route4> r4;
    std::vector<lpm::Route6> r6;
    r4.reserve(counts_[v][0]);
    r6.reserve(counts_[v][1]);
    installed_[v].for_each([&](const Prefix& p, const Installed& e) {
        if (p.family() == Family::v4)
            r4.push_back(route4(p, e.nh));
        else
            r6.push_back(route6(p, e.nh));
    });
    o.full4 = std::make_shared<const lpm::Table4>(lpm::Table4::build(r4));
    o.full6 = std::make_shared<const lpm::Table6>(lpm::Table6::build(r6));
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
        TableOps& o = b.views[v];
        if (wants_rebuild(v)) {
            fill_rebuild(v, o);
        } else {
            pending_[v].for_each([&](const Prefix& p, const nh_t& nh) {
                if (p.family() == Family::v4) {
                    if (nh != pending_remove)
                        o.up4.push_back(route4(p, nh));
                    else
                        o.rm4.push_back(route4(p, 0));
                } else {
                    if (nh != pending_remove)
                        o.up6.push_back(route6(p, nh));
                    else
                        o.rm6.push_back(route6(p, 0));
                }
            });
        }
        pending_[v].clear();
        rebuild_[v] = false;
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

void FibCompiler::discard_pending() {
    for (std::size_t v = 0; v < views_.size(); ++v) {
        pending_[v].clear();
        rebuild_[v] = false;
    }
    (void)take_batch(); // group and host bookkeeping; no table is built
}

Generation FibCompiler::build_generation() const {
    Generation g;
    g.views.resize(views_.size());
    for (std::size_t v = 0; v < views_.size(); ++v) {
        TableOps o;
        fill_rebuild(v, o);
        g.views[v].v4 = *o.full4;
        g.views[v].v6 = *o.full6;
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
    const Installed* e = installed_[*v].find(Prefix::make(p.addr, p.len));
    if (!e) return std::nullopt;
    return e->nh;
}

} // namespace rsfwd::fib
