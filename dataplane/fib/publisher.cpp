// dataplane/fib/publisher.cpp — why it is built this way:
// - Double buffer instead of a fresh snapshot per publication: a patch of the spare costs the
//   size of the batch, not of the table (a 1M-route copy is tens of milliseconds), and the two
//   copies never share nodes, so the lpm library needs no reclamation hooks of its own.
// - The grace period is polled (rte_rcu_qsbr_check(..., wait=false)) from the control loop, so the
//   control thread keeps answering ARP and BGP while workers finish their burst.
// - Completion also waits for every worker to *report* the new generation (not just to be
//   quiescent): the latency histogram then measures event → every worker switched, and the old
//   copy is never touched before the last worker has let go of it.
#include "dataplane/fib/publisher.hpp"

#include <cstdlib>
#include <new>
#include <stdexcept>
#include <thread>

namespace rsfwd::fib {

void LatencyHistogram::record(std::uint64_t ns) noexcept {
    unsigned i = ns == 0 ? 0 : 63 - static_cast<unsigned>(__builtin_clzll(ns));
    if (i >= buckets) i = buckets - 1;
    b_[i].fetch_add(1, rlx);
    count_.fetch_add(1, rlx);
    sum_.fetch_add(ns, rlx);
    if (ns > max_.load(rlx)) max_.store(ns, rlx);
}

std::uint64_t LatencyHistogram::quantile_ns(double q) const noexcept {
    const std::uint64_t n = count();
    if (n == 0) return 0;
    const auto target = static_cast<std::uint64_t>(q * static_cast<double>(n - 1)) + 1;
    std::uint64_t seen = 0;
    for (unsigned i = 0; i < buckets; ++i) {
        seen += bucket(i);
        if (seen >= target) return std::uint64_t{2} << i;
    }
    return max_ns();
}

Publisher::Publisher(unsigned n_workers, Generation initial, PublisherOptions opt)
    : n_workers_(n_workers), opt_(opt), unsent_(n_workers, false), tsc_hz_(rte_get_tsc_hz()) {
    if (n_workers == 0 || n_workers > RTE_MAX_LCORE)
        throw std::invalid_argument("publisher: bad worker count");
    const std::size_t sz = rte_rcu_qsbr_get_memsize(n_workers);
    h_.qsbr =
        static_cast<rte_rcu_qsbr*>(std::aligned_alloc(RTE_CACHE_LINE_SIZE, (sz + 63) / 64 * 64));
    if (!h_.qsbr) throw std::bad_alloc();
    if (rte_rcu_qsbr_init(h_.qsbr, n_workers) != 0) {
        std::free(h_.qsbr);
        throw std::runtime_error("rte_rcu_qsbr_init failed");
    }
    for (unsigned i = 0; i < n_workers; ++i) {
        rte_rcu_qsbr_thread_register(h_.qsbr, i);
        h_.workers.push_back(std::make_unique<WorkerFib>());
    }
    gen_[0] = std::make_unique<Generation>(std::move(initial));
    gen_[1] = std::make_unique<Generation>(*gen_[0]);
    active_ = gen_[0].get();
    spare_ = gen_[1].get();
    h_.published.store(active_, std::memory_order_release);
    for (auto& w : h_.workers) w->generation.store(active_->number, std::memory_order_relaxed);
}

Publisher::~Publisher() {
    std::free(h_.qsbr);
}

void Publisher::publish(Batch b) {
    if (in_flight_) throw std::logic_error("publish while a publication is in flight");
    apply(*spare_, b);
    spare_->number = active_->number + 1;
    spare_->first_event_tsc = b.first_event_tsc;
    std::swap(active_, spare_);
    batch_ = std::move(b);
    h_.published.store(active_, std::memory_order_release);
    for (unsigned i = 0; i < n_workers_; ++i) {
        // An offline worker reads published() when it comes online; its queue may be stale.
        unsent_[i] = !h_.workers[i]->queue.push(GenMsg{active_}) &&
                     h_.workers[i]->online.load(std::memory_order_seq_cst);
        if (unsent_[i]) ++queue_full_;
    }
    // The pushes above happen-before the token (release in rte_rcu_qsbr_start); a worker that
    // reports a counter >= token has read it after them and will pop the message next.
    token_ = rte_rcu_qsbr_start(h_.qsbr);
    in_flight_ = true;
    ++publications_;
    events_ += batch_.events;
}

bool Publisher::poll() {
    if (!in_flight_) return false;
    bool owed = false;
    for (unsigned i = 0; i < n_workers_; ++i) {
        if (!unsent_[i]) continue;
        if (!h_.workers[i]->online.load(std::memory_order_seq_cst)) { // stopped for good
            unsent_[i] = false;
            continue;
        }
        unsent_[i] = !h_.workers[i]->queue.push(GenMsg{active_});
        if (unsent_[i]) {
            ++queue_full_;
            owed = true;
        }
    }
    if (owed) return false;
    if (rte_rcu_qsbr_check(h_.qsbr, token_, false) != 1) return false;
    std::uint64_t last_switch = 0;
    for (unsigned i = 0; i < n_workers_; ++i) {
        // A worker that is offline in the QSBR (not started, or stopped) picks the active
        // generation up when it comes online; it holds no old pointer meanwhile.
        if (h_.workers[i]->online.load(std::memory_order_seq_cst) &&
            h_.workers[i]->generation.load(std::memory_order_acquire) != active_->number)
            return false;
        last_switch =
            std::max(last_switch, h_.workers[i]->switch_tsc.load(std::memory_order_relaxed));
    }
    apply(*spare_, batch_);
    spare_->number = active_->number;
    if (batch_.first_event_tsc != 0 && last_switch >= batch_.first_event_tsc && tsc_hz_ != 0) {
        const double d = static_cast<double>(last_switch - batch_.first_event_tsc);
        latency_.record(static_cast<std::uint64_t>(d * 1e9 / static_cast<double>(tsc_hz_)));
    }
    batch_ = Batch{};
    in_flight_ = false;
    return true;
}

bool Publisher::due(std::size_t pending_events, std::uint64_t pending_since, std::uint64_t now) {
    poll();
    if (in_flight_ || pending_events == 0) return false;
    const std::uint64_t window = opt_.coalesce_ns * tsc_hz_ / 1'000'000'000u;
    return pending_events >= opt_.max_batch_events || pending_since == 0 ||
           now - pending_since >= window;
}

void Publisher::drain() {
    while (in_flight_)
        if (!poll()) std::this_thread::yield();
}

} // namespace rsfwd::fib
