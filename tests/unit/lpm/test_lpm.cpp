// tests/unit/lpm/test_lpm.cpp — Table4/Table6 against the reference LPM (lpm/reference.hpp):
// random and BGP-shaped tables, edge cases, random update/lookup interleavings checked at every
// version, copy semantics. Sizes shrink under sanitizers (RSFWD_LPM_TEST_SCALE or ASan builds).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "lpm/gen.hpp"
#include "lpm/lpm.hpp"
#include "lpm/reference.hpp"

using namespace rsfwd::lpm;

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr double default_scale = 0.05;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
constexpr double default_scale = 0.05;
#else
constexpr double default_scale = 1.0;
#endif
#else
constexpr double default_scale = 1.0;
#endif

// Test sizes scale by RSFWD_LPM_TEST_SCALE (default 1, 0.05 under ASan).
std::size_t scaled(std::size_t n) {
    static const double s = [] {
        const char* e = std::getenv("RSFWD_LPM_TEST_SCALE");
        return e ? std::atof(e) : default_scale;
    }();
    return std::max<std::size_t>(16, static_cast<std::size_t>(static_cast<double>(n) * s));
}

std::uint32_t ip4(unsigned a, unsigned b, unsigned c, unsigned d) {
    return (a << 24) | (b << 16) | (c << 8) | d;
}

Addr6 ip6(std::initializer_list<std::uint16_t> groups) {
    Addr6 a{};
    unsigned i = 0;
    for (auto g : groups) {
        a[2 * i] = static_cast<std::uint8_t>(g >> 8);
        a[2 * i + 1] = static_cast<std::uint8_t>(g);
        ++i;
    }
    return a;
}

// Checks `t` against `ref` on keys: single lookups and bulk lookups at burst widths 32, 64
// (the default) and 5 (odd: every span ends in a partial burst), and the data plane's form
// (roots prefetched by the caller; here half of them, hints only).
void check4(const Table4& t, const RefTable4& ref, const std::vector<std::uint32_t>& keys) {
    ASSERT_EQ(t.size(), ref.size());
    std::vector<nh_t> out32(keys.size()), out64(keys.size()), out5(keys.size()), outp(keys.size());
    t.lookup_bulk_n<32>(keys, out32);
    t.lookup_bulk(keys, out64);
    t.lookup_bulk_n<5>(keys, out5);
    for (std::size_t i = 0; i < keys.size(); i += 2) t.prefetch(keys[i]);
    t.lookup_bulk_prefetched(keys, outp);
    for (std::size_t i = 0; i < keys.size(); ++i) {
        nh_t want = ref.lookup(keys[i]);
        ASSERT_EQ(t.lookup(keys[i]), want) << "key " << std::hex << keys[i];
        ASSERT_EQ(out32[i], want) << "bulk32 key " << std::hex << keys[i];
        ASSERT_EQ(out64[i], want) << "bulk64 key " << std::hex << keys[i];
        ASSERT_EQ(out5[i], want) << "bulk5 key " << std::hex << keys[i];
        ASSERT_EQ(outp[i], want) << "prefetched key " << std::hex << keys[i];
    }
}

// One random update from `pool` (a third removals, the rest inserts with a next hop below
// nh_range) on both the table and the reference; returns the route touched.
const Route4& random_update4(Table4& t, RefTable4& ref, const std::vector<Route4>& pool,
                             SplitMix64& rng, std::uint64_t nh_range) {
    const auto& r = pool[rng.below(pool.size())];
    if (rng.below(3) == 0) {
        EXPECT_EQ(t.remove(r.addr, r.len), ref.remove(r.addr, r.len));
    } else {
        nh_t nh = static_cast<nh_t>(rng.below(nh_range));
        t.insert(r.addr, r.len, nh);
        ref.insert(r.addr, r.len, nh);
    }
    return r;
}

void check6(const Table6& t, const RefTable6& ref, const std::vector<Addr6>& keys) {
    ASSERT_EQ(t.size(), ref.size());
    std::vector<nh_t> out32(keys.size()), out64(keys.size()), out5(keys.size());
    t.lookup_bulk_n<32>(keys, out32);
    t.lookup_bulk(keys, out64);
    t.lookup_bulk_n<5>(keys, out5);
    for (std::size_t i = 0; i < keys.size(); ++i) {
        nh_t want = ref.lookup(keys[i]);
        ASSERT_EQ(t.lookup(keys[i]), want) << "key #" << i;
        ASSERT_EQ(out32[i], want) << "bulk32 key #" << i;
        ASSERT_EQ(out64[i], want) << "bulk64 key #" << i;
        ASSERT_EQ(out5[i], want) << "bulk5 key #" << i;
    }
}

