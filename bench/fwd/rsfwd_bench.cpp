// bench/fwd/rsfwd_bench.cpp — `rsfwd-bench`: forwarding throughput of the rsfwd worker on one
// lcore, against dpdk-testpmd io-forward on the same ports in the same run (not a test).
//   ports: net_pcap0,rx_pcap=FRAMES,infinite_rx=1 (4096 64-byte IPv4/UDP frames, destinations
//   drawn from the FIB's covered space) → net_null0,no-rx=1; 8 static next hops on the sink.
//   phases: testpmd io (subprocess) · rsfwd with 16 routes · rsfwd with a 1M-route BGP-shaped
//   FIB (lpm/gen.hpp, published while forwarding) · the same with an RX callback that stamps
//   destinations drawn at random from 1M covered addresses (incremental checksum fix-up).
// Reports Mpps, ns/packet and TSC cycles/packet (no PMU in the guest) and, with
// --stage-cycles, cycles per pipeline stage. Usage: rsfwd-bench [--routes N] [--seconds S]
// [--workdir DIR] [--no-testpmd] [--stage-cycles] [-- EAL args]
#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>

#include "dataplane/engine/engine.hpp"
#include "dataplane/worker/packet.hpp"
#include "lpm/gen.hpp"

using namespace rsfwd;
using namespace rsfwd::dp;

namespace {

constexpr fib::Mac in_mac{2, 0, 0, 0, 0xB0, 1};

// On-CPU time (ns) of the first thread of process `pid` whose name starts with `prefix`
// (/proc/PID/task/TID/schedstat, field 1). The EAL names its workers "rte-worker-N".
std::uint64_t thread_cpu_ns(const std::string& pid, const std::string& prefix) {
    const std::string dir = "/proc/" + pid + "/task";
    std::vector<std::string> tids;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec))
        tids.push_back(e.path().filename().string());
    for (const auto& t : tids) {
        std::ifstream comm(dir + "/" + t + "/comm");
        std::string name;
        std::getline(comm, name);
        if (name.rfind(prefix, 0) != 0) continue;
        std::ifstream ss(dir + "/" + t + "/schedstat");
        std::uint64_t ns = 0;
        ss >> ns;
        return ns;
    }
    return 0;
}

// CPU time of the calling thread (s): compile/publish cost that a loaded machine cannot inflate.
double thread_cpu_s() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

void write_pcap(const std::string& path, const std::vector<std::uint32_t>& dsts) {
    std::ofstream f(path, std::ios::binary);
    const std::uint32_t gh[6] = {0xA1B2C3D4u, 0x00040002u, 0, 0, 65535, 1};
    f.write(reinterpret_cast<const char*>(gh), sizeof gh);
    for (std::size_t i = 0; i < dsts.size(); ++i) {
        std::uint8_t fr[64] = {};
        std::memcpy(fr, in_mac.data(), 6);
        fr[6] = 2;
        fr[11] = 9;
        store_be16(fr + 12, ethertype_ipv4);
        std::uint8_t* ip = fr + 14;
        ip[0] = 0x45;
        store_be16(ip + 2, 50);
        ip[8] = 64;
        ip[9] = 17;
        const std::uint32_t src = 0x0A000002u + static_cast<std::uint32_t>(i % 200);
        for (int k = 0; k < 4; ++k) {
            ip[12 + k] = static_cast<std::uint8_t>(src >> (24 - 8 * k));
            ip[16 + k] = static_cast<std::uint8_t>(dsts[i] >> (24 - 8 * k));
        }
        store_be16(ip + 10, csum_fold(csum_add(0, ip, 20)));
        store_be16(ip + 20, static_cast<std::uint16_t>(1024 + i));
        store_be16(ip + 22, 80);
        store_be16(ip + 24, 30);
        const std::uint32_t rh[4] = {0, static_cast<std::uint32_t>(i), 64, 64};
        f.write(reinterpret_cast<const char*>(rh), sizeof rh);
        f.write(reinterpret_cast<const char*>(fr), 64);
    }
}

