// bench/lpm/lpm_bench.cpp — rsfwd's LPM against DPDK's rte_lpm, rte_fib (DIR24_8, 4-byte next
// hops), rte_lpm6 and rte_fib6 (trie), on the same tables and the same keys, in one run.
//
// Names: <impl>/<family>/<size>/<traffic>/<mode>, e.g. rsfwd/v4/1M/uniform/bulk32, and
// <impl>/<family>/<size>/build|update. Counters: mlps, cycles_per_lookup (TSC cycles from
// rdtsc: there is no PMU in the VM), bytes (memory held; DPDK: its malloc heap growth).
// Quick mode (--quick or RSFWD_LPM_BENCH_QUICK=1): small tables, for CI smoke runs.
// --v4=N / --v6=N pick other table sizes; --dpdk=rte_fib,rte_fib6 (any subset of rte_lpm, rte_fib,
// rte_lpm6, rte_fib6) builds and measures only those (rte_lpm takes minutes to build 1M routes);
// --no-huge keeps DPDK off hugepages (default: on
// hugepages when enough are free, as DPDK is deployed; the summary says which).
// Before timing, every DPDK table's answers are checked against rsfwd's on every key set.
#include <benchmark/benchmark.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_fib.h>
#include <rte_fib6.h>
#include <rte_lpm.h>
#include <rte_lpm6.h>
#include <rte_malloc.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <span>
#include <string>
#include <tuple>
#include <unordered_set>
#include <vector>

#include "lpm/gen.hpp"
#include "lpm/lpm.hpp"

using namespace rsfwd::lpm;

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::uint32_t fib_none = 0x7FFFFFFFu; // rte_fib 4-byte next hops keep 31 bits
// Distinct next hops in the generated tables (a router's adjacency count, not a route count).
// Any value <= 0xFFFF keeps rsfwd's 16-bit leaves; larger ones switch them to 32 bits.
constexpr nh_t n_nexthops = 4096;

struct Ctx {
    bool quick = false;
    std::size_t n4 = 1000000, n6 = 250000, nkeys = 1 << 20;
    std::string s4 = "1M", s6 = "250k";
    std::vector<Route4> r4;
    std::vector<Route6> r6;
    Table4 t4;
    Table6 t6;
    rte_lpm* lpm = nullptr;
    rte_fib* fib = nullptr;
    rte_lpm6* lpm6 = nullptr;
    rte_fib6* fib6 = nullptr;
    std::map<std::string, std::vector<std::uint32_t>> keys4;
    std::map<std::string, std::vector<Addr6>> keys6;
    std::map<std::string, double> build_s;    // impl/family -> seconds
    std::map<std::string, std::size_t> bytes; // impl/family -> bytes
    std::map<std::string, double> mlps;       // benchmark name -> Mlookups/s
    std::map<std::string, double> rate;       // impl/family -> changes/s
    std::uint32_t tbl8_6 = 0;                 // tbl8 groups for rte_lpm6/rte_fib6
    bool huge = false;                        // DPDK tables on hugepages
    // DPDK implementations to build and measure (--dpdk=rte_fib,rte_fib6 for quick iterations:
    // rte_lpm alone needs minutes to add 1M routes).
    std::unordered_set<std::string> dpdk = {"rte_lpm", "rte_fib", "rte_lpm6", "rte_fib6"};
    bool has(const char* impl) const { return dpdk.count(impl) != 0; }
};
Ctx ctx;

double secs_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

double thread_cpu_s() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

// Build and update times are thread CPU time: the VM is shared and wall time would mostly
// measure the neighbours.
double cpu_since(double t0) {
    return thread_cpu_s() - t0;
}

std::size_t heap_bytes() {
    rte_malloc_socket_stats s{};
    rte_malloc_get_socket_stats(0, &s);
    return s.heap_allocsz_bytes;
}

// ---- per-implementation lookups over a whole key array (mode: 0 single, else burst size) ----

