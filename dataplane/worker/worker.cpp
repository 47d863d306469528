// dataplane/worker/worker.cpp — the worker loop. Why it looks like this:
// - One straight pipeline per burst (STYLE.md): parse into flat key arrays, one bulk lookup per
//   family in the ingress port's view (a burst comes from one rx queue, hence one port, hence
//   one view), then resolution and rewrite, then per-port TX buffers flushed once per loop.
// - The generation pointer is re-read only at the top of a loop (worker_poll), so every packet of
//   a burst is looked up in exactly one generation; quiescence is reported at the same place.
// - Adjacency slots are single 8-byte atomics (see dataplane/fib/fib.hpp): ARP resolution reaches
//   workers without a publication.
// - Nothing here allocates, locks, logs, throws or makes a syscall; exceptions go to the control
//   thread on an SP/SC ring and a full ring is a counted drop.
// - Features are chosen at compile time: Cycles=true adds per-stage TSC counters (bench only).
#include <bit>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_prefetch.h>

#include "dataplane/worker/packet.hpp"
#include "dataplane/worker/worker.hpp"

namespace rsfwd::dp {

int punt_dynfield_offset = -1;

namespace {

inline void count_drop(WorkerCtx& w, Drop d, rte_mbuf* m) noexcept {
    ++w.counters.drops[static_cast<std::size_t>(d)];
    rte_pktmbuf_free(m);
}

inline void punt(WorkerCtx& w, rte_mbuf* m, Punt reason, std::uint16_t l3_off, std::uint32_t adj,
                 std::uint16_t view) noexcept {
    PuntMeta* pm = punt_meta(m);
    pm->reason = reason;
    pm->view = static_cast<std::uint8_t>(view);
    pm->l3_off = l3_off;
    pm->adj = adj;
    if (rte_ring_sp_enqueue(w.punt, m) != 0) {
        count_drop(w, Drop::punt_full, m);
        return;
    }
    ++w.counters.punted;
}

// A packet that is dropped (counted under `d`) but may also trigger an ICMP error: punted only
// within a small per-worker budget (64 per millisecond) so a flood cannot fill the ring.
inline void drop_with_error(WorkerCtx& w, rte_mbuf* m, Drop d, Punt reason, std::uint16_t l3_off,
                            std::uint16_t view) noexcept {
    ++w.counters.drops[static_cast<std::size_t>(d)];
    if (!w.sh->wopt.icmp_errors) {
        rte_pktmbuf_free(m);
        return;
    }
    if (w.err_tokens == 0) {
        const std::uint64_t now = rte_rdtsc();
        if (now - w.err_refill_tsc < w.sh->tsc_hz / 1000) {
            rte_pktmbuf_free(m);
            return;
        }
        w.err_refill_tsc = now;
        w.err_tokens = 64;
    }
    --w.err_tokens;
    PuntMeta* pm = punt_meta(m);
    pm->reason = reason;
    pm->view = static_cast<std::uint8_t>(view);
    pm->l3_off = l3_off;
    pm->adj = fib::no_adj;
    if (rte_ring_sp_enqueue(w.punt, m) != 0)
        rte_pktmbuf_free(m); // the drop is counted already
    else
        ++w.counters.punted;
}

inline void tx_flush(WorkerCtx& w, std::uint16_t port) noexcept {
    TxBuf& b = w.tx[port];
    const unsigned n = b.n;
    if (n == 0) return;
    // Bytes are summed before the send (sent mbufs may be freed by the PMD); the unsent ones
    // are still ours, so the rare partial send subtracts them. (Summed at append, the sum was
    // a chain through memory from one packet to the next in the worker's forward loop.)
    std::uint64_t bytes = 0;
    for (unsigned i = 0; i < n; ++i) bytes += b.pkts[i]->pkt_len;
    const std::uint16_t sent = rte_eth_tx_burst(port, static_cast<std::uint16_t>(w.id),
                                                b.pkts.data(), static_cast<std::uint16_t>(n));
    if (sent < n) {
        for (unsigned i = sent; i < n; ++i) bytes -= b.pkts[i]->pkt_len;
        w.counters.drops[static_cast<std::size_t>(Drop::tx_full)] += n - sent;
        rte_pktmbuf_free_bulk(b.pkts.data() + sent, n - sent);
    }
    PortCount& pc = w.counters.port[port];
    pc.tx_pkts += sent;
    pc.tx_bytes += bytes;
    w.counters.tx_pkts += sent;
    w.counters.tx_bytes += bytes;
    b.n = 0;
}

inline void tx_add(WorkerCtx& w, std::uint16_t port, rte_mbuf* m) noexcept {
    TxBuf& b = w.tx[port];
    b.pkts[b.n++] = m;
    if (b.n == burst_size) tx_flush(w, port);
}

// Family traits: what differs between IPv4 and IPv6 in the resolve stage. Everything else (the
// RFC 1812 order of checks, ECMP, the hosts table) is one template, so the two families cannot
// drift apart.
struct Fam4 {
    using Key = std::uint32_t;
    static constexpr unsigned hop_limit_off = 8; // TTL
    static constexpr std::uint16_t ethertype = ethertype_ipv4;
    static void dec_hop(std::uint8_t* ip) noexcept { ipv4_dec_ttl(ip); }
    static std::uint32_t flow_hash(const std::uint8_t* ip, std::size_t avail) noexcept {
        return flow_hash_v4(ip, avail);
    }
    static const lpm::Table4& hosts(const fib::Generation& g) noexcept { return g.hosts4; }
};
struct Fam6 {
    using Key = lpm::Addr6;
    static constexpr unsigned hop_limit_off = 7; // hop limit
    static constexpr std::uint16_t ethertype = ethertype_ipv6;
    static void dec_hop(std::uint8_t* ip) noexcept { --ip[hop_limit_off]; }
    static std::uint32_t flow_hash(const std::uint8_t* ip, std::size_t avail) noexcept {
        return flow_hash_v6(ip, avail);
    }
    static const lpm::Table6& hosts(const fib::Generation& g) noexcept { return g.hosts6; }
};

// Per-family slice of a burst: keys and packet indices in, next hops out; connected
// destinations collected for the hosts-table lookup.
template <class F>
struct FamBurst {
    unsigned n = 0, nh_host = 0;
    std::array<typename F::Key, burst_size> key;
    std::array<std::uint16_t, burst_size> idx;
    std::array<lpm::nh_t, burst_size> nh;
    std::array<typename F::Key, burst_size> host_key;
    std::array<std::uint16_t, burst_size> host_idx;
};

struct BurstState {
    FamBurst<Fam4> f4;
    FamBurst<Fam6> f6;
    std::array<std::uint16_t, burst_size> off;
    std::array<std::uint8_t, burst_size> hop; // TTL / hop limit, read while parsing
    // Frame start of each packet parsed for a lookup: resolve writes through it without
    // re-reading the mbuf's buf_addr and data_off. That load, with the TTL decrement behind
    // it, held ~26 % of resolve_burst's perf samples at 1M routes: by the time resolve runs,
    // the burst's mbuf lines have often left L1 (the lookup's lines came in between).
    std::array<std::uint8_t*, burst_size> frame;
    std::array<lpm::nh_t, burst_size> hnh;
};

// The TX buffer of the port the previous packet went to (a "run"), kept in locals: its port
// and next free slot. In memory, `b.n++` was a chain through store forwarding from one packet
// to the next, as most packets of a burst leave by one port.
struct TxRun {
    std::uint16_t port = fib::adj_unresolved;
    rte_mbuf** tail = nullptr; // the next free slot of w.tx[port].pkts
    std::uint32_t touched = 0; // ports appended to (max_ports == 32)
};

inline void run_close(WorkerCtx& w, TxRun& r) noexcept {
    if (r.tail == nullptr) return;
    TxBuf& b = w.tx[r.port];
    b.n = static_cast<std::uint16_t>(r.tail - b.pkts.data());
}

// What the resolve loops read on every packet, loaded once per burst into locals: packet stores
// are char stores, which may alias any member, so gcc reloaded the adjacency array, the groups'
// data and the port MACs through two dependent loads per packet.
struct ResolveCtx {
    const std::atomic<std::uint64_t>* adj;
    const std::uint64_t* mac64; // Runtime::mac64_by_id
    const fib::NhGroup* groups;
    std::size_t n_groups;
};

// Adjacency → hop limit decrement → MAC rewrite → TX buffer; an adjacency without a MAC yet
// punts the packet to the control thread (ARP / ND, pending queue). Buffers are appended
// without a "full?" test: every TxBuf holds < burst_size packets when a burst starts (the flush
// after the burst and tx_add's keep it so) and a burst adds ≤ burst_size, within the
// 2 * burst_size capacity.
template <class F>
[[gnu::always_inline]] inline void forward(WorkerCtx& w, const ResolveCtx& x, const RxQueue& q,
                                           rte_mbuf* m, std::uint8_t* frame, std::uint16_t off,
                                           std::uint32_t a, TxRun& r) noexcept {
    const std::uint64_t slot = x.adj[a].load(std::memory_order_relaxed);
    const std::uint16_t port = fib::adj_port(slot);
    if (port == fib::adj_unresolved) [[unlikely]] {
        punt(w, m, Punt::unresolved, off, a, q.view);
        return;
    }
    if (port != r.port) {
        run_close(w, r);
        r.port = port;
        r.tail = w.tx[port].pkts.data() + w.tx[port].n;
        r.touched |= 1u << port;
    }
    F::dec_hop(frame + off);
    if (off == 14) [[likely]] {
        write_macs(frame, slot, x.mac64[port]); // the ethertype stays
    } else {
        std::uint8_t dst[8];
        std::memcpy(dst, &slot, 8); // little endian: bytes 0..5 are the MAC
        rewrite_l2(frame, off, F::ethertype, dst, w.sh->mac_by_id[port].data());
        rte_pktmbuf_adj(m, static_cast<std::uint16_t>(off - 14));
    }
    *r.tail++ = m;
}

// ECMP member of an n-member group: the RSS hash when the NIC gave one, else the 5-tuple.
template <class F>
inline unsigned pick_member(const rte_mbuf* m, const std::uint8_t* frame, std::uint16_t off,
                            unsigned n) noexcept {
    const std::uint8_t* ip = frame + off;
    const std::uint32_t h =
        (m->ol_flags & RTE_MBUF_F_RX_RSS_HASH) ? m->hash.rss : F::flow_hash(ip, m->data_len - off);
    return ecmp_pick(h, n);
}

// Groups → adjacencies → forward() for one family; RFC 1812 TTL / hop-limit rule after the
// lookup (local delivery first). Connected destinations are queued for the hosts table.
// Packets leave in arrival order within a family and a path (group or hosts table); one flow
// takes one path, so no flow is reordered. (A separate pass in arrival order over the whole
// burst, after this one, cost a second loop with its loads and stores per packet.)
// Forced inline: the two families are two straight-line loops of resolve_burst.
template <class F>
[[gnu::always_inline]] inline void resolve_groups(WorkerCtx& w, const ResolveCtx& x,
                                                  const RxQueue& q, rte_mbuf** pkts, FamBurst<F>& b,
                                                  BurstState& s, TxRun& run) noexcept {
    for (unsigned j = 0; j < b.n; ++j) {
        const unsigned i = b.idx[j];
        const lpm::nh_t nh = b.nh[j];
        unsigned member = 0;
        // Common case first, one test: a dynamic group and a hop limit to spare. The chain
        // below keeps the RFC 1812 order for everything else.
        if (nh >= fib::first_dynamic_group && nh < x.n_groups && s.hop[i] > 1) [[likely]] {
            const fib::NhGroup& g = x.groups[nh];
            if (g.n > 1) member = pick_member<F>(pkts[i], s.frame[i], s.off[i], g.n);
            forward<F>(w, x, q, pkts[i], s.frame[i], s.off[i], g.adj[member], run);
            continue;
        }
        rte_mbuf* m = pkts[i];
        if (nh == lpm::no_route) {
            drop_with_error(w, m, Drop::no_route, Punt::no_route, s.off[i], q.view);
            continue;
        }
        if (nh == fib::group_local) {
            punt(w, m, Punt::local, s.off[i], fib::no_adj, q.view);
            continue;
        }
        if (s.hop[i] <= 1) { // read during parse: no packet-data access here unless ECMP
            drop_with_error(w, m, Drop::ttl_expired, Punt::ttl_expired, s.off[i], q.view);
            continue;
        }
        if (nh == fib::group_connected) {
            b.host_key[b.nh_host] = b.key[j];
            b.host_idx[b.nh_host++] = static_cast<std::uint16_t>(i);
            continue;
        }
        count_drop(w, Drop::no_adjacency, m); // blackhole, or a group index out of range
    }
}

// Connected destinations: one bulk lookup in the hosts table; unknown hosts go to the control
// thread (it creates the neighbour and its hosts entry).
template <class F>
[[gnu::always_inline]] inline void
resolve_hosts(WorkerCtx& w, const fib::Generation& gen, const ResolveCtx& x, const RxQueue& q,
              rte_mbuf** pkts, FamBurst<F>& b, BurstState& s, TxRun& run) noexcept {
    if (b.nh_host == 0) return;
    F::hosts(gen).lookup_bulk({b.host_key.data(), b.nh_host}, {s.hnh.data(), b.nh_host});
    for (unsigned j = 0; j < b.nh_host; ++j) {
        const unsigned i = b.host_idx[j];
        if (s.hnh[j] == lpm::no_route)
            punt(w, pkts[i], Punt::needs_host, s.off[i], fib::no_adj, q.view);
        else
            forward<F>(w, x, q, pkts[i], s.frame[i], s.off[i], s.hnh[j], run);
    }
}

// Everything after the lookups, out of line (one call per burst): in one function with the
// parse and lookup loops, gcc kept the TX run in stack slots, a store-forwarding chain again.
[[gnu::noinline]] void resolve_burst(WorkerCtx& w, const fib::Generation& gen, const RxQueue& q,
                                     rte_mbuf** pkts, BurstState& s) noexcept {
    const ResolveCtx x{w.sh->adj->slots(), w.sh->mac64_by_id.data(), gen.groups.data(),
                       gen.groups.size()};
    TxRun run;
    resolve_groups(w, x, q, pkts, s.f4, s, run);
    resolve_groups(w, x, q, pkts, s.f6, s, run);
    resolve_hosts(w, gen, x, q, pkts, s.f4, s, run);
    resolve_hosts(w, gen, x, q, pkts, s.f6, s, run);
    run_close(w, run);
    std::uint32_t touched = run.touched;
    static_assert(fib::max_ports <= 32 && 2 * burst_size <= TxBuf{}.pkts.size());
    while (touched != 0) {
        const auto p = static_cast<std::uint16_t>(__builtin_ctz(touched));
        touched &= touched - 1;
        if (w.tx[p].n >= burst_size) tx_flush(w, p);
    }
}

// Bytes 12..15 of an untagged IPv4 frame without options, loaded little endian: ethertype
// 0x0800, then version 4 / IHL 5 (the TOS byte is masked off).
inline constexpr std::uint32_t fast_v4_word = 0x450008;
// Bytes 12..14 of an untagged IPv6 frame, masked to ethertype 0x86DD and version 6.
inline constexpr std::uint32_t fast_v6_word = 0x60DD86;
static_assert(std::endian::native == std::endian::little);

constexpr Drop addr_drop(AddrCheck a) noexcept {
    return a == AddrCheck::link_local    ? Drop::link_local
           : a == AddrCheck::martian_dst ? Drop::martian_dst
                                         : Drop::martian_src;
}

// The generic parse of one packet (802.1Q, IPv4 options, ARP, the checks that failed on the
// fast path): every packet that is not an untagged IPv4 / IPv6 unicast packet to our MAC that
// passes the fast path's checks, and every packet whose address bytes the screen flagged (the
// exact RFC 1812 / 3927 / 4291 address rules are here). Frames to a broadcast or multicast MAC
// reach only this path: the fast path compares the destination MAC to ours. Out of line: inside the
// parse loop, gcc laid the fast path out as a chain of taken jumps around this code.
[[gnu::noinline]] void parse_generic(WorkerCtx& w, const RxQueue& q, BurstState& s, rte_mbuf* m,
                                     std::uint8_t* p, std::size_t len, unsigned i,
                                     std::uint64_t our_mac, bool verify_csum) noexcept {
    const L2Info l2 = classify(p, len);
    s.off[i] = l2.l3_off;
    s.frame[i] = p;
    if (!l2.ok) {
        count_drop(w, Drop::bad_header, m);
        return;
    }
    const bool l2_unicast = (p[0] & 1) == 0;
    if (l2_unicast) { // must be ours
        // One 8-byte load masked to the 6 MAC bytes (the frame has ≥ 14): a 6-byte memcpy
        // into a zeroed local compiled to two narrow stores + one wide reload, a
        // store-forwarding stall that perf showed as ~20 % of the worker.
        std::uint64_t dst;
        std::memcpy(&dst, p, 8);
        if ((dst & 0xFFFFFFFFFFFFull) != our_mac) {
            count_drop(w, Drop::not_for_us, m);
            return;
        }
    }
    const std::uint8_t* ip = p + l2.l3_off;
    const std::size_t avail = len - l2.l3_off;
    switch (l2.l3) {
    case L3::ipv4: {
        const std::uint64_t f = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
        if (f == RTE_MBUF_F_RX_IP_CKSUM_BAD) {
            count_drop(w, Drop::bad_checksum, m);
            return;
        }
        const V4Check r = check_ipv4(ip, avail, verify_csum || f != RTE_MBUF_F_RX_IP_CKSUM_GOOD);
        if (r != V4Check::ok) {
            count_drop(w, r == V4Check::bad_checksum ? Drop::bad_checksum : Drop::bad_header, m);
            return;
        }
        const AddrCheck a = check_v4_addrs(load_be32(ip + 12), load_be32(ip + 16),
                                           w.sh->wopt.allow_martian_sources);
        if (a != AddrCheck::ok) {
            count_drop(w, addr_drop(a), m);
            return;
        }
        if (!l2_unicast) { // RFC 1812 §5.3.4 (rsfwd has no IPv4 multicast to accept)
            count_drop(w, Drop::l2_not_unicast, m);
            return;
        }
        s.hop[i] = ip[Fam4::hop_limit_off];
        s.f4.key[s.f4.n] = load_be32(ip + 16);
        s.f4.idx[s.f4.n++] = static_cast<std::uint16_t>(i);
        break;
    }
    case L3::ipv6: {
        if (!check_ipv6(ip, avail)) {
            count_drop(w, Drop::bad_header, m);
            return;
        }
        const std::uint8_t* d = ip + 24;
        if (d[0] == 0xFF) { // multicast (ND, MLD): the control thread answers what it knows
            punt(w, m, Punt::local, l2.l3_off, fib::no_adj, q.view);
            return;
        }
        if (!l2_unicast) { // unicast destination in a multicast frame (RFC 1812 §5.3.4)
            count_drop(w, Drop::l2_not_unicast, m);
            return;
        }
        if (d[0] == 0xFE && (d[1] & 0xC0) == 0x80) { // link-local: on-link, never forwarded
            punt(w, m, Punt::local, l2.l3_off, fib::no_adj, q.view);
            return;
        }
        const AddrCheck a = check_v6_addrs(ip + 8, d);
        if (a != AddrCheck::ok) {
            count_drop(w, addr_drop(a), m);
            return;
        }
        s.hop[i] = ip[Fam6::hop_limit_off];
        std::memcpy(s.f6.key[s.f6.n].data(), d, 16);
        s.f6.idx[s.f6.n++] = static_cast<std::uint16_t>(i);
        break;
    }
    case L3::arp:
        punt(w, m, Punt::local, l2.l3_off, fib::no_adj, q.view);
        break;
    case L3::other:
        count_drop(w, Drop::not_ip, m);
        break;
    }
}

template <bool Cycles>
void process_burst(WorkerCtx& w, const fib::Generation& gen, const RxQueue& q, rte_mbuf** pkts,
                   unsigned n, std::uint64_t& t) noexcept {
    const WorkerShared& rt = *w.sh;
    WorkerCounters& c = w.counters;
    auto stage = [&](Stage s) {
        if constexpr (Cycles) {
            const std::uint64_t now = rte_rdtsc();
            c.stage_cycles[static_cast<std::size_t>(s)] += now - t;
            t = now;
        }
    };
    const fib::ViewTables& vt = gen.views[q.view];
    const std::uint64_t our_mac = rt.mac64_by_id[q.port];
    const bool verify_csum = !rt.offload_ip_cksum[static_cast<std::size_t>(rt.index_by_id[q.port])];
    const std::uint8_t* const scr = w.screen.data();
    BurstState s;
    std::uint64_t bytes = 0;

    for (unsigned i = 0; i < n && i < 4; ++i) rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void*));
    for (unsigned i = 0; i < n; ++i) {
        if (i + 4 < n) rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 4], void*));
        rte_mbuf* m = pkts[i];
        bytes += m->pkt_len;
        auto* const p = rte_pktmbuf_mtod(m, std::uint8_t*);
        const std::size_t len = m->data_len;
        // Fast path: an untagged IPv4 header without options, or an IPv6 header to a unicast
        // address, to our MAC, whose address bytes the screen passes, that passes every check below
        // — nearly every packet on a router port — in straight-line code. Anything else (and any
        // check failing) takes the generic path, which drops it with its reason.
        if (len >= 34) [[likely]] {
            std::uint64_t w0; // destination MAC + 2 bytes of the source
            std::uint32_t w3; // ethertype, version/IHL (v4) or version/traffic class (v6), …
            std::memcpy(&w0, p, 8);
            std::memcpy(&w3, p + 12, 4);
            const std::uint8_t* ip = p + 14;
            if ((w0 & 0xFFFFFFFFFFFFull) == our_mac) [[likely]] {
                if ((w3 & 0xFFFFFF) == fast_v4_word) [[likely]] {
                    const std::uint64_t f = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
                    const unsigned tot = load_be16(ip + 2);
                    if (tot >= 20 && tot <= len - 14 && f != RTE_MBUF_F_RX_IP_CKSUM_BAD &&
                        ((!verify_csum && f == RTE_MBUF_F_RX_IP_CKSUM_GOOD) ||
                         ipv4_csum20_ok(ip)) &&
                        ((scr[ip[12]] & screen_v4_src) | (scr[ip[16]] & screen_v4_dst)) == 0)
                        [[likely]] {
                        s.off[i] = 14;
                        s.frame[i] = p;
                        s.hop[i] = ip[Fam4::hop_limit_off];
                        s.f4.key[s.f4.n] = load_be32(ip + 16);
                        s.f4.idx[s.f4.n++] = static_cast<std::uint16_t>(i);
                        continue;
                    }
                } else if ((w3 & 0xF0FFFF) == fast_v6_word && len >= 54) {
                    const std::uint8_t* d = ip + 24;
                    // The screen flags first bytes 0x00, 0xFE, 0xFF of either address (::/8,
                    // link-local, multicast): one test where the destination alone took two.
                    if (40u + load_be16(ip + 4) <= len - 14 &&
                        ((scr[ip[8]] & screen_v6_src) | (scr[d[0]] & screen_v6_dst)) == 0) {
                        s.off[i] = 14;
                        s.frame[i] = p;
                        s.hop[i] = ip[Fam6::hop_limit_off];
                        std::memcpy(s.f6.key[s.f6.n].data(), d, 16);
                        s.f6.idx[s.f6.n++] = static_cast<std::uint16_t>(i);
                        continue;
                    }
                }
            }
        }
        parse_generic(w, q, s, m, p, len, i, our_mac, verify_csum);
    }
    c.rx_pkts += n;
    c.rx_bytes += bytes;
    c.port[q.port].rx_pkts += n;
    c.port[q.port].rx_bytes += bytes;
    stage(Stage::parse);

    // No LPM prefetch while parsing: the bulk lookup's first pass prefetches the roots itself.
    // Root prefetches in the parse loop, and the block prefetches of keys parsed 8 packets
    // earlier (Table4::prefetch_next), made 1M routes slower (docs/dataplane.md, "Seventh
    // pass", has the measurement).
    if (s.f4.n) vt.v4.lookup_bulk({s.f4.key.data(), s.f4.n}, {s.f4.nh.data(), s.f4.n});
    if (s.f6.n) vt.v6.lookup_bulk({s.f6.key.data(), s.f6.n}, {s.f6.nh.data(), s.f6.n});
    stage(Stage::lookup);

    resolve_burst(w, gen, q, pkts, s);
    stage(Stage::resolve);
}

