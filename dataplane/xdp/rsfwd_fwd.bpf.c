// SPDX-License-Identifier: (GPL-2.0-only OR BSD-3-Clause)
/* dataplane/xdp/rsfwd_fwd.bpf.c — rsfwd's XDP forwarding backend.
 *
 * One pass per packet: parse Ethernet/IPv4/IPv6 → pick the view of the ingress port → LPM in the
 * view's trie → next hop (or ECMP group, flow hash over the 5-tuple; D7) → TTL/hop-limit decrement
 * with incremental checksum → MAC rewrite → redirect through the devmap. What the control plane
 * must see (ARP, our addresses, TTL expiry, unresolved next hops, multicast/ND) goes to the kernel
 * with XDP_PASS; everything else that cannot be forwarded is dropped. Every outcome is a per-CPU
 * counter (xdp_abi.h); nothing is logged.
 *
 * Maps are created by libbpf when the loader opens this object and are never pinned: they live
 * as long as the loader's file descriptors and the bpf_link that attaches the program.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "xdp_abi.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* ---- maps ----------------------------------------------------------------------------------- */

struct view_v4 {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __uint(max_entries, RSFWD_XDP_MAX_ROUTES);
    __uint(key_size, sizeof(struct rsfwd_lpm4_key));
    __uint(value_size, sizeof(struct rsfwd_route));
};
struct view_v6 {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __uint(max_entries, RSFWD_XDP_MAX_ROUTES);
    __uint(key_size, sizeof(struct rsfwd_lpm6_key));
    __uint(value_size, sizeof(struct rsfwd_route));
};

/* Inner map templates use key_size/value_size: the loader creates the real tries without BTF,
 * and the kernel compares only type, sizes, flags and max_entries. */
/* One LPM trie per view and family; the loader creates the inner tries and stores their fds. */
struct {
    __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
    __uint(max_entries, RSFWD_XDP_MAX_VIEWS);
    __type(key, __u32);
    __array(values, struct view_v4);
} views_v4 SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
    __uint(max_entries, RSFWD_XDP_MAX_VIEWS);
    __type(key, __u32);
    __array(values, struct view_v6);
} views_v6 SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, RSFWD_XDP_MAX_IFINDEX);
    __type(key, __u32);
    __type(value, struct rsfwd_port);
} ports SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, RSFWD_XDP_MAX_NEXTHOPS);
    __type(key, __u32);
    __type(value, struct rsfwd_nexthop);
} nexthops SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, RSFWD_XDP_MAX_GROUPS);
    __type(key, __u32);
    __type(value, struct rsfwd_group);
} ecmp_groups SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, RSFWD_XDP_MAX_NEIGH);
    __type(key, struct rsfwd_neigh_key);
    __type(value, struct rsfwd_neigh);
} neighbours SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, RSFWD_XDP_MAX_LOCAL);
    __type(key, struct rsfwd_local_key);
    __type(value, __u8);
} local_addrs SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
    __uint(max_entries, RSFWD_XDP_MAX_IFINDEX);
    __type(key, __u32);
    __type(value, __u32);
} tx_ports SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, RSFWD_C_COUNT);
    __type(key, __u32);
    __type(value, __u64);
} fwd_counters SEC(".maps");

/* ---- helpers -------------------------------------------------------------------------------- */

static __always_inline void count(__u32 idx) {
    __u64* c = bpf_map_lookup_elem(&fwd_counters, &idx);
    if (c) *c += 1;
}

static __always_inline int verdict(__u32 idx, int action) {
    count(idx);
    return action;
}

/* Murmur3 finaliser: cheap and mixes every input bit into the low bits we take modulo. */
static __always_inline __u32 mix32(__u32 h) {
    h ^= h >> 16;
    h *= 0x85ebca6b;
    h ^= h >> 13;
    h *= 0xc2b2ae35;
    h ^= h >> 16;
    return h;
}

/* RFC 1624 incremental update for the TTL decrement (as the kernel's ip_decrease_ttl). */
static __always_inline void ipv4_decrease_ttl(struct iphdr* iph) {
    __u32 check = iph->check;
    check += bpf_htons(0x0100);
    iph->check = (__u16)(check + (check >= 0xFFFF));
    iph->ttl--;
}

static __always_inline __u16 l4_ports_hash(void* l4, void* data_end, __u8 proto) {
    if (proto != IPPROTO_TCP && proto != IPPROTO_UDP && proto != IPPROTO_SCTP) return 0;
    __u16* p = l4;
    if ((void*)(p + 2) > data_end) return 0;
    return p[0] ^ (__u16)(p[1] << 1);
}

