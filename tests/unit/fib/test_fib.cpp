// tests/unit/fib — the FIB compiler (ViewRoutes → tables, groups, adjacencies; incremental
// batches) and the publish/reclaim protocol on a real rte_rcu_qsbr.
#include <atomic>
#include <map>
#include <random>
#include <thread>

#include <gtest/gtest.h>
#include <rte_eal.h>
#include <unistd.h>

#include "control/fib/compiler.hpp"
#include "dataplane/fib/publisher.hpp"

using namespace rsfwd;
using namespace rsfwd::fib;

namespace {

IpAddr ip(const char* s) {
    return *IpAddr::parse(s);
}
Prefix pfx(const char* s) {
    return *Prefix::parse(s);
}

std::vector<FibPort> two_ports() {
    FibPort a;
    a.port_id = 0;
    a.subnet4 = pfx("10.1.2.0/24");
    a.addr4 = ip("10.1.2.1");
    FibPort b;
    b.port_id = 1;
    b.subnet4 = pfx("192.0.2.0/30");
    b.addr4 = ip("192.0.2.1");
    b.subnet6 = pfx("2001:db8:5::/64");
    b.addr6 = ip("2001:db8:5::1");
    return {a, b};
}

ViewRoute route(const char* p, const std::vector<const char*>& nhs,
                RouteSource src = RouteSource::nva) {
    ViewRoute r;
    r.prefix = pfx(p);
    r.source = src;
    for (auto* n : nhs) r.next_hops.push_back(ip(n));
    return r;
}

// The compilers here are built with views {"vnet"} or {"vnet", "er/onprem"} and no
// bind_views(): a change's view id is the compiler's own.
ViewId vid(const char* view) {
    return std::string_view(view) == "vnet" ? 0 : 1;
}
ViewChange up(const char* view, const ViewRoute& r) {
    return {vid(view), r.prefix, r};
}
ViewChange del(const char* view, const char* p) {
    return {vid(view), pfx(p), std::nullopt};
}

nh_t lookup4(const Generation& g, std::size_t view, const char* a) {
    return g.views[view].v4.lookup(ip(a).v4_host());
}

} // namespace

TEST(FibCompiler, LocalAddressesAndIpv6SubnetsAreInstalledInEveryView) {
    FibCompiler c(two_ports(), {"vnet", "er/onprem"});
    Generation g = c.build_generation();
    for (std::size_t v = 0; v < 2; ++v) {
        EXPECT_EQ(lookup4(g, v, "10.1.2.1"), group_local);
        EXPECT_EQ(lookup4(g, v, "192.0.2.1"), group_local);
        EXPECT_EQ(lookup4(g, v, "10.1.2.9"), lpm::no_route); // port subnets are policy's call
        EXPECT_EQ(g.views[v].v6.lookup(ip("2001:db8:5::1").bytes), group_local);
        EXPECT_EQ(g.views[v].v6.lookup(ip("2001:db8:5::77").bytes), group_connected); // E10
    }
    // A route event cannot override a local address.
    c.change(up("vnet", route("10.1.2.1/32", {"10.1.2.4"})));
    EXPECT_EQ(c.installed("vnet", pfx("10.1.2.1/32")), group_local);
}