// Keys that stress a table: random, inside routes, and at route boundaries (first/last/±1).
std::vector<std::uint32_t> keys4(const std::vector<Route4>& routes, std::size_t n,
                                 std::uint64_t seed) {
    auto k = traffic4_routes(routes, n, seed);
    SplitMix64 rng(seed + 1);
    for (std::size_t i = 0; i < n / 4; ++i) k.push_back(static_cast<std::uint32_t>(rng.next()));
    for (std::size_t i = 0; i < std::min<std::size_t>(routes.size(), n / 4); ++i) {
        const auto& r = routes[rng.below(routes.size())];
        std::uint32_t host = r.len == 0 ? ~0u : r.len == 32 ? 0u : (~0u >> r.len);
        std::uint32_t lo = mask4(r.addr, r.len), hi = lo | host;
        k.insert(k.end(), {lo, hi, lo - 1, hi + 1});
    }
    return k;
}

std::vector<Addr6> keys6(const std::vector<Route6>& routes, std::size_t n, std::uint64_t seed) {
    auto k = traffic6_routes(routes, n, seed);
    SplitMix64 rng(seed + 1);
    for (std::size_t i = 0; i < std::min<std::size_t>(routes.size(), n / 4); ++i) {
        const auto& r = routes[rng.below(routes.size())];
        auto lo = Table6::key(mask6(r.addr, r.len));
        rsfwd::lpm::detail::u128 host = r.len == 0     ? ~rsfwd::lpm::detail::u128{0}
                                        : r.len == 128 ? 0
                                                       : (~rsfwd::lpm::detail::u128{0} >> r.len);
        auto hi = lo | host;
        k.insert(k.end(),
                 {Table6::addr(lo), Table6::addr(hi), Table6::addr(lo - 1), Table6::addr(hi + 1)});
    }
    return k;
}

} // namespace

TEST(Lpm4, EmptyTable) {
    Table4 t;
    EXPECT_EQ(t.size(), 0u);
    EXPECT_EQ(t.lookup(0), no_route);
    EXPECT_EQ(t.lookup(0xFFFFFFFF), no_route);
    EXPECT_FALSE(t.remove(0, 0));
    EXPECT_GT(t.bytes(), 0u);
}

// Empty, small and shallow tables use an 8-bit root (a few KiB); growing past
// detail::small_max routes switches to the 18-bit root (with compact /24 blocks), shrinking
// below small_max / 4 switches back. Lookups must be right at every step, across both
// switches, incremental and batched. The routes are shallow (<= /14) so that size alone
// decides; Lpm4.ADeepRouteTakesTheBigRoot covers the other trigger.
TEST(Lpm4, GrowsAndShrinksAcrossRootSizes) {
    Table4 t;
    EXPECT_LT(t.bytes(), std::size_t{16} << 10);
    EXPECT_EQ(t.root_bits(), 8u);
    std::vector<Route4> routes; // distinct /14s spread over the space, every 7th a /11
    for (std::uint32_t i = 0; i < 3 * rsfwd::lpm::detail::small_max; ++i) {
        const std::uint8_t len = i % 7 == 0 ? 11 : 14;
        const std::uint32_t addr = (i * 21u) << 18;
        routes.push_back({addr & (~0u << (32 - len)), len, 1 + i % 500});
    }
    routes.push_back({0, 0, 7}); // default route
    RefTable4 ref;
    auto keys = keys4(routes, 4000, 32);
    for (std::size_t i = 0; i < routes.size(); ++i) {
        const auto& r = routes[i];
        t.insert(r.addr, r.len, r.nh);
        ref.insert(r.addr, r.len, r.nh);
        EXPECT_EQ(t.size(), ref.size());
        EXPECT_EQ(t.root_bits(), t.size() > rsfwd::lpm::detail::small_max ? 18u : 8u);
        if (i % 700 == 0 || i + 1 == routes.size()) check4(t, ref, keys);
    }
    ASSERT_EQ(t.size(), routes.size());
    EXPECT_GT(t.bytes(), std::size_t{1} << 20); // big root now
    for (std::size_t i = 0; i + rsfwd::lpm::detail::small_max / 8 < routes.size(); ++i) {
        t.remove(routes[i].addr, routes[i].len);
        ref.remove(routes[i].addr, routes[i].len);
        if (i % 700 == 0) check4(t, ref, keys);
    }
    check4(t, ref, keys);
    EXPECT_EQ(t.root_bits(), 8u);
    EXPECT_LT(t.bytes(), std::size_t{512} << 10); // small root again (big: > 1 MiB)
    // Batched: one apply() crossing the threshold up, one down.
    std::vector<Route4> none;
    t.apply(routes, none);
    for (const auto& r : routes) ref.insert(r.addr, r.len, r.nh);
    EXPECT_EQ(t.root_bits(), 18u);
    check4(t, ref, keys);
    std::vector<Route4> most(routes.begin() + 50, routes.end());
    t.apply(none, most);
    for (const auto& r : most) ref.remove(r.addr, r.len);
    EXPECT_EQ(t.root_bits(), 8u);
    check4(t, ref, keys);
    EXPECT_EQ(Table4::build(t.routes()).size(), ref.size());
}