void look_rsfwd4(const std::uint32_t* k, nh_t* o, std::size_t n, unsigned mode) {
    std::span<const std::uint32_t> ks(k, n);
    std::span<nh_t> os(o, n);
    if (mode == 0) {
        for (std::size_t i = 0; i < n; ++i) o[i] = ctx.t4.lookup(k[i]);
    } else if (mode == 32) {
        ctx.t4.lookup_bulk_n<32>(ks, os);
    } else {
        ctx.t4.lookup_bulk_n<64>(ks, os);
    }
}
void look_lpm(const std::uint32_t* k, nh_t* o, std::size_t n, unsigned mode) {
    if (mode == 0) {
        for (std::size_t i = 0; i < n; ++i) {
            std::uint32_t nh;
            o[i] = rte_lpm_lookup(ctx.lpm, k[i], &nh) == 0 ? nh : no_route;
        }
    } else {
        for (std::size_t i = 0; i < n; i += mode)
            rte_lpm_lookup_bulk(ctx.lpm, k + i, o + i,
                                static_cast<unsigned>(std::min<std::size_t>(mode, n - i)));
    }
}
void look_fib(const std::uint32_t* k, nh_t* o, std::size_t n, unsigned mode) {
    std::uint64_t nh[64];
    unsigned step = mode == 0 ? 1 : mode;
    for (std::size_t i = 0; i < n; i += step) {
        int m = static_cast<int>(std::min<std::size_t>(step, n - i));
        rte_fib_lookup_bulk(ctx.fib, const_cast<std::uint32_t*>(k + i), nh, m);
        for (int j = 0; j < m; ++j) o[i + static_cast<std::size_t>(j)] = static_cast<nh_t>(nh[j]);
    }
}
void look_rsfwd6(const Addr6* k, nh_t* o, std::size_t n, unsigned mode) {
    std::span<const Addr6> ks(k, n);
    std::span<nh_t> os(o, n);
    if (mode == 0) {
        for (std::size_t i = 0; i < n; ++i) o[i] = ctx.t6.lookup(k[i]);
    } else if (mode == 32) {
        ctx.t6.lookup_bulk_n<32>(ks, os);
    } else {
        ctx.t6.lookup_bulk_n<64>(ks, os);
    }
}
std::uint8_t (*ips6(const Addr6* a))[16] {
    return reinterpret_cast<std::uint8_t(*)[16]>(const_cast<std::uint8_t*>(a->data()));
}
void look_lpm6(const Addr6* k, nh_t* o, std::size_t n, unsigned mode) {
    if (mode == 0) {
        for (std::size_t i = 0; i < n; ++i) {
            std::uint32_t nh;
            o[i] = rte_lpm6_lookup(ctx.lpm6, k[i].data(), &nh) == 0 ? nh : no_route;
        }
    } else {
        for (std::size_t i = 0; i < n; i += mode)
            rte_lpm6_lookup_bulk_func(ctx.lpm6, ips6(k + i), reinterpret_cast<std::int32_t*>(o + i),
                                      static_cast<unsigned>(std::min<std::size_t>(mode, n - i)));
    }
}
void look_fib6(const Addr6* k, nh_t* o, std::size_t n, unsigned mode) {
    std::uint64_t nh[64];
    unsigned step = mode == 0 ? 1 : mode;
    for (std::size_t i = 0; i < n; i += step) {
        int m = static_cast<int>(std::min<std::size_t>(step, n - i));
        rte_fib6_lookup_bulk(ctx.fib6, ips6(k + i), nh, m);
        for (int j = 0; j < m; ++j) o[i + static_cast<std::size_t>(j)] = static_cast<nh_t>(nh[j]);
    }
}

// Normalises DPDK answers to rsfwd's (no_route for "no match").
nh_t norm_lpm_bulk(nh_t v) {
    return (v & RTE_LPM_LOOKUP_SUCCESS) ? (v & 0x00FFFFFF) : no_route;
}
nh_t norm_lpm6_bulk(nh_t v) {
    return static_cast<std::int32_t>(v) < 0 ? no_route : v;
}
nh_t norm_fib(nh_t v) {
    return v == fib_none ? no_route : v;
}

// ---- building ----

// tbl8 groups a DIR-24-8 table needs: one per /24 with a longer route inside (plus slack).
std::uint32_t tbl8_needed4(const std::vector<Route4>& routes) {
    std::unordered_set<std::uint32_t> s;
    for (const auto& r : routes)
        if (r.len > 24) s.insert(r.addr >> 8);
    return static_cast<std::uint32_t>(s.size() + s.size() / 8 + 256);
}

void built(const char* what) {
    std::fprintf(stderr, "built %-12s in %8.3f s\n", what, ctx.build_s[what]);
}

