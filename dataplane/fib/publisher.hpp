// dataplane/fib/publisher.hpp — the control half of the FIB hand-off: publishes generations to
// the workers (whose half is handoff.hpp) and reclaims the old copy after the grace period.
//
// Protocol (double buffer + per-worker SPSC queue + QSBR):
//   state: two Generation copies, `active` (published) and `spare` (only the control thread
//   touches it). Both always hold the same content up to the batch in flight.
//   1. publish(batch): apply(spare, batch); spare.number = ++n; push {&spare} into every worker's
//      spsc_queue; token = rte_rcu_qsbr_start(). The roles swap: spare is now `active`.
//   2. worker loop: rte_rcu_qsbr_quiescent(); drain its queue (keep the last pointer) → that is
//      the generation for the whole next burst; report {generation number, switch tsc}.
//   3. poll(): once rte_rcu_qsbr_check(token) passes and every worker reports the new number, no
//      worker can hold the old copy any more: apply the same batch to it (it becomes the spare),
//      record latency = max(worker switch tsc) − first event tsc of the batch.
//   Only one publication is in flight; events arriving meanwhile coalesce in the FibCompiler and
//   go out in the next one (bounded delay: coalescing window + one grace period).
// Who writes what: Generation copies — control: rw only while not published; workers: ro. The
// hand-off state (queues, QSBR, per-worker reports) is described in handoff.hpp.
// A full queue (a stalled worker) is counted and retried on the next poll; the control thread
// never blocks on it and a worker never waits for anything.
// Thread: every method is control-thread only; workers use handoff() through handoff.hpp.
// Cost: publish() = apply of the batch to one copy; poll() = O(workers) when idle.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include <rte_rcu_qsbr.h>

#include "dataplane/fib/fib.hpp"
#include "dataplane/fib/handoff.hpp"

namespace rsfwd::fib {

// Log2 histogram of publication latency in nanoseconds: bucket i holds [2^i, 2^(i+1)) ns
// (bucket 0 also holds 0). Written by the control thread, read by telemetry (relaxed atomics).
class LatencyHistogram {
public:
    static constexpr unsigned buckets = 40;
    void record(std::uint64_t ns) noexcept;
    [[nodiscard]] std::uint64_t count() const noexcept { return count_.load(rlx); }
    [[nodiscard]] std::uint64_t max_ns() const noexcept { return max_.load(rlx); }
    [[nodiscard]] std::uint64_t sum_ns() const noexcept { return sum_.load(rlx); }
    [[nodiscard]] std::uint64_t bucket(unsigned i) const noexcept { return b_[i].load(rlx); }
    // Upper bound of the bucket holding quantile q (0..1), in ns; 0 when empty.
    [[nodiscard]] std::uint64_t quantile_ns(double q) const noexcept;

private:
    static constexpr auto rlx = std::memory_order_relaxed;
    std::array<std::atomic<std::uint64_t>, buckets> b_{};
    std::atomic<std::uint64_t> count_{0}, max_{0}, sum_{0};
};

struct PublisherOptions {
    std::uint64_t coalesce_ns = 100'000;  // wait at most this long for more events
    std::size_t max_batch_events = 65536; // publish at once beyond this many events
};

class Publisher {
public:
    // n_workers: worker slots (QSBR thread ids 0..n-1). initial: the start-up generation; the
    // publisher keeps it and a deep copy as the spare.
    Publisher(unsigned n_workers, Generation initial, PublisherOptions opt = {});
    ~Publisher();
    Publisher(const Publisher&) = delete;
    Publisher& operator=(const Publisher&) = delete;

    // What the workers hold on to (worker_poll/online/offline in handoff.hpp).
    [[nodiscard]] Handoff& handoff() noexcept { return h_; }
    [[nodiscard]] rte_rcu_qsbr* qsbr() noexcept { return h_.qsbr; }
    [[nodiscard]] unsigned workers() const noexcept { return n_workers_; }
    [[nodiscard]] WorkerFib& worker(unsigned i) noexcept { return *h_.workers[i]; }
    [[nodiscard]] const WorkerFib& worker(unsigned i) const noexcept { return *h_.workers[i]; }
    [[nodiscard]] const Generation* active() const noexcept { return active_; }
    // Any thread: the generation published last (what a worker coming online starts with).
    [[nodiscard]] const Generation* published() const noexcept {
        return h_.published.load(std::memory_order_acquire);
    }
    [[nodiscard]] std::uint64_t generation() const noexcept { return active_->number; }

    [[nodiscard]] bool busy() const noexcept { return in_flight_; }
    // Publishes `b` now. Precondition: !busy().
    void publish(Batch b);
    // Advances a publication in flight; true when one completed during this call.
    bool poll();
    // The control loop's one call: poll(), then true when a pending batch is due (nothing in
    // flight, and the coalescing window since `pending_since` elapsed or `pending_events` is
    // large); the caller then publishes it. now, pending_since: rte_rdtsc().
    [[nodiscard]] bool due(std::size_t pending_events, std::uint64_t pending_since,
                           std::uint64_t now);
    // Control-thread helper for start-up, shutdown and tests: poll until nothing is in flight.
    // Workers must be running (or offline in the QSBR) or this spins forever.
    void drain();

    [[nodiscard]] const LatencyHistogram& latency() const noexcept { return latency_; }
    [[nodiscard]] std::uint64_t publications() const noexcept { return publications_; }
    [[nodiscard]] std::uint64_t queue_full() const noexcept { return queue_full_; }
    [[nodiscard]] std::uint64_t events() const noexcept { return events_; }

private:
    unsigned n_workers_;
    PublisherOptions opt_;
    Handoff h_;
    std::unique_ptr<Generation> gen_[2];
    Generation* active_ = nullptr;
    Generation* spare_ = nullptr;
    bool in_flight_ = false;
    Batch batch_; // the batch in flight, applied to the old copy after the grace period
    std::uint64_t token_ = 0;
    std::vector<bool> unsent_; // per worker: push still owed (queue was full)
    std::uint64_t tsc_hz_ = 0;
    LatencyHistogram latency_;
    std::uint64_t publications_ = 0, queue_full_ = 0, events_ = 0;
};

} // namespace rsfwd::fib