// testpmd io-forward on the same vdevs; returns the median Tx-pps of the sink port.
struct TestpmdResult {
    double pps = 0;    // median Tx-pps of the sink
    double cpu_ns = 0; // worker on-CPU ns per packet over the samples
};
TestpmdResult run_testpmd(const std::string& pcap, int seconds) {
    int fds[2];
    if (pipe(fds) != 0) return {};
    const pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[0]);
        const std::string prefix = fmt::format("--file-prefix=rsfwd_bench_tp{}", getppid());
        const std::string v0 = "--vdev=net_pcap0,rx_pcap=" + pcap + ",infinite_rx=1";
        execl("/usr/bin/dpdk-testpmd", "dpdk-testpmd", "-l", "0,1", "--no-pci", "--in-memory", "-m",
              "512", prefix.c_str(), v0.c_str(), "--vdev=net_null0,no-rx=1", "--",
              "--forward-mode=io", "--auto-start", "--nb-cores=1", "--rxq=1", "--txq=1",
              "--total-num-mbufs=16384", "--stats-period=1", static_cast<char*>(nullptr));
        _exit(127);
    }
    close(fds[1]);
    FILE* in = fdopen(fds[0], "r");
    std::vector<double> samples;
    char line[512];
    int port = -1;
    std::uint64_t cpu0 = 0, cpu1 = 0;
    double pkts = 0;
    const std::string spid = std::to_string(pid);
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds + 3);
    while (std::chrono::steady_clock::now() < end && fgets(line, sizeof line, in)) {
        if (std::strstr(line, "NIC statistics for port"))
            port = std::atoi(std::strstr(line, "port") + 5);
        const char* t = std::strstr(line, "Tx-pps:");
        if (t && port == 1) {
            samples.push_back(std::atof(t + 7));
            const std::uint64_t c = thread_cpu_ns(spid, "rte-worker");
            if (samples.size() == 3) cpu0 = c;
            if (samples.size() > 3) {
                cpu1 = c;
                pkts += samples.back();
            }
        }
    }
    kill(pid, SIGINT);
    while (fgets(line, sizeof line, in)) {
    }
    fclose(in);
    waitpid(pid, nullptr, 0);
    if (samples.size() > 2) samples.erase(samples.begin(), samples.begin() + 2); // warm-up
    if (samples.empty()) return {};
    std::sort(samples.begin(), samples.end());
    TestpmdResult r;
    r.pps = samples[samples.size() / 2];
    if (pkts > 0 && cpu1 > cpu0) r.cpu_ns = static_cast<double>(cpu1 - cpu0) / pkts;
    return r;
}

struct Sample {
    double mpps, ns, cycles;
    double cpu_ns; // worker thread on-CPU ns per packet (robust to a loaded machine)
    std::array<double, stage_count> stage{}; // --stage-cycles: TSC cycles per packet by stage
};

// Worker 0's received packets and stage cycles, for per-phase differences.
struct StageSnap {
    std::uint64_t rx = 0;
    std::array<std::uint64_t, stage_count> cycles{};
};
StageSnap stage_snap(const Engine& eng) {
    const Stats s = eng.stats();
    StageSnap r;
    if (s.workers.empty()) return r;
    r.rx = s.workers[0].rx_pkts;
    for (std::size_t k = 0; k < stage_count; ++k) r.cycles[k] = s.workers[0].stage_cycles[k];
    return r;
}

Sample measure(Engine& eng, int seconds) {
    auto tx = [&] {
        std::uint64_t n = 0;
        for (const auto& w : eng.stats().workers) n += w.tx_pkts;
        return n;
    };
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const std::uint64_t c0 = thread_cpu_ns("self", "rte-worker");
    const StageSnap s0 = stage_snap(eng);
    const std::uint64_t p0 = tx(), t0 = rte_rdtsc();
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < end) {
        eng.control_poll();
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    const std::uint64_t p1 = tx(), t1 = rte_rdtsc();
    const std::uint64_t c1 = thread_cpu_ns("self", "rte-worker");
    const StageSnap s1 = stage_snap(eng);
    const double pkts = static_cast<double>(p1 - p0), cyc = static_cast<double>(t1 - t0);
    const double secs = cyc / static_cast<double>(rte_get_tsc_hz());
    Sample r{pkts / secs / 1e6, secs * 1e9 / pkts, cyc / pkts, static_cast<double>(c1 - c0) / pkts};
    const double rx = static_cast<double>(s1.rx - s0.rx);
    for (std::size_t k = 0; k < stage_count && rx > 0; ++k)
        r.stage[k] = static_cast<double>(s1.cycles[k] - s0.cycles[k]) / rx;
    return r;
}