void build_all() {
    double t0 = thread_cpu_s();
    ctx.t4 = Table4::build(ctx.r4);
    ctx.build_s["rsfwd/v4"] = cpu_since(t0);
    built("rsfwd/v4");
    ctx.bytes["rsfwd/v4"] = ctx.t4.bytes();
    t0 = thread_cpu_s();
    ctx.t6 = Table6::build(ctx.r6);
    ctx.build_s["rsfwd/v6"] = cpu_since(t0);
    built("rsfwd/v6");
    ctx.bytes["rsfwd/v6"] = ctx.t6.bytes();

    std::size_t h0 = heap_bytes();
    if (ctx.has("rte_lpm")) {
        rte_lpm_config lc{};
        lc.max_rules = static_cast<std::uint32_t>(ctx.n4 + 16);
        lc.number_tbl8s = tbl8_needed4(ctx.r4);
        t0 = thread_cpu_s();
        ctx.lpm = rte_lpm_create("bench_lpm", 0, &lc);
        if (!ctx.lpm)
            std::fprintf(stderr, "rte_lpm_create: %s\n", rte_strerror(rte_errno)), std::exit(1);
        for (const auto& r : ctx.r4)
            if (int rc = rte_lpm_add(ctx.lpm, r.addr, r.len, r.nh); rc != 0)
                std::fprintf(stderr, "rte_lpm_add failed: %s (DPDK memory short? try --no-huge)\n",
                             rte_strerror(-rc)),
                    std::exit(1);
        ctx.build_s["rte_lpm/v4"] = cpu_since(t0);
        built("rte_lpm/v4");
        ctx.bytes["rte_lpm/v4"] = heap_bytes() - h0;
    }
    std::size_t h1 = heap_bytes();
    if (ctx.has("rte_fib")) {

        rte_fib_conf fc{};
        fc.type = RTE_FIB_DIR24_8;
        fc.default_nh = fib_none;
        fc.max_routes = static_cast<int>(ctx.n4 + 16);
        fc.dir24_8.nh_sz = RTE_FIB_DIR24_8_4B;
        fc.dir24_8.num_tbl8 = tbl8_needed4(ctx.r4);
        t0 = thread_cpu_s();
        ctx.fib = rte_fib_create("bench_fib", 0, &fc);
        if (!ctx.fib)
            std::fprintf(stderr, "rte_fib_create: %s\n", rte_strerror(rte_errno)), std::exit(1);
        for (const auto& r : ctx.r4)
            if (int rc = rte_fib_add(ctx.fib, r.addr, r.len, r.nh); rc != 0)
                std::fprintf(stderr, "rte_fib_add failed: %s (DPDK memory short? try --no-huge)\n",
                             rte_strerror(-rc)),
                    std::exit(1);
        ctx.build_s["rte_fib/v4"] = cpu_since(t0);
        built("rte_fib/v4");
        ctx.bytes["rte_fib/v4"] = heap_bytes() - h1;
    }
    std::size_t h2 = heap_bytes();
    if (ctx.has("rte_lpm6")) {

        rte_lpm6_config l6{};
        l6.max_rules = static_cast<std::uint32_t>(ctx.n6 + 16);
        l6.number_tbl8s = ctx.tbl8_6;
        t0 = thread_cpu_s();
        ctx.lpm6 = rte_lpm6_create("bench_lpm6", 0, &l6);
        if (!ctx.lpm6)
            std::fprintf(stderr, "rte_lpm6_create: %s\n", rte_strerror(rte_errno)), std::exit(1);
        for (const auto& r : ctx.r6)
            if (int rc = rte_lpm6_add(ctx.lpm6, r.addr.data(), r.len, r.nh); rc != 0)
                std::fprintf(stderr, "rte_lpm6_add failed: %s (DPDK memory short? try --no-huge)\n",
                             rte_strerror(-rc)),
                    std::exit(1);
        ctx.build_s["rte_lpm6/v6"] = cpu_since(t0);
        built("rte_lpm6/v6");
        ctx.bytes["rte_lpm6/v6"] = heap_bytes() - h2;
    }
    std::size_t h3 = heap_bytes();
    if (ctx.has("rte_fib6")) {

        rte_fib6_conf f6{};
        f6.type = RTE_FIB6_TRIE;
        f6.default_nh = fib_none;
        f6.max_routes = static_cast<int>(ctx.n6 + 16);
        f6.trie.nh_sz = RTE_FIB6_TRIE_4B;
        f6.trie.num_tbl8 = ctx.tbl8_6 * 2; // the trie splits ranges at both edges
        t0 = thread_cpu_s();
        ctx.fib6 = rte_fib6_create("bench_fib6", 0, &f6);
        if (!ctx.fib6)
            std::fprintf(stderr, "rte_fib6_create: %s\n", rte_strerror(rte_errno)), std::exit(1);
        for (const auto& r : ctx.r6)
            if (int rc = rte_fib6_add(ctx.fib6, r.addr.data(), r.len, r.nh); rc != 0)
                std::fprintf(stderr, "rte_fib6_add failed: %s (DPDK memory short? try --no-huge)\n",
                             rte_strerror(-rc)),
                    std::exit(1);
        ctx.build_s["rte_fib6/v6"] = cpu_since(t0);
        built("rte_fib6/v6");
        ctx.bytes["rte_fib6/v6"] = heap_bytes() - h3;
    }
}

