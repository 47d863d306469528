// dataplane/worker/worker.hpp — what a worker lcore runs on: its context (rx queues, rings, TX
// buffers, counters) and the state every worker reads (port MACs, the adjacency slots, the FIB
// hand-off). The engine (dataplane/engine/) fills both before it launches the workers.
//
// Who writes what:
//   WorkerShared (everything but noted) — control: rw before start(), ro after; workers: ro
//   WorkerShared::stop_workers          — control: w; workers: r (relaxed flag, not a barrier:
//                                         the join in Engine::stop() is the synchronisation)
//   WorkerCtx::counters, tx             — that worker: rw; control/telemetry: ro (counters)
//   WorkerCtx::screen                   — that worker: w once in worker_main, then r
//   WorkerCtx::punt ring                — worker: enqueue (SP); control: dequeue (SC)
//   WorkerCtx::inject ring              — control: enqueue (SP); worker: dequeue (SC)
// Include rule: nothing here or in worker.cpp includes control/ or the engine: a worker sees
// the FIB seam (dataplane/fib/), lpm/ and DPDK's per-packet APIs only (scripts/check-includes.sh).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <vector>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dataplane/fib/fib.hpp"
#include "dataplane/fib/handoff.hpp"
#include "dataplane/worker/counters.hpp"
#include "dataplane/worker/packet.hpp"

namespace rsfwd::dp {

// RX burst, bulk-lookup and TX-flush size. 64 rather than DPDK's customary 32: the LPM's bulk
// lookup hides more memory latency with 64 keys in flight and per-burst costs halve
// (docs/dataplane.md has the A/B).
inline constexpr unsigned burst_size = 64;

// Why a packet goes to the control thread.
enum class Punt : std::uint8_t {
    local,       // ARP, ND, or IP addressed to one of our addresses
    needs_host,  // connected destination without a hosts-table entry
    unresolved,  // adjacency without a MAC yet (meta.adj says which)
    ttl_expired, // for ICMP time exceeded (rate limited on the worker)
    no_route,    // for ICMP destination unreachable (rate limited on the worker)
};

// Carried in an mbuf dynamic field from the worker to the control thread.
struct PuntMeta {
    Punt reason;
    std::uint8_t view;
    std::uint16_t l3_off;
    std::uint32_t adj;
};
extern int punt_dynfield_offset;
inline PuntMeta* punt_meta(rte_mbuf* m) noexcept {
    return RTE_MBUF_DYNFIELD(m, punt_dynfield_offset, PuntMeta*);
}

struct RxQueue {
    std::uint16_t port;
    std::uint16_t queue;
    std::uint16_t view;
};

struct TxBuf {
    std::uint16_t n = 0;
    std::array<rte_mbuf*, 2 * burst_size> pkts{};
};

// The engine's options that the worker loop reads.
struct WorkerOptions {
    bool icmp_errors = true;   // punt TTL-expired / no-route packets for ICMP errors
    bool stage_cycles = false; // the TSC-instrumented loop (bench)
    std::uint32_t idle_sleep_us = 0, idle_polls_before_sleep = 1024;
    // RFC 1812 §5.3.7's switch: forward IPv4 sources in 0/8, 127/8, 224/4, 240/4 (default: drop,
    // `martian_src`). Link-local and the IPv6 rules (MUSTs) stay on either way.
    bool allow_martian_sources = false;
};

// State every worker reads; one per engine.
struct WorkerShared {
    WorkerOptions wopt;
    std::uint64_t tsc_hz = 0;
    std::vector<std::uint16_t> port_ids;                     // index = config order
    std::array<fib::Mac, fib::max_ports> mac_by_id{};        // DPDK port id → our MAC
    std::array<std::int16_t, fib::max_ports> index_by_id{};  // DPDK port id → config index
    std::array<std::uint64_t, fib::max_ports> mac64_by_id{}; // MAC as 6 low bytes, for compares
    std::vector<bool> offload_ip_cksum;                      // per config index
    const fib::AdjTable* adj = nullptr;                      // the compiler's adjacency slots
    fib::Handoff* handoff = nullptr;                         // the publisher's worker half
    std::atomic<bool> stop_workers{false};
};

struct alignas(64) WorkerCtx {
    unsigned id = 0; // QSBR thread id, TX queue id on every port
    unsigned lcore = 0;
    std::vector<RxQueue> rxq;
    rte_ring* punt = nullptr;
    rte_ring* inject = nullptr;
    const WorkerShared* sh = nullptr;
    std::uint64_t err_tokens = 0, err_refill_tsc = 0; // worker-only ICMP-error punt limiter
    AddrScreen screen{}; // first-byte address screen of the fast path (packet.hpp)
    WorkerCounters counters;
    std::array<TxBuf, fib::max_ports> tx{};
};

int worker_main(void* ctx); // rte_eal_remote_launch entry

} // namespace rsfwd::dp
