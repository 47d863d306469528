// dataplane/runtime.hpp — internal state shared by the engine (control thread) and the worker
// loop. Not a public header: include engine.hpp.
//
// Who writes what:
//   Runtime (everything but noted)     — control: rw before start(), ro after; workers: ro
//   Runtime::stop_workers              — control: w; workers: r (relaxed flag, not a barrier:
//                                        the join in stop() is the synchronisation)
//   WorkerCtx::counters, tx            — that worker: rw; control/telemetry: ro (counters)
//   WorkerCtx::punt ring               — worker: enqueue (SP); control: dequeue (SC)
//   WorkerCtx::inject ring             — control: enqueue (SP); worker: dequeue (SC)
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "control/fib/compiler.hpp"
#include "control/fib/publisher.hpp"
#include "dataplane/counters.hpp"
#include "dataplane/engine.hpp"

namespace rsfwd::dp {

// RX burst, bulk-lookup and TX-flush size. 64 rather than DPDK's customary 32: the LPM's bulk
// lookup hides more memory latency with 64 keys in flight (lpm_bench: 1M routes, uniform keys,
// 21 vs 25 cycles per lookup) and per-burst costs halve. rsfwd-bench A/B, same lpm, alternated
// runs (on-CPU ns/packet, 6 pairs): 16 routes 45.1 vs 47.4, 1M 49.3 vs 51.8, 1M random
// destinations 61.2 vs 74.5.
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

struct Runtime;

struct alignas(64) WorkerCtx {
    unsigned id = 0; // QSBR thread id, TX queue id on every port
    unsigned lcore = 0;
    std::vector<RxQueue> rxq;
    rte_ring* punt = nullptr;
    rte_ring* inject = nullptr;
    Runtime* rt = nullptr;
    std::uint64_t err_tokens = 0, err_refill_tsc = 0; // worker-only ICMP-error punt limiter
    WorkerCounters counters;
    std::array<TxBuf, fib::max_ports> tx{};
};

struct NeighbourState { // control thread only
    std::vector<rte_mbuf*> pending;
    std::uint64_t last_request_tsc = 0, confirmed_tsc = 0;
    std::uint32_t tries = 0;
};

// One view's FIB numbers from its tables (control thread: the active generation's copy).
inline ViewFibStats view_fib_stats(std::string name, const fib::ViewTables& t) {
    ViewFibStats v;
    v.name = std::move(name);
    v.routes_v4 = t.v4.size();
    v.routes_v6 = t.v6.size();
    v.root_bits_v4 = t.v4.root_bits();
    v.root_bits_v6 = t.v6.root_bits();
    v.lpm_bytes = t.v4.bytes() + t.v6.bytes();
    v.lpm_lookup_bytes = t.v4.lookup_bytes() + t.v6.lookup_bytes();
    return v;
}

// Control-thread state as the control thread last published it, for readers on other threads
// (DPDK telemetry calls Engine::stats() from its own thread): stored at the end of every
// control_poll(), read with relaxed loads. Each value is self-contained; the set is not a
// consistent snapshot, like the worker counters next to it.
struct ControlMirror {
    std::array<std::atomic<std::uint64_t>, 9> control{}; // ControlStats, in declaration order
    std::atomic<std::uint64_t> generation{0}, publications{0}, queue_full{0}, route_events{0};
    std::atomic<std::uint64_t> pending_events{0}, neighbours{0};
    std::atomic<bool> publishing{false};
    // ViewFibStats per view id (sized at start(); views are fixed for the process lifetime):
    // routes_v4, routes_v6, root bits (v4 | v6 << 8), lpm_bytes, lpm_lookup_bytes.
    std::unique_ptr<std::array<std::atomic<std::uint64_t>, 5>[]> views;
    std::size_t n_views = 0;
    std::uint64_t views_generation = ~std::uint64_t{0}; // control thread only: last mirrored
};

struct Runtime {
    EngineOptions opt;
    std::vector<PortSpec> specs;
    std::vector<std::uint16_t> port_ids;                     // index = config order
    std::vector<std::uint16_t> rx_queues, tx_queues;         // per config index
    std::array<fib::Mac, fib::max_ports> mac_by_id{};        // DPDK port id → our MAC
    std::array<std::int16_t, fib::max_ports> index_by_id{};  // DPDK port id → config index
    std::array<std::uint64_t, fib::max_ports> mac64_by_id{}; // MAC as 6 low bytes, for compares
    std::vector<bool> offload_ip_cksum;                      // per config index
    rte_mempool* pool = nullptr;
    std::unique_ptr<fib::FibCompiler> comp;
    std::unique_ptr<fib::Publisher> pub;
    std::vector<std::unique_ptr<WorkerCtx>> workers;
    std::atomic<bool> stop_workers{false};
    bool started = false, stopped = false, ports_closed = false;
    std::uint64_t tsc_hz = 0;

    // Control-thread state.
    std::thread::id control_thread;     // the thread that called start(): it runs control_poll()
    ControlMirror mirror;               // the control-thread state below, for other threads
    std::vector<NeighbourState> nstate; // index = adjacency
    std::vector<NeighbourSpec> static_neighbours;
    ControlStats cstats;
    std::array<std::uint64_t, drop_count> cdrops{};
    double icmp_tokens = 0;
    std::uint64_t icmp_refill_tsc = 0, last_timer_tsc = 0;
    // net_af_xdp ports with the split program (per config index; "" = not one): their ARP/ND
    // goes to the kernel, so their neighbours are resolved by the kernel and read from its table.
    std::vector<std::string> split_iface;
    bool any_split = false;
    std::uint64_t last_kernel_neigh_tsc = 0;
};

int worker_main(void* ctx); // rte_eal_remote_launch entry

} // namespace rsfwd::dp