// Every DPDK answer must equal rsfwd's (and rsfwd is tested against the reference LPM).
void cross_check() {
    std::size_t bad = 0;
    for (auto& [name, k] : ctx.keys4) {
        std::vector<nh_t> a(k.size()), b(k.size()), c(k.size());
        look_rsfwd4(k.data(), a.data(), k.size(), 32);
        std::vector<nh_t> a64(k.size()), a1(k.size());
        look_rsfwd4(k.data(), a64.data(), k.size(), 64);
        look_rsfwd4(k.data(), a1.data(), k.size(), 0);
        if (ctx.has("rte_lpm")) look_lpm(k.data(), b.data(), k.size(), 32);
        if (ctx.has("rte_fib")) look_fib(k.data(), c.data(), k.size(), 32);
        for (std::size_t i = 0; i < k.size(); ++i)
            bad += (ctx.has("rte_lpm") && norm_lpm_bulk(b[i]) != a[i]) +
                   (ctx.has("rte_fib") && norm_fib(c[i]) != a[i]) + (a64[i] != a[i]) +
                   (a1[i] != a[i]);
    }
    for (auto& [name, k] : ctx.keys6) {
        std::vector<nh_t> a(k.size()), b(k.size()), c(k.size());
        look_rsfwd6(k.data(), a.data(), k.size(), 32);
        std::vector<nh_t> a64(k.size()), a1(k.size());
        look_rsfwd6(k.data(), a64.data(), k.size(), 64);
        look_rsfwd6(k.data(), a1.data(), k.size(), 0);
        if (ctx.has("rte_lpm6")) look_lpm6(k.data(), b.data(), k.size(), 32);
        if (ctx.has("rte_fib6")) look_fib6(k.data(), c.data(), k.size(), 32);
        for (std::size_t i = 0; i < k.size(); ++i)
            bad += (ctx.has("rte_lpm6") && norm_lpm6_bulk(b[i]) != a[i]) +
                   (ctx.has("rte_fib6") && norm_fib(c[i]) != a[i]) + (a64[i] != a[i]) +
                   (a1[i] != a[i]);
    }
    std::fprintf(stderr, "cross-check rsfwd vs DPDK: %zu mismatches\n", bad);
    if (bad) std::exit(1);
}

double tsc_hz = 0;

// Measures the TSC rate against the steady clock (the VM has no PMU; "cycles" are TSC ticks).
void measure_tsc() {
    auto t0 = Clock::now();
    std::uint64_t c0 = __rdtsc();
    while (secs_since(t0) < 0.05) {
    }
    tsc_hz = static_cast<double>(__rdtsc() - c0) / secs_since(t0);
}

// Times the lookups in chunks of `chunk` keys with rdtsc. This 2-core VM is shared, so each
// chunk is also timed with the thread's CPU clock: a chunk whose wall time exceeds its CPU time
// by more than 5 % was preempted and is dropped; the median of the rest is reported (all
// chunks, if none survived). Chunks walk through the whole key array, so repeating keys never
// warm the table.
constexpr std::size_t chunk = 4096;

template <class F>
void run_lookups(benchmark::State& st, const std::string& name, std::size_t nkeys,
                 std::size_t bytes, F&& f) {
    std::vector<double> clean, all;
    std::size_t pos = 0;
    for (auto _ : st) {
        std::size_t n = std::min(chunk, nkeys - pos);
        double t0 = thread_cpu_s();
        std::uint64_t c0 = __rdtsc();
        f(pos, n);
        std::uint64_t c1 = __rdtsc();
        double t1 = thread_cpu_s();
        benchmark::ClobberMemory();
        double cyc = static_cast<double>(c1 - c0);
        all.push_back(cyc / static_cast<double>(n));
        if (cyc <= (t1 - t0) * tsc_hz * 1.05) clean.push_back(cyc / static_cast<double>(n));
        pos += n;
        if (pos >= nkeys) pos = 0;
    }
    auto& use = clean.size() >= 8 ? clean : all;
    std::sort(use.begin(), use.end());
    double cyc = use.empty() ? 0 : use[use.size() / 2];
    double mlps = tsc_hz / cyc / 1e6;
    st.counters["mlps"] = mlps;
    st.counters["cycles_per_lookup"] = cyc;
    st.counters["bytes"] = static_cast<double>(bytes);
    st.counters["clean_chunks"] =
        static_cast<double>(clean.size()) / static_cast<double>(all.size());
    ctx.mlps[name] = mlps;
}

