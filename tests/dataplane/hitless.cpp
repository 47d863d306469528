// tests/dataplane/hitless.cpp — hitless FIB updates on real DPDK: steady traffic through the
// engine (one worker lcore, net_ring ports built with rte_eth_from_rings so the test owns both
// ends) while the control thread changes routes thousands of times.
// Checked: every packet leaves on a port that its destination's route allowed at some version
// during the packet's flight, and no packet is lost (nor dropped, for any reason).
// Why net_ring and not net_pcap: the test must interleave sending, route changes and reading in
// one control loop, with a precise notion of "version during the flight"; pcap ports read a
// whole file at start-up and write only at close.
// Flight window: from the model version of the generation every worker had switched to when
// the packet was sent (a worker may be one publication behind the compiler, never more), to the
// model version when the packet is read back.
#include <array>
#include <atomic>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <unistd.h>

#include "dataplane/engine/engine.hpp"
#include "dataplane/worker/packet.hpp"

using namespace rsfwd;
using namespace rsfwd::dp;

namespace {

constexpr unsigned n_out = 3; // ports A, B, C
constexpr unsigned n_dst = 128;

IpAddr addr_of(const char* s) {
    return *IpAddr::parse(s);
}
Prefix pfx(const std::string& s) {
    return *Prefix::parse(s);
}

struct Rings {
    rte_ring* rx;
    rte_ring* tx;
};

Rings make_port(const std::string& name) {
    Rings r{rte_ring_create((name + "_rx").c_str(), 8192, 0, RING_F_SP_ENQ | RING_F_SC_DEQ),
            rte_ring_create((name + "_tx").c_str(), 8192, 0, RING_F_SP_ENQ | RING_F_SC_DEQ)};
    if (!r.rx || !r.tx) throw std::runtime_error("ring create");
    const int pid = rte_eth_from_rings(name.c_str(), &r.rx, 1, &r.tx, 1, 0);
    if (pid < 0) throw std::runtime_error("rte_eth_from_rings " + name);

    return r;
}

fib::Mac mac(std::uint8_t a, std::uint8_t b) {
    return {2, 0, 0, 0, a, b};
}

} // namespace

