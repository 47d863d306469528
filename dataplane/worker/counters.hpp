// dataplane/worker/counters.hpp — per-worker counters: drops by named reason, rx/tx per port.
//
// What: WorkerCounters is written by exactly one worker with plain (non-atomic) increments and
// read by the control/telemetry threads, which sum them (a torn read is impossible for aligned
// 64-bit words on x86-64; readers use relaxed atomic loads). Cache-line aligned so two workers
// never share a line. Thread: worker: rw (its own), control/telemetry: ro.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "dataplane/fib/fib.hpp"

namespace rsfwd::dp {

enum class Drop : std::uint8_t {
    no_route,       // destination not in the ingress port's view (e.g. branch-to-branch off)
    ttl_expired,    // TTL / hop limit ≤ 1 on a packet to forward
    bad_header,     // RFC 1812 header checks (version, IHL, lengths)
    bad_checksum,   // IPv4 header checksum
    not_ip,         // neither IPv4, IPv6 nor ARP
    not_for_us,     // unicast frame for another MAC
    arp_unresolved, // next hop never answered ARP/ND, or its pending queue was full
    no_adjacency,   // route whose next hops are on no port subnet; unknown connected host
    tx_full,        // the TX queue did not take the packet
    punt_full,      // exception ring to the control thread full
    inject_full,    // control → worker injection ring full
    to_us_other,    // addressed to us, but nothing answers it (not ARP/echo/ND)
    count
};
inline constexpr std::size_t drop_count = static_cast<std::size_t>(Drop::count);

constexpr std::string_view to_string(Drop d) noexcept {
    constexpr std::array<std::string_view, drop_count> names{
        "no_route", "ttl_expired", "bad_header",     "bad_checksum",
        "not_ip",   "not_for_us",  "arp_unresolved", "no_adjacency",
        "tx_full",  "punt_full",   "inject_full",    "to_us_other"};
    return names[static_cast<std::size_t>(d)];
}

// Per-stage TSC cycles (only counted by the instrumented worker, see --stage-cycles).
enum class Stage : std::uint8_t { rx, parse, lookup, resolve, tx, count };
inline constexpr std::size_t stage_count = static_cast<std::size_t>(Stage::count);
constexpr std::string_view to_string(Stage s) noexcept {
    constexpr std::array<std::string_view, stage_count> names{"rx", "parse", "lookup", "resolve",
                                                              "tx"};
    return names[static_cast<std::size_t>(s)];
}

struct PortCount {
    std::uint64_t rx_pkts = 0, rx_bytes = 0, tx_pkts = 0, tx_bytes = 0;
};

struct alignas(64) WorkerCounters {
    std::uint64_t rx_pkts = 0, rx_bytes = 0, tx_pkts = 0, tx_bytes = 0;
    std::uint64_t punted = 0, injected = 0, loops = 0, busy_loops = 0, idle_sleeps = 0;
    std::array<std::uint64_t, drop_count> drops{};
    std::array<std::uint64_t, stage_count> stage_cycles{};
    std::array<PortCount, fib::max_ports> port{};
};

// Relaxed read of a counter another thread writes.
inline std::uint64_t read_counter(const std::uint64_t& c) noexcept {
    return __atomic_load_n(&c, __ATOMIC_RELAXED);
}

} // namespace rsfwd::dp