void register_lookups() {
    static const std::pair<const char*, unsigned> modes[] = {
        {"single", 0}, {"bulk32", 32}, {"bulk64", 64}};
    for (auto& [traffic, keys] : ctx.keys4) {
        for (auto [mname, mode] : modes) {
            auto* k = &keys;
            auto reg = [&](const char* impl, auto fn) {
                if (std::strcmp(impl, "rsfwd") != 0 && !ctx.has(impl)) return;
                std::string name =
                    std::string(impl) + "/v4/" + ctx.s4 + "/" + traffic + "/" + mname;
                std::size_t bytes = ctx.bytes[std::string(impl) + "/v4"];
                benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& st) {
                    std::vector<nh_t> out(k->size());
                    run_lookups(st, name, k->size(), bytes, [&](std::size_t p, std::size_t n) {
                        fn(k->data() + p, out.data() + p, n, mode);
                    });
                })->Unit(benchmark::kMillisecond);
            };
            reg("rsfwd", look_rsfwd4);
            reg("rte_lpm", look_lpm);
            reg("rte_fib", look_fib);
        }
    }
    for (auto& [traffic, keys] : ctx.keys6) {
        for (auto [mname, mode] : modes) {
            auto* k = &keys;
            auto reg = [&](const char* impl, auto fn) {
                if (std::strcmp(impl, "rsfwd") != 0 && !ctx.has(impl)) return;
                std::string name =
                    std::string(impl) + "/v6/" + ctx.s6 + "/" + traffic + "/" + mname;
                std::size_t bytes = ctx.bytes[std::string(impl) + "/v6"];
                benchmark::RegisterBenchmark(name.c_str(), [=](benchmark::State& st) {
                    std::vector<nh_t> out(k->size());
                    run_lookups(st, name, k->size(), bytes, [&](std::size_t p, std::size_t n) {
                        fn(k->data() + p, out.data() + p, n, mode);
                    });
                })->Unit(benchmark::kMillisecond);
            };
            reg("rsfwd", look_rsfwd6);
            reg("rte_lpm6", look_lpm6);
            reg("rte_fib6", look_fib6);
        }
    }
}

// Build times were measured in build_all(); reported here so they sit in the JSON output.
void register_builds() {
    for (const auto& [key, s] : ctx.build_s) {
        auto slash = key.find('/');
        std::string fam = key.substr(slash + 1);
        std::string name = key + "/" + (fam == "v4" ? ctx.s4 : ctx.s6) + "/build";
        double secs = s;
        std::size_t bytes = ctx.bytes[key];
        std::size_t routes = fam == "v4" ? ctx.r4.size() : ctx.r6.size();
        benchmark::RegisterBenchmark(name.c_str(),
                                     [=](benchmark::State& st) {
                                         for (auto _ : st) st.SetIterationTime(secs);
                                         st.counters["build_s"] = secs;
                                         st.counters["routes_per_s"] =
                                             static_cast<double>(routes) / secs;
                                         st.counters["bytes"] = static_cast<double>(bytes);
                                     })
            ->UseManualTime()
            ->Iterations(1)
            ->Unit(benchmark::kMillisecond);
    }
}

// Update rates: remove `n` random routes of the full table, then add them back (2n changes),
// so the table ends where it started. rsfwd: batched through apply().
template <class Del, class Add, class R>
void run_updates(benchmark::State& st, const std::string& key, const std::vector<R>& routes,
                 std::size_t n, Del del, Add add) {
    SplitMix64 rng(77);
    std::vector<R> pick(n);
    for (auto& r : pick) r = routes[rng.below(routes.size())];
    // Distinct prefixes only, so "remove then add" is exactly 2n changes.
    std::sort(pick.begin(), pick.end(), [](const R& a, const R& b) {
        return std::tie(a.addr, a.len) < std::tie(b.addr, b.len);
    });
    pick.erase(
        std::unique(pick.begin(), pick.end(),
                    [](const R& a, const R& b) { return a.addr == b.addr && a.len == b.len; }),
        pick.end());
    std::size_t changes = 0;
    double t0 = thread_cpu_s();
    for (auto _ : st) {
        del(pick);
        add(pick);
        changes += 2 * pick.size();
    }
    double r = static_cast<double>(changes) / cpu_since(t0);
    st.counters["changes_per_s"] = r;
    ctx.rate[key] = r;
}