// A route longer than /14 would walk two or three node levels under the 8-bit root, so an IPv4
// table takes the 18-bit root for it whatever its size, and goes back once the last such route
// is gone (a batch judges only its net change: withdrawing one /24 and announcing another keeps
// the big root; the batch also skips the shrink-then-grow rebuild pair, which this test does not
// observe). Lookups stay right across every switch.
TEST(Lpm4, ADeepRouteTakesTheBigRoot) {
    const unsigned deep = rsfwd::lpm::detail::V4::deep_len;
    std::vector<Route4> shallow = {{0, 0, 1},
                                   {ip4(10, 0, 0, 0), 8, 2},
                                   {ip4(172, 16, 0, 0), 12, 3},
                                   {ip4(10, 4, 0, 0), 14, 4}};
    const Route4 a{ip4(10, 4, 2, 0), 24, 5}, b{ip4(10, 4, 3, 0), 24, 6};
    const Route4 edge{ip4(172, 20, 0, 0), static_cast<std::uint8_t>(deep), 7};
    const Route4 edge1{ip4(172, 22, 0, 0), static_cast<std::uint8_t>(deep + 1), 8};
    std::vector<Route4> all = shallow;
    for (const auto& r : {a, b, edge, edge1}) all.push_back(r);
    auto keys = keys4(all, 2000, 32);
    for (std::uint32_t k :
         {ip4(10, 4, 2, 9), ip4(10, 4, 3, 9), ip4(10, 4, 4, 9), ip4(172, 22, 1, 1),
          ip4(172, 23, 1, 1), ip4(172, 20, 0, 1), ip4(9, 9, 9, 9)})
        keys.push_back(k);

    Table4 t = Table4::build(shallow);
    RefTable4 ref;
    for (const auto& r : shallow) ref.insert(r.addr, r.len, r.nh);
    EXPECT_EQ(t.root_bits(), 8u);
    check4(t, ref, keys);
    t.insert(edge.addr, edge.len, edge.nh); // exactly deep_len: still one node level
    ref.insert(edge.addr, edge.len, edge.nh);
    EXPECT_EQ(t.root_bits(), 8u);
    check4(t, ref, keys);
    t.insert(a.addr, a.len, a.nh);
    ref.insert(a.addr, a.len, a.nh);
    EXPECT_EQ(t.root_bits(), 18u);
    check4(t, ref, keys);
    // The default route covers every one of the 2^18 slots: they share one 16-byte block per
    // next hop (4 MiB of blocks, one per slot, before), so the lookup side is the 1 MiB root
    // and a few lines.
    EXPECT_LT(t.lookup_bytes(), (std::size_t{1} << 20) + (std::size_t{64} << 10));
    EXPECT_LT(t.bytes(), std::size_t{6} << 20);
    // Withdraw a, announce b in one batch: the root stays big.
    std::vector<Route4> up = {b}, rm = {a};
    t.apply(up, rm);
    ref.remove(a.addr, a.len);
    ref.insert(b.addr, b.len, b.nh);
    EXPECT_EQ(t.root_bits(), 18u);
    check4(t, ref, keys);
    EXPECT_TRUE(t.remove(b.addr, b.len)); // the last deep route: small again
    ref.remove(b.addr, b.len);
    EXPECT_EQ(t.root_bits(), 8u);
    EXPECT_LT(t.bytes(), std::size_t{512} << 10);
    check4(t, ref, keys);
    t.insert(edge1.addr, edge1.len, edge1.nh); // deep_len + 1
    ref.insert(edge1.addr, edge1.len, edge1.nh);
    EXPECT_EQ(t.root_bits(), 18u);
    check4(t, ref, keys);
    std::vector<Route4> none, gone = {edge1};
    t.apply(none, gone);
    ref.remove(edge1.addr, edge1.len);
    EXPECT_EQ(t.root_bits(), 8u);
    check4(t, ref, keys);
    // build() judges the whole list the same way.
    EXPECT_EQ(Table4::build(all).root_bits(), 18u);
    EXPECT_EQ(Table4::build(shallow).root_bits(), 8u);
    EXPECT_EQ(Table4().root_bits(), 8u);
}

