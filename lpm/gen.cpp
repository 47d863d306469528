// lpm/gen.cpp — synthetic tables. Why hierarchical: real BGP tables are mostly more-specifics
// of a few aggregates (a /16 with dozens of /24s inside), which is what makes tries deep and
// leaf-pushing expensive; uniformly random prefixes would spread out and flatter every design.
#include "lpm/gen.hpp"

#include <algorithm>
#include <cmath>
#include <unordered_set>

namespace rsfwd::lpm {
namespace {

using detail::u128;

struct LenShare {
    unsigned len;
    double share; // percent
};

// Issue 3: /24 62 %, /23 10 %, /22 12 %, /21 4.5 %, /20 4.5 %, /19 2.5 %, /18 1.5 %, /17 0.8 %,
// /16 1.4 %, /8-/15 0.7 %, longer than /24 0.1 % (mean ~22.9).
constexpr LenShare mix4[] = {
    {8, 0.003},  {9, 0.007},  {10, 0.02},  {11, 0.05}, {12, 0.1},  {13, 0.14}, {14, 0.18},
    {15, 0.2},   {16, 1.4},   {17, 0.8},   {18, 1.5},  {19, 2.5},  {20, 4.5},  {21, 4.5},
    {22, 12.0},  {23, 10.0},  {24, 62.0},  {25, 0.01}, {26, 0.01}, {27, 0.01}, {28, 0.015},
    {29, 0.015}, {30, 0.015}, {31, 0.005}, {32, 0.02},
};
// Issue 3: /48 46 %, /32 16 %, /44 9 %, /40 8 %, /36 4 %, /46 4 %, the rest spread (mean ~42.9).
constexpr LenShare mix6[] = {
    {24, 0.5},  {28, 1.0}, {29, 2.0}, {30, 0.5},  {31, 0.3}, {32, 16.0}, {33, 0.8},
    {34, 0.7},  {35, 0.5}, {36, 4.0}, {37, 0.5},  {38, 0.7}, {39, 0.5},  {40, 8.0},
    {41, 0.4},  {42, 0.6}, {43, 0.4}, {44, 9.0},  {45, 0.6}, {46, 4.0},  {47, 1.5},
    {48, 46.0}, {56, 0.5}, {64, 0.5}, {128, 0.5},
};

template <class Key, unsigned W>
Key mask_key(Key k, unsigned len) {
    return len == 0 ? Key{0} : static_cast<Key>(k & (~Key{0} << (W - len)));
}

template <class Key>
Key rand_key(SplitMix64& rng) {
    if constexpr (sizeof(Key) == 4) {
        return static_cast<Key>(rng.next());
    } else {
        return (static_cast<u128>(rng.next()) << 64) | rng.next();
    }
}

struct PfxHash {
    std::size_t operator()(const std::pair<u128, unsigned>& p) const noexcept {
        auto x = static_cast<std::uint64_t>(p.first) ^ static_cast<std::uint64_t>(p.first >> 64);
        return static_cast<std::size_t>((x ^ p.second) * 0x9E3779B97F4A7C15ull >> 7);
    }
};

// The hierarchical generator for both families. `place_root(rng, len)` gives a standalone
// prefix (not nested in an earlier one) of that length.
template <class Key, unsigned W, class Mix, class Place>
std::vector<std::pair<Key, unsigned>> gen_hier(std::size_t n, std::uint64_t seed, const Mix& mix,
                                               Place place_root, double p_nest) {
    SplitMix64 rng(seed);
    // Counts per length, the largest share absorbing rounding.
    std::vector<std::pair<unsigned, std::size_t>> counts;
    std::size_t total = 0, big = 0;
    double big_share = 0;
    for (const auto& m : mix) {
        auto c = static_cast<std::size_t>(std::llround(static_cast<double>(n) * m.share / 100.0));
        counts.emplace_back(m.len, c);
        total += c;
        if (m.share > big_share) {
            big_share = m.share;
            big = counts.size() - 1;
        }
    }
    if (total > n) {
        counts[big].second -= std::min(counts[big].second, total - n);
    } else {
        counts[big].second += n - total;
    }
    std::unordered_set<std::pair<u128, unsigned>, PfxHash> seen;
    seen.reserve(n * 2);
    std::vector<std::pair<Key, unsigned>> out;
    out.reserve(n);
    // Prefixes generated so far, by length, as nesting parents.
    std::vector<std::vector<Key>> by_len(W + 1);
    auto make = [&](unsigned len, std::size_t cnt) {
        std::size_t made = 0;
        std::size_t tries = 0;
        while (made < cnt && tries < cnt * 20 + 100) {
            ++tries;
            Key a;
            // Parents: lengths in [len-8, len-1] (a /24 inside a /16../23, typical deaggregation).
            std::size_t cand = 0;
            unsigned lo = len > 8 ? len - 8 : 0;
            for (unsigned l = lo; l < len; ++l) cand += by_len[l].size();
            if (cand != 0 && rng.unit() < p_nest) {
                std::size_t pick = rng.below(cand);
                unsigned pl = lo;
                while (pick >= by_len[pl].size()) pick -= by_len[pl++].size();
                Key parent = by_len[pl][pick];
                Key inside = rand_key<Key>(rng);
                Key hostmask = pl == 0 ? ~Key{0} : static_cast<Key>(~(~Key{0} << (W - pl)));
                a = mask_key<Key, W>(parent | (inside & hostmask), len);
            } else {
                a = mask_key<Key, W>(place_root(rng, len), len);
            }
            if (!seen.insert({static_cast<u128>(a), len}).second) continue;
            out.emplace_back(a, len);
            by_len[len].push_back(a);
            ++made;
        }
    };
    for (const auto& [len, cnt] : counts) make(len, cnt);
    // Lengths that could not be filled (tiny tables, few parents) go to the biggest share.
    while (out.size() < n) make(counts[big].first, n - out.size());
    return out;
}

std::uint32_t place4(SplitMix64& rng, unsigned) {
    // Unicast space 1.0.0.0 - 223.255.255.255, avoiding 10/8 and 127/8.
    for (;;) {
        auto a = static_cast<std::uint32_t>(rng.next());
        unsigned top = a >> 24;
        if (top >= 1 && top <= 223 && top != 10 && top != 127) return a;
    }
}

u128 place6(SplitMix64& rng, unsigned) {
    // RIR-like /12 blocks (2001::/16 is its own block) with rough weights: RIPE, ARIN, APNIC,
    // LACNIC, AFRINIC, 2001::/16.
    static constexpr std::uint16_t top16[] = {0x2a00, 0x2600, 0x2400, 0x2800, 0x2c00, 0x2001};
    static constexpr double w[] = {0.38, 0.25, 0.2, 0.08, 0.02, 0.07};
    double x = rng.unit();
    unsigned i = 0;
    while (i + 1 < 6 && x >= w[i]) x -= w[i++];
    u128 r = (static_cast<u128>(rng.next()) << 64) | rng.next();
    unsigned fixed = top16[i] == 0x2001 ? 16 : 12;
    u128 hi = static_cast<u128>(top16[i]) << 112;
    u128 low_mask = ~(~u128{0} << (128 - fixed));
    return hi | (r & low_mask);
}

} // namespace

std::vector<Route4> gen_bgp4(std::size_t n, std::uint64_t seed, nh_t n_nexthops) {
    auto p = gen_hier<std::uint32_t, 32>(n, seed, mix4, place4, 0.75);
    SplitMix64 rng(seed ^ 0xabcdef);
    std::vector<Route4> out;
    out.reserve(p.size());
    for (const auto& [a, l] : p)
        out.push_back({a, static_cast<std::uint8_t>(l), static_cast<nh_t>(rng.below(n_nexthops))});
    return out;
}

std::vector<Route6> gen_bgp6(std::size_t n, std::uint64_t seed, nh_t n_nexthops) {
    auto p = gen_hier<u128, 128>(n, seed, mix6, place6, 0.8);
    SplitMix64 rng(seed ^ 0xabcdef);
    std::vector<Route6> out;
    out.reserve(p.size());
    for (const auto& [a, l] : p)
        out.push_back({Table6::addr(a), static_cast<std::uint8_t>(l),
                       static_cast<nh_t>(rng.below(n_nexthops))});
    return out;
}

std::vector<Route4> gen_random4(std::size_t n, std::uint64_t seed, nh_t n_nexthops,
                                std::uint8_t min_len, std::uint8_t max_len) {
    SplitMix64 rng(seed);
    std::vector<Route4> out;
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        auto len = static_cast<unsigned>(min_len + rng.below(max_len - min_len + 1u));
        auto a = mask_key<std::uint32_t, 32>(static_cast<std::uint32_t>(rng.next()), len);
        out.push_back(
            {a, static_cast<std::uint8_t>(len), static_cast<nh_t>(rng.below(n_nexthops))});
    }
    return out;
}

