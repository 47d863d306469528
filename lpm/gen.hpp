// lpm/gen.hpp — seeded synthetic route tables and traffic, shared by tests and benchmarks.
//
// What: BGP-shaped IPv4 (~1M prefixes, the length mix of issue 3, hierarchical: aggregates
// first, then more-specifics mostly inside them) and IPv6 (~250k, clustered in RIR-like /12
// blocks), uniformly random tables, and destination streams (uniform over covered space,
// uniform over routes, Zipf over routes).
// Determinism: output depends only on the arguments (own splitmix64 PRNG, no <random>
// distributions), so every platform and run sees the same tables for the same seed.
// Thread: pure functions. Cost: O(n) time and memory (Zipf: O(routes) extra for the CDF).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "lpm/lpm.hpp"

namespace rsfwd::lpm {

// Small, fast, seedable PRNG (splitmix64).
struct SplitMix64 {
    std::uint64_t s;
    explicit SplitMix64(std::uint64_t seed) : s(seed) {}
    std::uint64_t next() noexcept {
        std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    // Uniform in [0, n), n > 0.
    std::uint64_t below(std::uint64_t n) noexcept {
        return static_cast<std::uint64_t>((static_cast<detail::u128>(next()) * n) >> 64);
    }
    double unit() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
};

// BGP-shaped IPv4 table: n distinct prefixes (host bits zero), next hops in [0, n_nexthops).
std::vector<Route4> gen_bgp4(std::size_t n, std::uint64_t seed, nh_t n_nexthops = 256);
// BGP-shaped IPv6 table: n distinct prefixes clustered in RIR-like blocks.
std::vector<Route6> gen_bgp6(std::size_t n, std::uint64_t seed, nh_t n_nexthops = 256);
// n random prefixes (duplicates possible), lengths uniform in [min_len, max_len].
std::vector<Route4> gen_random4(std::size_t n, std::uint64_t seed, nh_t n_nexthops,
                                std::uint8_t min_len = 0, std::uint8_t max_len = 32);
std::vector<Route6> gen_random6(std::size_t n, std::uint64_t seed, nh_t n_nexthops,
                                std::uint8_t min_len = 0, std::uint8_t max_len = 128);

// Destinations uniform over the address space the table covers (rejection sampling; falls back
// to traffic4_routes for keys it cannot place after 64 tries, e.g. a nearly empty table).
std::vector<std::uint32_t> traffic4_covered(const Table4& table, std::span<const Route4> routes,
                                            std::size_t n, std::uint64_t seed);
// Destinations: a route chosen uniformly, then a uniform address inside it.
std::vector<std::uint32_t> traffic4_routes(std::span<const Route4> routes, std::size_t n,
                                           std::uint64_t seed);
// Destinations: a route chosen by Zipf(s) over a seeded random ranking, address inside it.
std::vector<std::uint32_t> traffic4_zipf(std::span<const Route4> routes, std::size_t n,
                                         std::uint64_t seed, double s = 1.0);
std::vector<Addr6> traffic6_routes(std::span<const Route6> routes, std::size_t n,
                                   std::uint64_t seed);
std::vector<Addr6> traffic6_zipf(std::span<const Route6> routes, std::size_t n, std::uint64_t seed,
                                 double s = 1.0);

} // namespace rsfwd::lpm