std::vector<std::uint32_t> g_stamp;
std::size_t g_stamp_i = 0;

// Bench-only RX callback: stamps a random covered destination into each frame and fixes the
// IPv4 checksum incrementally (RFC 1624), so the lookup walks the whole 1M-route table.
std::uint16_t stamp_cb(std::uint16_t, std::uint16_t, rte_mbuf** pkts, std::uint16_t n,
                       std::uint16_t, void*) {
    // Locals: the packet stores may alias the globals (char), which made gcc reload them per
    // packet.
    const std::uint32_t* stamp = g_stamp.data();
    const std::size_t mask = g_stamp.size() - 1;
    std::size_t k = g_stamp_i;
    for (std::uint16_t i = 0; i < n; ++i)
        ipv4_set_dst(rte_pktmbuf_mtod(pkts[i], std::uint8_t*) + 14, stamp[k++ & mask]);
    g_stamp_i = k;
    return n;
}

// The measured window only (the stage counters also ran during warm-up and FIB compiles).
void print_stages(const Sample& x) {
    std::printf("    stage cycles/packet:");
    for (std::size_t k = 0; k < stage_count; ++k)
        std::printf(" %s %.1f", std::string(to_string(static_cast<Stage>(k))).c_str(), x.stage[k]);
    std::printf("\n");
}

} // namespace

