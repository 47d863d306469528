// lpm/lpm.hpp — IPv4/IPv6 longest-prefix-match tables for the rsfwd data plane.
//
// What: Table4 / Table6 map a destination address to a next-hop index (nh_t) by longest prefix
// match. Build from a route list, update incrementally (insert/remove/apply), look up one key or
// a span of keys (bulk: independent lookups interleaved with prefetching), account memory.
// Design: a Poptrie (direct-pointed root + 6-bit nodes with popcount bitmaps and leaf
// compression) whose root-level leaf-only nodes are single-cache-line compact blocks; see
// lpm/README.md for the design, the numbers and the reasoning.
//
// Ownership: value types; a table owns all its memory (std::vectors; arrays of 512 KiB and more
// are mmapped 2 MiB-aligned and madvise(MADV_HUGEPAGE)d). Copies are deep. An empty or small
// table (<= 256 routes) uses an 8-bit root and costs a few KiB; past 256 routes it switches
// to an 18-bit root (~3.5 MiB fixed), and back below 64 routes (one rebuild each way). An IPv4
// table also takes the 18-bit root while it holds a route longer than /14: under the 8-bit
// root such a key walks two or three node levels, under the 18-bit one a /15../24 is the root
// entry plus one compact block.
//
// Thread contract: const methods (lookup, lookup_bulk*, size, bytes, routes) may run
// concurrently on one object from any number of threads as long as no non-const method runs on
// that same object. Lookups take no locks and no atomics, allocate nothing and never throw.
//
// Hand-off contract (double buffering, "patchable spare copy"):
//   1. start-up: A = Table4::build(routes); B = A (deep copy); workers read A.
//   2. per batch: the control thread calls B.apply(upserts, removals) while workers keep
//      reading A (nothing is shared between A and B, so no synchronisation is needed);
//   3. publish B to the workers (e.g. a pointer through each worker's SPSC queue);
//   4. wait for an rte_rcu_qsbr grace period: once every worker has reported quiescence after
//      the publication, no worker holds A any more — this is the reclaim point for version N;
//   5. A.apply(the same batch) brings A to version N+1 and it becomes the spare; swap roles.
//   apply() is incremental (cost proportional to the routes changed and the trie nodes below
//   them), so step 5 costs the same as step 2; copying is only needed once, at start-up.
// Cost (big tables): a key under a root slot (/18) with no route longer than /24 costs two
// dependent loads: the root entry and one 64-byte-aligned block line (a slot covered by a
// route of length <= 18 has a 1-run block of its own, so this holds for it too). Elsewhere
// one root load, one 24-byte node load per 6 bits past the root, one leaf load. See README
// for cycles.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>
#include <vector>

#include "lpm/poptrie.hpp"

namespace rsfwd::lpm {

using nh_t = std::uint32_t;                      // next-hop index
inline constexpr nh_t no_route = 0xFFFFFFFFu;    // lookup result when nothing matches
inline constexpr nh_t max_nexthop = 0x7FFFFFFEu; // valid next hops are 0..max_nexthop

// An IPv4 route; addr in HOST byte order. Host bits beyond len are ignored (masked).
struct Route4 {
    std::uint32_t addr;
    std::uint8_t len;
    nh_t nh;
};

using Addr6 = std::array<std::uint8_t, 16>; // NETWORK byte order

// An IPv6 route. Host bits beyond len are ignored (masked).
struct Route6 {
    Addr6 addr;
    std::uint8_t len;
    nh_t nh;
};

class Table4 {
public:
    Table4();
    static Table4 build(std::span<const Route4> routes); // duplicates: last wins
    Table4(const Table4&);
    Table4& operator=(const Table4&);
    Table4(Table4&&) noexcept;
    Table4& operator=(Table4&&) noexcept;