TEST(Lpm4, EdgeCases) {
    Table4 t;
    RefTable4 ref;
    auto both = [&](std::uint32_t a, std::uint8_t l, nh_t nh) {
        t.insert(a, l, nh);
        ref.insert(a, l, nh);
    };
    both(0, 0, 1);                        // default route
    both(ip4(10, 0, 0, 0), 8, 2);         // aggregate
    both(ip4(10, 1, 0, 0), 16, 3);        // nested
    both(ip4(10, 1, 2, 0), 24, 4);        // nested deeper
    both(ip4(10, 1, 2, 3), 32, 5);        // host route
    both(ip4(10, 1, 2, 128), 25, 6);      // /25 inside the /24
    both(ip4(255, 255, 255, 255), 32, 7); // last address
    both(ip4(0, 0, 0, 0), 32, 8);         // first address
    std::vector<std::uint32_t> keys = {0,
                                       1,
                                       0xFFFFFFFF,
                                       0xFFFFFFFE,
                                       ip4(10, 1, 2, 3),
                                       ip4(10, 1, 2, 4),
                                       ip4(10, 1, 2, 200),
                                       ip4(10, 1, 3, 0),
                                       ip4(10, 2, 0, 0),
                                       ip4(11, 0, 0, 0),
                                       ip4(9, 255, 255, 255)};
    check4(t, ref, keys);
    EXPECT_EQ(t.lookup(ip4(10, 1, 2, 3)), 5u);
    EXPECT_EQ(t.lookup(ip4(10, 1, 2, 200)), 6u);
    EXPECT_EQ(t.lookup(ip4(10, 1, 9, 9)), 3u);
    // Next-hop change of an aggregate shows through everywhere it is not overridden.
    both(ip4(10, 0, 0, 0), 8, 9);
    EXPECT_EQ(t.lookup(ip4(10, 9, 9, 9)), 9u);
    EXPECT_EQ(t.lookup(ip4(10, 1, 9, 9)), 3u);
    // Equal prefix with host bits set replaces the same route.
    both(ip4(10, 1, 2, 77), 24, 10);
    EXPECT_EQ(t.size(), 8u);
    EXPECT_EQ(t.lookup(ip4(10, 1, 2, 5)), 10u);
    // Delete of a covering route: the /16 goes, /8 shows through, /24 stays.
    EXPECT_TRUE(t.remove(ip4(10, 1, 0, 0), 16));
    ref.remove(ip4(10, 1, 0, 0), 16);
    EXPECT_EQ(t.lookup(ip4(10, 1, 9, 9)), 9u);
    EXPECT_EQ(t.lookup(ip4(10, 1, 2, 5)), 10u);
    EXPECT_FALSE(t.remove(ip4(10, 1, 0, 0), 16));
    // Delete then re-add.
    EXPECT_TRUE(t.remove(ip4(10, 1, 2, 3), 32));
    ref.remove(ip4(10, 1, 2, 3), 32);
    EXPECT_EQ(t.lookup(ip4(10, 1, 2, 3)), 10u);
    both(ip4(10, 1, 2, 3), 32, 11);
    EXPECT_EQ(t.lookup(ip4(10, 1, 2, 3)), 11u);
    // Default route removal.
    EXPECT_TRUE(t.remove(0, 0));
    ref.remove(0, 0);
    EXPECT_EQ(t.lookup(ip4(11, 0, 0, 0)), no_route);
    check4(t, ref, keys);
    // Bad arguments.
    EXPECT_THROW(t.insert(0, 33, 1), std::invalid_argument);
    EXPECT_THROW(t.insert(0, 8, max_nexthop + 1), std::invalid_argument);
    EXPECT_NO_THROW(t.insert(0, 8, max_nexthop));
    EXPECT_FALSE(t.remove(0, 33));
}

TEST(Lpm4, RemoveEverythingLeavesEmptyTable) {
    auto routes = gen_random4(scaled(20000), 7, 1000);
    Table4 t = Table4::build(routes);
    for (const auto& r : routes) t.remove(r.addr, r.len);
    EXPECT_EQ(t.size(), 0u);
    auto keys = keys4(routes, 2000, 8);
    for (auto k : keys) ASSERT_EQ(t.lookup(k), no_route);
}

class Lpm4Random : public ::testing::TestWithParam<int> {};

TEST_P(Lpm4Random, BuildMatchesReference) {
    const int seed = GetParam();
    SplitMix64 rng(static_cast<std::uint64_t>(seed));
    // Different length ranges stress different levels of the trie.
    static const std::pair<int, int> ranges[] = {{0, 32}, {16, 32}, {20, 28}, {0, 18}, {25, 32}};
    auto [lo, hi] = ranges[seed % 5];
    auto routes = gen_random4(scaled(50000), static_cast<std::uint64_t>(seed), 70000,
                              static_cast<std::uint8_t>(lo), static_cast<std::uint8_t>(hi));
    RefTable4 ref;
    for (const auto& r : routes) ref.insert(r.addr, r.len, r.nh);
    Table4 t = Table4::build(routes);
    check4(t, ref, keys4(routes, scaled(200000), rng.next()));
    // The same table built by incremental inserts.
    Table4 inc;
    for (const auto& r : routes) inc.insert(r.addr, r.len, r.nh);
    check4(inc, ref, keys4(routes, scaled(100000), rng.next()));
}