/* Resolves a route to a next hop: returns the XDP action, fills *out on XDP_REDIRECT. */
static __always_inline int resolve(const struct rsfwd_route* rt, __u32 flow_hash, const void* dst,
                                   __u32 family, struct rsfwd_nexthop* out) {
    __u32 nh_id;
    if (rt->kind == RSFWD_ROUTE_NEXTHOP) {
        nh_id = rt->id;
    } else if (rt->kind == RSFWD_ROUTE_GROUP) {
        __u32 gid = rt->id;
        struct rsfwd_group* g = bpf_map_lookup_elem(&ecmp_groups, &gid);
        if (!g || g->count == 0 || g->count > RSFWD_XDP_MAX_ECMP)
            return verdict(RSFWD_C_DROP_NO_ROUTE, XDP_DROP);
        /* slot < count <= 8 already; the mask (8 is a power of two) is for the verifier, which
         * loses the bound across the modulo. */
        __u32 slot = flow_hash % g->count;
        asm volatile("" : "+r"(slot)); /* keep clang from folding the mask away */
        slot &= RSFWD_XDP_MAX_ECMP - 1;
        nh_id = g->nh[slot];
    } else if (rt->kind == RSFWD_ROUTE_CONNECTED) {
        struct rsfwd_neigh_key nk = {.ifindex = rt->id, .family = family};
        __builtin_memcpy(nk.addr, dst, family == 4 ? 4 : 16);
        struct rsfwd_neigh* n = bpf_map_lookup_elem(&neighbours, &nk);
        if (!n) return verdict(RSFWD_C_UNRESOLVED, XDP_PASS);
        /* id 0: the route spans several ports (D11); the neighbour entry names the port. */
        __u32 ifx = rt->id ? rt->id : n->ifindex;
        struct rsfwd_port* port = bpf_map_lookup_elem(&ports, &ifx);
        if (!port || !(port->flags & RSFWD_PORT_ENABLED))
            return verdict(RSFWD_C_UNRESOLVED, XDP_PASS);
        out->ifindex = ifx;
        out->flags = RSFWD_NH_RESOLVED;
        __builtin_memcpy(out->dmac, n->mac, 6);
        __builtin_memcpy(out->smac, port->mac, 6);
        return XDP_REDIRECT;
    } else {
        return verdict(RSFWD_C_DROP_NO_ROUTE, XDP_DROP);
    }
    struct rsfwd_nexthop* nh = bpf_map_lookup_elem(&nexthops, &nh_id);
    if (!nh || !(nh->flags & RSFWD_NH_RESOLVED)) return verdict(RSFWD_C_UNRESOLVED, XDP_PASS);
    *out = *nh;
    return XDP_REDIRECT;
}

static __always_inline int transmit(struct ethhdr* eth, const struct rsfwd_nexthop* nh) {
    __builtin_memcpy(eth->h_dest, nh->dmac, 6);
    __builtin_memcpy(eth->h_source, nh->smac, 6);
    /* Fallback action 0 (XDP_ABORTED) on a missing devmap entry tells it apart from success. */
    if (bpf_redirect_map(&tx_ports, nh->ifindex, 0) != XDP_REDIRECT)
        return verdict(RSFWD_C_DROP_TX_PORT, XDP_DROP);
    return verdict(RSFWD_C_TX, XDP_REDIRECT);
}

static __always_inline int forward_v4(struct xdp_md* ctx, struct ethhdr* eth,
                                      const struct rsfwd_port* port) {
    void* data_end = (void*)(long)ctx->data_end;
    struct iphdr* iph = (void*)(eth + 1);
    if ((void*)(iph + 1) > data_end) return verdict(RSFWD_C_DROP_BAD_HEADER, XDP_DROP);
    if (iph->version != 4 || iph->ihl < 5) return verdict(RSFWD_C_DROP_BAD_HEADER, XDP_DROP);
    __u32 hlen = iph->ihl * 4;
    if (bpf_ntohs(iph->tot_len) < hlen) return verdict(RSFWD_C_DROP_BAD_HEADER, XDP_DROP);

    struct rsfwd_local_key lk = {.family = 4};
    __builtin_memcpy(lk.addr, &iph->daddr, 4);
    if (bpf_map_lookup_elem(&local_addrs, &lk))
        return verdict(RSFWD_C_PASS_LOCAL, XDP_PASS); /* ICMP, BGP, anything to us */
    __u32 daddr = bpf_ntohl(iph->daddr);
    if ((daddr >> 28) == 0xE || daddr == 0xFFFFFFFF)
        return verdict(RSFWD_C_PASS_CONTROL, XDP_PASS); /* multicast, broadcast */

    __u32 view = port->view;
    void* trie = bpf_map_lookup_elem(&views_v4, &view);
    if (!trie) return verdict(RSFWD_C_DROP_NO_VIEW, XDP_DROP);
    struct rsfwd_lpm4_key key = {.prefixlen = 32};
    __builtin_memcpy(key.addr, &iph->daddr, 4);
    struct rsfwd_route* rt = bpf_map_lookup_elem(trie, &key);
    if (!rt) return verdict(RSFWD_C_DROP_NO_ROUTE, XDP_DROP);
    if (iph->ttl <= 1) return verdict(RSFWD_C_TTL_EXPIRED, XDP_PASS);

    __u32 h = 0;
    if (rt->kind == RSFWD_ROUTE_GROUP) {
        __u16 ports_h = 0;
        if (!(iph->frag_off & bpf_htons(0x3FFF))) /* first and only fragment: ports exist */
            ports_h = l4_ports_hash((void*)iph + (hlen & 0x3C), data_end, iph->protocol);
        h = mix32(iph->saddr ^ mix32(iph->daddr) ^ ((__u32)iph->protocol << 16) ^ ports_h);
    }
    struct rsfwd_nexthop nh;
    int act = resolve(rt, h, &iph->daddr, 4, &nh);
    if (act != XDP_REDIRECT) return act;
    ipv4_decrease_ttl(iph);
    return transmit(eth, &nh);
}