template <bool Cycles>
void loop(WorkerCtx& w) noexcept {
    const WorkerShared& rt = *w.sh;
    fib::Handoff& pub = *rt.handoff;
    WorkerCounters& c = w.counters;
    const fib::Generation* gen = fib::worker_online(pub, w.id);
    std::array<rte_mbuf*, burst_size> pkts;
    std::uint64_t t = 0;
    const std::uint32_t sleep_us = rt.wopt.idle_sleep_us;
    const std::uint32_t polls_before_sleep = rt.wopt.idle_polls_before_sleep;
    std::uint32_t idle = 0;
    for (;;) {
        const bool stopping = rt.stop_workers.load(std::memory_order_relaxed);
        gen = fib::worker_poll(pub, w.id, gen);
        ++c.loops;
        if constexpr (Cycles) t = rte_rdtsc();
        bool busy = false;
        // Packets the control thread built (ARP, ICMP) or released (resolved neighbours).
        const unsigned ni = rte_ring_sc_dequeue_burst(
            w.inject, reinterpret_cast<void**>(pkts.data()), burst_size, nullptr);
        for (unsigned i = 0; i < ni; ++i) {
            ++c.injected;
            tx_add(w, pkts[i]->port, pkts[i]);
        }
        if (stopping) break;
        for (const RxQueue& q : w.rxq) {
            const std::uint16_t n = rte_eth_rx_burst(q.port, q.queue, pkts.data(), burst_size);
            if constexpr (Cycles) {
                const std::uint64_t now = rte_rdtsc();
                c.stage_cycles[static_cast<std::size_t>(Stage::rx)] += now - t;
                t = now;
            }
            if (n == 0) continue;
            busy = true;
            process_burst<Cycles>(w, *gen, q, pkts.data(), n, t);
        }
        for (std::uint16_t p : rt.port_ids) tx_flush(w, p);
        if constexpr (Cycles) {
            const std::uint64_t now = rte_rdtsc();
            c.stage_cycles[static_cast<std::size_t>(Stage::tx)] += now - t;
        }
        c.busy_loops += busy;
        // Idle back-off (WorkerOptions::idle_sleep_us), off by default. A sleeping worker
        // reports quiescence at most N µs late: FIB publication and reclamation wait that long.
        if (busy || ni != 0) {
            idle = 0;
        } else if (sleep_us != 0 && ++idle >= polls_before_sleep) {
            ++c.idle_sleeps;
            rte_delay_us_sleep(sleep_us);
        }
    }
    for (std::uint16_t p : rt.port_ids) tx_flush(w, p);
    fib::worker_offline(pub, w.id);
}

} // namespace

int worker_main(void* arg) {
    auto& w = *static_cast<WorkerCtx*>(arg);
    w.screen = make_addr_screen(w.sh->wopt.allow_martian_sources);
    if (w.sh->wopt.stage_cycles)
        loop<true>(w);
    else
        loop<false>(w);
    return 0;
}

} // namespace rsfwd::dp