TEST_P(Lpm4Random, InterleavedUpdatesMatchReferenceAtEveryVersion) {
    const int seed = GetParam();
    SplitMix64 rng(static_cast<std::uint64_t>(seed) * 977);
    static const std::pair<int, int> ranges[] = {{0, 32}, {16, 32}, {20, 28}, {8, 24}, {24, 32}};
    auto [lo, hi] = ranges[seed % 5];
    auto pool = gen_random4(scaled(4000), static_cast<std::uint64_t>(seed) + 100, 50,
                            static_cast<std::uint8_t>(lo), static_cast<std::uint8_t>(hi));
    Table4 t;
    RefTable4 ref;
    std::vector<std::uint32_t> keys = keys4(pool, 64, rng.next());
    const std::size_t steps = scaled(20000);
    for (std::size_t step = 0; step < steps; ++step) {
        const auto& r = random_update4(t, ref, pool, rng, 50);
        ASSERT_FALSE(HasFailure()) << "step " << step;
        // A few lookups near the change at every version, a wider sweep now and then.
        std::uint32_t host = r.len == 0 ? ~0u : r.len == 32 ? 0u : (~0u >> r.len);
        std::uint32_t a = mask4(r.addr, r.len);
        for (std::uint32_t k : {a, a | host, a - 1, (a | host) + 1,
                                a | (static_cast<std::uint32_t>(rng.next()) & host)})
            ASSERT_EQ(t.lookup(k), ref.lookup(k)) << "step " << step;
        if (step % 500 == 0) check4(t, ref, keys);
    }
    check4(t, ref, keys4(pool, scaled(50000), rng.next()));
}

INSTANTIATE_TEST_SUITE_P(Seeds, Lpm4Random, ::testing::Range(1, 11));

TEST(Lpm4, BatchedApplyAndCopySemantics) {
    auto routes = gen_bgp4(scaled(200000), 42, 1000);
    Table4 a = Table4::build(routes);
    RefTable4 ref;
    for (const auto& r : routes) ref.insert(r.addr, r.len, r.nh);
    Table4 b = a; // deep copy
    RefTable4 ref_a = ref;
    SplitMix64 rng(43);
    for (int round = 0; round < 5; ++round) {
        std::vector<Route4> ups, rem;
        for (int i = 0; i < 2000; ++i) {
            auto r = routes[rng.below(routes.size())];
            if (rng.below(2)) {
                rem.push_back(r);
            } else {
                r.nh = static_cast<nh_t>(rng.below(1000));
                if (rng.below(4) == 0) r.len = static_cast<std::uint8_t>(std::min(32, r.len + 1));
                ups.push_back(r);
            }
        }
        b.apply(ups, rem);
        for (const auto& r : rem) ref.remove(r.addr, r.len);
        for (const auto& r : ups) ref.insert(r.addr, r.len, r.nh);
        check4(b, ref, keys4(routes, scaled(50000), rng.next()));
        // The original is untouched by changes to the copy.
        check4(a, ref_a, keys4(routes, scaled(20000), rng.next()));
        // Double-buffering: bring A to B's version with the same batch.
        a.apply(ups, rem);
        ref_a = ref;
        check4(a, ref, keys4(routes, scaled(20000), rng.next()));
    }
    Table4 c;
    c = b;
    Table4 d = std::move(b);
    check4(c, ref, keys4(routes, scaled(20000), 5));
    check4(d, ref, keys4(routes, scaled(20000), 6));
    auto exported = c.routes();
    EXPECT_EQ(exported.size(), ref.size());
    Table4 e = Table4::build(exported);
    check4(e, ref, keys4(routes, scaled(20000), 7));
}

// A big table (18-bit root) under single updates that flip root slots between a leaf (with its
// own 1-run block), a compact block and a node, and a short route's slots between leaf values;
// single and bulk (32, 64) lookups around every change equal the reference.
// prefetch/prefetch_next are hints: any key, on an empty, small (8-bit root) or big table,
// reads only inside the table (ASan build) and changes no answer.
TEST(Lpm4, PrefetchHintsReadInsideAndChangeNothing) {
    SplitMix64 rng(91);
    for (std::size_t n : {std::size_t{0}, std::size_t{100}, scaled(20000)}) {
        Table4 t = Table4::build(gen_bgp4(n, 92, 50));
        std::vector<std::uint32_t> keys;
        for (int i = 0; i < 4096; ++i) keys.push_back(static_cast<std::uint32_t>(rng.next()));
        keys.push_back(0);
        keys.push_back(~0u);
        std::vector<nh_t> before(keys.size()), after(keys.size());
        t.lookup_bulk(keys, before);
        for (std::uint32_t k : keys) {
            t.prefetch(k);
            t.prefetch_next(k);
        }
        t.lookup_bulk(keys, after);
        EXPECT_EQ(before, after) << n << " routes";
    }
    Table6 t6 = Table6::build(gen_bgp6(scaled(5000), 93, 50));
    Addr6 a{};
    for (int i = 0; i < 1000; ++i) {
        for (auto& b : a) b = static_cast<std::uint8_t>(rng.next());
        const nh_t want = t6.lookup(a);
        t6.prefetch(a);
        EXPECT_EQ(t6.lookup(a), want);
    }
}