static __always_inline int forward_v6(struct xdp_md* ctx, struct ethhdr* eth,
                                      const struct rsfwd_port* port) {
    void* data_end = (void*)(long)ctx->data_end;
    struct ipv6hdr* ip6 = (void*)(eth + 1);
    if ((void*)(ip6 + 1) > data_end) return verdict(RSFWD_C_DROP_BAD_HEADER, XDP_DROP);
    if (ip6->version != 6) return verdict(RSFWD_C_DROP_BAD_HEADER, XDP_DROP);

    __u8 first = ip6->daddr.in6_u.u6_addr8[0];
    __u8 second = ip6->daddr.in6_u.u6_addr8[1];
    if (first == 0xFF || (first == 0xFE && (second & 0xC0) == 0x80))
        return verdict(RSFWD_C_PASS_CONTROL, XDP_PASS); /* multicast (ND), link-local */
    struct rsfwd_local_key lk = {.family = 6};
    __builtin_memcpy(lk.addr, &ip6->daddr, 16);
    if (bpf_map_lookup_elem(&local_addrs, &lk)) return verdict(RSFWD_C_PASS_LOCAL, XDP_PASS);

    __u32 view = port->view;
    void* trie = bpf_map_lookup_elem(&views_v6, &view);
    if (!trie) return verdict(RSFWD_C_DROP_NO_VIEW, XDP_DROP);
    struct rsfwd_lpm6_key key = {.prefixlen = 128};
    __builtin_memcpy(key.addr, &ip6->daddr, 16);
    struct rsfwd_route* rt = bpf_map_lookup_elem(trie, &key);
    if (!rt) return verdict(RSFWD_C_DROP_NO_ROUTE, XDP_DROP);
    if (ip6->hop_limit <= 1) return verdict(RSFWD_C_TTL_EXPIRED, XDP_PASS);

    __u32 h = 0;
    if (rt->kind == RSFWD_ROUTE_GROUP) {
        __u32 s = ip6->saddr.in6_u.u6_addr32[0] ^ ip6->saddr.in6_u.u6_addr32[1] ^
                  ip6->saddr.in6_u.u6_addr32[2] ^ ip6->saddr.in6_u.u6_addr32[3];
        __u32 d = ip6->daddr.in6_u.u6_addr32[0] ^ ip6->daddr.in6_u.u6_addr32[1] ^
                  ip6->daddr.in6_u.u6_addr32[2] ^ ip6->daddr.in6_u.u6_addr32[3];
        __u16 ports_h = l4_ports_hash(ip6 + 1, data_end, ip6->nexthdr);
        h = mix32(s ^ mix32(d) ^ ((__u32)ip6->nexthdr << 16) ^ ports_h);
    }
    struct rsfwd_nexthop nh;
    int act = resolve(rt, h, &ip6->daddr, 6, &nh);
    if (act != XDP_REDIRECT) return act;
    ip6->hop_limit--; /* no IPv6 header checksum */
    return transmit(eth, &nh);
}

SEC("xdp")
int rsfwd_fwd(struct xdp_md* ctx) {
    void* data = (void*)(long)ctx->data;
    void* data_end = (void*)(long)ctx->data_end;
    struct ethhdr* eth = data;

    count(RSFWD_C_RX);
    if ((void*)(eth + 1) > data_end) return verdict(RSFWD_C_DROP_BAD_HEADER, XDP_DROP);

    __u32 ifindex = ctx->ingress_ifindex;
    struct rsfwd_port* port = bpf_map_lookup_elem(&ports, &ifindex);
    if (!port || !(port->flags & RSFWD_PORT_ENABLED))
        return verdict(RSFWD_C_PASS_NO_PORT, XDP_PASS);

    __u16 proto = eth->h_proto;
    if (proto == bpf_htons(ETH_P_IP)) return forward_v4(ctx, eth, port);
    if (proto == bpf_htons(ETH_P_IPV6)) return forward_v6(ctx, eth, port);
    if (proto == bpf_htons(ETH_P_ARP)) return verdict(RSFWD_C_PASS_ARP, XDP_PASS);
    return verdict(RSFWD_C_PASS_CONTROL, XDP_PASS); /* VLAN, LLDP, ... : the kernel decides */
}
