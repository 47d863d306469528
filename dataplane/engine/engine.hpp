// dataplane/engine/engine.hpp — the forwarding engine: EAL ports, worker lcores, the control
// thread's exception path (ARP, ND, ICMP) and FIB publication, counters. `rsfwd run` and the
// data-plane tests drive it.
//
// What: Engine(ports, neighbours, options) probes and configures every port (any PMD: vdevs or
// PCI), sizes the mempool, maps (port, rx queue) → worker lcores, and owns the FibCompiler. Feed
// routes with compiler().set_view()/change() before or after start(); start() launches the
// workers; control_poll() is one iteration of the control loop (punts, neighbour timers,
// coalesced publication) and run() loops it until a stop flag or a deadline; stop() stops the
// workers and the ports.
// Ownership: owns ports (stopped and closed in stop()/the destructor), mempool, rings, workers.
// Thread: every method on the control thread (the EAL main lcore), except stats()/stats_json(),
// which any thread may call while the Engine exists, stop() running included (a port's PMD
// counters are read under a lock close_ports() also takes). DPDK telemetry reaches the engine
// only between start() and stop() (dataplane/engine/telemetry.hpp), so it may outlive it.
// Errors: the constructor and start() throw std::runtime_error with the port/device in the text.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "control/fib/compiler.hpp"
#include "control/model.hpp"
#include "dataplane/fib/publisher.hpp"
#include "dataplane/worker/counters.hpp"