TEST(FibCompiler, ConnectedNextHopEcmpAndBlackhole) {
    FibCompiler c(two_ports(), {"vnet"});
    c.change(up("vnet", route("10.1.0.0/16", {}, RouteSource::vnet_local)));
    c.change(up("vnet", route("192.168.10.0/24", {"10.1.2.4"})));
    c.change(up("vnet", route("192.168.20.0/24", {"10.1.2.4", "10.1.2.5"}))); // D7
    c.change(up("vnet", route("192.168.21.0/24", {"10.1.2.5", "10.1.2.4"}))); // same set
    c.change(up("vnet", route("172.16.0.0/16", {"192.0.2.2"})));              // H4
    c.change(up("vnet", route("172.17.0.0/16", {"198.51.100.1"})));           // no port subnet
    Generation g = c.build_generation();
    EXPECT_EQ(lookup4(g, 0, "10.1.9.9"), group_connected);
    const nh_t g1 = lookup4(g, 0, "192.168.10.1");
    ASSERT_GE(g1, first_dynamic_group);
    EXPECT_EQ(g.groups[g1].n, 1);
    const nh_t g2 = lookup4(g, 0, "192.168.20.1");
    EXPECT_EQ(g.groups[g2].n, 2);
    EXPECT_EQ(lookup4(g, 0, "192.168.21.1"), g2) << "groups are deduplicated by member set";
    EXPECT_EQ(lookup4(g, 0, "172.17.0.1"), group_blackhole);
    const nh_t g3 = lookup4(g, 0, "172.16.3.3");
    const auto nb = c.find_neighbour(ip("192.0.2.2"));
    ASSERT_TRUE(nb);
    EXPECT_EQ(g.groups[g3].adj[0], *nb);
    EXPECT_EQ(c.neighbour_info(*nb).port, 1u);
    // Unresolved until a MAC arrives; then one 8-byte slot store carries port + MAC.
    EXPECT_EQ(adj_port(c.adjacencies().load(*nb)), adj_unresolved);
    const Mac mac{2, 0, 0, 0, 0x0e, 2};
    c.set_mac(*nb, mac);
    EXPECT_EQ(adj_port(c.adjacencies().load(*nb)), 1);
    EXPECT_EQ(adj_mac(c.adjacencies().load(*nb)), mac);
}

TEST(FibCompiler, BatchCarriesNetChangesOnly) {
    FibCompiler c(two_ports(), {"vnet"});
    (void)c.take_batch();
    c.change(up("vnet", route("192.168.10.0/24", {"10.1.2.4"})), 100);
    c.change(del("vnet", "192.168.10.0/24"), 50);
    EXPECT_EQ(c.pending_since(), 50u) << "the earliest event stamps the batch";
    Batch b = c.take_batch();
    ASSERT_EQ(b.views.size(), 1u);
    EXPECT_TRUE(b.views[0].up4.empty());
    // Deleting what is not installed is a pending removal of an absent prefix: harmless.
    c.change(up("vnet", route("192.168.10.0/24", {"10.1.2.4"})));
    c.change(up("vnet", route("192.168.10.0/24", {"10.1.2.4"}))); // same again: no event
    EXPECT_EQ(c.pending_events(), 1u);
    b = c.take_batch();
    EXPECT_EQ(b.views[0].up4.size(), 1u);
    EXPECT_FALSE(c.has_pending());
}

TEST(FibCompiler, GroupIdsAreRecycledOnlyInALaterBatch) {
    FibCompiler c(two_ports(), {"vnet"});
    c.change(up("vnet", route("192.168.10.0/24", {"10.1.2.4"})));
    (void)c.take_batch();
    const nh_t old = *c.installed("vnet", pfx("192.168.10.0/24"));
    c.change(up("vnet", route("192.168.10.0/24", {"10.1.2.5"})));
    const nh_t fresh = *c.installed("vnet", pfx("192.168.10.0/24"));
    EXPECT_NE(fresh, old) << "the freed id must not be reused within the same batch";
    (void)c.take_batch();
    c.change(up("vnet", route("192.168.11.0/24", {"10.1.2.6"})));
    EXPECT_EQ(*c.installed("vnet", pfx("192.168.11.0/24")), old);
    EXPECT_EQ(c.live_groups(), 2u);
}

TEST(FibCompiler, SetViewDiffsAgainstInstalled) {
    FibCompiler c(two_ports(), {"vnet"});
    std::vector<ViewRoute> v1{route("192.168.10.0/24", {"10.1.2.4"}),
                              route("192.168.20.0/24", {"10.1.2.5"})};
    c.set_view("vnet", v1);
    (void)c.take_batch();
    std::vector<ViewRoute> v2{route("192.168.20.0/24", {"10.1.2.5"}),
                              route("192.168.30.0/24", {"10.1.2.4"})};
    c.set_view("vnet", v2);
    Batch b = c.take_batch();
    EXPECT_EQ(b.views[0].up4.size(), 1u);
    EXPECT_EQ(b.views[0].rm4.size(), 1u);
    EXPECT_FALSE(c.installed("vnet", pfx("192.168.10.0/24")));
    EXPECT_TRUE(c.installed("vnet", pfx("10.1.2.1/32"))) << "local addresses survive set_view";
}