TEST(Lpm4, BigTableUpdatesAroundEveryChange) {
    auto routes = gen_bgp4(scaled(20000), 77, 300);
    Table4 t = Table4::build(routes);
    RefTable4 ref;
    for (const auto& r : routes) ref.insert(r.addr, r.len, r.nh);
    auto pool = routes;
    for (const auto& r : gen_random4(scaled(3000), 78, 300, 8, 32)) pool.push_back(r);
    for (const auto& r : gen_random4(scaled(300), 79, 300, 1, 18)) pool.push_back(r);
    SplitMix64 rng(80);
    const std::size_t steps = scaled(4000);
    for (std::size_t step = 0; step < steps; ++step) {
        const auto& r = random_update4(t, ref, pool, rng, 300);
        ASSERT_FALSE(HasFailure()) << "step " << step;
        std::uint32_t host = r.len == 0 ? ~0u : r.len == 32 ? 0u : (~0u >> r.len);
        std::uint32_t a = mask4(r.addr, r.len);
        std::vector<std::uint32_t> keys;
        for (int i = 0; i < 70; ++i)
            keys.push_back(a + static_cast<std::uint32_t>(rng.below(std::uint64_t{host} + 3)) - 1);
        check4(t, ref, keys);
        if (step % 1000 == 0) check4(t, ref, keys4(routes, scaled(20000), rng.next()));
    }
    check4(t, ref, keys4(pool, scaled(100000), rng.next()));
    check4(Table4::build(t.routes()), ref, keys4(pool, scaled(50000), rng.next()));
}

TEST(Lpm4, BgpShapedTable) {
    auto routes = gen_bgp4(scaled(400000), 1, 65535);
    ASSERT_EQ(routes.size(), scaled(400000));
    double sum = 0;
    std::size_t n24 = 0;
    for (const auto& r : routes) {
        sum += r.len;
        n24 += r.len == 24;
    }
    EXPECT_NEAR(sum / static_cast<double>(routes.size()), 22.9, 0.3);
    EXPECT_NEAR(static_cast<double>(n24) / static_cast<double>(routes.size()), 0.62, 0.03);
    RefTable4 ref;
    for (const auto& r : routes) ref.insert(r.addr, r.len, r.nh);
    Table4 t = Table4::build(routes);
    check4(t, ref, keys4(routes, scaled(400000), 2));
    check4(t, ref, traffic4_covered(t, routes, scaled(200000), 3));
    check4(t, ref, traffic4_zipf(routes, scaled(200000), 4));
    // Determinism: same seed, same table.
    auto again = gen_bgp4(scaled(400000), 1, 65535);
    ASSERT_EQ(again.size(), routes.size());
    for (std::size_t i = 0; i < routes.size(); i += 997) {
        EXPECT_EQ(again[i].addr, routes[i].addr);
        EXPECT_EQ(again[i].len, routes[i].len);
        EXPECT_EQ(again[i].nh, routes[i].nh);
    }
}

TEST(Lpm4, WidensLeavesForLargeNextHops) {
    // 16-bit leaves while every next hop fits; one next hop > 0xFFFE switches to 32-bit leaves.
    auto routes = gen_bgp4(scaled(50000), 11, 60000);
    RefTable4 ref;
    for (const auto& r : routes) ref.insert(r.addr, r.len, r.nh);
    Table4 t = Table4::build(routes);
    EXPECT_FALSE(t.wide_leaves());
    t.insert(routes[7].addr, routes[7].len, 0xFFFF);
    ref.insert(routes[7].addr, routes[7].len, 0xFFFF);
    t.insert(ip4(203, 0, 113, 0), 24, max_nexthop);
    ref.insert(ip4(203, 0, 113, 0), 24, max_nexthop);
    EXPECT_TRUE(t.wide_leaves());
    check4(t, ref, keys4(routes, scaled(100000), 12));
    EXPECT_EQ(t.lookup(ip4(203, 0, 113, 9)), max_nexthop);
    Table4 big = Table4::build(ref.routes());
    EXPECT_TRUE(big.wide_leaves());
    check4(big, ref, keys4(routes, scaled(100000), 13));
    // The same through apply().
    Table4 a = Table4::build(routes);
    std::vector<Route4> ups = {{ip4(198, 51, 100, 0), 24, 1u << 20}};
    a.apply(ups, {});
    EXPECT_TRUE(a.wide_leaves());
    EXPECT_EQ(a.lookup(ip4(198, 51, 100, 1)), 1u << 20);
}

