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

// The control thread's own numbers (its counters, the publisher's and the compiler's state, the
// active generation's per-view FIB numbers), by name.
struct ControlSnapshot {
    ControlStats control;
    std::uint64_t generation = 0, publications = 0, queue_full = 0, route_events = 0;
    std::uint64_t pending_events = 0, neighbours = 0;
    bool publishing = false;
    std::vector<ViewFibStats> views; // index = view id
};

// The snapshot as the control thread last stored it, for readers on other threads (DPDK
// telemetry calls Engine::stats() from its own threads). store() runs at the end of every
// control_poll() and never waits: with a reader holding the lock it skips that poll's copy.
// load() copies under the lock: one consistent set.
class ControlMirror {
public:
    void store(const Runtime& rt) noexcept;     // control thread
    [[nodiscard]] ControlSnapshot load() const; // any thread
private:
    mutable std::mutex mutex_;
    ControlSnapshot snap_;                               // under mutex_
    std::uint64_t views_generation_ = ~std::uint64_t{0}; // control thread only: last copied
};

// The snapshot from the live structures (control thread, or before start()); views = false
// leaves the per-view numbers out (they cost a walk of each view's tables).
ControlSnapshot control_snapshot(const Runtime& rt, bool views = true);

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