namespace rsfwd::dp {

// A port as the engine needs it (mapped from the config in one place: dataplane/config_map.*).
struct PortSpec {
    std::string name;   // config name, e.g. "p0"
    std::string device; // DPDK devargs: "net_pcap0,rx_pcap=a.pcap", "0000:3b:00.0"
    Prefix subnet4;     // connected subnet
    IpAddr addr4;       // our address on it
    std::optional<Prefix> subnet6;
    std::optional<IpAddr> addr6;
    std::optional<fib::Mac> mac; // overrides the device MAC (also set on the device)
    std::string view = "vnet";   // "vnet" | "er/<circuit>" | "vpn/<site>"
};

struct NeighbourSpec {
    IpAddr ip;
    fib::Mac mac{};
    std::string port; // informational; the port is the one whose subnet holds ip
};

struct EngineOptions {
    std::uint16_t rx_desc = 1024, tx_desc = 1024;
    // Override of the automatic (port, queue) → lcore map: "p0:0@1,p0:1@2,p1:0@1".
    std::string rx_map;
    std::uint64_t coalesce_us = 100; // FIB publication coalescing window
    bool icmp_errors = true;         // time-exceeded / destination-unreachable
    std::uint32_t icmp_rate = 1000;  // ICMP errors per second (token bucket) ...
    std::uint32_t icmp_burst = 100;  // ... and burst
    std::uint32_t arp_retry_ms = 500, arp_tries = 3, arp_refresh_s = 60;
    std::uint32_t pending_per_neighbour = 8;
    // RFC 1812 §5.3.7's switch: forward martian IPv4 sources (WorkerOptions says which).
    bool allow_martian_sources = false;
    std::uint32_t punt_ring = 4096;
    std::uint32_t extra_mbufs = 0; // added to the computed pool size
    bool stage_cycles = false;     // run the TSC-instrumented worker (bench)
    bool promiscuous = true;
    // Idle back-off (l3fwd-power style), 0 = busy-poll always (the default, for benchmarks and
    // dedicated cores). N > 0: after idle_polls_before_sleep loops with no packet, the worker
    // sleeps N µs per loop until traffic returns, handing its core to the control thread and
    // peers (labs, laptops, 2-vCPU VMs). Costs up to N µs of latency on the first packets and
    // of FIB publication; the RX ring must hold N µs of traffic (1024 descriptors: ~100 µs at
    // 10 Mpps). The one syscall a worker makes, and only when it has nothing to do.
    std::uint32_t idle_sleep_us = 0;
    std::uint32_t idle_polls_before_sleep = 1024;
    // net_af_xdp ports (issue 9, docs/xdp.md): load rsfwd's control/data split program instead
    // of the PMD's default, so ARP, BGP and ICMP to our addresses reach the kernel of the same
    // interface. Needs an XDP-enabled build (af_xdp::available()); otherwise ignored.
    bool af_xdp_split = true;
    // Extra local addresses for the split program (persona addresses, BGP local_ip), in addition
    // to the port's own addresses and every address the kernel has in this network namespace.
    std::vector<IpAddr> local_addresses;
};

struct PortStats {
    std::string name;
    std::uint16_t port_id = 0;
    std::uint16_t rx_queues = 0, tx_queues = 0;
    PortCount sw; // summed from the workers
    std::uint64_t hw_ipackets = 0, hw_opackets = 0, hw_imissed = 0, hw_ierrors = 0, hw_oerrors = 0,
                  hw_rx_nombuf = 0;
};

struct WorkerStats {
    unsigned lcore = 0;
    std::uint64_t rx_pkts = 0, rx_bytes = 0, tx_pkts = 0, tx_bytes = 0, punted = 0;
    std::uint64_t loops = 0, busy_loops = 0, idle_sleeps = 0, generation = 0;
    std::array<std::uint64_t, drop_count> drops{};
    std::array<std::uint64_t, stage_count> stage_cycles{};
};

struct ControlStats {
    std::uint64_t arp_requests = 0, arp_replies = 0, arp_learned = 0, nd_adverts = 0,
                  nd_solicits = 0, icmp_echo_replies = 0, icmp_errors = 0, forwarded = 0, punts = 0;
};

// One view's FIB in the generation the workers run on (the control thread's copy of it; the
// spare copy of the double buffer is identical once a publication completes).
struct ViewFibStats {
    std::string name;
    std::uint64_t routes_v4 = 0, routes_v6 = 0;
    unsigned root_bits_v4 = 0, root_bits_v6 = 0; // LPM root stride (lpm/README.md, "Small tables")
    std::uint64_t lpm_bytes = 0;                 // both families, one copy, control shadow included
    std::uint64_t lpm_lookup_bytes = 0;          // what the workers' lookups touch
};

struct Stats {
    std::vector<PortStats> ports;
    std::vector<WorkerStats> workers;
    std::array<std::uint64_t, drop_count> drops{}; // workers + control
    ControlStats control;
    std::uint64_t generation = 0, publications = 0, publish_queue_full = 0, route_events = 0;
    std::uint64_t pending_events = 0; // FIB compiler events not yet in a published generation
    bool publishing = false;          // a generation published, not yet acknowledged by all workers
    std::uint64_t publish_count = 0, publish_p50_ns = 0, publish_p99_ns = 0, publish_max_ns = 0,
                  publish_sum_ns = 0;
    std::vector<std::uint64_t> publish_histogram; // log2 ns buckets
    std::uint64_t neighbours = 0, mbufs_total = 0, mbufs_in_use = 0;
    std::uint64_t tsc_hz = 0;
    std::vector<ViewFibStats> views; // index = view id
};
// The JSON form of Stats: to_json() in dataplane/engine/counter_table.hpp, which names every
// counter once for JSON, telemetry and Prometheus.
nlohmann::ordered_json to_json(const Stats& s);

// EAL init from an argument vector (argv[0] included). Throws with rte_strerror on failure.
void eal_init(const std::vector<std::string>& args);
void eal_cleanup() noexcept;

struct Runtime; // dataplane/engine/runtime.hpp

class Engine {
public:
    Engine(std::vector<PortSpec> ports, std::vector<NeighbourSpec> neighbours,
           const EngineOptions& opt = {});
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    [[nodiscard]] fib::FibCompiler& compiler() noexcept;
    [[nodiscard]] const std::vector<PortSpec>& ports() const noexcept;
    [[nodiscard]] std::uint16_t port_id(std::size_t i) const noexcept;
    [[nodiscard]] unsigned workers() const noexcept;

    void start();        // first generation published, workers running, telemetry on
    void control_poll(); // one control-loop iteration (never blocks)
    // True when a control_poll() now would find nothing to do: no FIB events pending, no
    // publication in flight, no punted packet waiting. The daemon's loop then polls less often.
    [[nodiscard]] bool control_idle() const noexcept;
    // Loops control_poll() until *stop is true or `duration_s` (> 0) elapsed.
    void run(const std::atomic<bool>* stop, double duration_s);
    // Publishes everything pending and waits until every worker uses it (tests, shutdown).
    void flush_publication();
    void stop(); // workers stopped and joined, ports stopped and closed
    [[nodiscard]] bool running() const noexcept;

    [[nodiscard]] Stats stats() const;
    [[nodiscard]] nlohmann::ordered_json stats_json() const { return to_json(stats()); }
    [[nodiscard]] const fib::Publisher* publisher() const noexcept;

private:
    void start_af_xdp_split(); // net_af_xdp ports: kernel addresses, split program configured
    std::unique_ptr<Runtime> rt_;
};

} // namespace rsfwd::dp