// The set_view() pass counter is 32-bit and shared by all views: when it wraps, a prefix stamped
// by an old pass must not pass for one the new pass saw (it used to survive a set_view that left
// it out, when its stamp equalled the wrapped counter).
TEST(FibCompiler, SetViewPassCounterWrapRemovesStalePrefixes) {
    FibCompiler c(two_ports(), {"vnet", "er/onprem"});
    std::vector<ViewRoute> er{route("192.168.40.0/24", {"10.1.2.4"})};
    c.set_view("er/onprem", er); // pass 1 stamps 192.168.40.0/24 with 1
    (void)c.take_batch();
    // 2^32 - 3 passes on other views later, the next pass number would be pinned: it wraps to 1.
    c.skip_passes_for_test(0xFFFFFFFEu - 1u);
    c.set_view("er/onprem", {});
    Batch b = c.take_batch();
    EXPECT_FALSE(c.installed("er/onprem", pfx("192.168.40.0/24")))
        << "a prefix the wrapped pass left out must be removed";
    ASSERT_EQ(b.views.size(), 2u);
    EXPECT_EQ(b.views[1].rm4.size(), 1u);
    // Later passes still diff correctly, and fixed prefixes (pinned) survived the sweep.
    std::vector<ViewRoute> v{route("192.168.10.0/24", {"10.1.2.4"})};
    c.set_view("vnet", v);
    c.set_view("vnet", {});
    (void)c.take_batch();
    EXPECT_FALSE(c.installed("vnet", pfx("192.168.10.0/24")));
    EXPECT_TRUE(c.installed("vnet", pfx("10.1.2.1/32"))) << "local addresses survive the wrap";
}

// Random route events applied batch by batch to a patched copy must give the same lookups as
// a generation built from scratch (the double buffer's copies never diverge).
TEST(FibCompiler, IncrementalBatchesEqualFullBuild) {
    std::mt19937 rng(7);
    FibCompiler c(two_ports(), {"vnet", "er/onprem"});
    Generation patched = c.build_generation();
    (void)c.take_batch();
    const char* hops[] = {"10.1.2.4", "10.1.2.5", "10.1.2.6", "192.0.2.2", "203.0.113.9"};
    for (int round = 0; round < 50; ++round) {
        for (int k = 0; k < 40; ++k) {
            const auto a = static_cast<std::uint32_t>(0xC0A80000u | (rng() & 0x3FFF) << 2);
            const auto len = static_cast<int>(16 + rng() % 17);
            const Prefix p = Prefix::make(IpAddr::v4(a), len);
            const char* view = rng() % 2 ? "vnet" : "er/onprem";
            if (rng() % 4 == 0) {
                c.change({vid(view), p, std::nullopt});
            } else {
                ViewRoute r;
                r.prefix = p;
                const unsigned n = rng() % 3;
                for (unsigned i = 0; i < n; ++i) r.next_hops.push_back(ip(hops[rng() % 5]));
                r.next_hops.sort_unique();
                c.change({vid(view), p, r});
            }
        }
        apply(patched, c.take_batch());
        const Generation full = c.build_generation();
        for (int k = 0; k < 2000; ++k) {
            const std::uint32_t a = 0xC0A80000u | (rng() & 0xFFFF);
            for (std::size_t v = 0; v < 2; ++v) {
                const nh_t x = patched.views[v].v4.lookup(a), y = full.views[v].v4.lookup(a);
                ASSERT_EQ(x, y) << "round " << round;
                if (x != lpm::no_route && x >= first_dynamic_group) {
                    ASSERT_EQ(patched.groups[x], full.groups[y]);
                }
            }
        }
    }
}

