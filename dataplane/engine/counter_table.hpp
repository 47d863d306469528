// dataplane/engine/counter_table.hpp — every engine counter described once: its JSON/telemetry
// key, its Prometheus family (base units, `_total` on counters), type, unit, help text, and the
// label that tells its rows apart (port, worker, view, reason, stage). The stats JSON
// (`rsctl stats`, `--stats-json`), the /rsfwd/* DPDK telemetry commands and the Prometheus
// exposition are all generated from these tables, so a counter added here appears in all three;
// a drop reason added to `enum class Drop` (dataplane/worker/counters.hpp) appears in all three
// without touching this file.
//
// Why here: the values come from `Stats` (engine.hpp, one snapshot summed from the workers and
// the control thread), which is the engine's; the tables only say how to name and read it.
// control/ must not include dataplane/, so the Prometheus side is a template over a builder
// (`expose()`) that control/api's MetricsBuilder satisfies; the engine library needs no
// Prometheus library. Thread: pure functions of a Stats value, any thread. Cost: a few
// hundred map insertions per call, on the control or telemetry thread only.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "dataplane/engine/engine.hpp"
#include "dataplane/worker/counters.hpp"

namespace rsfwd::dp {

enum class MetricType : std::uint8_t { counter, gauge, histogram };

struct CounterInfo {
    std::string_view key;    // JSON and telemetry key inside its section (kept stable: scripts)
    std::string_view metric; // Prometheus family name
    MetricType type;
    std::string_view unit; // what one unit of the value is (Prometheus: the base unit)
    std::string_view help;
};

// One counter of a row type (PortStats, WorkerStats, ...): its description and how to read it.
template <class Row>
struct Field {
    CounterInfo info;
    std::uint64_t (*get)(const Row&);
};

// clang-format off
inline constexpr Field<PortStats> port_fields[] = {
    {{"port_id", "rsfwd_port_id", MetricType::gauge, "", "DPDK port id of the port"}, [](const PortStats& p) -> std::uint64_t { return p.port_id; }},
    {{"rx_queues", "rsfwd_port_rx_queues", MetricType::gauge, "", "RX queues configured on the port"}, [](const PortStats& p) -> std::uint64_t { return p.rx_queues; }},
    {{"tx_queues", "rsfwd_port_tx_queues", MetricType::gauge, "", "TX queues configured on the port"}, [](const PortStats& p) -> std::uint64_t { return p.tx_queues; }},
    {{"rx_pkts", "rsfwd_port_rx_packets_total", MetricType::counter, "packets", "Packets the workers received on the port"}, [](const PortStats& p) { return p.sw.rx_pkts; }},
    {{"rx_bytes", "rsfwd_port_rx_bytes_total", MetricType::counter, "bytes", "Bytes the workers received on the port"}, [](const PortStats& p) { return p.sw.rx_bytes; }},
    {{"tx_pkts", "rsfwd_port_tx_packets_total", MetricType::counter, "packets", "Packets the workers sent on the port"}, [](const PortStats& p) { return p.sw.tx_pkts; }},
    {{"tx_bytes", "rsfwd_port_tx_bytes_total", MetricType::counter, "bytes", "Bytes the workers sent on the port"}, [](const PortStats& p) { return p.sw.tx_bytes; }},
    {{"hw_ipackets", "rsfwd_port_hw_rx_packets_total", MetricType::counter, "packets", "Packets received, as the PMD counts them"}, [](const PortStats& p) { return p.hw_ipackets; }},
    {{"hw_opackets", "rsfwd_port_hw_tx_packets_total", MetricType::counter, "packets", "Packets sent, as the PMD counts them"}, [](const PortStats& p) { return p.hw_opackets; }},
    {{"hw_imissed", "rsfwd_port_hw_rx_missed_total", MetricType::counter, "packets", "Packets the NIC dropped because the RX queues were full"}, [](const PortStats& p) { return p.hw_imissed; }},
    {{"hw_ierrors", "rsfwd_port_hw_rx_errors_total", MetricType::counter, "packets", "Erroneous packets received, as the PMD counts them"}, [](const PortStats& p) { return p.hw_ierrors; }},
    {{"hw_oerrors", "rsfwd_port_hw_tx_errors_total", MetricType::counter, "packets", "Failed transmissions, as the PMD counts them"}, [](const PortStats& p) { return p.hw_oerrors; }},
    {{"hw_rx_nombuf", "rsfwd_port_hw_rx_nombuf_total", MetricType::counter, "events", "RX mbuf allocation failures"}, [](const PortStats& p) { return p.hw_rx_nombuf; }},
};

inline constexpr Field<WorkerStats> worker_fields[] = {
    {{"lcore", "rsfwd_worker_lcore", MetricType::gauge, "", "EAL lcore the worker runs on"}, [](const WorkerStats& w) -> std::uint64_t { return w.lcore; }},
    {{"rx_pkts", "rsfwd_worker_rx_packets_total", MetricType::counter, "packets", "Packets the worker received"}, [](const WorkerStats& w) { return w.rx_pkts; }},
    {{"rx_bytes", "rsfwd_worker_rx_bytes_total", MetricType::counter, "bytes", "Bytes the worker received"}, [](const WorkerStats& w) { return w.rx_bytes; }},
    {{"tx_pkts", "rsfwd_worker_tx_packets_total", MetricType::counter, "packets", "Packets the worker sent"}, [](const WorkerStats& w) { return w.tx_pkts; }},
    {{"tx_bytes", "rsfwd_worker_tx_bytes_total", MetricType::counter, "bytes", "Bytes the worker sent"}, [](const WorkerStats& w) { return w.tx_bytes; }},
    {{"punted", "rsfwd_worker_punted_packets_total", MetricType::counter, "packets", "Packets the worker handed to the control thread (ARP, ICMP, unresolved)"}, [](const WorkerStats& w) { return w.punted; }},
    {{"loops", "rsfwd_worker_loops_total", MetricType::counter, "loops", "Iterations of the worker loop"}, [](const WorkerStats& w) { return w.loops; }},
    {{"busy_loops", "rsfwd_worker_busy_loops_total", MetricType::counter, "loops", "Iterations of the worker loop that received packets"}, [](const WorkerStats& w) { return w.busy_loops; }},
    {{"idle_sleeps", "rsfwd_worker_idle_sleeps_total", MetricType::counter, "sleeps", "Idle back-off sleeps (--idle-sleep-us)"}, [](const WorkerStats& w) { return w.idle_sleeps; }},
    {{"generation", "rsfwd_worker_fib_generation", MetricType::gauge, "", "FIB generation the worker forwards with"}, [](const WorkerStats& w) { return w.generation; }},
};

inline constexpr Field<ControlStats> control_fields[] = {
    {{"arp_requests", "rsfwd_control_arp_requests_total", MetricType::counter, "packets", "ARP requests the control thread sent"}, [](const ControlStats& c) { return c.arp_requests; }},
    {{"arp_replies", "rsfwd_control_arp_replies_total", MetricType::counter, "packets", "ARP replies the control thread sent"}, [](const ControlStats& c) { return c.arp_replies; }},
    {{"arp_learned", "rsfwd_control_arp_learned_total", MetricType::counter, "events", "Neighbour MACs learned from ARP or ND"}, [](const ControlStats& c) { return c.arp_learned; }},
    {{"nd_solicits", "rsfwd_control_nd_solicits_total", MetricType::counter, "packets", "IPv6 neighbour solicitations sent"}, [](const ControlStats& c) { return c.nd_solicits; }},
    {{"nd_adverts", "rsfwd_control_nd_adverts_total", MetricType::counter, "packets", "IPv6 neighbour advertisements sent"}, [](const ControlStats& c) { return c.nd_adverts; }},
    {{"icmp_echo_replies", "rsfwd_control_icmp_echo_replies_total", MetricType::counter, "packets", "ICMP and ICMPv6 echo replies sent"}, [](const ControlStats& c) { return c.icmp_echo_replies; }},
    {{"icmp_errors", "rsfwd_control_icmp_errors_total", MetricType::counter, "packets", "ICMP errors sent (time exceeded, unreachable)"}, [](const ControlStats& c) { return c.icmp_errors; }},
    {{"forwarded", "rsfwd_control_forwarded_total", MetricType::counter, "packets", "Packets held for ARP/ND and forwarded once resolved"}, [](const ControlStats& c) { return c.forwarded; }},
    {{"punts", "rsfwd_control_punts_total", MetricType::counter, "packets", "Punted packets the control thread handled"}, [](const ControlStats& c) { return c.punts; }},
};

// Section "fib" of the JSON, /rsfwd/fib in telemetry.
inline constexpr Field<Stats> fib_fields[] = {
    {{"generation", "rsfwd_fib_generation", MetricType::gauge, "", "FIB generation published last"}, [](const Stats& s) { return s.generation; }},
    {{"publications", "rsfwd_fib_publications_total", MetricType::counter, "publications", "FIB generations published"}, [](const Stats& s) { return s.publications; }},
    {{"queue_full", "rsfwd_fib_publish_queue_full_total", MetricType::counter, "events", "Hand-offs retried because a worker's queue was full"}, [](const Stats& s) { return s.publish_queue_full; }},
    {{"route_events", "rsfwd_fib_route_events_total", MetricType::counter, "events", "Route changes the FIB compiler received"}, [](const Stats& s) { return s.route_events; }},
    {{"pending_events", "rsfwd_fib_pending_events", MetricType::gauge, "events", "Route changes not yet in a published generation"}, [](const Stats& s) { return s.pending_events; }},
    {{"publishing", "rsfwd_fib_publishing", MetricType::gauge, "", "1 while a generation waits for every worker to take it"}, [](const Stats& s) -> std::uint64_t { return s.publishing ? 1 : 0; }},
    {{"neighbours", "rsfwd_fib_neighbours", MetricType::gauge, "", "Neighbours (adjacencies) the FIB knows"}, [](const Stats& s) { return s.neighbours; }},
};

// Section "mbufs".
inline constexpr Field<Stats> mbuf_fields[] = {
    {{"total", "rsfwd_mbufs", MetricType::gauge, "mbufs", "Mbufs in the pool"}, [](const Stats& s) { return s.mbufs_total; }},
    {{"in_use", "rsfwd_mbufs_in_use", MetricType::gauge, "mbufs", "Mbufs allocated now"}, [](const Stats& s) { return s.mbufs_in_use; }},
};

// fib.views[] in the JSON, view/<name> in /rsfwd/fib.
inline constexpr Field<ViewFibStats> view_fields[] = {
    {{"routes_v4", "rsfwd_view_routes_v4", MetricType::gauge, "routes", "IPv4 routes in the view's FIB"}, [](const ViewFibStats& v) { return v.routes_v4; }},
    {{"routes_v6", "rsfwd_view_routes_v6", MetricType::gauge, "routes", "IPv6 routes in the view's FIB"}, [](const ViewFibStats& v) { return v.routes_v6; }},
    {{"root_bits_v4", "rsfwd_view_lpm_root_stride_v4", MetricType::gauge, "bits", "Root stride in bits of the view's IPv4 LPM"}, [](const ViewFibStats& v) -> std::uint64_t { return v.root_bits_v4; }},
    {{"root_bits_v6", "rsfwd_view_lpm_root_stride_v6", MetricType::gauge, "bits", "Root stride in bits of the view's IPv6 LPM"}, [](const ViewFibStats& v) -> std::uint64_t { return v.root_bits_v6; }},
    {{"lpm_bytes", "rsfwd_view_lpm_bytes", MetricType::gauge, "bytes", "Memory of the view's LPM tables, control shadow included"}, [](const ViewFibStats& v) { return v.lpm_bytes; }},
    {{"lpm_lookup_bytes", "rsfwd_view_lpm_lookup_bytes", MetricType::gauge, "bytes", "Memory the workers' lookups touch in the view's LPM tables"}, [](const ViewFibStats& v) { return v.lpm_lookup_bytes; }},
};
// clang-format on

// Drops by reason (label reason = to_string(Drop)): workers and control thread summed, and per
// worker.
inline constexpr CounterInfo drops_info{"drops", "rsfwd_drops_total", MetricType::counter,
                                        "packets", "Packets dropped, by reason"};
inline constexpr CounterInfo worker_drops_info{"drops", "rsfwd_worker_drops_total",
                                               MetricType::counter, "packets",
                                               "Packets the worker dropped, by reason"};
// Per stage TSC cycles (--stage-cycles); Prometheus in seconds (cycles / tsc_hz).
inline constexpr CounterInfo stage_info{
    "stage_cycles", "rsfwd_worker_stage_seconds_total", MetricType::counter, "seconds",
    "Time the worker spent per pipeline stage (--stage-cycles)"};
// Event → every worker on the new generation; JSON log2 ns buckets, Prometheus seconds.
inline constexpr CounterInfo publish_latency_info{
    "publish_latency_ns", "rsfwd_fib_publish_latency_seconds", MetricType::histogram, "seconds",
    "Time from a route event to every worker forwarding with it"};
inline constexpr CounterInfo tsc_info{"tsc_hz", "rsfwd_tsc_hertz", MetricType::gauge, "hertz",
                                      "TSC frequency the cycle counters are in"};

// The stats document of `rsctl stats` (section "forwarding") and `--stats-json`.
nlohmann::ordered_json to_json(const Stats& s);

// Labels of one Prometheus sample.
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// Publish-latency histogram as Prometheus wants it: upper bounds in seconds and cumulative
// counts (the last bound is +Inf).
struct LatencyBuckets {
    std::vector<double> le;
    std::vector<std::uint64_t> cumulative;
};
LatencyBuckets publish_buckets(const Stats& s);

// Prometheus exposition of `s` into `b`, which has
//   family(std::string_view name, std::string_view help, MetricType type),
//   sample(const MetricLabels&, double value) and
//   histogram(const MetricLabels&, const std::vector<double>& le,
//             const std::vector<std::uint64_t>& cumulative, std::uint64_t count, double sum)
// (control/api/metrics.hpp: MetricsBuilder). Every family is emitted even without rows.
template <class Builder>
void expose(const Stats& s, Builder& b) {
    auto fam = [&](const CounterInfo& c) { b.family(c.metric, c.help, c.type); };
    for (const auto& f : port_fields) {
        fam(f.info);
        for (const auto& p : s.ports) b.sample({{"port", p.name}}, static_cast<double>(f.get(p)));
    }
    for (const auto& f : worker_fields) {
        fam(f.info);
        for (std::size_t i = 0; i < s.workers.size(); ++i)
            b.sample({{"worker", std::to_string(i)}}, static_cast<double>(f.get(s.workers[i])));
    }
    fam(worker_drops_info);
    for (std::size_t i = 0; i < s.workers.size(); ++i)
        for (std::size_t d = 0; d < drop_count; ++d)
            b.sample({{"worker", std::to_string(i)},
                      {"reason", std::string(to_string(static_cast<Drop>(d)))}},
                     static_cast<double>(s.workers[i].drops[d]));
    fam(stage_info);
    const double hz = s.tsc_hz ? static_cast<double>(s.tsc_hz) : 1.0;
    for (std::size_t i = 0; i < s.workers.size(); ++i)
        for (std::size_t k = 0; k < stage_count; ++k)
            b.sample({{"worker", std::to_string(i)},
                      {"stage", std::string(to_string(static_cast<Stage>(k)))}},
                     static_cast<double>(s.workers[i].stage_cycles[k]) / hz);
    fam(drops_info);
    for (std::size_t d = 0; d < drop_count; ++d)
        b.sample({{"reason", std::string(to_string(static_cast<Drop>(d)))}},
                 static_cast<double>(s.drops[d]));
    for (const auto& f : control_fields) {
        fam(f.info);
        b.sample({}, static_cast<double>(f.get(s.control)));
    }
    for (const std::span<const Field<Stats>> table :
         {std::span<const Field<Stats>>(fib_fields), std::span<const Field<Stats>>(mbuf_fields)})
        for (const auto& f : table) {
            fam(f.info);
            b.sample({}, static_cast<double>(f.get(s)));
        }
    for (const auto& f : view_fields) {
        fam(f.info);
        for (const auto& v : s.views) b.sample({{"view", v.name}}, static_cast<double>(f.get(v)));
    }
    fam(publish_latency_info);
    const LatencyBuckets h = publish_buckets(s);
    b.histogram({}, h.le, h.cumulative, s.publish_count,
                static_cast<double>(s.publish_sum_ns) * 1e-9);
    fam(tsc_info);
    b.sample({}, static_cast<double>(s.tsc_hz));
}

} // namespace rsfwd::dp