TEST(Lpm4, BulkLookupAnySpanLength) {
    auto routes = gen_bgp4(scaled(20000), 21, 300);
    Table4 t = Table4::build(routes);
    auto keys = traffic4_routes(routes, 300, 22);
    for (std::size_t n : {0u, 1u, 31u, 32u, 33u, 63u, 64u, 65u, 129u, 300u}) {
        std::span<const std::uint32_t> k(keys.data(), n);
        std::vector<nh_t> out(n + 1, 12345), out8(n + 1, 12345);
        t.lookup_bulk(k, std::span<nh_t>(out.data(), n));
        t.lookup_bulk_n<8>(k, std::span<nh_t>(out8.data(), n));
        for (std::size_t i = 0; i < n; ++i) {
            ASSERT_EQ(out[i], t.lookup(keys[i]));
            ASSERT_EQ(out8[i], t.lookup(keys[i]));
        }
        EXPECT_EQ(out[n], 12345u); // nothing written past the span
    }
}

TEST(Lpm4, DuplicatesInBuildLastWins) {
    std::vector<Route4> r = {{ip4(1, 2, 3, 0), 24, 1}, {ip4(1, 2, 3, 9), 24, 2}, {0, 0, 3}};
    Table4 t = Table4::build(r);
    EXPECT_EQ(t.size(), 2u);
    EXPECT_EQ(t.lookup(ip4(1, 2, 3, 4)), 2u);
    EXPECT_EQ(t.lookup(ip4(1, 2, 4, 4)), 3u);
}

TEST(Lpm6, EdgeCases) {
    Table6 t;
    RefTable6 ref;
    auto both = [&](const Addr6& a, std::uint8_t l, nh_t nh) {
        t.insert(a, l, nh);
        ref.insert(a, l, nh);
    };
    EXPECT_EQ(t.lookup(ip6({0x2001, 0xdb8})), no_route);
    both(ip6({}), 0, 1);
    both(ip6({0x2001, 0xdb8}), 32, 2);
    both(ip6({0x2001, 0xdb8, 1}), 48, 3);
    both(ip6({0x2001, 0xdb8, 1, 2, 3, 4, 5, 6}), 128, 4);
    both(ip6({0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff}), 128, 5);
    both(ip6({0x2001, 0xdb8, 1, 2, 3, 4, 5, 0}), 127, 6);
    std::vector<Addr6> keys = {
        ip6({}),
        ip6({0x2001, 0xdb8}),
        ip6({0x2001, 0xdb8, 1, 2, 3, 4, 5, 6}),
        ip6({0x2001, 0xdb8, 1, 2, 3, 4, 5, 7}),
        ip6({0x2001, 0xdb8, 1, 2, 3, 4, 5, 1}),
        ip6({0x2001, 0xdb8, 2}),
        ip6({0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff})};
    check6(t, ref, keys);
    EXPECT_EQ(t.lookup(ip6({0x2001, 0xdb8, 1, 2, 3, 4, 5, 6})), 4u);
    EXPECT_EQ(t.lookup(ip6({0x2001, 0xdb8, 1, 2, 3, 4, 5, 1})), 6u);
    EXPECT_EQ(t.lookup(ip6({0x2001, 0xdb8, 1, 2, 3, 4, 5, 7})), 3u);
    EXPECT_TRUE(t.remove(ip6({0x2001, 0xdb8}), 32));
    ref.remove(ip6({0x2001, 0xdb8}), 32);
    EXPECT_EQ(t.lookup(ip6({0x2001, 0xdb8, 2})), 1u);
    both(ip6({0x2001, 0xdb8}), 32, 7);
    both(ip6({0x2001, 0xdb8, 1}), 48, 8);
    check6(t, ref, keys);
    EXPECT_THROW(t.insert(ip6({}), 129, 1), std::invalid_argument);
    both(ip6({0x2001, 0xdb8, 9}), 48, 0x12345678);
    check6(t, ref, keys);
    EXPECT_EQ(t.lookup(ip6({0x2001, 0xdb8, 9, 1})), 0x12345678u);
}

class Lpm6Random : public ::testing::TestWithParam<int> {};

TEST_P(Lpm6Random, BuildAndInterleavedUpdates) {
    const int seed = GetParam();
    SplitMix64 rng(static_cast<std::uint64_t>(seed) * 31);
    static const std::pair<int, int> ranges[] = {{0, 128}, {16, 64}, {28, 48}};
    auto [lo, hi] = ranges[seed % 3];
    // Random prefixes cluster poorly; nest them by deriving half from others.
    auto routes = gen_random6(scaled(20000), static_cast<std::uint64_t>(seed), 1000,
                              static_cast<std::uint8_t>(lo), static_cast<std::uint8_t>(hi));
    for (std::size_t i = 1; i < routes.size(); i += 2) {
        auto& r = routes[i];
        const auto& p = routes[rng.below(i)];
        auto pk = Table6::key(p.addr), k = Table6::key(r.addr);
        unsigned pl = p.len;
        rsfwd::lpm::detail::u128 hostmask =
            pl == 0 ? ~rsfwd::lpm::detail::u128{0} : ~(~rsfwd::lpm::detail::u128{0} << (128 - pl));
        r.addr = Table6::addr((pk & ~hostmask) | (k & hostmask));
        r.len = static_cast<std::uint8_t>(std::min<unsigned>(128, pl + 1 + rng.below(40)));
    }
    RefTable6 ref;
    for (const auto& r : routes) ref.insert(r.addr, r.len, r.nh);
    Table6 t = Table6::build(routes);
    check6(t, ref, keys6(routes, scaled(50000), rng.next()));
    const std::size_t steps = scaled(5000);
    auto keys = keys6(routes, 32, rng.next());
    for (std::size_t step = 0; step < steps; ++step) {
        const auto& r = routes[rng.below(routes.size())];
        if (rng.below(2) == 0) {
            ASSERT_EQ(t.remove(r.addr, r.len), ref.remove(r.addr, r.len));
        } else {
            nh_t nh = static_cast<nh_t>(rng.below(50));
            t.insert(r.addr, r.len, nh);
            ref.insert(r.addr, r.len, nh);
        }
        auto a = mask6(r.addr, r.len);
        ASSERT_EQ(t.lookup(a), ref.lookup(a)) << "step " << step;
        if (step % 500 == 0) check6(t, ref, keys);
    }
    check6(t, ref, keys6(routes, scaled(30000), rng.next()));
}

