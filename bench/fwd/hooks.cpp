// bench/fwd/hooks.cpp — the bench-only parts of `rsfwd run` (see hooks.hpp).
#include "bench/fwd/hooks.hpp"

#include <cmath>
#include <fstream>
#include <stdexcept>

#include <rte_ethdev.h>

#include "control/config.hpp"
#include "dataplane/worker/packet.hpp"
#include "lpm/gen.hpp"
#include "lpm/lpm.hpp"

namespace rsfwd::bench {

using namespace rsfwd::dp; // the packet helpers (load_be16, ipv4_set_dst)

// `--bench-routes FILE`: "PREFIX NEXT_HOP" per line ('#' comments), installed straight into the
// vnet view — bypassing the policy — so that benchmarks can forward on 1M-route FIBs without a
// 1M-route YAML. Malformed lines stop the start with the line number.
std::vector<ViewChange> read_bench_routes(const std::string& path, ViewId view) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read --bench-routes file " + path);
    std::vector<ViewChange> out;
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
        if (line.empty() || line[0] == '#') continue;
        const auto sp = line.find(' ');
        const auto pfx = Prefix::parse(line.substr(0, sp));
        const auto nh = sp == std::string::npos ? std::nullopt : IpAddr::parse(line.substr(sp + 1));
        if (!pfx || !nh) {
            throw std::runtime_error(path + ":" + std::to_string(n) +
                                     ": expected \"PREFIX NEXT_HOP\", got \"" + line + "\"");
        }
        ViewRoute r{*pfx, RouteSource::nva, {*nh}};
        out.push_back(ViewChange{view, *pfx, r});
    }
    return out;
}

// `--bench-random-dst N` (benchmarks only): an RX callback on queue 0 of every port overwrites
// each IPv4 frame's destination with the next entry of an N-entry array of random addresses
// covered by the FIB (the --bench-routes table, else the config's static IPv4 routes), with an
// RFC 1624 incremental checksum fix-up — so a 1M-route table is exercised by a small pcap. Same
// generator and seed as rsfwd-bench's random phase (lpm::traffic4_covered). Costs a few ns per
// packet in the worker, counted in the forwarder's rate.
namespace {
std::vector<std::uint32_t> g_random_dst; // size: a power of two; written before the callback
thread_local std::size_t t_random_i = 0;

std::uint16_t random_dst_cb(std::uint16_t, std::uint16_t, rte_mbuf** pkts, std::uint16_t n,
                            std::uint16_t, void*) {
    // Locals: the packet stores may alias the globals (char), which made gcc reload them per
    // packet.
    const std::uint32_t* dsts = g_random_dst.data();
    const std::size_t mask = g_random_dst.size() - 1;
    std::size_t k = t_random_i;
    for (std::uint16_t i = 0; i < n; ++i) {
        std::uint8_t* eth = rte_pktmbuf_mtod(pkts[i], std::uint8_t*);
        if (rte_pktmbuf_data_len(pkts[i]) < 34 || load_be16(eth + 12) != 0x0800) continue;
        ipv4_set_dst(eth + 14, dsts[k++ & mask]);
    }
    t_random_i = k;
    return n;
}

} // namespace

std::size_t install_random_destinations(dp::Engine& engine, std::vector<std::uint32_t> dsts) {
    g_random_dst = std::move(dsts);
    if (g_random_dst.empty()) return 0;
    for (std::size_t i = 0; i < engine.ports().size(); ++i) {
        if (!rte_eth_add_rx_callback(engine.port_id(i), 0, random_dst_cb, nullptr)) {
            throw std::runtime_error("--bench-random-dst: cannot add an RX callback "
                                     "(DPDK built without RTE_ETHDEV_RXTX_CALLBACKS?)");
        }
    }
    return g_random_dst.size();
}

std::vector<std::uint32_t> random_destinations(const std::vector<ViewChange>& bench,
                                               const Config& cfg, std::size_t n) {
    std::vector<lpm::Route4> routes;
    auto add = [&](const Prefix& p) {
        if (p.addr.is_v4()) routes.push_back({p.addr.v4_host(), p.len, 1});
    };
    for (const auto& c : bench)
        if (c.route) add(c.prefix);
    if (routes.empty()) {
        for (const auto& nva : cfg.nvas)
            for (const auto& r : nva.routes) add(r.prefix);
        if (cfg.vpn_gateway)
            for (const auto& s : cfg.vpn_gateway->sites)
                for (const auto& p : s.prefixes) add(p);
    }
    if (routes.empty()) throw std::runtime_error("--bench-random-dst: no IPv4 routes to cover");
    std::size_t size = 1;
    while (size < n) size <<= 1;
    const lpm::Table4 table = lpm::Table4::build(routes);
    return lpm::traffic4_covered(table, routes, size, 3);
}

std::uint64_t update_drops(const dp::Stats& s) {
    return s.drops[static_cast<std::size_t>(dp::Drop::no_route)] +
           s.drops[static_cast<std::size_t>(dp::Drop::arp_unresolved)] +
           s.drops[static_cast<std::size_t>(dp::Drop::no_adjacency)];
}

nlohmann::json churn_report(const ChurnDriver& churn, const dp::Stats& before,
                            const dp::Stats& after, const std::string& churn_port) {
    std::uint64_t misforwards = 0; // sent anywhere but the churned next hops' port
    for (const auto& p : after.ports)
        if (p.name != churn_port) misforwards += p.sw.tx_pkts;
    for (const auto& p : before.ports)
        if (p.name != churn_port) misforwards -= p.sw.tx_pkts;
    return {{"applied", churn.applied()},
            {"requested_rate", churn.rate()},
            {"rate", std::round(churn.achieved_rate())},
            {"update_drops", update_drops(after) - update_drops(before)},
            {"misforwards", misforwards},
            {"latency_p50_ns", after.publish_p50_ns},
            {"latency_p99_ns", after.publish_p99_ns},
            {"latency_max_ns", after.publish_max_ns},
            {"publications", after.publications - before.publications},
            {"control_cpu_share", churn.control_cpu_share()},
            {"control_cpu_ns_per_change", churn.control_cpu_ns_per_change()},
            {"latency_note", "route event to generation published (workers "
                             "switch on their next burst), whole run"}};
}

} // namespace rsfwd::bench
