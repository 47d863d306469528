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
    // RFC 1812 / 4291 / 4861 conformance (issue 26), appended: the order above is the stats'.
    l2_not_unicast,     // unicast IP in a link-layer broadcast/multicast frame (RFC 1812 §5.3.4)
    martian_src,        // IPv4 0/8, 127/8, 224/4, 240/4 (§5.3.7; --allow-martian-sources);
                        // IPv6 ::, ::1, ff00::/8 (RFC 4291 §2.5.2, §2.5.3, §2.7)
    martian_dst,        // IPv4 0/8, 127/8, multicast, 240/4, 255.255.255.255 (§5.3.5.1,
                        // §5.3.7: no multicast routing); IPv6 ::, ::1
    link_local,         // IPv4 169.254/16 (RFC 3927 §7), IPv6 fe80::/10 source (RFC 4291 §2.5.6)
    frag_to_us,         // a fragment addressed to us: no reassembly, ICMP sees whole datagrams
    directed_broadcast, // to a connected subnet's broadcast/network address (RFC 2644)
    neighbour_invalid,  // ARP/ND not believed: multicast sender MAC (§3.3.2), ND hop limit
                        // ≠ 255 or code ≠ 0 (RFC 4861 §7.1), a bad ICMPv6 checksum
    count
};
inline constexpr std::size_t drop_count = static_cast<std::size_t>(Drop::count);

constexpr std::string_view to_string(Drop d) noexcept {
    constexpr std::array<std::string_view, drop_count> names{
        "no_route",    "ttl_expired",    "bad_header",         "bad_checksum",     "not_ip",
        "not_for_us",  "arp_unresolved", "no_adjacency",       "tx_full",          "punt_full",
        "inject_full", "to_us_other",    "l2_not_unicast",     "martian_src",      "martian_dst",
        "link_local",  "frag_to_us",     "directed_broadcast", "neighbour_invalid"};
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