// The flat map behind installed/pending state: random inserts and erases (backward-shift
// deletion) against std::map.
TEST(PrefixMap, MatchesStdMapUnderRandomInsertErase) {
    std::mt19937 rng(11);
    PrefixMap<std::uint32_t> m;
    std::map<Prefix, std::uint32_t> ref;
    for (int k = 0; k < 200000; ++k) {
        // Few distinct keys → long probe runs, many erases inside them.
        const auto a = static_cast<std::uint32_t>(0x0A000000u | (rng() % 5000) << 8);
        const Prefix p = Prefix::make(IpAddr::v4(a), 24);
        const auto op = rng() % 3;
        if (op == 0) {
            EXPECT_EQ(m.erase(p), ref.erase(p) == 1);
        } else {
            const auto v = static_cast<std::uint32_t>(rng());
            m.insert_or_assign(p, v);
            ref[p] = v;
        }
        if (k % 20000 == 0) {
            ASSERT_EQ(m.size(), ref.size());
            for (const auto& [rp, rv] : ref) {
                const auto* f = m.find(rp);
                ASSERT_TRUE(f) << rp.str();
                ASSERT_EQ(*f, rv);
            }
        }
    }
    std::size_t n = 0;
    m.for_each([&](const Prefix& p, std::uint32_t v) {
        ++n;
        EXPECT_EQ(ref.at(p), v);
    });
    EXPECT_EQ(n, ref.size());
    EXPECT_FALSE(m.find(Prefix::make(ip("2001:db8::"), 32)));
}

namespace {
std::vector<ViewRoute> bulk_routes(std::mt19937& rng, std::size_t n) {
    const char* hops[] = {"10.1.2.4", "10.1.2.5", "10.1.2.6", "192.0.2.2", "203.0.113.9"};
    std::vector<ViewRoute> out;
    for (std::size_t k = 0; k < n; ++k) {
        ViewRoute r;
        r.prefix = Prefix::make(IpAddr::v4(static_cast<std::uint32_t>(rng())),
                                static_cast<int>(8 + rng() % 25));
        const unsigned m = rng() % 3;
        for (unsigned i = 0; i < m; ++i) r.next_hops.push_back(ip(hops[rng() % 5]));
        r.next_hops.sort_unique();
        out.push_back(r);
    }
    return out;
}

void expect_same_lookups(const Generation& patched, const Generation& full, std::mt19937& rng,
                         const char* what) {
    for (int k = 0; k < 20000; ++k) {
        const auto a = static_cast<std::uint32_t>(rng());
        for (std::size_t v = 0; v < full.views.size(); ++v) {
            const nh_t x = patched.views[v].v4.lookup(a), y = full.views[v].v4.lookup(a);
            ASSERT_EQ(x, y) << what;
            if (x != lpm::no_route && x >= first_dynamic_group) {
                ASSERT_EQ(patched.groups[x], full.groups[y]) << what;
            }
        }
    }
}
} // namespace

// Bulk path: a large set_view() on an empty view ships whole tables (built once), and later
// incremental batches on top of them stay equal to a generation built from scratch.
TEST(FibCompiler, BulkLoadShipsWholeTablesAndStaysExact) {
    std::mt19937 rng(3);
    FibCompiler c(two_ports(), {"vnet", "er/onprem"});
    Generation a = c.build_generation(), b = a;
    (void)c.take_batch();
    auto routes = bulk_routes(rng, 3 * FibCompiler::bulk_min_routes);
    routes.push_back(route("10.1.2.1/32", {"10.1.2.4"})); // a local address: ignored
    c.set_view("vnet", routes);
    Batch batch = c.take_batch();
    ASSERT_TRUE(batch.views[0].full4) << "bulk load must ship a built table";
    EXPECT_TRUE(batch.views[0].up4.empty());
    EXPECT_FALSE(batch.views[1].full4) << "the other view did not change";
    apply(a, batch);
    apply(b, batch);
    EXPECT_EQ(c.installed("vnet", pfx("10.1.2.1/32")), group_local);
    expect_same_lookups(a, c.build_generation(), rng, "after bulk load");
    // Incremental rounds: a few changes, and a set_view() that keeps most routes (diffed, not
    // rebuilt: the view is no longer small compared with what arrives).
    for (int round = 0; round < 4; ++round) {
        for (int k = 0; k < 200; ++k) {
            const ViewRoute& r = routes[rng() % routes.size()];
            if (rng() % 3 == 0)
                c.change({0, r.prefix, std::nullopt});
            else
                c.change({0, r.prefix, route(r.prefix.str().c_str(), {"10.1.2.6"})});
        }
        batch = c.take_batch();
        EXPECT_FALSE(batch.views[0].full4);
        apply(a, batch);
        apply(b, batch);
        expect_same_lookups(a, c.build_generation(), rng, "after changes");
        expect_same_lookups(b, c.build_generation(), rng, "second copy");
    }
    routes.erase(routes.begin(), routes.begin() + 100);
    for (int k = 0; k < 50; ++k) routes[rng() % routes.size()].next_hops = {ip("10.1.2.7")};
    c.set_view("vnet", routes);
    batch = c.take_batch();
    EXPECT_FALSE(batch.views[0].full4);
    EXPECT_GE(batch.views[0].rm4.size(), 1u);
    apply(a, batch);
    expect_same_lookups(a, c.build_generation(), rng, "after set_view diff");
    // Everything withdrawn: every dynamic group is released.
    c.set_view("vnet", {});
    batch = c.take_batch();
    apply(a, batch);
    expect_same_lookups(a, c.build_generation(), rng, "after withdrawing all");
    EXPECT_EQ(c.live_groups(), 0u);
    EXPECT_EQ(c.installed("vnet", pfx("10.1.2.1/32")), group_local) << "pinned prefixes stay";
    EXPECT_TRUE(c.installed("vnet", pfx("2001:db8:5::/64")));
}

