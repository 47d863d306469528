// bench/fib/fib_bench.cpp — FIB compile + publish cost on the control thread (not a test).
//
// What it measures, per phase, in on-thread CPU seconds (robust on a shared machine) and wall
// seconds: loading a BGP-shaped view (lpm/gen.hpp, 8 next hops as in rsfwd-bench) with
// set_view() or with one change() per route (what the BGP daemon does), take_batch(), and the
// two apply() calls the publisher makes (spare copy, then the old copy after the grace period);
// then churn: random upserts/deletes on the loaded view, batched.
// Usage: fib_bench [--benchmark_filter=...] [--routes=N]   (default 1M routes)
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "control/fib/compiler.hpp"
#include "lpm/gen.hpp"

using namespace rsfwd;
using namespace rsfwd::fib;

namespace {

std::size_t g_routes = 1'000'000;

double cpu_now() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}
double wall_now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

struct Timer {
    double c0 = cpu_now(), w0 = wall_now();
    double cpu() const { return cpu_now() - c0; }
    double wall() const { return wall_now() - w0; }
};

std::vector<FibPort> ports() {
    FibPort in;
    in.port_id = 0;
    in.subnet4 = *Prefix::parse("10.0.0.0/24");
    in.addr4 = *IpAddr::parse("10.0.0.1");
    FibPort sink;
    sink.port_id = 1;
    sink.subnet4 = *Prefix::parse("100.64.0.0/24");
    sink.addr4 = *IpAddr::parse("100.64.0.1");
    return {in, sink};
}

const std::vector<ViewRoute>& view_routes() {
    static const std::vector<ViewRoute> vr = [] {
        const auto routes = lpm::gen_bgp4(g_routes, 1, 8);
        std::vector<ViewRoute> out;
        out.reserve(routes.size());
        for (const auto& r : routes) {
            ViewRoute v;
            v.prefix = Prefix::make(IpAddr::v4(r.addr), r.len);
            v.source = RouteSource::nva;
            v.next_hops = {IpAddr::v4(0x64400000u + 10 + r.nh % 8)};
            out.push_back(std::move(v));
        }
        return out;
    }();
    return vr;
}

// Publisher work without the QSBR: patch the spare, then the old copy.
void publish_both(Generation& a, Generation& b, const Batch& batch) {
    apply(a, batch);
    apply(b, batch);
}

// One load of an empty compiler (`load` feeds it), then the publication of the batch into both
// copies of a double buffer; compile and publish timed separately (CPU and wall). Returns the
// published generation.
template <typename Load>
Generation load_and_publish(benchmark::State& state, Load&& load) {
    FibCompiler c(ports(), {"vnet"});
    Generation a = c.build_generation(), b = a;
    (void)c.take_batch();
    Timer t;
    load(c);
    const double compile_cpu = t.cpu(), compile_wall = t.wall();
    Timer t2;
    Batch batch = c.take_batch();
    publish_both(a, b, batch);
    const double pub_cpu = t2.cpu(), pub_wall = t2.wall();
    state.SetIterationTime(compile_wall + pub_wall);
    state.counters["compile_cpu_s"] = compile_cpu;
    state.counters["publish_cpu_s"] = pub_cpu;
    state.counters["total_cpu_s"] = compile_cpu + pub_cpu;
    state.counters["total_wall_s"] = compile_wall + pub_wall;
    benchmark::DoNotOptimize(b.views[0].v4.size());
    return a;
}

void BM_LoadSetView(benchmark::State& state) {
    const auto& vr = view_routes();
    for (auto _ : state) {
        const Generation a =
            load_and_publish(state, [&](FibCompiler& c) { c.set_view("vnet", vr); });
        state.counters["routes"] = static_cast<double>(a.views[0].v4.size());
    }
}

void BM_LoadChanges(benchmark::State& state) {
    const auto& vr = view_routes();
    std::vector<ViewChange> ch;
    ch.reserve(vr.size());
    for (const auto& r : vr) ch.push_back({0, r.prefix, r});
    for (auto _ : state)
        (void)load_and_publish(state, [&](FibCompiler& c) {
            for (const auto& x : ch) c.change(x);
        });
}

// Churn on a loaded view: state.range(0) changes per batch (re-announcements with another
// next hop, or withdrawals), then one batch applied to both copies.
void BM_Churn(benchmark::State& state) {
    const auto& vr = view_routes();
    FibCompiler c(ports(), {"vnet"});
    c.set_view("vnet", vr);
    Generation a = c.build_generation(), b = a;
    (void)c.take_batch();
    std::mt19937_64 rng(5);
    const auto per_batch = static_cast<std::size_t>(state.range(0));
    double cpu_change = 0, cpu_pub = 0;
    std::size_t changes = 0;
    for (auto _ : state) {
        Timer t;
        for (std::size_t k = 0; k < per_batch; ++k) {
            const ViewRoute& r = vr[rng() % vr.size()];
            if (rng() % 4 == 0) {
                c.change({0, r.prefix, std::nullopt});
            } else {
                ViewRoute x = r;
                x.next_hops = {
                    IpAddr::v4(0x64400000u + 10 + static_cast<std::uint32_t>(rng() % 8))};
                c.change({0, x.prefix, x});
            }
        }
        cpu_change += t.cpu();
        Timer t2;
        Batch batch = c.take_batch();
        publish_both(a, b, batch);
        cpu_pub += t2.cpu();
        changes += per_batch;
        state.SetIterationTime(t.wall());
    }
    state.counters["change_cpu_ns"] = cpu_change * 1e9 / static_cast<double>(changes);
    state.counters["publish_cpu_ns_per_change"] = cpu_pub * 1e9 / static_cast<double>(changes);
}

} // namespace

BENCHMARK(BM_LoadSetView)
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime()
    ->Iterations(1)
    ->Repetitions(3)
    ->ReportAggregatesOnly(false);
BENCHMARK(BM_LoadChanges)
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime()
    ->Iterations(1)
    ->Repetitions(2);
BENCHMARK(BM_Churn)
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime()
    ->Arg(100)
    ->Arg(10000)
    ->Iterations(20);

int main(int argc, char** argv) {
    std::vector<char*> rest;
    for (int i = 0; i < argc; ++i) {
        if (std::strncmp(argv[i], "--routes=", 9) == 0)
            g_routes = std::strtoull(argv[i] + 9, nullptr, 10);
        else
            rest.push_back(argv[i]);
    }
    int n = static_cast<int>(rest.size());
    benchmark::Initialize(&n, rest.data());
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