int main(int argc, char** argv) {
    std::vector<std::string> own{"rsfwd-bench"}, eal{"rsfwd-bench"};
    bool after = false;
    for (int i = 1; i < argc; ++i) {
        if (!after && std::string(argv[i]) == "--") {
            after = true;
            continue;
        }
        (after ? eal : own).push_back(argv[i]);
    }
    CLI::App app{"rsfwd forwarding benchmark (one worker lcore)"};
    std::size_t n_routes = 1'000'000;
    int seconds = 5;
    std::string workdir = "/tmp";
    bool no_testpmd = false, stages = false;
    app.add_option("--routes", n_routes, "BGP-shaped FIB size");
    app.add_option("--seconds", seconds, "measurement time per phase");
    app.add_option("--workdir", workdir, "where the pcap is written");
    app.add_flag("--no-testpmd", no_testpmd, "skip the testpmd io reference");
    app.add_flag("--stage-cycles", stages, "instrumented worker: cycles per stage");
    std::vector<char*> av;
    av.reserve(own.size());
    for (auto& s : own) av.push_back(s.data());
    CLI11_PARSE(app, static_cast<int>(av.size()), av.data());
    if (eal.size() == 1)
        eal = {"rsfwd-bench",
               "-l",
               "0-1",
               "--no-pci",
               "--in-memory",
               "-m",
               "256",
               fmt::format("--file-prefix=rsfwd_bench_{}", getpid()),
               "--log-level=lib.eal:error"};

    std::fprintf(stderr, "generating %zu BGP-shaped routes...\n", n_routes);
    const auto routes = lpm::gen_bgp4(n_routes, 1, 8);
    const lpm::Table4 ref = lpm::Table4::build(routes);
    const auto frames = lpm::traffic4_covered(ref, routes, 4096, 2);
    g_stamp = lpm::traffic4_covered(ref, routes, 1u << 20, 3);
    const std::string pcap = workdir + "/rsfwd_bench_4096x64.pcap";
    write_pcap(pcap, frames);

    TestpmdResult tp;
    if (!no_testpmd) {
        std::fprintf(stderr, "testpmd io...\n");
        tp = run_testpmd(pcap, seconds);
    }
    const double testpmd = tp.pps;

    eal_init(eal);
    std::vector<PortSpec> ports(2);
    ports[0] = {"in",
                "net_pcap0,rx_pcap=" + pcap + ",infinite_rx=1",
                *Prefix::parse("10.0.0.0/24"),
                *IpAddr::parse("10.0.0.1"),
                std::nullopt,
                std::nullopt,
                in_mac,
                "vnet"};
    ports[1] = {"sink",
                "net_null0,no-rx=1",
                *Prefix::parse("100.64.0.0/24"),
                *IpAddr::parse("100.64.0.1"),
                std::nullopt,
                std::nullopt,
                std::nullopt,
                "vnet"};
    std::vector<NeighbourSpec> nbrs;
    std::vector<IpAddr> hops;
    for (std::uint32_t k = 0; k < 8; ++k) {
        hops.push_back(IpAddr::v4(0x64400000u + 10 + k));
        nbrs.push_back({hops.back(), {2, 0, 0, 0, 0xC0, static_cast<std::uint8_t>(k)}, "sink"});
    }
    EngineOptions opt;
    opt.stage_cycles = stages;
    opt.icmp_errors = false;
    std::vector<ViewRoute> vr;
    vr.reserve(routes.size());
    for (const auto& r : routes) {
        ViewRoute v;
        v.prefix = Prefix::make(IpAddr::v4(r.addr), r.len);
        v.source = RouteSource::nva;
        v.next_hops = {hops[r.nh % 8]};
        vr.push_back(v);
    }
    Sample s16{}, s1m{}, srnd{};
    {
        Engine eng(ports, nbrs, opt);
        // 16 routes: /4s covering the frames' destinations, same next hops.
        std::vector<ViewRoute> few;
        for (std::uint32_t k = 0; k < 16; ++k) {
            ViewRoute v;
            v.prefix = Prefix::make(IpAddr::v4(k << 28), 4);
            v.next_hops = {hops[k % 8]};
            few.push_back(v);
        }
        eng.compiler().set_view("vnet", few);
        eng.start();
        s16 = measure(eng, seconds);
        std::printf("rsfwd 16 routes:            %6.2f Mpps  %6.1f ns/pkt  %6.1f cycles/pkt  %6.1f "
                    "on-CPU ns/pkt\n",
                    s16.mpps, s16.ns, s16.cycles, s16.cpu_ns);
        if (stages) print_stages(s16);
        const auto t0 = std::chrono::steady_clock::now();
        const double c0 = thread_cpu_s();
        eng.compiler().set_view("vnet", vr);
        const auto t1 = std::chrono::steady_clock::now();
        const double c1 = thread_cpu_s();
        eng.flush_publication();
        const auto t2 = std::chrono::steady_clock::now();
        const double c2 = thread_cpu_s();
        std::printf("%zu-route FIB compiled in %.2f s, published (both copies patched) in %.2f "
                    "s, while forwarding (control-thread CPU: %.2f s + %.2f s)\n",
                    n_routes, std::chrono::duration<double>(t1 - t0).count(),
                    std::chrono::duration<double>(t2 - t1).count(), c1 - c0, c2 - c1);
        s1m = measure(eng, seconds);
        std::printf("rsfwd %zu routes:       %6.2f Mpps  %6.1f ns/pkt  %6.1f cycles/pkt  %6.1f "
                    "on-CPU ns/pkt\n",
                    n_routes, s1m.mpps, s1m.ns, s1m.cycles, s1m.cpu_ns);
        if (stages) print_stages(s1m);
        rte_eth_add_rx_callback(eng.port_id(0), 0, stamp_cb, nullptr);
        srnd = measure(eng, seconds);
        std::printf("rsfwd %zu + random dst: %6.2f Mpps  %6.1f ns/pkt  %6.1f cycles/pkt  %6.1f "
                    "on-CPU ns/pkt\n",
                    n_routes, srnd.mpps, srnd.ns, srnd.cycles, srnd.cpu_ns);
        if (stages) print_stages(srnd);
        const Stats st = eng.stats();
        std::uint64_t drops = 0;
        for (auto d : st.drops) drops += d;
        std::printf("drops during the run: %llu\n", static_cast<unsigned long long>(drops));
        eng.stop();
    }
    if (testpmd > 0) {
        std::printf("testpmd io:                 %6.2f Mpps  %6.1f on-CPU ns/pkt\n"
                    "ratios vs testpmd io (wall Mpps): 16 routes %.2f, 1M %.2f, 1M random %.2f\n",
                    testpmd / 1e6, tp.cpu_ns, s16.mpps * 1e6 / testpmd, s1m.mpps * 1e6 / testpmd,
                    srnd.mpps * 1e6 / testpmd);
        if (tp.cpu_ns > 0)
            std::printf("ratios vs testpmd io (on-CPU ns/pkt): 16 routes %.2f, 1M %.2f, 1M "
                        "random %.2f\n",
                        tp.cpu_ns / s16.cpu_ns, tp.cpu_ns / s1m.cpu_ns, tp.cpu_ns / srnd.cpu_ns);
    }
    eal_cleanup();
    return 0;
}