std::vector<Route6> gen_random6(std::size_t n, std::uint64_t seed, nh_t n_nexthops,
                                std::uint8_t min_len, std::uint8_t max_len) {
    SplitMix64 rng(seed);
    std::vector<Route6> out;
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        auto len = static_cast<unsigned>(min_len + rng.below(max_len - min_len + 1u));
        auto a = mask_key<u128, 128>(rand_key<u128>(rng), len);
        out.push_back({Table6::addr(a), static_cast<std::uint8_t>(len),
                       static_cast<nh_t>(rng.below(n_nexthops))});
    }
    return out;
}

namespace {
std::uint32_t inside4(SplitMix64& rng, const Route4& r) {
    std::uint32_t host = r.len == 0 ? ~0u : r.len == 32 ? 0u : (~0u >> r.len);
    return (r.addr & ~host) | (static_cast<std::uint32_t>(rng.next()) & host);
}
Addr6 inside6(SplitMix64& rng, const Route6& r) {
    u128 a = Table6::key(r.addr);
    u128 host = r.len == 0 ? ~u128{0} : r.len == 128 ? u128{0} : (~u128{0} >> r.len);
    return Table6::addr((a & ~host) | (rand_key<u128>(rng) & host));
}
// Zipf(s) sampler over n ranks, ranks mapped to a seeded permutation of the routes.
struct Zipf {
    std::vector<double> cdf;
    std::vector<std::uint32_t> perm;
    Zipf(std::size_t n, double s, SplitMix64& rng) : cdf(n), perm(n) {
        double acc = 0;
        for (std::size_t i = 0; i < n; ++i) {
            acc += 1.0 / std::pow(static_cast<double>(i + 1), s);
            cdf[i] = acc;
        }
        for (auto& c : cdf) c /= acc;
        for (std::size_t i = 0; i < n; ++i) perm[i] = static_cast<std::uint32_t>(i);
        for (std::size_t i = n; i > 1; --i) std::swap(perm[i - 1], perm[rng.below(i)]);
    }
    std::size_t operator()(SplitMix64& rng) const {
        auto it = std::lower_bound(cdf.begin(), cdf.end(), rng.unit());
        auto r = static_cast<std::size_t>(it - cdf.begin());
        return perm[std::min(r, perm.size() - 1)];
    }
};
} // namespace

