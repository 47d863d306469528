// dataplane/fib/fib.hpp — the forwarding state the workers read: one FIB generation (per-view LPM
// tables, next-hop groups, connected-host table) and the adjacency slot array.
//
// What: a Generation is an immutable-while-published snapshot. The control thread owns two of
// them (double buffer, see publisher.hpp); a worker reads exactly one generation per burst.
//   view table (lpm)   : destination -> nh_t = next-hop-group index
//   groups[nh]         : 1..8 adjacency indices (ECMP members), or a special kind
//   hosts4/hosts6 (lpm): connected destination /32 (/128) -> adjacency index
//   AdjTable[adj]      : one 8-byte atomic slot {tx port, destination MAC}
// Ownership: Generation owns its tables; AdjTable is owned by the FibCompiler and outlives every
// generation (slots are never freed while workers run; indices are stable).
// Thread: Generation — control: rw while unpublished, workers: ro while published.
//         AdjTable slots — control: rw (atomic 8-byte store), workers: ro (atomic 8-byte load).
// Why 8-byte adjacency slots: ARP/ND resolution and MAC changes are the most frequent neighbour
// events; a single relaxed 64-bit store makes them visible to every worker without publishing a
// new generation. The source MAC is per port and lives in the port table, so it needs no slot.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "dataplane/fib/mac.hpp"
#include "lpm/lpm.hpp"

namespace rsfwd::fib {

using lpm::nh_t;

using rsfwd::Mac;

// Reserved next-hop-group indices (values of the view tables).
inline constexpr nh_t group_local = 0;     // destination is one of our port addresses → punt
inline constexpr nh_t group_connected = 1; // destination is on a connected subnet → hosts table
inline constexpr nh_t group_blackhole = 2; // route without a usable next hop → drop no_adjacency
inline constexpr nh_t first_dynamic_group = 3;

inline constexpr unsigned max_ecmp = 8; // D7
inline constexpr std::uint16_t max_ports = 32;

// One ECMP group. n == 0 only for the reserved groups. 32 bytes: two groups per cache line.
struct alignas(32) NhGroup {
    std::array<std::uint16_t, max_ecmp> adj{}; // adjacency indices, sorted
    std::uint8_t n = 0;
    friend bool operator==(const NhGroup&, const NhGroup&) = default;
};

// Adjacency slot encoding: bits 0..47 = destination MAC bytes 0..5 (byte i at bits 8i..8i+7),
// bits 48..63 = tx port. port == adj_unresolved: no MAC yet → punt to control (ARP/ND).
inline constexpr std::uint16_t adj_unresolved = 0xFFFF;
inline constexpr std::uint32_t no_adj = 0xFFFFFFFFu;

constexpr std::uint64_t adj_pack(std::uint16_t port, const Mac& mac) noexcept {
    std::uint64_t v = 0;
    for (unsigned i = 0; i < 6; ++i) v |= static_cast<std::uint64_t>(mac[i]) << (8 * i);
    return v | (static_cast<std::uint64_t>(port) << 48);
}
constexpr std::uint16_t adj_port(std::uint64_t v) noexcept {
    return static_cast<std::uint16_t>(v >> 48);
}
constexpr Mac adj_mac(std::uint64_t v) noexcept {
    Mac m{};
    for (unsigned i = 0; i < 6; ++i) m[i] = static_cast<std::uint8_t>(v >> (8 * i));
    return m;
}
inline constexpr std::uint64_t adj_unresolved_slot = std::uint64_t{adj_unresolved} << 48;

// Fixed-capacity array of adjacency slots, allocated once (no reallocation while workers run).
class AdjTable {
public:
    explicit AdjTable(std::uint32_t capacity)
        : slots_(new std::atomic<std::uint64_t>[capacity]), capacity_(capacity) {
        for (std::uint32_t i = 0; i < capacity; ++i)
            slots_[i].store(adj_unresolved_slot, std::memory_order_relaxed);
    }
    [[nodiscard]] std::uint32_t capacity() const noexcept { return capacity_; }
    // Worker side: one relaxed 8-byte load.
    [[nodiscard]] std::uint64_t load(std::uint32_t i) const noexcept {
        return slots_[i].load(std::memory_order_relaxed);
    }
    // Worker side, for loops: the slot array (a local copy of the pointer outlives packet
    // stores, which are char stores that make the compiler reload every member).
    [[nodiscard]] const std::atomic<std::uint64_t>* slots() const noexcept { return slots_.get(); }
    // Control side: one relaxed 8-byte store (the value is self-contained).
    void store(std::uint32_t i, std::uint64_t v) noexcept {
        slots_[i].store(v, std::memory_order_relaxed);
    }

private:
    std::unique_ptr<std::atomic<std::uint64_t>[]> slots_;
    std::uint32_t capacity_;
};

// The tables of one view (index = view id, fixed for the process lifetime).
struct ViewTables {
    lpm::Table4 v4;
    lpm::Table6 v6;
};

// One FIB generation. Workers hold a `const Generation*`.
struct Generation {
    std::uint64_t number = 0;          // control: rw (before publish), workers: ro
    std::vector<ViewTables> views;     // one per view id
    std::vector<NhGroup> groups;       // index = nh_t from the view tables
    lpm::Table4 hosts4;                // connected neighbour /32 → adjacency index
    lpm::Table6 hosts6;                // connected neighbour /128 → adjacency index
    std::uint64_t first_event_tsc = 0; // earliest event folded into this generation
};

// The net changes of one publication, applied identically to both copies of the double buffer.
// Either incremental ops, or (bulk: a view loaded or mostly replaced) whole tables built once by
// the compiler from its sorted route list; apply() then copies them into each copy (a copy is a
// few memcpys, far cheaper than replaying a million upserts twice).
struct TableOps {
    std::vector<lpm::Route4> up4, rm4;
    std::vector<lpm::Route6> up6, rm6;
    std::shared_ptr<const lpm::Table4> full4; // non-null: replaces the whole IPv4 table
    std::shared_ptr<const lpm::Table6> full6; // non-null: replaces the whole IPv6 table
    [[nodiscard]] bool empty() const noexcept {
        return up4.empty() && rm4.empty() && up6.empty() && rm6.empty() && !full4 && !full6;
    }
    [[nodiscard]] std::size_t size() const noexcept {
        return up4.size() + rm4.size() + up6.size() + rm6.size() + (full4 ? full4->size() : 0) +
               (full6 ? full6->size() : 0);
    }
};

struct Batch {
    std::vector<TableOps> views;                        // index = view id
    std::vector<std::pair<nh_t, NhGroup>> group_writes; // applied before the table ops
    std::size_t groups_size = 0;                        // groups vector size after the batch
    TableOps hosts;
    std::uint64_t first_event_tsc = 0;
    std::size_t events = 0; // route/neighbour events folded in
    [[nodiscard]] bool empty() const noexcept;
};

// Applies `b` to `g` (which no worker may be reading). Throws only on allocation failure.
void apply(Generation& g, const Batch& b);

} // namespace rsfwd::fib