    // Adds or replaces a route. Throws std::invalid_argument on len > 32 or nh > max_nexthop.
    // Next hops <= 0xFFFE are stored in 16-bit leaves; the first larger one switches the table
    // to 32-bit leaves (a one-time rebuild). Crossing 256 routes, or the first route longer than
    // /14, rebuilds once (root size).
    void insert(std::uint32_t addr, std::uint8_t len, nh_t nh);
    bool remove(std::uint32_t addr, std::uint8_t len); // false if absent
    // Batched update: removals first, then upserts (in address order; among equal prefixes in
    // upserts the last wins). Removals' nh is ignored; absent removals are no-ops. Validates
    // every upsert before changing anything (throws std::invalid_argument like insert).
    void apply(std::span<const Route4> upserts, std::span<const Route4> removals);

    nh_t lookup(std::uint32_t addr) const noexcept {
        return t_.visit([&](const auto& t) { return t.lookup(addr); });
    }
    // A hint, no effect on results: start fetching the root entry a later lookup of `addr`
    // reads. For callers that learn keys some time before their bulk lookup, so that the first
    // of the lookup's two dependent misses is under way by the time lookup_bulk runs. (The data
    // plane does not use it: no faster than lookup_bulk's own root prefetches, see
    // lpm/README.md, "Prefetch hints".)
    void prefetch(std::uint32_t addr) const noexcept {
        t_.visit([&](const auto& t) { t.prefetch(addr); });
    }
    // The second stage, some time after prefetch(addr) (enough for the root line to arrive):
    // reads the root entry and prefetches the line the lookup of `addr` reads next. With both
    // stages issued ahead, a bulk lookup over cold lines finds them arriving or arrived.
    void prefetch_next(std::uint32_t addr) const noexcept {
        t_.visit([&](const auto& t) { t.prefetch_next(addr); });
    }
    // out.size() >= keys.size(). Interleaves Burst independent lookups with prefetching.
    void lookup_bulk(std::span<const std::uint32_t> keys, std::span<nh_t> out) const noexcept {
        lookup_bulk_n<default_burst>(keys, out);
    }
    // Same, for a caller that has issued prefetch(k) for every key already: the first pass
    // skips its own root prefetches. Same results.
    void lookup_bulk_prefetched(std::span<const std::uint32_t> keys,
                                std::span<nh_t> out) const noexcept {
        lookup_bulk_n<default_burst, true>(keys, out);
    }
    // Same, with the interleaving width chosen by the caller (1..128).
    template <unsigned Burst, bool RootsPrefetched = false>
    void lookup_bulk_n(std::span<const std::uint32_t> keys, std::span<nh_t> out) const noexcept {
        static_assert(Burst >= 1 && Burst <= 128);
        auto conv = [](std::uint32_t k) { return k; };
        t_.visit([&](const auto& t) {
            std::size_t n = keys.size(), i = 0;
            for (; i + Burst <= n; i += Burst)
                t.template lookup_burst<Burst, RootsPrefetched>(keys.data() + i, out.data() + i,
                                                                Burst, conv);
            if (i < n)
                t.template lookup_burst<Burst, RootsPrefetched>(keys.data() + i, out.data() + i,
                                                                static_cast<unsigned>(n - i), conv);
        });
    }
    std::size_t size() const noexcept { // number of routes
        return t_.visit([](const auto& t) { return t.size(); });
    }
    std::size_t bytes() const noexcept { // memory held, all structures
        return sizeof(*this) + t_.visit([](const auto& t) { return t.bytes(); });
    }
    // Memory the lookups touch (root array, nodes, leaves); bytes() adds the control shadow.
    std::size_t lookup_bytes() const noexcept {
        return t_.visit([](const auto& t) { return t.lookup_bytes(); });
    }
    // Bits of the direct-pointed root: 8 for an empty, small or shallow table, 18 past 256
    // routes or once a route is longer than /14 (see the header comment).
    unsigned root_bits() const noexcept {
        return t_.visit([](const auto& t) { return t.root_bits(); });
    }
    // true once a next hop > 0xFFFE made the table switch to 32-bit leaves.
    bool wide_leaves() const noexcept { return t_.wide(); }
    // Every route, order unspecified.
    std::vector<Route4> routes() const;