void register_updates() {
    std::size_t n4 = ctx.quick ? 2000 : 50000;
    std::string p4 = "/v4/" + ctx.s4 + "/update";
    std::string p6 = "/v6/" + ctx.s6 + "/update";
    benchmark::RegisterBenchmark(("rsfwd" + p4).c_str(), [=](benchmark::State& st) {
        run_updates(
            st, "rsfwd/v4", ctx.r4, n4, [](const std::vector<Route4>& v) { ctx.t4.apply({}, v); },
            [](const std::vector<Route4>& v) { ctx.t4.apply(v, {}); });
    })->Unit(benchmark::kMillisecond);
    if (ctx.has("rte_lpm"))
        benchmark::RegisterBenchmark(("rte_lpm" + p4).c_str(),
                                     [=](benchmark::State& st) {
                                         run_updates(
                                             st, "rte_lpm/v4", ctx.r4, ctx.quick ? 500 : 2000,
                                             [](const std::vector<Route4>& v) {
                                                 for (auto& r : v)
                                                     rte_lpm_delete(ctx.lpm, r.addr, r.len);
                                             },
                                             [](const std::vector<Route4>& v) {
                                                 for (auto& r : v)
                                                     rte_lpm_add(ctx.lpm, r.addr, r.len, r.nh);
                                             });
                                     })
            ->Unit(benchmark::kMillisecond)
            ->Iterations(1);
    if (ctx.has("rte_fib"))
        benchmark::RegisterBenchmark(("rte_fib" + p4).c_str(), [=](benchmark::State& st) {
            run_updates(
                st, "rte_fib/v4", ctx.r4, ctx.quick ? 500 : 5000,
                [](const std::vector<Route4>& v) {
                    for (auto& r : v) rte_fib_delete(ctx.fib, r.addr, r.len);
                },
                [](const std::vector<Route4>& v) {
                    for (auto& r : v) rte_fib_add(ctx.fib, r.addr, r.len, r.nh);
                });
        })->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark(("rsfwd" + p6).c_str(), [=](benchmark::State& st) {
        run_updates(
            st, "rsfwd/v6", ctx.r6, ctx.quick ? 2000 : 20000,
            [](const std::vector<Route6>& v) { ctx.t6.apply({}, v); },
            [](const std::vector<Route6>& v) { ctx.t6.apply(v, {}); });
    })->Unit(benchmark::kMillisecond);
    if (ctx.has("rte_lpm6"))
        benchmark::RegisterBenchmark(
            ("rte_lpm6" + p6).c_str(),
            [=](benchmark::State& st) {
                run_updates(
                    st, "rte_lpm6/v6", ctx.r6, ctx.quick ? 50 : 200,
                    [](const std::vector<Route6>& v) {
                        for (auto& r : v) rte_lpm6_delete(ctx.lpm6, r.addr.data(), r.len);
                    },
                    [](const std::vector<Route6>& v) {
                        for (auto& r : v) rte_lpm6_add(ctx.lpm6, r.addr.data(), r.len, r.nh);
                    });
            })
            ->Unit(benchmark::kMillisecond)
            ->Iterations(1);
    if (ctx.has("rte_fib6"))
        benchmark::RegisterBenchmark(("rte_fib6" + p6).c_str(), [=](benchmark::State& st) {
            run_updates(
                st, "rte_fib6/v6", ctx.r6, ctx.quick ? 500 : 5000,
                [](const std::vector<Route6>& v) {
                    for (auto& r : v) rte_fib6_delete(ctx.fib6, r.addr.data(), r.len);
                },
                [](const std::vector<Route6>& v) {
                    for (auto& r : v) rte_fib6_add(ctx.fib6, r.addr.data(), r.len, r.nh);
                });
        })->Unit(benchmark::kMillisecond);
    // Deep copy cost (the double-buffered data plane copies once at start-up).
    benchmark::RegisterBenchmark(("rsfwd/v4/" + ctx.s4 + "/copy").c_str(),
                                 [](benchmark::State& st) {
                                     for (auto _ : st) {
                                         Table4 c = ctx.t4;
                                         benchmark::DoNotOptimize(c.size());
                                     }
                                 })
        ->Unit(benchmark::kMillisecond);
}

