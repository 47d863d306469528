// dataplane/engine/stats.cpp — Engine::stats(): one snapshot of every counter (named and turned
// into JSON, telemetry and Prometheus by counter_table.hpp).
// Why: stats() may run on any thread (DPDK telemetry calls it), so it reads the worker counters
// with relaxed loads and the control thread's state from its mirror, unless it runs on the
// control thread itself.
#include <array>
#include <bit>
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
    // elsewhere (telemetry) their last published mirror.
    const bool live = !rt.started || std::this_thread::get_id() == rt.control_thread;
    if (live) {
        s.control = rt.cstats;
    } else {
        std::array<std::uint64_t, 9> c{};
        for (std::size_t k = 0; k < c.size(); ++k)
            c[k] = rt.mirror.control[k].load(std::memory_order_relaxed);
        s.control = std::bit_cast<ControlStats>(c);
    }
    if (rt.pub && !live) {
        s.generation = rt.mirror.generation.load(std::memory_order_relaxed);
        s.publications = rt.mirror.publications.load(std::memory_order_relaxed);
        s.publish_queue_full = rt.mirror.queue_full.load(std::memory_order_relaxed);
        s.route_events = rt.mirror.route_events.load(std::memory_order_relaxed);
        s.publishing = rt.mirror.publishing.load(std::memory_order_relaxed);
    } else if (rt.pub) {
        s.generation = rt.pub->generation();
        s.publications = rt.pub->publications();
        s.publish_queue_full = rt.pub->queue_full();
        s.route_events = rt.pub->events();
        s.publishing = rt.pub->busy();
    }
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
    if (live) {
        s.neighbours = rt.comp ? rt.comp->neighbour_count() : 0;
        s.pending_events = rt.comp ? rt.comp->pending_events() : 0;
    } else {
        s.neighbours = rt.mirror.neighbours.load(std::memory_order_relaxed);
        s.pending_events = rt.mirror.pending_events.load(std::memory_order_relaxed);
    }
    if (rt.pool) {
        s.mbufs_total = rt.pool->size;
        s.mbufs_in_use = rte_mempool_in_use_count(rt.pool);
    }
    if (rt.pub && rt.comp) {
        const auto& names = rt.comp->views(); // fixed after start(): safe from any thread
        for (std::size_t v = 0; v < names.size(); ++v) {
            if (live) {
                const fib::Generation* g = rt.pub->active();
                if (v < g->views.size()) s.views.push_back(view_fib_stats(names[v], g->views[v]));
                continue;
            }
            if (v >= rt.mirror.n_views) break;
            const auto& a = rt.mirror.views[v];
            ViewFibStats f;
            f.name = names[v];
            f.routes_v4 = a[0].load(std::memory_order_relaxed);
            f.routes_v6 = a[1].load(std::memory_order_relaxed);
            const std::uint64_t bits = a[2].load(std::memory_order_relaxed);
            f.root_bits_v4 = static_cast<unsigned>(bits & 0xFF);
            f.root_bits_v6 = static_cast<unsigned>(bits >> 8 & 0xFF);
            f.lpm_bytes = a[3].load(std::memory_order_relaxed);
            f.lpm_lookup_bytes = a[4].load(std::memory_order_relaxed);
            s.views.push_back(std::move(f));
        }
    }
    return s;
}

} // namespace rsfwd::dp