INSTANTIATE_TEST_SUITE_P(Seeds, Lpm6Random, ::testing::Range(1, 7));

TEST(Lpm6, GrowsAndShrinksAcrossRootSizes) {
    Table6 t;
    EXPECT_LT(t.bytes(), std::size_t{16} << 10);
    auto routes = gen_bgp6(3 * rsfwd::lpm::detail::small_max, 33, 500);
    routes.push_back({Addr6{}, 0, 7});
    RefTable6 ref;
    auto keys = keys6(routes, 4000, 34);
    for (std::size_t i = 0; i < routes.size(); ++i) {
        const auto& r = routes[i];
        t.insert(r.addr, r.len, r.nh);
        ref.insert(r.addr, r.len, r.nh);
        if (i % 700 == 0 || i + 1 == routes.size()) check6(t, ref, keys);
    }
    EXPECT_GT(t.bytes(), std::size_t{1} << 20);
    for (std::size_t i = 0; i + rsfwd::lpm::detail::small_max / 8 < routes.size(); ++i) {
        t.remove(routes[i].addr, routes[i].len);
        ref.remove(routes[i].addr, routes[i].len);
        if (i % 700 == 0) check6(t, ref, keys);
    }
    check6(t, ref, keys);
    EXPECT_LT(t.bytes(), std::size_t{512} << 10);
}

TEST(Lpm6, WideLeavesBulkAndSingleAgree) {
    // 32-bit leaves (a next hop > 0xFFFE) take the same IPv6 bulk path with 4-byte leaves: every
    // width and both root sizes against the reference.
    for (std::size_t n : {scaled(40000), std::size_t{200}}) {
        auto routes = gen_bgp6(n, 31, 256);
        RefTable6 ref;
        for (const auto& r : routes) ref.insert(r.addr, r.len, r.nh);
        Table6 t = Table6::build(routes);
        t.insert(routes[3].addr, routes[3].len, max_nexthop);
        ref.insert(routes[3].addr, routes[3].len, max_nexthop);
        t.insert(routes[5].addr, routes[5].len, 0x12345);
        ref.insert(routes[5].addr, routes[5].len, 0x12345);
        EXPECT_TRUE(t.wide_leaves());
        check6(t, ref, keys6(routes, scaled(60000), 32));
        check6(t, ref, traffic6_zipf(routes, scaled(30000), 33));
    }
}

TEST(Lpm6, BgpShapedTableAndCopies) {
    auto routes = gen_bgp6(scaled(250000), 9, 65536);
    ASSERT_EQ(routes.size(), scaled(250000));
    double sum = 0;
    for (const auto& r : routes) sum += r.len;
    EXPECT_NEAR(sum / static_cast<double>(routes.size()), 42.9, 0.5);
    RefTable6 ref;
    for (const auto& r : routes) ref.insert(r.addr, r.len, r.nh);
    Table6 t = Table6::build(routes);
    check6(t, ref, keys6(routes, scaled(200000), 10));
    check6(t, ref, traffic6_zipf(routes, scaled(100000), 11));
    Table6 c = t;
    SplitMix64 rng(12);
    std::vector<Route6> ups, rem;
    for (int i = 0; i < 3000; ++i) {
        auto r = routes[rng.below(routes.size())];
        if (rng.below(2)) {
            rem.push_back(r);
        } else {
            r.nh = static_cast<nh_t>(rng.below(1000));
            ups.push_back(r);
        }
    }
    RefTable6 ref_old = ref;
    c.apply(ups, rem);
    for (const auto& r : rem) ref.remove(r.addr, r.len);
    for (const auto& r : ups) ref.insert(r.addr, r.len, r.nh);
    check6(c, ref, keys6(routes, scaled(100000), 13));
    check6(t, ref_old, keys6(routes, scaled(50000), 14));
    EXPECT_EQ(Table6::build(c.routes()).size(), ref.size());
}