void summary() {
    std::printf("\n== lpm_bench summary (ratios: rsfwd Mlookups/s over the other, same keys) ==\n");
    std::printf("pages: %s; TSC %.3f GHz; median of %zu-key chunks\n",
                ctx.huge ? "DPDK on hugepages, rsfwd on THP (madvise)"
                         : "4 KiB for all (DPDK --no-huge, rsfwd RSFWD_LPM_NO_THP=1)",
                tsc_hz / 1e9, chunk);
    for (const auto& [name, m] : ctx.mlps) {
        if (name.rfind("rsfwd/", 0) != 0) continue;
        std::string rest = name.substr(6);
        std::string fam = rest.substr(0, 2);
        std::printf("%-34s %8.1f Mlps", name.c_str(), m);
        static const char* const v4o[] = {"rte_lpm", "rte_fib"};
        static const char* const v6o[] = {"rte_lpm6", "rte_fib6"};
        for (const char* other : fam == "v4" ? v4o : v6o) {
            auto it = ctx.mlps.find(std::string(other) + "/" + rest);
            if (it != ctx.mlps.end()) std::printf("  x%.2f vs %s", m / it->second, other);
        }
        std::printf("\n");
    }
    for (const auto& [k, b] : ctx.bytes)
        std::printf("memory %-12s %9.2f MiB  build %7.3f s\n", k.c_str(),
                    static_cast<double>(b) / (1 << 20), ctx.build_s[k]);
    std::printf("rsfwd lookup structures: v4 %.2f MiB, v6 %.2f MiB\n",
                static_cast<double>(ctx.t4.lookup_bytes()) / (1 << 20),
                static_cast<double>(ctx.t6.lookup_bytes()) / (1 << 20));
    for (const auto& [k, r] : ctx.rate)
        std::printf("updates %-12s %12.0f changes/s\n", k.c_str(), r);
}

} // namespace

// tbl8 groups a 24-8-8-... IPv6 table needs: one per distinct /24, /32, ... that has a longer
// route below it (plus slack), so rte_lpm6/rte_fib6 get what they need and no more.
std::uint32_t tbl8_needed6(const std::vector<Route6>& routes) {
    std::unordered_set<std::string> seen;
    for (const auto& r : routes) {
        for (unsigned l = 24; l < r.len; l += 8) {
            std::string k(reinterpret_cast<const char*>(r.addr.data()), l / 8);
            k.push_back(static_cast<char>(l));
            seen.insert(k);
        }
    }
    return static_cast<std::uint32_t>(seen.size() + seen.size() / 8 + 1024);
}

std::size_t free_hugepage_bytes() {
    std::FILE* f = std::fopen("/proc/meminfo", "r");
    if (!f) return 0;
    char line[256];
    std::size_t pages = 0, size_kb = 0;
    while (std::fgets(line, sizeof line, f)) {
        std::sscanf(line, "HugePages_Free: %zu", &pages);
        std::sscanf(line, "Hugepagesize: %zu kB", &size_kb);
    }
    std::fclose(f);
    return pages * size_kb * 1024;
}