// A storm of change() events reaching an eighth of the view is published as a rebuild too.
TEST(FibCompiler, ChangeStormIsPublishedAsRebuild) {
    std::mt19937 rng(9);
    FibCompiler c(two_ports(), {"vnet"});
    Generation a = c.build_generation();
    (void)c.take_batch();
    for (const auto& r : bulk_routes(rng, 2 * FibCompiler::bulk_min_routes)) // some collide
        c.change({0, r.prefix, r});
    Batch batch = c.take_batch();
    ASSERT_TRUE(batch.views[0].full4);
    apply(a, batch);
    expect_same_lookups(a, c.build_generation(), rng, "after storm");
    // Start-up: a full generation is built, and what is pending is dropped without a build.
    c.set_view("vnet", bulk_routes(rng, 10 * FibCompiler::bulk_min_routes));
    const Generation full = c.build_generation();
    c.discard_pending();
    EXPECT_FALSE(c.has_pending());
    EXPECT_TRUE(c.take_batch().empty());
    expect_same_lookups(full, c.build_generation(), rng, "after discard");
}

// ---------------------------------------------------------------------------------------------
// Publisher on a real rte_rcu_qsbr (EAL for the TSC frequency; no hugepages needed).
// ---------------------------------------------------------------------------------------------

class PublisherTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        if (geteuid() != 0) return;
        std::string prefix = "rsfwd_unit_fib_" + std::to_string(getpid());
        std::vector<std::string> args{
            "test", "--no-huge",     "-m",   "64",          "--no-pci",      "-l",
            "0",    "--file-prefix", prefix, "--log-level", "lib.eal:error", "--no-telemetry"};
        std::vector<char*> av;
        av.reserve(args.size());
        for (auto& a : args) av.push_back(a.data());
        eal_ok_ = rte_eal_init(static_cast<int>(av.size()), av.data()) >= 0;
    }
    void SetUp() override {
        if (!eal_ok_) GTEST_SKIP() << "needs root for DPDK EAL init";
    }
    static inline bool eal_ok_ = false;
};

