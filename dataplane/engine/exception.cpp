// dataplane/engine/exception.cpp — the control thread's side of the data plane: punted packets
// (ARP, ND, ICMP to us, unresolved next hops, ICMP errors), neighbour timers, coalesced
// publication. Why: everything that needs state, allocation or timers lives here, so the worker
// loop stays a straight pipeline. Replies reuse the punted mbuf when they can (ARP reply, echo
// reply) and are sent back out the ingress port to the sender's MAC: the sender is on that link by
// definition.
#include <algorithm>
#include <bit>
#include <chrono>
#include <cstring>
#include <thread>

#include <rte_cycles.h>
#include <rte_ethdev.h>

#include "dataplane/engine/engine.hpp"

#include "dataplane/engine/af_xdp_split.hpp"
#include "dataplane/engine/runtime.hpp"
#include "dataplane/worker/packet.hpp"

namespace rsfwd::dp {

namespace {

void cdrop(Runtime& rt, Drop d, rte_mbuf* m) {
    ++rt.cdrops[static_cast<std::size_t>(d)];
    rte_pktmbuf_free(m);
}

// Sends a finished frame out `port` through worker 0's TX queue.
void send(Runtime& rt, rte_mbuf* m, std::uint16_t port) {
    m->port = port;
    if (rte_ring_sp_enqueue(rt.workers[0]->inject, m) != 0) cdrop(rt, Drop::inject_full, m);
}

std::size_t port_index(const Runtime& rt, std::uint16_t pid) {
    return static_cast<std::size_t>(rt.index_by_id[pid]);
}

void store_be32(std::uint8_t* p, std::uint32_t v) {
    p[0] = static_cast<std::uint8_t>(v >> 24);
    p[1] = static_cast<std::uint8_t>(v >> 16);
    p[2] = static_cast<std::uint8_t>(v >> 8);
    p[3] = static_cast<std::uint8_t>(v);
}

// Ethernet + IPv6 header of an ICMPv6 frame we originate (ND, errors); returns the ICMPv6
// header. The caller fills the ICMPv6 message and its checksum (icmp6_csum).
std::uint8_t* write_icmp6_frame(std::uint8_t* p, const std::uint8_t* dmac, const fib::Mac& smac,
                                const std::uint8_t* src6, const std::uint8_t* dst6,
                                std::uint16_t l4_len, std::uint8_t hop_limit) {
    std::memcpy(p, dmac, 6);
    std::memcpy(p + 6, smac.data(), 6);
    store_be16(p + 12, ethertype_ipv6);
    std::uint8_t* ip = p + 14;
    ip[0] = 0x60;
    store_be16(ip + 4, l4_len);
    ip[6] = 58; // ICMPv6
    ip[7] = hop_limit;
    std::memcpy(ip + 8, src6, 16);
    std::memcpy(ip + 24, dst6, 16);
    return ip + 40;
}

std::uint16_t icmp6_csum(const std::uint8_t* ip6, const std::uint8_t* l4, std::uint32_t len) {
    std::uint32_t sum = csum_add(0, ip6 + 8, 32);
    sum += len >> 16;
    sum += len & 0xFFFF;
    sum += 58;
    return csum_fold(csum_add(sum, l4, len));
}

rte_mbuf* alloc_frame(Runtime& rt, std::uint16_t len) {
    rte_mbuf* m = rte_pktmbuf_alloc(rt.pool);
    if (!m) return nullptr;
    if (!rte_pktmbuf_append(m, len)) {
        rte_pktmbuf_free(m);
        return nullptr;
    }
    std::memset(rte_pktmbuf_mtod(m, void*), 0, len);
    return m;
}

void send_arp_request(Runtime& rt, const fib::Neighbour& n) {
    const PortSpec& ps = rt.specs[n.port];
    const std::uint16_t pid = rt.port_ids[n.port];
    rte_mbuf* m = alloc_frame(rt, 60);
    if (!m) return;
    auto* p = rte_pktmbuf_mtod(m, std::uint8_t*);
    std::memset(p, 0xFF, 6);
    std::memcpy(p + 6, rt.mac_by_id[pid].data(), 6);
    store_be16(p + 12, ethertype_arp);
    std::uint8_t* a = p + 14;
    store_be16(a, 1);
    store_be16(a + 2, ethertype_ipv4);
    a[4] = 6;
    a[5] = 4;
    store_be16(a + 6, 1);
    std::memcpy(a + 8, rt.mac_by_id[pid].data(), 6);
    store_be32(a + 14, ps.addr4.v4_host());
    store_be32(a + 24, n.ip.v4_host());
    ++rt.cstats.arp_requests;
    send(rt, m, pid);
}

// ICMPv6 neighbour solicitation to the solicited-node multicast address of n.ip.
void send_nd_solicit(Runtime& rt, const fib::Neighbour& n) {
    const PortSpec& ps = rt.specs[n.port];
    if (!ps.addr6) return;
    const std::uint16_t pid = rt.port_ids[n.port];
    constexpr std::uint16_t l4 = 32; // NS (24) + source link-layer option (8)
    rte_mbuf* m = alloc_frame(rt, 14 + 40 + l4);
    if (!m) return;
    auto* p = rte_pktmbuf_mtod(m, std::uint8_t*);
    const auto& t = n.ip.bytes;
    const std::uint8_t dst6[16] = {0xFF, 0x02, 0, 0, 0,    0,     0,     0,
                                   0,    0,    0, 1, 0xFF, t[13], t[14], t[15]};
    const std::uint8_t dmac[6] = {0x33, 0x33, 0xFF, t[13], t[14], t[15]};
    std::uint8_t* icmp =
        write_icmp6_frame(p, dmac, rt.mac_by_id[pid], ps.addr6->bytes.data(), dst6, l4, 255);
    std::uint8_t* ip = p + 14;
    icmp[0] = 135;
    std::memcpy(icmp + 8, t.data(), 16);
    icmp[24] = 1;
    icmp[25] = 1;
    std::memcpy(icmp + 26, rt.mac_by_id[pid].data(), 6);
    store_be16(icmp + 2, icmp6_csum(ip, icmp, l4));
    ++rt.cstats.nd_solicits;
    send(rt, m, pid);
}

void solicit(Runtime& rt, std::uint32_t adj, std::uint64_t now) {
    const fib::Neighbour& n = rt.comp->neighbour_info(adj);
    NeighbourState& st = rt.nstate[adj];
    st.last_request_tsc = now;
    ++st.tries;
    if (rt.any_split && !rt.split_iface[n.port].empty()) {
        // A split port: the answer goes to the kernel (the split program passes ARP/ND), so the
        // kernel asks, and sync_kernel_neighbours() reads what it learned.
        af_xdp::kick_resolution(rt.split_iface[n.port], n.ip);
        rt.last_kernel_neigh_tsc = 0; // read the kernel table at the next tick
    } else if (n.ip.is_v4())
        send_arp_request(rt, n);
    else
        send_nd_solicit(rt, n);
}

// Rewrites and sends a punted packet whose adjacency is now resolved (TTL was checked by the
// worker before the punt).
void forward_resolved(Runtime& rt, rte_mbuf* m, std::uint64_t slot) {
    const std::uint16_t l3_off = punt_meta(m)->l3_off;
    auto* frame = rte_pktmbuf_mtod(m, std::uint8_t*);
    std::uint8_t* ip = frame + l3_off;
    std::uint16_t et;
    if ((ip[0] >> 4) == 4) {
        ipv4_dec_ttl(ip);
        et = ethertype_ipv4;
    } else {
        --ip[7];
        et = ethertype_ipv6;
    }
    std::uint8_t dst[8];
    std::memcpy(dst, &slot, 8);
    const std::uint16_t port = fib::adj_port(slot);
    rewrite_l2(frame, l3_off, et, dst, rt.mac_by_id[port].data());
    if (l3_off != 14) rte_pktmbuf_adj(m, static_cast<std::uint16_t>(l3_off - 14));
    ++rt.cstats.forwarded;
    send(rt, m, port);
}

void learned(Runtime& rt, std::uint32_t adj, const fib::Mac& mac, std::uint64_t now) {
    const fib::Neighbour& n = rt.comp->neighbour_info(adj);
    if (n.is_static) return;
    rt.comp->set_mac(adj, mac);
    ++rt.cstats.arp_learned;
    NeighbourState& st = rt.nstate[adj];
    st.tries = 0;
    st.confirmed_tsc = now;
    const std::uint64_t slot = rt.comp->adjacencies().load(adj);
    for (rte_mbuf* m : st.pending) forward_resolved(rt, m, slot);
    st.pending.clear();
}

void wait_for_neighbour(Runtime& rt, rte_mbuf* m, std::uint32_t adj, std::uint64_t now) {
    const std::uint64_t slot = rt.comp->adjacencies().load(adj);
    if (fib::adj_port(slot) != fib::adj_unresolved) { // resolved since the worker looked
        forward_resolved(rt, m, slot);
        return;
    }
    NeighbourState& st = rt.nstate[adj];
    if (st.pending.size() >= rt.opt.pending_per_neighbour) {
        cdrop(rt, Drop::arp_unresolved, m);
    } else {
        st.pending.push_back(m);
    }
    if (st.tries == 0 || now - st.last_request_tsc >= rt.opt.arp_retry_ms * rt.tsc_hz / 1000) {
        if (st.tries < rt.opt.arp_tries) solicit(rt, adj, now);
    }
}

bool is_our_v4(const Runtime& rt, std::uint32_t a) {
    for (const PortSpec& s : rt.specs)
        if (s.addr4.v4_host() == a) return true;
    return false;
}
bool is_our_v6(const Runtime& rt, const std::uint8_t* a) {
    for (const PortSpec& s : rt.specs)
        if (s.addr6 && std::memcmp(s.addr6->bytes.data(), a, 16) == 0) return true;
    return false;
}

// The all-ones or all-zeros host part of a connected IPv4 subnet of /30 or shorter: a directed
// broadcast (RFC 1812 §5.3.5.2; RFC 2644: not forwarded by default) — never a neighbour to ARP.
bool is_subnet_broadcast(const Runtime& rt, const IpAddr& dst) {
    if (!dst.is_v4()) return false;
    const std::uint32_t a = dst.v4_host();
    for (const PortSpec& s : rt.specs) {
        const unsigned len = s.subnet4.len;
        if (len > 30 || !s.subnet4.contains(dst)) continue;
        const std::uint32_t host = len == 0 ? ~0u : ~0u >> len;
        if ((a & host) == host || (a & host) == 0) return true;
    }
    return false;
}

void handle_arp(Runtime& rt, rte_mbuf* m, std::uint16_t l3_off, std::uint64_t now) {
    auto* p = rte_pktmbuf_mtod(m, std::uint8_t*);
    const std::size_t len = m->data_len;
    if (len < l3_off + 28u) return cdrop(rt, Drop::bad_header, m);
    std::uint8_t* a = p + l3_off;
    if (load_be16(a) != 1 || load_be16(a + 2) != ethertype_ipv4 || a[4] != 6 || a[5] != 4)
        return cdrop(rt, Drop::bad_header, m);
    const std::uint16_t op = load_be16(a + 6);
    const std::size_t pi = port_index(rt, m->port);
    const PortSpec& ps = rt.specs[pi];
    const std::uint32_t spa = load_be32(a + 14), tpa = load_be32(a + 24);
    fib::Mac sha;
    std::memcpy(sha.data(), a + 8, 6);
    // RFC 1812 §3.3.2: never believe a broadcast or multicast link-layer address (neither the
    // sender's nor the frame's source): no learning, no reply.
    if ((sha[0] & 1) != 0 || (p[6] & 1) != 0) return cdrop(rt, Drop::neighbour_invalid, m);
    // Learn (or refresh) the sender if we track it; a request for our address also creates
    // the sender's entry (RFC 826 "merge"), as the reply traffic will need it.
    const bool for_us = op == 1 && tpa == ps.addr4.v4_host();
    if (auto adj =
            for_us ? rt.comp->neighbour(IpAddr::v4(spa)) : rt.comp->find_neighbour(IpAddr::v4(spa)))
        learned(rt, *adj, sha, now);
    if (for_us) {
        const fib::Mac& mine = rt.mac_by_id[m->port];
        store_be16(a + 6, 2);
        std::memcpy(a + 18, a + 8, 6); // tha = sha
        store_be32(a + 24, spa);
        std::memcpy(a + 8, mine.data(), 6);
        store_be32(a + 14, tpa);
        std::memcpy(p, sha.data(), 6);
        std::memcpy(p + 6, mine.data(), 6);
        ++rt.cstats.arp_replies;
        send(rt, m, m->port);
        return;
    }
    rte_pktmbuf_free(m);
}

bool icmp_allowed(Runtime& rt, std::uint64_t now) {
    const double elapsed =
        static_cast<double>(now - rt.icmp_refill_tsc) / static_cast<double>(rt.tsc_hz);
    rt.icmp_refill_tsc = now;
    rt.icmp_tokens =
        std::min<double>(rt.opt.icmp_burst, rt.icmp_tokens + elapsed * rt.opt.icmp_rate);
    if (rt.icmp_tokens < 1.0) return false;
    rt.icmp_tokens -= 1.0;
    return true;
}

// ICMPv4 time exceeded (type 11) or destination unreachable (type 3, code 0) back to the
// sender, from the ingress port's address; quotes the IP header + 8 bytes (RFC 792/1812).
void send_icmp4_error(Runtime& rt, rte_mbuf* orig, std::uint16_t l3_off, std::uint8_t type,
                      std::uint8_t code, std::uint64_t now) {
    auto* op = rte_pktmbuf_mtod(orig, std::uint8_t*);
    const std::uint8_t* oip = op + l3_off;
    const unsigned ohl = (oip[0] & 0xF) * 4u;
    const unsigned avail = orig->data_len - l3_off;
    // Never an error about an ICMP error, a non-first fragment or a multicast/broadcast packet.
    const bool icmp_error = oip[9] == 1 && avail > ohl && oip[ohl] != 0 && oip[ohl] != 8;
    // Nor to a source that names no single host (RFC 1812 §4.3.2.7: 0/8, 127/8, 224/4, 240/4;
    // reachable with --allow-martian-sources).
    const bool src_no_host = oip[12] == 0 || oip[12] == 127 || oip[12] >= 224;
    if (icmp_error || (load_be16(oip + 6) & 0x1FFF) != 0 || (op[0] & 1) || oip[16] >= 224 ||
        src_no_host) {
        rte_pktmbuf_free(orig);
        return;
    }
    if (!icmp_allowed(rt, now)) {
        rte_pktmbuf_free(orig);
        return;
    }
    const unsigned quote = std::min<unsigned>(avail, ohl + 8);
    const auto l4 = static_cast<std::uint16_t>(8 + quote);
    rte_mbuf* m = alloc_frame(rt, static_cast<std::uint16_t>(std::max(60, 14 + 20 + l4)));
    if (!m) {
        rte_pktmbuf_free(orig);
        return;
    }
    const std::uint16_t pid = orig->port;
    auto* p = rte_pktmbuf_mtod(m, std::uint8_t*);
    std::memcpy(p, op + 6, 6); // back to the previous hop
    std::memcpy(p + 6, rt.mac_by_id[pid].data(), 6);
    store_be16(p + 12, ethertype_ipv4);
    std::uint8_t* ip = p + 14;
    ip[0] = 0x45;
    store_be16(ip + 2, static_cast<std::uint16_t>(20 + l4));
    ip[8] = 64;
    ip[9] = 1;
    store_be32(ip + 12, rt.specs[port_index(rt, pid)].addr4.v4_host());
    std::memcpy(ip + 16, oip + 12, 4);
    store_be16(ip + 10, csum_fold(csum_add(0, ip, 20)));
    std::uint8_t* icmp = ip + 20;
    icmp[0] = type;
    icmp[1] = code;
    std::memcpy(icmp + 8, oip, quote);
    store_be16(icmp + 2, csum_fold(csum_add(0, icmp, l4)));
    rte_pktmbuf_free(orig);
    ++rt.cstats.icmp_errors;
    send(rt, m, pid);
}

// ICMPv6 time exceeded (type 3, code 0: hop limit exceeded in transit) or destination
// unreachable (type 1, code 0: no route) back to the sender, from the ingress port's IPv6
// address; quotes as much of the packet as fits in the IPv6 minimum MTU (RFC 4443 §2.4 (c)).
// Never about an ICMPv6 error, nor to a multicast or unspecified source, nor for a frame that
// was not unicast to us (RFC 4443 §2.4 (e)); no error when the port has no IPv6 address.
void send_icmp6_error(Runtime& rt, rte_mbuf* orig, std::uint16_t l3_off, std::uint8_t type,
                      std::uint8_t code, std::uint64_t now) {
    auto* op = rte_pktmbuf_mtod(orig, std::uint8_t*);
    const std::uint8_t* oip = op + l3_off;
    const unsigned avail = orig->data_len - l3_off; // ≥ 40 + payload length (worker checked)
    const std::uint16_t pid = orig->port;
    const PortSpec& ps = rt.specs[port_index(rt, pid)];
    const std::uint8_t* src = oip + 8;
    const bool unspecified = std::all_of(src, src + 16, [](std::uint8_t b) { return b == 0; });
    const bool icmp_error = oip[6] == 58 && avail > 40 && oip[40] < 128;
    if (!ps.addr6 || icmp_error || unspecified || src[0] == 0xFF || (op[0] & 1) ||
        !icmp_allowed(rt, now)) {
        rte_pktmbuf_free(orig);
        return;
    }
    constexpr unsigned min_mtu = 1280;
    const unsigned quote = std::min({avail, 40u + load_be16(oip + 4), min_mtu - 40 - 8});
    const auto l4 = static_cast<std::uint16_t>(8 + quote);
    rte_mbuf* m = alloc_frame(rt, static_cast<std::uint16_t>(14 + 40 + l4));
    if (!m) {
        rte_pktmbuf_free(orig);
        return;
    }
    auto* p = rte_pktmbuf_mtod(m, std::uint8_t*);
    // Back to the previous hop, from the ingress port's address.
    std::uint8_t* icmp =
        write_icmp6_frame(p, op + 6, rt.mac_by_id[pid], ps.addr6->bytes.data(), src, l4, 64);
    std::uint8_t* ip = p + 14;
    icmp[0] = type;
    icmp[1] = code;
    std::memcpy(icmp + 8, oip, quote);
    store_be16(icmp + 2, icmp6_csum(ip, icmp, l4));
    rte_pktmbuf_free(orig);
    ++rt.cstats.icmp_errors;
    send(rt, m, pid);
}

void handle_local_v4(Runtime& rt, rte_mbuf* m, std::uint16_t l3_off) {
    auto* p = rte_pktmbuf_mtod(m, std::uint8_t*);
    std::uint8_t* ip = p + l3_off;
    const unsigned hl = (ip[0] & 0xF) * 4u, tot = load_be16(ip + 2);
    // No reassembly: a fragment (MF or an offset) is never answered as if it were whole.
    if ((load_be16(ip + 6) & 0x3FFF) != 0) return cdrop(rt, Drop::frag_to_us, m);
    if (ip[9] == 1 && tot >= hl + 8 && ip[hl] == 8 && is_our_v4(rt, load_be32(ip + 16))) {
        std::uint8_t* icmp = ip + hl;
        if (csum_fold(csum_add(0, icmp, tot - hl)) != 0) return cdrop(rt, Drop::bad_checksum, m);
        icmp[0] = 0;
        store_be16(icmp + 2, 0);
        store_be16(icmp + 2, csum_fold(csum_add(0, icmp, tot - hl)));
        std::uint8_t tmp[4];
        std::memcpy(tmp, ip + 12, 4);
        std::memcpy(ip + 12, ip + 16, 4);
        std::memcpy(ip + 16, tmp, 4);
        ip[8] = 64;
        store_be16(ip + 10, 0);
        store_be16(ip + 10, csum_fold(csum_add(0, ip, hl)));
        std::memcpy(p, p + 6, 6);
        std::memcpy(p + 6, rt.mac_by_id[m->port].data(), 6);
        ++rt.cstats.icmp_echo_replies;
        send(rt, m, m->port);
        return;
    }
    cdrop(rt, Drop::to_us_other, m);
}

void handle_local_v6(Runtime& rt, rte_mbuf* m, std::uint16_t l3_off, std::uint64_t now) {
    auto* p = rte_pktmbuf_mtod(m, std::uint8_t*);
    std::uint8_t* ip = p + l3_off;
    const std::uint32_t plen = load_be16(ip + 4);
    if (ip[6] == 44) return cdrop(rt, Drop::frag_to_us, m); // a fragment header: no reassembly
    if (ip[6] != 58 || plen < 8) return cdrop(rt, Drop::to_us_other, m);
    std::uint8_t* icmp = ip + 40;
    if (icmp6_csum(ip, icmp, plen) != 0) return cdrop(rt, Drop::bad_checksum, m);
    // RFC 4861 §6.1, §7.1: ND messages (133..137) with a hop limit other than 255 (they came
    // through a router) or a code other than 0 are discarded.
    if (icmp[0] >= 133 && icmp[0] <= 137 && (ip[7] != 255 || icmp[1] != 0))
        return cdrop(rt, Drop::neighbour_invalid, m);
    const std::size_t pi = port_index(rt, m->port);
    const PortSpec& ps = rt.specs[pi];
    const fib::Mac& mine = rt.mac_by_id[m->port];
    if (icmp[0] == 135 && plen >= 24 && ps.addr6 &&
        std::memcmp(icmp + 8, ps.addr6->bytes.data(), 16) == 0) { // NS for our address → NA
        fib::Mac smac;
        std::memcpy(smac.data(), p + 6, 6);
        std::uint8_t src6[16];
        std::memcpy(src6, ip + 8, 16);
        const bool dad = std::all_of(src6, src6 + 16, [](std::uint8_t b) { return b == 0; });
        // RFC 4861 §7.2.3: a solicitation with a source link-layer address creates or updates
        // the sender's entry (gleaning), so the reply path needs no solicitation of our own.
        if (!dad) {
            std::array<std::uint8_t, 16> a{};
            std::memcpy(a.data(), src6, 16);
            if (plen >= 32 && icmp[24] == 1 && icmp[25] == 1)
                std::memcpy(smac.data(), icmp + 26, 6);
            if ((smac[0] & 1) != 0) return cdrop(rt, Drop::neighbour_invalid, m); // §3.3.2
            if (auto adj = rt.comp->neighbour(IpAddr::v6(a))) learned(rt, *adj, smac, now);
        }
        rte_mbuf* r = alloc_frame(rt, 14 + 40 + 32);
        if (!r) return cdrop(rt, Drop::to_us_other, m);
        auto* q = rte_pktmbuf_mtod(r, std::uint8_t*);
        // A DAD probe (unspecified source) is answered to all-nodes (RFC 4861 §7.2.4).
        static constexpr std::uint8_t all_nodes_mac[6] = {0x33, 0x33, 0, 0, 0, 1};
        static constexpr std::uint8_t all_nodes[16] = {0xFF, 0x02, 0, 0, 0, 0, 0, 0,
                                                       0,    0,    0, 0, 0, 0, 0, 1};
        std::uint8_t* na =
            write_icmp6_frame(q, dad ? all_nodes_mac : smac.data(), mine, ps.addr6->bytes.data(),
                              dad ? all_nodes : src6, 32, 255);
        std::uint8_t* rip = q + 14;
        na[0] = 136;
        // Router (we are one: RFC 4861 §7.2.4, a host would otherwise drop us from its default
        // router list), solicited (unless DAD), override.
        na[4] = dad ? 0xA0 : 0xE0;
        std::memcpy(na + 8, ps.addr6->bytes.data(), 16);
        na[24] = 2; // target link-layer address
        na[25] = 1;
        std::memcpy(na + 26, mine.data(), 6);
        store_be16(na + 2, icmp6_csum(rip, na, 32));
        rte_pktmbuf_free(m);
        ++rt.cstats.nd_adverts;
        send(rt, r, static_cast<std::uint16_t>(rt.port_ids[pi]));
        return;
    }
    if (icmp[0] == 136 && plen >= 24) { // NA: learn the target's MAC (option 2, else frame src)
        std::array<std::uint8_t, 16> t{};
        std::memcpy(t.data(), icmp + 8, 16);
        fib::Mac mac;
        std::memcpy(mac.data(), p + 6, 6);
        if (plen >= 32 && icmp[24] == 2 && icmp[25] == 1) std::memcpy(mac.data(), icmp + 26, 6);
        // RFC 4861 §7.1.2: the target is no multicast address, and a solicited NA is unicast;
        // RFC 1812 §3.3.2: a multicast link-layer address is never believed.
        if (icmp[8] == 0xFF || ((icmp[4] & 0x40) != 0 && ip[24] == 0xFF) || (mac[0] & 1) != 0)
            return cdrop(rt, Drop::neighbour_invalid, m);
        if (auto adj = rt.comp->find_neighbour(IpAddr::v6(t))) learned(rt, *adj, mac, now);
        rte_pktmbuf_free(m);
        return;
    }
    if (icmp[0] == 128 && is_our_v6(rt, ip + 24)) { // echo request → reply
        icmp[0] = 129;
        std::uint8_t tmp[16];
        std::memcpy(tmp, ip + 8, 16);
        std::memcpy(ip + 8, ip + 24, 16);
        std::memcpy(ip + 24, tmp, 16);
        ip[7] = 64;
        store_be16(icmp + 2, 0);
        store_be16(icmp + 2, icmp6_csum(ip, icmp, plen));
        std::memcpy(p, p + 6, 6);
        std::memcpy(p + 6, mine.data(), 6);
        ++rt.cstats.icmp_echo_replies;
        send(rt, m, m->port);
        return;
    }
    cdrop(rt, Drop::to_us_other, m);
}

void handle_punt(Runtime& rt, rte_mbuf* m, std::uint64_t now) {
    ++rt.cstats.punts;
    const PuntMeta pm = *punt_meta(m);
    auto* p = rte_pktmbuf_mtod(m, std::uint8_t*);
    const L2Info l2 = classify(p, m->data_len);
    switch (pm.reason) {
    case Punt::local:
        if (l2.l3 == L3::arp) return handle_arp(rt, m, pm.l3_off, now);
        if (l2.l3 == L3::ipv4) return handle_local_v4(rt, m, pm.l3_off);
        if (l2.l3 == L3::ipv6) return handle_local_v6(rt, m, pm.l3_off, now);
        return cdrop(rt, Drop::to_us_other, m);
    case Punt::needs_host: {
        const std::uint8_t* ip = p + pm.l3_off;
        IpAddr dst;
        if (l2.l3 == L3::ipv4) {
            dst = IpAddr::v4(load_be32(ip + 16));
        } else {
            std::array<std::uint8_t, 16> a{};
            std::memcpy(a.data(), ip + 24, 16);
            dst = IpAddr::v6(a);
        }
        if (is_subnet_broadcast(rt, dst)) return cdrop(rt, Drop::directed_broadcast, m);
        auto adj = rt.comp->neighbour(dst);
        if (!adj) return cdrop(rt, Drop::no_adjacency, m);
        rt.comp->ensure_host(*adj, now);
        return wait_for_neighbour(rt, m, *adj, now);
    }
    case Punt::unresolved:
        return wait_for_neighbour(rt, m, pm.adj, now);
    case Punt::ttl_expired: // the drop is counted by the worker
        if (l2.l3 == L3::ipv4) return send_icmp4_error(rt, m, pm.l3_off, 11, 0, now);
        if (l2.l3 == L3::ipv6) return send_icmp6_error(rt, m, pm.l3_off, 3, 0, now);
        rte_pktmbuf_free(m);
        return;
    case Punt::no_route:
        if (l2.l3 == L3::ipv4) return send_icmp4_error(rt, m, pm.l3_off, 3, 0, now);
        if (l2.l3 == L3::ipv6) return send_icmp6_error(rt, m, pm.l3_off, 1, 0, now);
        rte_pktmbuf_free(m);
        return;
    }
    rte_pktmbuf_free(m);
}

// Split ports (net_af_xdp with rsfwd's program): next-hop MACs from the kernel's neighbour table,
// at most every 200 ms (a netlink dump), sooner after a solicitation. An entry the kernel holds
// confirms the adjacency, as a reply would.
void sync_kernel_neighbours(Runtime& rt, std::uint64_t now) {
    if (!rt.any_split || now - rt.last_kernel_neigh_tsc < rt.tsc_hz / 5) return;
    rt.last_kernel_neigh_tsc = now;
    std::vector<std::string> ifaces;
    for (const auto& i : rt.split_iface)
        if (!i.empty()) ifaces.push_back(i);
    for (const auto& kn : af_xdp::kernel_neighbours(ifaces)) {
        const auto adj = rt.comp->find_neighbour(kn.addr);
        if (!adj) continue;
        const fib::Neighbour& n = rt.comp->neighbour_info(*adj);
        if (n.is_static || rt.split_iface[n.port] != kn.ifname) continue;
        if (!n.resolved || n.mac != kn.mac) {
            learned(rt, *adj, kn.mac, now);
        } else {
            rt.nstate[*adj].tries = 0;
            rt.nstate[*adj].confirmed_tsc = now;
        }
    }
}

void neighbour_timers(Runtime& rt, std::uint64_t now) {
    sync_kernel_neighbours(rt, now);
    const std::uint64_t retry = rt.opt.arp_retry_ms * rt.tsc_hz / 1000;
    const std::uint64_t refresh = std::uint64_t{rt.opt.arp_refresh_s} * rt.tsc_hz;
    for (std::uint32_t a = 0; a < rt.comp->neighbour_count(); ++a) {
        const fib::Neighbour& n = rt.comp->neighbour_info(a);
        NeighbourState& st = rt.nstate[a];
        if (n.is_static) continue;
        if (!n.resolved) {
            if (st.tries == 0 || now - st.last_request_tsc < retry) continue;
            if (st.tries >= rt.opt.arp_tries) { // give up on what waits; retry on new demand
                for (rte_mbuf* m : st.pending) cdrop(rt, Drop::arp_unresolved, m);
                st.pending.clear();
                st.tries = 0;
                continue;
            }
            solicit(rt, a, now);
        } else if (now - st.confirmed_tsc >= refresh) {
            if (st.tries >= rt.opt.arp_tries) {
                rt.comp->set_unresolved(a);
                st.tries = 0;
                continue;
            }
            if (st.tries == 0 || now - st.last_request_tsc >= retry) solicit(rt, a, now);
        }
    }
}

} // namespace

void Engine::control_poll() {
    Runtime& rt = *rt_;
    if (!rt.started || rt.stopped) return;
    const std::uint64_t now = rte_rdtsc();
    for (auto& w : rt.workers) {
        void* objs[64];
        const unsigned n = rte_ring_sc_dequeue_burst(w->punt, objs, 64, nullptr);
        for (unsigned i = 0; i < n; ++i) handle_punt(rt, static_cast<rte_mbuf*>(objs[i]), now);
    }
    if (now - rt.last_timer_tsc >= rt.tsc_hz / 100) {
        rt.last_timer_tsc = now;
        neighbour_timers(rt, now);
    }
    fib::publish_step(*rt.pub, *rt.comp, now);
    rt.mirror.store(rt);
}

bool Engine::control_idle() const noexcept {
    const Runtime& rt = *rt_;
    if (!rt.started || rt.stopped) return true;
    if (rt.comp->has_pending() || rt.pub->busy()) return false;
    for (const auto& w : rt.workers)
        if (!rte_ring_empty(w->punt)) return false;
    return true;
}

void Engine::run(const std::atomic<bool>* stop, double duration_s) {
    Runtime& rt = *rt_;
    const std::uint64_t start = rte_rdtsc();
    const auto limit = static_cast<std::uint64_t>(duration_s * static_cast<double>(rt.tsc_hz));
    while (!(stop && stop->load(std::memory_order_relaxed))) {
        if (duration_s > 0 && rte_rdtsc() - start >= limit) break;
        control_poll();
        if (control_idle()) std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
}

} // namespace rsfwd::dp
