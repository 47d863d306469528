// SPDX-License-Identifier: (GPL-2.0-only OR BSD-3-Clause)
/* dataplane/xdp/rsfwd_split.bpf.c — control/data split for AF_XDP ports.
 *
 * The kernel keeps the control plane of the interface: ARP, IPv6 neighbour discovery, BGP (TCP
 * port 179 to or from one of our addresses), ICMP/ICMPv6 to our addresses. Everything else goes to
 * the AF_XDP socket bound to the receiving queue (xsks_map[rx_queue_index]), i.e. to DPDK's
 * net_af_xdp PMD or any other AF_XDP user. When no socket is bound to the queue the packet falls
 * back to the kernel.
 *
 * Shape expected by DPDK 22.11 net_af_xdp (`xdp_prog=` devarg): one XDP program, an XSKMAP named
 * `xsks_map` keyed by queue id. The PMD loads this object from a path itself, so its copy of the
 * maps is not ours: the loader finds them afterwards through the program attached to the
 * interface (xdp_split.cpp). Until split_cfg says CONFIGURED, everything goes to the kernel, so
 * the window between attach and configuration never steals BGP.
 */
#include <linux/bpf.h>
#include <linux/icmpv6.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "xdp_abi.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
    __uint(type, BPF_MAP_TYPE_XSKMAP);
    __uint(max_entries, RSFWD_XDP_MAX_QUEUES);
    __type(key, __u32);
    __type(value, __u32);
} xsks_map SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, RSFWD_XDP_MAX_LOCAL);
    __type(key, struct rsfwd_local_key);
    __type(value, __u8);
} split_local SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct rsfwd_split_cfg);
} split_cfg SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, RSFWD_S_COUNT);
    __type(key, __u32);
    __type(value, __u64);
} split_counters SEC(".maps");

static __always_inline int verdict(__u32 idx, int action) {
    __u64* c = bpf_map_lookup_elem(&split_counters, &idx);
    if (c) *c += 1;
    return action;
}

static __always_inline int is_bgp(void* l4, void* data_end, __u16 bgp_port) {
    struct tcphdr* th = l4;
    if ((void*)(th + 1) > data_end) return 0;
    return th->source == bpf_htons(bgp_port) || th->dest == bpf_htons(bgp_port);
}

static __always_inline int to_user(struct xdp_md* ctx) {
    verdict(RSFWD_S_REDIRECT, 0);
    return bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS);
}

SEC("xdp")
int xdp_prog(struct xdp_md* ctx) {
    void* data = (void*)(long)ctx->data;
    void* data_end = (void*)(long)ctx->data_end;
    struct ethhdr* eth = data;
    __u32 zero = 0;

    verdict(RSFWD_S_RX, 0);
    struct rsfwd_split_cfg* cfg = bpf_map_lookup_elem(&split_cfg, &zero);
    if (!cfg || !(cfg->flags & RSFWD_SPLIT_CONFIGURED))
        return verdict(RSFWD_S_PASS_UNCONFIGURED, XDP_PASS);
    if ((void*)(eth + 1) > data_end) return to_user(ctx);

    if (eth->h_proto == bpf_htons(ETH_P_ARP)) return verdict(RSFWD_S_PASS_ARP, XDP_PASS);

    if (eth->h_proto == bpf_htons(ETH_P_IP)) {
        struct iphdr* iph = (void*)(eth + 1);
        if ((void*)(iph + 1) > data_end || iph->ihl < 5) return to_user(ctx);
        struct rsfwd_local_key lk = {.family = 4};
        __builtin_memcpy(lk.addr, &iph->daddr, 4);
        if (!bpf_map_lookup_elem(&split_local, &lk)) return to_user(ctx);
        /* To one of our addresses. Later fragments carry no ports: keep them with the kernel,
         * which holds the first one. */
        if (iph->protocol == IPPROTO_ICMP) return verdict(RSFWD_S_PASS_ICMP, XDP_PASS);
        if (iph->protocol == IPPROTO_TCP &&
            ((iph->frag_off & bpf_htons(0x1FFF)) ||
             is_bgp((void*)iph + ((iph->ihl * 4) & 0x3C), data_end, cfg->bgp_port)))
            return verdict(RSFWD_S_PASS_BGP, XDP_PASS);
        if (cfg->flags & RSFWD_SPLIT_PASS_ALL_LOCAL) return verdict(RSFWD_S_PASS_LOCAL, XDP_PASS);
        return to_user(ctx);
    }

    if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
        struct ipv6hdr* ip6 = (void*)(eth + 1);
        if ((void*)(ip6 + 1) > data_end) return to_user(ctx);
        if (ip6->nexthdr == IPPROTO_ICMPV6) {
            struct icmp6hdr* ic = (void*)(ip6 + 1);
            if ((void*)(ic + 1) > data_end) return to_user(ctx);
            /* Router/neighbour solicitation/advertisement, redirect: always the kernel's. */
            if (ic->icmp6_type >= 133 && ic->icmp6_type <= 137)
                return verdict(RSFWD_S_PASS_ICMP, XDP_PASS);
        }
        struct rsfwd_local_key lk = {.family = 6};
        __builtin_memcpy(lk.addr, &ip6->daddr, 16);
        if (!bpf_map_lookup_elem(&split_local, &lk)) return to_user(ctx);
        if (ip6->nexthdr == IPPROTO_ICMPV6) return verdict(RSFWD_S_PASS_ICMP, XDP_PASS);
        if (ip6->nexthdr == IPPROTO_TCP && is_bgp(ip6 + 1, data_end, cfg->bgp_port))
            return verdict(RSFWD_S_PASS_BGP, XDP_PASS);
        if (cfg->flags & RSFWD_SPLIT_PASS_ALL_LOCAL) return verdict(RSFWD_S_PASS_LOCAL, XDP_PASS);
        return to_user(ctx);
    }
    return to_user(ctx);
}