    static constexpr unsigned default_burst = 64;

private:
    detail::Dual<detail::V4> t_;
};

class Table6 {
public:
    Table6();
    static Table6 build(std::span<const Route6> routes); // duplicates: last wins
    Table6(const Table6&);
    Table6& operator=(const Table6&);
    Table6(Table6&&) noexcept;
    Table6& operator=(Table6&&) noexcept;

    // Adds or replaces a route. Throws std::invalid_argument on len > 128 or nh > max_nexthop.
    void insert(const Addr6& addr, std::uint8_t len, nh_t nh);
    bool remove(const Addr6& addr, std::uint8_t len); // false if absent
    // Batched update, same rules as Table4::apply.
    void apply(std::span<const Route6> upserts, std::span<const Route6> removals);

    nh_t lookup(const Addr6& addr) const noexcept {
        return t_.visit([&](const auto& t) { return t.lookup(key(addr)); });
    }
    // A hint, no effect on results: see Table4::prefetch.
    void prefetch(const Addr6& addr) const noexcept {
        t_.visit([&](const auto& t) { t.prefetch(key(addr)); });
    }
    // out.size() >= keys.size(). Interleaves Burst independent lookups with prefetching.
    void lookup_bulk(std::span<const Addr6> keys, std::span<nh_t> out) const noexcept {
        lookup_bulk_n<default_burst>(keys, out);
    }
    template <unsigned Burst>
    void lookup_bulk_n(std::span<const Addr6> keys, std::span<nh_t> out) const noexcept {
        static_assert(Burst >= 1 && Burst <= 128);
        auto conv = [](const Addr6& a) { return key(a); };
        t_.visit([&](const auto& t) {
            std::size_t n = keys.size(), i = 0;
            for (; i + Burst <= n; i += Burst)
                t.template lookup_burst<Burst>(keys.data() + i, out.data() + i, Burst, conv);
            if (i < n)
                t.template lookup_burst<Burst>(keys.data() + i, out.data() + i,
                                               static_cast<unsigned>(n - i), conv);
        });
    }
    std::size_t size() const noexcept { // number of routes
        return t_.visit([](const auto& t) { return t.size(); });
    }
    std::size_t bytes() const noexcept { // memory held, all structures
        return sizeof(*this) + t_.visit([](const auto& t) { return t.bytes(); });
    }
    std::size_t lookup_bytes() const noexcept {
        return t_.visit([](const auto& t) { return t.lookup_bytes(); });
    }
    // Bits of the direct-pointed root: 8 for an empty or small table, 18 past 256 routes.
    unsigned root_bits() const noexcept {
        return t_.visit([](const auto& t) { return t.root_bits(); });
    }
    // true once a next hop > 0xFFFE made the table switch to 32-bit leaves.
    bool wide_leaves() const noexcept { return t_.wide(); }
    std::vector<Route6> routes() const;

    // Network-order bytes -> 128-bit integer (most significant bit = first address bit).
    static detail::u128 key(const Addr6& a) noexcept {
        std::uint64_t hi, lo;
        std::memcpy(&hi, a.data(), 8);
        std::memcpy(&lo, a.data() + 8, 8);
        return (detail::u128{__builtin_bswap64(hi)} << 64) | __builtin_bswap64(lo);
    }
    static Addr6 addr(detail::u128 k) noexcept {
        std::uint64_t hi = __builtin_bswap64(static_cast<std::uint64_t>(k >> 64));
        std::uint64_t lo = __builtin_bswap64(static_cast<std::uint64_t>(k));
        Addr6 a;
        std::memcpy(a.data(), &hi, 8);
        std::memcpy(a.data() + 8, &lo, 8);
        return a;
    }

    static constexpr unsigned default_burst = 64;

private:
    detail::Dual<detail::V6> t_;
};

} // namespace rsfwd::lpm