// Workers check that the generation they hold is never patched under them: route K's next hop
// is the publication number, so a lookup must always agree with the number they switched to.
TEST_F(PublisherTest, WorkersNeverSeeTheirGenerationChange) {
    const unsigned n_workers = 2;
    FibCompiler c(two_ports(), {"vnet"});
    c.change(up("vnet", route("192.168.10.0/24", {"10.1.2.4"})));
    Publisher pub(n_workers, c.build_generation(), PublisherOptions{0, 1});
    (void)c.take_batch();
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> violations{0}, bursts{0};
    const std::uint32_t key = ip("198.18.0.1").v4_host();
    std::vector<std::thread> ws;
    for (unsigned id = 0; id < n_workers; ++id)
        ws.emplace_back([&, id] {
            const Generation* g = worker_online(pub.handoff(), id);
            std::uint64_t last = 0;
            while (!stop.load(std::memory_order_relaxed)) {
                g = worker_poll(pub.handoff(), id, g);
                if (g->number < last) ++violations;
                last = g->number;
                const nh_t expect = g->views[0].v4.lookup(key); // burst: several lookups
                for (int k = 0; k < 50; ++k)
                    if (g->views[0].v4.lookup(key) != expect) ++violations;
                if (g->number > 0 && expect != lpm::no_route && g->groups.size() <= expect)
                    ++violations;
                ++bursts;
                std::this_thread::yield(); // 2 cores shared by control + 2 workers here
            }
            worker_offline(pub.handoff(), id);
        });
    // Workers still offline are skipped by the grace period (they pick the generation up when
    // they come online), so without this wait all 300 publications can complete before any
    // worker runs and no latency is recorded.
    for (unsigned id = 0; id < n_workers; ++id)
        while (!pub.worker(id).online.load()) std::this_thread::yield();
    // Each publication points 198.18.0.0/16 at a different next-hop set (new group each time).
    const char* hops[] = {"10.1.2.4", "10.1.2.5", "10.1.2.6", "10.1.2.7"};
    const int publications = 300;
    for (int i = 0; i < publications; ++i) {
        c.change(up("vnet", route("198.18.0.0/16", {hops[i % 4], hops[(i + 1) % 4]})), rte_rdtsc());
        while (pub.busy()) // the control thread polls, never blocks on a worker
            if (!pub.poll()) std::this_thread::yield();
        ASSERT_TRUE(fib::publish_step(pub, c, rte_rdtsc()));
    }
    pub.drain();
    stop = true;
    for (auto& t : ws) t.join();
    EXPECT_EQ(violations.load(), 0u);
    EXPECT_EQ(pub.publications(), static_cast<std::uint64_t>(publications));
    EXPECT_EQ(pub.generation(), static_cast<std::uint64_t>(publications));
    EXPECT_EQ(pub.queue_full(), 0u);
    EXPECT_EQ(pub.latency().count(), static_cast<std::uint64_t>(publications));
    // Both copies hold the same content after the last grace period.
    const Generation full = c.build_generation();
    EXPECT_EQ(pub.active()->views[0].v4.lookup(key), full.views[0].v4.lookup(key));
}

TEST_F(PublisherTest, StalledWorkerHoldsReclaimButNeverBlocksControl) {
    FibCompiler c(two_ports(), {"vnet"});
    Publisher pub(1, c.build_generation(), PublisherOptions{0, 1});
    std::atomic<int> phase{0};
    std::thread w([&] {
        const Generation* g = worker_online(pub.handoff(), 0);
        while (phase.load() == 0) g = worker_poll(pub.handoff(), 0, g);
        while (phase.load() == 1) std::this_thread::yield(); // stalled mid-burst, online
        while (phase.load() == 2) g = worker_poll(pub.handoff(), 0, g);
        worker_offline(pub.handoff(), 0);
    });
    while (pub.worker(0).generation.load() != 0 || !pub.worker(0).online.load())
        std::this_thread::yield();
    phase = 1;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    c.change(up("vnet", route("192.168.10.0/24", {"10.1.2.4"})), rte_rdtsc());
    ASSERT_TRUE(fib::publish_step(pub, c, rte_rdtsc()));
    for (int i = 0; i < 1000; ++i) EXPECT_FALSE(pub.poll()) << "grace period cannot end";
    EXPECT_TRUE(pub.busy());
    // More events coalesce meanwhile and wait for the next publication.
    c.change(up("vnet", route("192.168.11.0/24", {"10.1.2.4"})), rte_rdtsc());
    EXPECT_FALSE(fib::publish_step(pub, c, rte_rdtsc()));
    phase = 2;
    pub.drain();
    EXPECT_TRUE(fib::publish_step(pub, c, rte_rdtsc()));
    pub.drain();
    EXPECT_EQ(pub.generation(), 2u);
    phase = 3;
    w.join();
}

TEST(LatencyHistogram, Log2Buckets) {
    LatencyHistogram h;
    h.record(0);
    h.record(1000);
    h.record(3000);
    h.record(1'000'000);
    EXPECT_EQ(h.count(), 4u);
    EXPECT_EQ(h.bucket(0), 1u);
    EXPECT_EQ(h.bucket(9), 1u);  // 512..1023
    EXPECT_EQ(h.bucket(11), 1u); // 2048..4095
    EXPECT_EQ(h.max_ns(), 1'000'000u);
    EXPECT_EQ(h.quantile_ns(0.5), 1024u);
}