TEST(Hitless, RouteChurnNeverMisforwardsOrLoses) {
    const std::string tag = std::to_string(getpid());
    std::vector<std::string> names = {"hlin" + tag, "hla" + tag, "hlb" + tag, "hlc" + tag};
    std::vector<Rings> rings;
    rings.reserve(names.size());
    for (const auto& n : names) rings.push_back(make_port(n));

    std::vector<PortSpec> ports(4);
    const char* subnets[] = {"10.1.3.0/24", "10.1.2.0/24", "10.1.4.0/24", "10.1.5.0/24"};
    const char* addrs[] = {"10.1.3.1", "10.1.2.1", "10.1.4.1", "10.1.5.1"};
    for (unsigned i = 0; i < 4; ++i) {
        ports[i].name = "p" + std::to_string(i);
        ports[i].device = "net_ring_" + names[i]; // rte_eth_from_rings prefixes the name
        ports[i].subnet4 = pfx(subnets[i]);
        ports[i].addr4 = addr_of(addrs[i]);
        ports[i].mac = mac(1, static_cast<std::uint8_t>(i));
        ports[i].view = "vnet";
    }
    const char* nh[] = {"10.1.2.4", "10.1.4.4", "10.1.5.4"};
    std::vector<NeighbourSpec> nbrs;
    for (unsigned i = 0; i < n_out; ++i)
        nbrs.push_back({addr_of(nh[i]), mac(2, static_cast<std::uint8_t>(i)), ports[i + 1].name});
    EngineOptions opt;
    opt.rx_desc = 1024;
    opt.tx_desc = 1024;
    opt.coalesce_us = 50;
    Engine eng(ports, nbrs, opt);
    ASSERT_EQ(eng.workers(), 1u);

    // The model: /24 → port mask; /25 overlays (upper half) → port mask.
    const std::uint8_t sets[] = {1, 2, 4, 3, 6}; // {A} {B} {C} {A,B} {B,C}
    std::array<std::uint8_t, n_dst / 2> base{}, overlay{};
    auto route_for = [&](std::uint8_t mask) {
        ViewRoute r;
        for (unsigned i = 0; i < n_out; ++i)
            if (mask & (1u << i)) r.next_hops.push_back(addr_of(nh[i]));
        return r;
    };
    auto prefix24 = [](unsigned x) { return pfx("198.18." + std::to_string(x) + ".0/24"); };
    auto prefix25 = [](unsigned x) { return pfx("198.18." + std::to_string(x) + ".128/25"); };
    std::uint64_t version = 0;
    // history[d]: (version, allowed mask) from that version on.
    std::vector<std::vector<std::pair<std::uint64_t, std::uint8_t>>> history(n_dst);
    auto dst_mask = [&](unsigned d) -> std::uint8_t {
        const unsigned x = d / 2;
        return (d % 2 && overlay[x]) ? overlay[x] : base[x];
    };
    auto record = [&](unsigned x) {
        for (unsigned d = 2 * x; d < 2 * x + 2; ++d)
            if (history[d].empty() || history[d].back().second != dst_mask(d))
                history[d].emplace_back(version, dst_mask(d));
    };
    std::mt19937 rng(42);
    for (unsigned x = 0; x < n_dst / 2; ++x) {
        base[x] = sets[rng() % 5];
        ViewRoute r = route_for(base[x]);
        r.prefix = prefix24(x);
        eng.compiler().change({0, r.prefix, r});
        record(x);
    }
    eng.start();
    std::map<std::uint64_t, std::uint64_t> gen_version{{eng.publisher()->generation(), version}};

    rte_mempool* pool = rte_pktmbuf_pool_create(("hl_gen_" + tag).c_str(), 16383, 256, 0,
                                                RTE_MBUF_DEFAULT_BUF_SIZE, 0);
    ASSERT_NE(pool, nullptr);
    std::vector<std::uint64_t> sent_lb; // per seq: lower bound of the flight window
    std::vector<std::uint8_t> sent_dst;
    std::uint64_t received = 0, misforwarded = 0;
    const fib::Mac in_mac = *ports[0].mac;

    auto allowed = [&](unsigned d, std::uint64_t lo, std::uint64_t hi) {
        std::uint8_t m = 0;
        const auto& h = history[d];
        for (std::size_t i = 0; i < h.size(); ++i) {
            const std::uint64_t from = h[i].first;
            const std::uint64_t to = i + 1 < h.size() ? h[i + 1].first : UINT64_MAX;
            if (to > lo && from <= hi) m |= h[i].second;
        }
        return m;
    };
    auto drain = [&] {
        for (unsigned p = 0; p < n_out; ++p) {
            void* objs[64];
            unsigned n;
            while ((n = rte_ring_sc_dequeue_burst(rings[p + 1].tx, objs, 64, nullptr)) > 0) {
                for (unsigned i = 0; i < n; ++i) {
                    auto* m = static_cast<rte_mbuf*>(objs[i]);
                    const auto* f = rte_pktmbuf_mtod(m, const std::uint8_t*);
                    std::uint32_t seq;
                    std::memcpy(&seq, f + 14 + 20 + 8, 4);
                    ++received;
                    const unsigned d = sent_dst.at(seq);
                    if (!(allowed(d, sent_lb[seq], version) & (1u << p))) {
                        if (++misforwarded < 5)
                            ADD_FAILURE() << "seq " << seq << " dst " << d << " left on port " << p
                                          << " allowed " << int(allowed(d, sent_lb[seq], version));
                    }
                    rte_pktmbuf_free(m);
                }
            }
        }
    };
    auto send_burst = [&](unsigned n) {
        rte_mbuf* pkts[64];
        // Flow control: the worker shares two cores with everything else on this machine.
        if (sent_lb.size() - received > 1024) return;
        if (rte_pktmbuf_alloc_bulk(pool, pkts, n) != 0) return;
        // The oldest generation a worker may still use: the one it reports (it only moves on).
        const std::uint64_t g = eng.publisher()->worker(0).generation.load();
        auto it = gen_version.upper_bound(g);
        const std::uint64_t lb = std::prev(it)->second;
        for (unsigned i = 0; i < n; ++i) {
            const auto seq = static_cast<std::uint32_t>(sent_lb.size());
            const unsigned d = rng() % n_dst;
            sent_lb.push_back(lb);
            sent_dst.push_back(static_cast<std::uint8_t>(d));
            auto* f = reinterpret_cast<std::uint8_t*>(rte_pktmbuf_append(pkts[i], 64));
            std::memset(f, 0, 64);
            std::memcpy(f, in_mac.data(), 6);
            f[6] = 2;
            store_be16(f + 12, ethertype_ipv4);
            std::uint8_t* iph = f + 14;
            iph[0] = 0x45;
            store_be16(iph + 2, 50);
            iph[8] = 64;
            iph[9] = 17;
            const std::uint32_t src = 0x0A01030Au,
                                dst = 0xC6120000u | ((d / 2) << 8) | (d % 2 ? 129u : 1u);
            for (int k = 0; k < 4; ++k) {
                iph[12 + k] = static_cast<std::uint8_t>(src >> (24 - 8 * k));
                iph[16 + k] = static_cast<std::uint8_t>(dst >> (24 - 8 * k));
            }
            store_be16(iph + 10, csum_fold(csum_add(0, iph, 20)));
            store_be16(iph + 20, static_cast<std::uint16_t>(1000 + seq % 4000));
            store_be16(iph + 22, 53);
            store_be16(iph + 24, 30);
            std::memcpy(iph + 28, &seq, 4);
        }
        const unsigned q =
            rte_ring_sp_enqueue_burst(rings[0].rx, reinterpret_cast<void**>(pkts), n, nullptr);
        ASSERT_EQ(q, n) << "input ring full: the test sends too fast";
    };

    const int max_changes = 5000;
    int changes = 0;
    std::uint64_t last_gen = eng.publisher()->generation();
    // Every control-loop iteration: a new generation holds every event up to `version`.
    auto poll = [&] {
        eng.control_poll();
        const std::uint64_t g = eng.publisher()->generation();
        if (g != last_gen) {
            gen_version[g] = version;
            last_gen = g;
        }
    };
    const std::uint64_t churn_end = rte_rdtsc() + 25 * rte_get_tsc_hz(); // bound on a busy box
    for (; changes < max_changes && rte_rdtsc() < churn_end; ++changes) {
        // One route event: re-point a /24, or add/remove its /25 overlay.
        const unsigned x = rng() % (n_dst / 2);
        if (rng() % 3 == 0) {
            overlay[x] = overlay[x] ? 0 : sets[rng() % 5];
            ++version;
            if (overlay[x]) {
                ViewRoute r = route_for(overlay[x]);
                r.prefix = prefix25(x);
                eng.compiler().change({0, r.prefix, r}, rte_rdtsc());
            } else {
                eng.compiler().change({0, prefix25(x), std::nullopt}, rte_rdtsc());
            }
        } else {
            base[x] = sets[rng() % 5];
            ++version;
            ViewRoute r = route_for(base[x]);
            r.prefix = prefix24(x);
            eng.compiler().change({0, r.prefix, r}, rte_rdtsc());
        }
        record(x);
        poll();
        send_burst(8);
        drain();
        // Keep the traffic steady: let the worker catch up before the next change.
        while (sent_lb.size() - received > 256 && rte_rdtsc() < churn_end) {
            poll();
            drain();
            std::this_thread::yield();
        }
    }
    // Let everything in flight come out.
    const std::uint64_t deadline = rte_rdtsc() + 10 * rte_get_tsc_hz();
    while (received < sent_lb.size() && rte_rdtsc() < deadline) {
        poll();
        drain();
    }
    const Stats st = eng.stats();
    // Another thread (DPDK telemetry's) reads the control thread's mirror, not its structures:
    // after a control_poll() it must report the same control-side values.
    Stats other;
    std::thread([&] { other = eng.stats(); }).join();
    EXPECT_EQ(other.generation, st.generation);
    EXPECT_EQ(other.publications, st.publications);
    EXPECT_EQ(other.route_events, st.route_events);
    EXPECT_EQ(other.neighbours, st.neighbours);
    EXPECT_EQ(other.pending_events, st.pending_events);
    EXPECT_EQ(other.publishing, st.publishing);
    EXPECT_EQ(other.control.forwarded, st.control.forwarded);
    EXPECT_EQ(other.control.punts, st.control.punts);
    EXPECT_GT(other.generation, 1u);
    EXPECT_EQ(other.neighbours, std::uint64_t{n_out});
    eng.stop();
    EXPECT_EQ(misforwarded, 0u);
    EXPECT_EQ(received, sent_lb.size()) << "packets lost";
    for (std::size_t d = 0; d < drop_count; ++d)
        EXPECT_EQ(st.drops[d], 0u) << to_string(static_cast<Drop>(d));
    EXPECT_GE(changes, 1000);
    EXPECT_GT(st.publications, 10u);
    std::printf("hitless: %d route changes, %llu publications, %zu packets, publish latency "
                "p50 %llu ns p99 %llu ns max %llu ns\n",
                changes, static_cast<unsigned long long>(st.publications), sent_lb.size(),
                static_cast<unsigned long long>(st.publish_p50_ns),
                static_cast<unsigned long long>(st.publish_p99_ns),
                static_cast<unsigned long long>(st.publish_max_ns));
}

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    if (geteuid() != 0) {
        std::puts("SKIP: needs root for DPDK EAL init");
        return 77;
    }
    const std::string prefix = "rsfwd_hitless_" + std::to_string(getpid());
    std::vector<std::string> args{"hitless", "-l",          "0-1",          "--no-huge",
                                  "-m",      "512",         "--no-pci",     "--file-prefix",
                                  prefix,    "--log-level", "lib.eal:error"};
    std::vector<char*> av;
    av.reserve(args.size());
    for (auto& a : args) av.push_back(a.data());
    if (rte_eal_init(static_cast<int>(av.size()), av.data()) < 0) {
        std::puts("SKIP: EAL init failed (need 2 cores and root)");
        return 77;
    }
    const int rc = RUN_ALL_TESTS();
    rte_eal_cleanup();
    return rc;
}
