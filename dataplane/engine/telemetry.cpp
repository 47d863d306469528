// dataplane/engine/telemetry.cpp — the /rsfwd/* DPDK telemetry commands.
// Why: the callbacks run on DPDK's telemetry thread, never on the control thread, so they read
// only what Engine::stats() may read from any thread (worker counters, the control mirror).
#include "dataplane/engine/telemetry.hpp"

#include <atomic>
#include <cctype>
#include <initializer_list>
#include <string>
#include <utility>

#include <fmt/format.h>
#include <rte_telemetry.h>

#include "dataplane/engine/engine.hpp"

namespace rsfwd::dp {

namespace {

std::atomic<const Engine*> g_telemetry_engine{nullptr};

void tel_add_u64(rte_tel_data* d, const std::string& k, std::uint64_t v) {
    rte_tel_data_add_dict_u64(d, k.c_str(), v);
}

// A nested dict {key: {name: value, …}}. The telemetry library frees the container once sent;
// one it refuses (a full dict, a name outside [A-Za-z0-9_/]) is freed here.
void tel_add_child(rte_tel_data* d, const std::string& key,
                   std::initializer_list<std::pair<const char*, std::uint64_t>> kv) {
    rte_tel_data* c = rte_tel_data_alloc();
    if (!c) return;
    rte_tel_data_start_dict(c);
    for (const auto& [k, v] : kv) tel_add_u64(c, k, v);
    if (rte_tel_data_add_dict_container(d, key.c_str(), c, 0) != 0) rte_tel_data_free(c);
}

int tel_stats(const char*, const char*, rte_tel_data* d) {
    const Engine* e = g_telemetry_engine.load();
    if (!e) return -1;
    const Stats s = e->stats();
    rte_tel_data_start_dict(d);
    std::uint64_t rx = 0, tx = 0;
    for (const auto& w : s.workers) {
        rx += w.rx_pkts;
        tx += w.tx_pkts;
    }
    tel_add_u64(d, "rx_pkts", rx);
    tel_add_u64(d, "tx_pkts", tx);
    tel_add_u64(d, "generation", s.generation);
    tel_add_u64(d, "publications", s.publications);
    for (std::size_t i = 0; i < drop_count; ++i)
        tel_add_u64(d, fmt::format("drop_{}", to_string(static_cast<Drop>(i))), s.drops[i]);
    return 0;
}

int tel_drops(const char*, const char*, rte_tel_data* d) {
    const Engine* e = g_telemetry_engine.load();
    if (!e) return -1;
    const Stats s = e->stats();
    rte_tel_data_start_dict(d);
    for (std::size_t i = 0; i < drop_count; ++i)
        tel_add_u64(d, std::string(to_string(static_cast<Drop>(i))), s.drops[i]);
    return 0;
}

int tel_ports(const char*, const char*, rte_tel_data* d) {
    const Engine* e = g_telemetry_engine.load();
    if (!e) return -1;
    const Stats s = e->stats();
    rte_tel_data_start_dict(d);
    for (const auto& p : s.ports) {
        rte_tel_data* c = rte_tel_data_alloc();
        rte_tel_data_start_dict(c);
        tel_add_u64(c, "port_id", p.port_id);
        tel_add_u64(c, "rx_pkts", p.sw.rx_pkts);
        tel_add_u64(c, "rx_bytes", p.sw.rx_bytes);
        tel_add_u64(c, "tx_pkts", p.sw.tx_pkts);
        tel_add_u64(c, "tx_bytes", p.sw.tx_bytes);
        tel_add_u64(c, "hw_imissed", p.hw_imissed);
        tel_add_u64(c, "hw_rx_nombuf", p.hw_rx_nombuf);
        rte_tel_data_add_dict_container(d, p.name.c_str(), c, 0);
    }
    return 0;
}

int tel_workers(const char*, const char*, rte_tel_data* d) {
    const Engine* e = g_telemetry_engine.load();
    if (!e) return -1;
    const Stats s = e->stats();
    rte_tel_data_start_dict(d);
    for (std::size_t i = 0; i < s.workers.size(); ++i) {
        const auto& w = s.workers[i];
        tel_add_child(d, fmt::format("worker{}", i),
                      {{"lcore", w.lcore},
                       {"rx_pkts", w.rx_pkts},
                       {"tx_pkts", w.tx_pkts},
                       {"punted", w.punted},
                       {"generation", w.generation},
                       {"loops", w.loops}});
    }
    return 0;
}

int tel_fib(const char*, const char*, rte_tel_data* d) {
    const Engine* e = g_telemetry_engine.load();
    if (!e) return -1;
    const Stats s = e->stats();
    rte_tel_data_start_dict(d);
    tel_add_u64(d, "generation", s.generation);
    tel_add_u64(d, "publications", s.publications);
    tel_add_u64(d, "route_events", s.route_events);
    tel_add_u64(d, "queue_full", s.publish_queue_full);
    tel_add_u64(d, "latency_count", s.publish_count);
    tel_add_u64(d, "latency_p50_ns", s.publish_p50_ns);
    tel_add_u64(d, "latency_p99_ns", s.publish_p99_ns);
    tel_add_u64(d, "latency_max_ns", s.publish_max_ns);
    tel_add_u64(d, "neighbours", s.neighbours);
    tel_add_u64(d, "pending_events", s.pending_events);
    tel_add_u64(d, "publishing", s.publishing ? 1 : 0);
    // Per view: {"view/<view>": {routes_v4, routes_v6, root_bits_v4, root_bits_v6, lpm_bytes,
    // lpm_lookup_bytes}}. Telemetry names take only [A-Za-z0-9_/]: other characters of a view
    // name become '_'.
    for (const auto& v : s.views) {
        std::string key = "view/" + v.name;
        for (char& ch : key)
            if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != '/') ch = '_';
        tel_add_child(d, key,
                      {{"routes_v4", v.routes_v4},
                       {"routes_v6", v.routes_v6},
                       {"root_bits_v4", v.root_bits_v4},
                       {"root_bits_v6", v.root_bits_v6},
                       {"lpm_bytes", v.lpm_bytes},
                       {"lpm_lookup_bytes", v.lpm_lookup_bytes}});
    }
    return 0;
}

} // namespace

void telemetry_attach(const Engine* engine) {
    g_telemetry_engine.store(engine);
    static bool registered = false;
    if (!registered) {
        registered = true;
        rte_telemetry_register_cmd("/rsfwd/stats", tel_stats, "rsfwd totals and drops by reason");
        rte_telemetry_register_cmd("/rsfwd/drops", tel_drops, "rsfwd drops by reason");
        rte_telemetry_register_cmd("/rsfwd/ports", tel_ports, "rsfwd per-port counters");
        rte_telemetry_register_cmd("/rsfwd/workers", tel_workers, "rsfwd per-worker counters");
        rte_telemetry_register_cmd("/rsfwd/fib", tel_fib,
                                   "rsfwd FIB generation and publish latency");
    }
}

void telemetry_detach() {
    g_telemetry_engine.store(nullptr);
}

} // namespace rsfwd::dp
