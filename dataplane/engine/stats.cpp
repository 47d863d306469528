// dataplane/engine/stats.cpp — Engine::stats(): one snapshot of every counter (named and turned
// into JSON, telemetry and Prometheus by counter_table.hpp).
// Why: stats() may run on any thread (DPDK telemetry calls it), so it reads the worker counters
// with relaxed loads and the control thread's state from its mirror, unless it runs on the
// control thread itself.
#include <array>
#include <mutex>
#include <string>
#include <thread>

#include <rte_ethdev.h>
#include <rte_mempool.h>

#include "dataplane/engine/engine.hpp"
#include "dataplane/engine/runtime.hpp"

namespace rsfwd::dp {

Stats Engine::stats() const {
    const Runtime& rt = *rt_;
    Stats s;
    s.tsc_hz = rt.tsc_hz;
    // The PMD's counters only while the port is open: close_ports() holds the same lock.
    std::unique_lock ports_lock(rt.ports_mutex);
    for (std::size_t i = 0; i < rt.specs.size(); ++i) {
        PortStats p;
        p.name = rt.specs[i].name;
        p.port_id = rt.port_ids[i];
        p.rx_queues = rt.rx_queues[i];
        p.tx_queues = rt.tx_queues[i];
        for (const auto& w : rt.workers) {
            const PortCount& c = w->counters.port[p.port_id];
            p.sw.rx_pkts += read_counter(c.rx_pkts);
            p.sw.rx_bytes += read_counter(c.rx_bytes);
            p.sw.tx_pkts += read_counter(c.tx_pkts);
            p.sw.tx_bytes += read_counter(c.tx_bytes);
        }
        rte_eth_stats es{};
        if (!rt.ports_closed && rte_eth_stats_get(p.port_id, &es) == 0) {
            p.hw_ipackets = es.ipackets;
            p.hw_opackets = es.opackets;
            p.hw_imissed = es.imissed;
            p.hw_ierrors = es.ierrors;
            p.hw_oerrors = es.oerrors;
            p.hw_rx_nombuf = es.rx_nombuf;
        }
        s.ports.push_back(p);
    }
    ports_lock.unlock();
    for (std::size_t i = 0; i < rt.workers.size(); ++i) {
        const WorkerCtx& w = *rt.workers[i];
        const WorkerCounters& c = w.counters;
        WorkerStats ws;
        ws.lcore = w.lcore;
        ws.rx_pkts = read_counter(c.rx_pkts);
        ws.rx_bytes = read_counter(c.rx_bytes);
        ws.tx_pkts = read_counter(c.tx_pkts);
        ws.tx_bytes = read_counter(c.tx_bytes);
        ws.punted = read_counter(c.punted);
        ws.loops = read_counter(c.loops);
        ws.busy_loops = read_counter(c.busy_loops);
        ws.idle_sleeps = read_counter(c.idle_sleeps);
        for (std::size_t d = 0; d < drop_count; ++d) {
            ws.drops[d] = read_counter(c.drops[d]);
            s.drops[d] += ws.drops[d];
        }
        for (std::size_t k = 0; k < stage_count; ++k)
            ws.stage_cycles[k] = read_counter(c.stage_cycles[k]);
        if (rt.pub) ws.generation = rt.pub->worker(static_cast<unsigned>(i)).generation.load();
        s.workers.push_back(ws);
    }
    for (std::size_t d = 0; d < drop_count; ++d) s.drops[d] += read_counter(rt.cdrops[d]);
    // The control thread's own structures only on the control thread (or before start()):
    // elsewhere (telemetry) the copy it stored last.
    const bool live = !rt.started || std::this_thread::get_id() == rt.control_thread;
    ControlSnapshot c = live ? control_snapshot(rt) : rt.mirror.load();
    s.control = c.control;
    s.generation = c.generation;
    s.publications = c.publications;
    s.publish_queue_full = c.queue_full;
    s.route_events = c.route_events;
    s.publishing = c.publishing;
    s.neighbours = c.neighbours;
    s.pending_events = c.pending_events;
    s.views = std::move(c.views);
    if (rt.pub) {
        const auto& h = rt.pub->latency(); // atomics
        s.publish_count = h.count();
        s.publish_p50_ns = h.quantile_ns(0.5);
        s.publish_p99_ns = h.quantile_ns(0.99);
        s.publish_max_ns = h.max_ns();
        s.publish_sum_ns = h.sum_ns();
        unsigned last = 0;
        for (unsigned b = 0; b < fib::LatencyHistogram::buckets; ++b)
            if (h.bucket(b)) last = b + 1;
        for (unsigned b = 0; b < last; ++b) s.publish_histogram.push_back(h.bucket(b));
    }
    if (rt.pool) {
        s.mbufs_total = rt.pool->size;
        s.mbufs_in_use = rte_mempool_in_use_count(rt.pool);
    }
    return s;
}

ControlSnapshot control_snapshot(const Runtime& rt, bool views) {
    ControlSnapshot c;
    c.control = rt.cstats;
    if (rt.pub) {
        c.generation = rt.pub->generation();
        c.publications = rt.pub->publications();
        c.queue_full = rt.pub->queue_full();
        c.route_events = rt.pub->events();
        c.publishing = rt.pub->busy();
    }
    if (rt.comp) {
        c.neighbours = rt.comp->neighbour_count();
        c.pending_events = rt.comp->pending_events();
    }
    if (views && rt.pub && rt.comp) {
        const auto& names = rt.comp->views();
        const fib::Generation* g = rt.pub->active();
        for (std::size_t v = 0; v < names.size() && v < g->views.size(); ++v)
            c.views.push_back(view_fib_stats(names[v], g->views[v]));
    }
    return c;
}

void ControlMirror::store(const Runtime& rt) noexcept {
    const std::unique_lock lock(mutex_, std::try_to_lock);
    if (!lock.owns_lock()) return; // a reader is copying: the next poll stores
    // Per-view FIB numbers once per generation (bytes() walks a few hash maps per table).
    const bool views = rt.pub && rt.pub->active()->number != views_generation_;
    try {
        std::vector<ViewFibStats> kept =
            views ? std::vector<ViewFibStats>{} : std::move(snap_.views);
        snap_ = control_snapshot(rt, views);
        if (views)
            views_generation_ = rt.pub->active()->number;
        else
            snap_.views = std::move(kept);
    } catch (const std::bad_alloc&) {
        // keep the previous copy
    }
}

ControlSnapshot ControlMirror::load() const {
    const std::lock_guard lock(mutex_);
    return snap_;
}

} // namespace rsfwd::dp
