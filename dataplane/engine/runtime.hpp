// dataplane/engine/runtime.hpp — the engine's internal state (control thread). Not a public
// header: include engine.hpp. What the workers read of it is its WorkerShared base
// (dataplane/worker/worker.hpp), which says who writes what.
//
// Who writes what: Runtime — control: rw; other threads read only the ControlMirror, the worker
// counters, started/stopped, and the ports under ports_mutex (stats(), telemetry).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "control/fib/compiler.hpp"
#include "dataplane/engine/engine.hpp"
#include "dataplane/fib/publisher.hpp"
#include "dataplane/worker/counters.hpp"
#include "dataplane/worker/worker.hpp"

namespace rsfwd::dp {

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

// The WorkerShared base is what workers see (port tables, adjacency slots, hand-off, stop flag).
struct Runtime : WorkerShared {
    EngineOptions opt;
    std::vector<PortSpec> specs;
    std::vector<std::uint16_t> rx_queues, tx_queues; // per config index
    rte_mempool* pool = nullptr;
    std::unique_ptr<fib::FibCompiler> comp;
    std::unique_ptr<fib::Publisher> pub;
    std::vector<std::unique_ptr<WorkerCtx>> workers;
    // control: rw; any thread (stats()): ro. Atomic because stats() runs on other threads.
    std::atomic<bool> started{false}, stopped{false};
    // Held by stats() around rte_eth_stats_get and by close_ports() around closing: a port is
    // never read while (or after) it is closed. ports_closed: under ports_mutex.
    mutable std::mutex ports_mutex;
    bool ports_closed = false;

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

} // namespace rsfwd::dp
