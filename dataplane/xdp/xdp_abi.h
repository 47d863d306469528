/* dataplane/xdp/xdp_abi.h — the contract between rsfwd's BPF programs and their C++ loaders:
 * map key/value layouts, limits and counter indices. Plain C on purpose: it is included by the
 * BPF programs (clang -target bpf) and by C++ (xdp_backend.cpp, xdp_split.cpp).
 *
 * Every struct here is a map key or value; keep them padding-free (explicit pad fields) so the
 * kernel, the BPF program and the loader agree byte for byte, and LPM keys hash/compare cleanly.
 */
#ifndef RSFWD_XDP_ABI_H
#define RSFWD_XDP_ABI_H

#include <linux/types.h>

/* ---- limits --------------------------------------------------------------------------------- */
#define RSFWD_XDP_MAX_VIEWS 64          /* outer ARRAY_OF_MAPS size, per family */
#define RSFWD_XDP_MAX_ROUTES (1u << 20) /* per view and family (LPM trie, no prealloc) */
#define RSFWD_XDP_MAX_NEXTHOPS 4096     /* next-hop array */
#define RSFWD_XDP_MAX_GROUPS 1024       /* ECMP group array */
#define RSFWD_XDP_MAX_ECMP 8            /* D7: up to 8 equal-cost next hops */
#define RSFWD_XDP_MAX_IFINDEX 4096      /* port array, indexed by ifindex */
#define RSFWD_XDP_MAX_NEIGH 65536       /* connected-route neighbours */
#define RSFWD_XDP_MAX_LOCAL 1024        /* local (punted) addresses */
#define RSFWD_XDP_MAX_QUEUES 64         /* AF_XDP: xsks_map size */

/* ---- forwarding program (rsfwd_fwd.bpf.c) ---------------------------------------------------- */

/* LPM trie keys: prefixlen counts bits of addr (the trie's own convention). */
struct rsfwd_lpm4_key {
    __u32 prefixlen;
    __u8 addr[4];
};
struct rsfwd_lpm6_key {
    __u32 prefixlen;
    __u8 addr[16];
};

/* A route's value in a view's trie. */
enum rsfwd_route_kind {
    RSFWD_ROUTE_NEXTHOP = 1,   /* id = index in `nexthops` */
    RSFWD_ROUTE_GROUP = 2,     /* id = index in `ecmp_groups` */
    RSFWD_ROUTE_CONNECTED = 3, /* id = egress ifindex or 0 (any port); MAC from `neighbours` */
    RSFWD_ROUTE_BLACKHOLE = 4, /* drop, counted as no_route */
};
struct rsfwd_route {
    __u32 kind;
    __u32 id;
};

#define RSFWD_NH_RESOLVED 1u /* dmac/smac/ifindex valid; otherwise punt (XDP_PASS) */
struct rsfwd_nexthop {
    __u32 ifindex; /* egress port (key in `tx_ports`) */
    __u32 flags;
    __u8 dmac[6];
    __u8 smac[6];
};

struct rsfwd_group {
    __u32 count; /* 1..RSFWD_XDP_MAX_ECMP */
    __u32 nh[RSFWD_XDP_MAX_ECMP];
};

#define RSFWD_PORT_ENABLED 1u
struct rsfwd_port {
    __u32 view; /* index in views_v4/views_v6 */
    __u32 flags;
    __u8 mac[6];
    __u8 pad[2];
};

/* Neighbours for connected routes, keyed by (egress ifindex, address). v4 uses addr[0..3].
 * Each neighbour of a port is also under ifindex 0 (the "any port" key) with its port in
 * `ifindex`: a connected route wider than any one port subnet (the VNet address space spanning
 * several ports, D11) has id 0 and finds the destination's port that way. */
struct rsfwd_neigh_key {
    __u32 ifindex;
    __u32 family; /* 4 or 6 */
    __u8 addr[16];
};
struct rsfwd_neigh {
    __u8 mac[6];
    __u8 pad[2];
    __u32 ifindex; /* the port the neighbour is on */
};

/* Addresses that belong to us (punted to the kernel). v4 uses addr[0..3]. */
struct rsfwd_local_key {
    __u32 family; /* 4 or 6 */
    __u8 addr[16];
};

/* Per-CPU counters of the forwarding program (index into `fwd_counters`). */
enum rsfwd_fwd_counter {
    RSFWD_C_RX = 0,        /* every packet the program saw */
    RSFWD_C_TX,            /* redirected to an egress port */
    RSFWD_C_PASS_ARP,      /* ARP → kernel */
    RSFWD_C_PASS_LOCAL,    /* to one of our addresses (ICMP, BGP, ...) → kernel */
    RSFWD_C_PASS_CONTROL,  /* multicast/broadcast/link-local/ND, non-IP → kernel */
    RSFWD_C_PASS_NO_PORT,  /* ingress port not configured → kernel */
    RSFWD_C_TTL_EXPIRED,   /* TTL/hop limit ≤ 1 → kernel (it sends ICMP time exceeded) */
    RSFWD_C_UNRESOLVED,    /* next hop without MAC → kernel (it resolves and forwards) */
    RSFWD_C_DROP_NO_ROUTE, /* no route in the ingress view, or blackhole */
    RSFWD_C_DROP_BAD_HEADER,
    RSFWD_C_DROP_NO_VIEW, /* the port's view has no table for this family */
    RSFWD_C_DROP_TX_PORT, /* egress ifindex missing from tx_ports */
    RSFWD_C_COUNT
};

/* ---- control/data split program (rsfwd_split.bpf.c) ---------------------------------------- */

#define RSFWD_SPLIT_CONFIGURED 1u     /* until set, everything goes to the kernel */
#define RSFWD_SPLIT_PASS_ALL_LOCAL 2u /* any traffic to a local address → kernel */
struct rsfwd_split_cfg {
    __u32 flags;
    __u16 bgp_port; /* host order; 179 */
    __u16 pad;
};

enum rsfwd_split_counter {
    RSFWD_S_RX = 0,
    RSFWD_S_PASS_ARP,
    RSFWD_S_PASS_BGP,
    RSFWD_S_PASS_ICMP, /* ICMP to us, ICMPv6 to us and neighbour discovery */
    RSFWD_S_PASS_LOCAL,
    RSFWD_S_PASS_UNCONFIGURED,
    RSFWD_S_REDIRECT, /* handed to xsks_map[rx_queue] (falls back to kernel when empty) */
    RSFWD_S_COUNT
};

#endif /* RSFWD_XDP_ABI_H */