int main(int argc, char** argv) {
    std::vector<char*> args;
    bool force_no_huge = false;
    std::size_t size4 = 0, size6 = 0;
    for (int i = 0; i < argc; ++i) {
        if (std::strcmp(argv[i], "--quick") == 0)
            ctx.quick = true;
        else if (std::strncmp(argv[i], "--v4=", 5) == 0)
            size4 = std::strtoul(argv[i] + 5, nullptr, 10);
        else if (std::strncmp(argv[i], "--v6=", 5) == 0)
            size6 = std::strtoul(argv[i] + 5, nullptr, 10);
        else if (std::strcmp(argv[i], "--no-huge") == 0)
            force_no_huge = true;
        else if (std::strncmp(argv[i], "--dpdk=", 7) == 0) {
            ctx.dpdk.clear();
            std::string l = argv[i] + 7;
            for (std::size_t b = 0; b <= l.size();) {
                std::size_t e = l.find(',', b);
                if (e == std::string::npos) e = l.size();
                if (e > b) ctx.dpdk.insert(l.substr(b, e - b));
                b = e + 1;
            }
        } else
            args.push_back(argv[i]);
    }
    if (const char* e = std::getenv("RSFWD_LPM_BENCH_QUICK"); e && *e && *e != '0')
        ctx.quick = true;
    if (ctx.quick) {
        ctx.n4 = 20000;
        ctx.n6 = 10000;
        ctx.nkeys = 1 << 16;
    }
    auto label = [](std::size_t n) {
        if (n % 1000000 == 0) return std::to_string(n / 1000000) + "M";
        if (n % 1000 == 0) return std::to_string(n / 1000) + "k";
        return std::to_string(n);
    };
    if (size4) ctx.n4 = size4;
    if (size6) ctx.n6 = size6;
    ctx.s4 = label(ctx.n4);
    ctx.s6 = label(ctx.n6);
    auto t0 = Clock::now();
    ctx.r4 = gen_bgp4(ctx.n4, 1, n_nexthops);
    ctx.r6 = gen_bgp6(ctx.n6, 2, n_nexthops);
    ctx.tbl8_6 = tbl8_needed6(ctx.r6);
    std::fprintf(stderr, "generated tables in %.2f s (IPv6 tbl8 groups: %u)\n", secs_since(t0),
                 ctx.tbl8_6);
    // DPDK tables on hugepages when enough are free (how DPDK is deployed), else --no-huge.
    // Heap each selected DPDK table takes (measured at 1M/250k: rte_lpm 73 MiB, rte_fib 453 MiB,
    // rte_lpm6 250 MiB, rte_fib6 500 MiB), scaled, plus slack. A v4-only or v6-only --dpdk=
    // selection fits in 1 GiB of hugepages where all four do not.
    constexpr std::size_t mib = std::size_t{1} << 20;
    std::size_t need = 128 * mib;
    if (ctx.has("rte_lpm"))
        need += 64 * mib + std::size_t{tbl8_needed4(ctx.r4)} * 1024 + ctx.n4 * 16;
    if (ctx.has("rte_fib")) need += 64 * mib + ctx.n4 * 400;
    if (ctx.has("rte_lpm6")) need += std::size_t{ctx.tbl8_6} * 1100 + ctx.n6 * 300 + 32 * mib;
    if (ctx.has("rte_fib6")) need += std::size_t{ctx.tbl8_6} * 2900 + ctx.n6 * 300 + 32 * mib;
    // Quick (CI) runs never take hugepages, which other jobs on the host may need.
    ctx.huge = !force_no_huge && !ctx.quick && free_hugepage_bytes() >= need;
    // Same page size for everyone: without DPDK hugepages, rsfwd's tables skip THP too.
    if (!ctx.huge) setenv("RSFWD_LPM_NO_THP", "1", 1);
    // EAL on the first CPU we are allowed to run on (respects taskset), no hugepages, no PCI.
    cpu_set_t cs;
    CPU_ZERO(&cs);
    sched_getaffinity(0, sizeof(cs), &cs);
    int cpu = 0;
    while (cpu < CPU_SETSIZE && !CPU_ISSET(cpu, &cs)) ++cpu;
    std::string lcores = "0@" + std::to_string(cpu);
    std::string prefix = "lpmbench" + std::to_string(getpid());
    std::vector<std::string> eal = {"lpm_bench",      "--file-prefix", prefix, "--no-pci",
                                    "--no-telemetry", "--lcores",      lcores, "--log-level=4"};
    if (ctx.huge) {
        eal.insert(eal.end(), {"--in-memory"});
    } else {
        eal.insert(eal.end(), {"--no-huge", "--no-shconf", "-m", std::to_string(2 * need >> 20)});
    }
    std::vector<char*> eargv;
    for (auto& s : eal) eargv.push_back(s.data());
    if (rte_eal_init(static_cast<int>(eargv.size()), eargv.data()) < 0) {
        std::fprintf(stderr, "rte_eal_init failed: %s\n", rte_strerror(rte_errno));
        return 1;
    }
    t0 = Clock::now();
    build_all();
    std::fprintf(stderr, "built all tables in %.2f s\n", secs_since(t0));
    ctx.keys4["uniform"] = traffic4_covered(ctx.t4, ctx.r4, ctx.nkeys, 3);
    ctx.keys4["routes"] = traffic4_routes(ctx.r4, ctx.nkeys, 4);
    ctx.keys4["zipf"] = traffic4_zipf(ctx.r4, ctx.nkeys, 5);
    ctx.keys6["routes"] = traffic6_routes(ctx.r6, ctx.nkeys, 6);
    ctx.keys6["zipf"] = traffic6_zipf(ctx.r6, ctx.nkeys, 7);
    cross_check();
    measure_tsc();
    register_builds();
    register_lookups();
    register_updates();
    int bargc = static_cast<int>(args.size());
    benchmark::Initialize(&bargc, args.data());
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    summary();
    rte_eal_cleanup();
    return 0;
}
