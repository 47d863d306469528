// dataplane/fib/handoff.hpp — the worker's half of the FIB hand-off: per-worker queues of
// generation pointers, the QSBR variable, and the three calls a worker makes (online, poll once
// per loop, offline). The control half (publish, grace period, reclaim) is publisher.hpp.
//
// What: a Handoff is the shared state between the Publisher (one control thread) and N workers.
//   worker_online()  once before the first burst: joins the QSBR, takes the published generation
//   worker_poll()    at the top of every loop: reports quiescence, drains its queue, returns the
//                    generation to use for the whole next burst
//   worker_offline() once when the worker stops
// Who writes what:
//   WorkerFib::queue                      — control: push; worker: pop (spsc_queue)
//   WorkerFib::generation/switch_tsc      — worker: w; control, telemetry: r (relaxed atomics)
//   WorkerFib::online                     — worker: w; control: r (seq_cst)
//   Handoff::published                    — control: w (release); workers: r when coming online
//   qsbr                                  — workers: quiescent/online/offline; control: start/check
// Thread: the worker_* functions run on that worker's lcore only; no allocation, no lock, no
// syscall. Everything else is the Publisher's.
// Cost: worker_poll() = one QSBR store + one empty queue pop when nothing was published.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <type_traits>
#include <vector>

#include <boost/lockfree/spsc_queue.hpp>
#include <rte_cycles.h>
#include <rte_rcu_qsbr.h>

#include "dataplane/fib/fib.hpp"

namespace rsfwd::fib {

struct GenMsg { // fixed-size POD message
    const Generation* gen;
};
static_assert(std::is_trivially_copyable_v<GenMsg>);

// The padding is the point: the queue (pushed by the control thread) and the worker's reports
// sit on separate cache lines, so neither side's writes invalidate the other's line.
struct alignas(64) WorkerFib { // NOLINT(clang-analyzer-optin.performance.Padding)
    boost::lockfree::spsc_queue<GenMsg, boost::lockfree::capacity<8>> queue;
    alignas(64) std::atomic<std::uint64_t> generation{0}; // worker: w, others: r
    std::atomic<std::uint64_t> switch_tsc{0};             // worker: w, others: r
    std::atomic<bool> online{false};                      // worker: w, others: r
};

// Owned by the Publisher, which sizes it once (workers are fixed for the process lifetime).
struct Handoff {
    rte_rcu_qsbr* qsbr = nullptr;
    std::vector<std::unique_ptr<WorkerFib>> workers;   // index = QSBR thread id
    std::atomic<const Generation*> published{nullptr}; // control: w, workers: r (online only)

    [[nodiscard]] WorkerFib& worker(unsigned i) noexcept { return *workers[i]; }
};

// Worker side, at the top of every loop iteration: report quiescence, then drain the queue and
// return the generation to use for the next burst.
inline const Generation* worker_poll(Handoff& h, unsigned worker_id,
                                     const Generation* cur) noexcept {
    rte_rcu_qsbr_quiescent(h.qsbr, worker_id);
    WorkerFib& w = h.worker(worker_id);
    GenMsg m;
    bool switched = false;
    while (w.queue.pop(m)) {
        cur = m.gen;
        switched = true;
    }
    if (switched) {
        w.switch_tsc.store(rte_rdtsc(), std::memory_order_relaxed);
        w.generation.store(cur->number, std::memory_order_release);
    }
    return cur;
}

// Worker side, once when the worker starts (before its first burst) and once when it stops.
inline const Generation* worker_online(Handoff& h, unsigned worker_id) noexcept {
    WorkerFib& w = h.worker(worker_id);
    w.online.store(true, std::memory_order_seq_cst);
    rte_rcu_qsbr_thread_online(h.qsbr, worker_id); // ends with a seq_cst fence
    GenMsg m;
    while (w.queue.pop(m)) {
    } // stale messages from before we were online
    // The active generation: published before the token a grace period would wait for, so
    // either we read it here or the control thread waits until we report the next one.
    const Generation* cur = h.published.load(std::memory_order_acquire);
    w.switch_tsc.store(rte_rdtsc(), std::memory_order_relaxed);
    w.generation.store(cur->number, std::memory_order_release);
    return cur;
}
inline void worker_offline(Handoff& h, unsigned worker_id) noexcept {
    rte_rcu_qsbr_thread_offline(h.qsbr, worker_id);
    h.worker(worker_id).online.store(false, std::memory_order_seq_cst);
}

} // namespace rsfwd::fib