std::vector<std::uint32_t> traffic4_routes(std::span<const Route4> routes, std::size_t n,
                                           std::uint64_t seed) {
    SplitMix64 rng(seed);
    std::vector<std::uint32_t> out(n);
    for (auto& k : out)
        k = routes.empty() ? static_cast<std::uint32_t>(rng.next())
                           : inside4(rng, routes[rng.below(routes.size())]);
    return out;
}

std::vector<std::uint32_t> traffic4_covered(const Table4& table, std::span<const Route4> routes,
                                            std::size_t n, std::uint64_t seed) {
    SplitMix64 rng(seed);
    std::vector<std::uint32_t> out(n);
    for (auto& k : out) {
        bool ok = false;
        for (int t = 0; t < 64 && !ok; ++t) {
            k = static_cast<std::uint32_t>(rng.next());
            ok = table.lookup(k) != no_route;
        }
        if (!ok && !routes.empty()) k = inside4(rng, routes[rng.below(routes.size())]);
    }
    return out;
}

std::vector<std::uint32_t> traffic4_zipf(std::span<const Route4> routes, std::size_t n,
                                         std::uint64_t seed, double s) {
    SplitMix64 rng(seed);
    std::vector<std::uint32_t> out(n);
    if (routes.empty()) return out;
    Zipf z(routes.size(), s, rng);
    for (auto& k : out) k = inside4(rng, routes[z(rng)]);
    return out;
}

std::vector<Addr6> traffic6_routes(std::span<const Route6> routes, std::size_t n,
                                   std::uint64_t seed) {
    SplitMix64 rng(seed);
    std::vector<Addr6> out(n);
    for (auto& k : out)
        k = routes.empty() ? Table6::addr(rand_key<u128>(rng))
                           : inside6(rng, routes[rng.below(routes.size())]);
    return out;
}

std::vector<Addr6> traffic6_zipf(std::span<const Route6> routes, std::size_t n, std::uint64_t seed,
                                 double s) {
    SplitMix64 rng(seed);
    std::vector<Addr6> out(n);
    if (routes.empty()) return out;
    Zipf z(routes.size(), s, rng);
    for (auto& k : out) k = inside6(rng, routes[z(rng)]);
    return out;
}

} // namespace rsfwd::lpm
