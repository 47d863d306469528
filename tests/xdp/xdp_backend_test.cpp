// tests/xdp/xdp_backend_test.cpp — the FIB compiler's output (fib::Batch + adjacency slots) as
// XdpBackend writes it into the BPF maps, read back from the real kernel: trie values per kind,
// ECMP groups, next-hop slots, connected-destination neighbours, bulk table swaps, kernel
// neighbours through XdpFib. The process moves into a network namespace of its own (unshare) with
// one veth pair, so no interface outside it is touched and everything vanishes with it. Needs
// root (CAP_BPF, CAP_NET_ADMIN): exits 77 otherwise.
#include "control/fib/compiler.hpp"
#include "dataplane/xdp/xdp_backend.hpp"
#include "dataplane/xdp/xdp_fib.hpp"

#include <gtest/gtest.h>
#include <sched.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

using namespace rsfwd;
using namespace rsfwd::xdp;

namespace {

bool g_netns = false; // main(): unshare(CLONE_NEWNET) and the veth pair worked

IpAddr ip(const char* s) {
    return *IpAddr::parse(s);
}
Prefix pfx(const char* s) {
    return *Prefix::parse(s);
}

// A change to a view named as the ports name it (the policy's changes carry view ids).
struct Named {
    const char* view;
    Prefix prefix;
    std::optional<ViewRoute> route;
};
Named up(const char* view, const char* prefix, std::initializer_list<const char*> nhs) {
    ViewRoute r;
    r.prefix = pfx(prefix);
    r.source = nhs.size() ? RouteSource::nva : RouteSource::vnet_local;
    for (auto* n : nhs) r.next_hops.push_back(ip(n));
    return Named{view, r.prefix, r};
}
Named del(const char* view, const char* prefix) {
    return Named{view, pfx(prefix), std::nullopt};
}
void change(XdpFib& f, const Named& c) {
    f.change(c.view, c.prefix, c.route);
}

constexpr Mac mac_a{0x02, 0, 0, 0, 0x0a, 0x01};
constexpr Mac mac_b{0x02, 0, 0, 0, 0x0b, 0x02};

class XdpBackendTest : public ::testing::Test {
protected:
    void SetUp() override {
        try {
            be = std::make_unique<XdpBackend>();
        } catch (const XdpError& e) {
            GTEST_SKIP() << "cannot load the XDP object here: " << e.what();
        }
    }
    // x0 (10.0.1.1/24, fd00:1::1/64) in view "a", x1 (10.0.2.1/24) in view "b".
    void attach() {
        if (!g_netns) GTEST_SKIP() << "no private network namespace with a veth pair";
        x0 = be->add_port("x0", "a", AttachMode::generic).ifindex;
        x1 = be->add_port("x1", "b", AttachMode::generic).ifindex;
        fib = std::make_unique<XdpFib>(*be);
    }
    fib::FibCompiler& comp() { return fib->compiler(); }
    void flush() {
        const ApplyResult r = fib->flush();
        EXPECT_EQ(r.failed, 0u) << r.first_error;
    }
    std::uint32_t adj(const char* a) { return *comp().find_neighbour(ip(a)); }

    std::unique_ptr<XdpBackend> be;
    std::unique_ptr<XdpFib> fib;
    int x0 = 0, x1 = 0;
};

} // namespace

TEST(AdjChanges, EachStoredSlotOnceUntilDrained) {
    fib::FibCompiler c({fib::FibPort{7, pfx("10.0.1.0/24"), ip("10.0.1.1"), {}, {}}}, {"v"});
    EXPECT_TRUE(c.take_adj_changes().empty());
    const auto a = *c.neighbour(ip("10.0.1.2"));
    const auto b = *c.neighbour(ip("10.0.1.3"));
    c.set_mac(b, mac_b);
    c.set_mac(a, mac_a);
    c.set_mac(b, mac_a); // again: still listed once
    EXPECT_EQ(c.take_adj_changes(), (std::vector<std::uint32_t>{a, b}));
    EXPECT_TRUE(c.take_adj_changes().empty());
    c.set_unresolved(a);
    EXPECT_EQ(c.take_adj_changes(), (std::vector<std::uint32_t>{a}));
}

TEST_F(XdpBackendTest, StartsEmptyWithZeroCounters) {
    EXPECT_TRUE(be->ports().empty());
    EXPECT_TRUE(be->view_names().empty());
    auto c = be->counters();
    for (auto v : c.value) EXPECT_EQ(v, 0u);
}

TEST_F(XdpBackendTest, ViewLimit) {
    for (int i = 0; i < 64; ++i) {
        std::string name = "v";
        name += std::to_string(i); // (not "v" + to_string(): gcc 12 -Wrestrict false positive)
        EXPECT_EQ(be->add_view(name), static_cast<std::size_t>(i));
    }
    EXPECT_EQ(be->add_view("v3"), 3u);
    EXPECT_THROW(be->add_view("v64"), XdpError);
    EXPECT_THROW(be->add_port("rsfwd-no-such-if", "vnet"), XdpError);
}

TEST_F(XdpBackendTest, CompilerPortsAreTheKernelInterfaces) {
    attach();
    const auto& ports = comp().ports();
    ASSERT_EQ(ports.size(), 2u);
    EXPECT_EQ(ports[0].port_id, x0);
    EXPECT_EQ(ports[0].subnet4, pfx("10.0.1.0/24"));
    EXPECT_EQ(ports[0].addr4, ip("10.0.1.1"));
    ASSERT_TRUE(ports[0].subnet6.has_value()); // fd00:1::/64, not the link-local fe80::/64
    EXPECT_EQ(*ports[0].subnet6, pfx("fd00:1::/64"));
    EXPECT_FALSE(ports[1].subnet6.has_value());
    EXPECT_EQ(comp().views(), (std::vector<std::string>{"a", "b"}));
}

TEST_F(XdpBackendTest, RoutesBecomeTrieValuesByKind) {
    attach();
    change(*fib, up("a", "10.9.0.0/16", {"10.0.2.2"}));             // one next hop
    change(*fib, up("a", "10.8.0.0/16", {"10.0.2.2", "10.0.2.3"})); // D7: ECMP
    change(*fib, up("a", "10.0.2.0/24", {}));                       // D11: connected
    change(*fib, up("a", "10.7.0.0/16", {"192.0.2.1"}));            // no subnet holds it
    change(*fib, up("nosuchview", "10.6.0.0/16", {}));              // no port: ignored
    flush();
    const auto a2 = adj("10.0.2.2"), a3 = adj("10.0.2.3");

    auto r = be->lookup(0, ip("10.9.1.1"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->kind, MapRouteKind::next_hop);
    EXPECT_EQ(r->id, a2);
    r = be->lookup(0, ip("10.8.1.1"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->kind, MapRouteKind::group);
    EXPECT_EQ(be->group(r->id), (std::vector<std::uint32_t>{a2, a3}));
    r = be->lookup(0, ip("10.0.2.9"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->kind, MapRouteKind::connected);
    EXPECT_EQ(r->id, 0u); // the "any port" neighbour key: the adjacency names the port
    r = be->lookup(0, ip("10.7.1.1"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->kind, MapRouteKind::blackhole);
    EXPECT_FALSE(be->lookup(1, ip("10.9.1.1"))); // view "b" has none of it
    // Port addresses: local_addrs punts them before the trie, so no trie entry.
    EXPECT_FALSE(be->lookup(0, ip("10.0.1.1")));
    // E10: each port's IPv6 subnet is connected in every view.
    r = be->lookup(1, ip("fd00:1::5"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->kind, MapRouteKind::connected);

    // Unresolved until the slot has a MAC; one slot write resolves every route behind it.
    EXPECT_FALSE(be->next_hop(a2).resolved);
    comp().set_mac(a2, mac_a);
    flush();
    const MapNextHop nh = be->next_hop(a2);
    EXPECT_TRUE(nh.resolved);
    EXPECT_EQ(nh.ifindex, x1);
    EXPECT_EQ(nh.dmac, mac_a);
    EXPECT_EQ(nh.smac, be->interface(x1)->mac);
    comp().set_unresolved(a2);
    flush();
    EXPECT_FALSE(be->next_hop(a2).resolved);

    // Replace and delete.
    change(*fib, up("a", "10.9.0.0/16", {"10.0.2.3"}));
    change(*fib, del("a", "10.8.0.0/16"));
    flush();
    r = be->lookup(0, ip("10.9.1.1"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->id, a3);
    EXPECT_FALSE(be->lookup(0, ip("10.8.1.1")));
}

TEST_F(XdpBackendTest, ConnectedDestinationsFollowTheirSlot) {
    attach();
    change(*fib, up("b", "10.0.0.0/8", {})); // wider than any port subnet (D11)
    fib->set_static_neighbour(ip("10.0.1.7"), mac_a);
    const auto a = *comp().neighbour(ip("10.0.2.8"));
    comp().ensure_host(a); // unresolved: no entry yet
    flush();
    auto n = be->neighbour(ip("10.0.1.7"));
    ASSERT_TRUE(n);
    EXPECT_EQ(n->mac, mac_a);
    EXPECT_EQ(n->ifindex, x0);
    EXPECT_FALSE(be->neighbour(ip("10.0.2.8")));
    comp().set_mac(a, mac_b);
    flush();
    n = be->neighbour(ip("10.0.2.8"));
    ASSERT_TRUE(n);
    EXPECT_EQ(n->mac, mac_b);
    EXPECT_EQ(n->ifindex, x1);
    comp().set_unresolved(a);
    flush();
    EXPECT_FALSE(be->neighbour(ip("10.0.2.8")));
    EXPECT_THROW(fib->set_static_neighbour(ip("192.0.2.1"), mac_a), XdpError);
}

TEST_F(XdpBackendTest, KernelNeighboursThroughRefresh) {
    attach();
    change(*fib, up("a", "10.9.0.0/16", {"10.0.2.2"}));
    flush();
    ASSERT_EQ(
        std::system("ip neigh replace 10.0.2.2 lladdr 02:00:00:00:0b:02 dev x1 nud permanent"), 0);
    EXPECT_EQ(fib->refresh_neighbours().failed, 0u);
    EXPECT_TRUE(be->next_hop(adj("10.0.2.2")).resolved);
    EXPECT_EQ(be->next_hop(adj("10.0.2.2")).dmac, mac_b);
    auto n = be->neighbour(ip("10.0.2.2")); // a kernel neighbour is a connected destination too
    ASSERT_TRUE(n);
    EXPECT_EQ(n->ifindex, x1);
    ASSERT_EQ(std::system("ip neigh del 10.0.2.2 dev x1"), 0);
    EXPECT_EQ(fib->refresh_neighbours().failed, 0u);
    EXPECT_FALSE(be->next_hop(adj("10.0.2.2")).resolved);
    EXPECT_FALSE(be->neighbour(ip("10.0.2.2")));
}

TEST_F(XdpBackendTest, BulkLoadSwapsInAWholeTrie) {
    attach();
    change(*fib, up("a", "10.9.0.0/16", {"10.0.2.2"}));
    flush();
    std::vector<ViewRoute> routes;
    for (std::uint32_t i = 0; i < 2 * fib::FibCompiler::bulk_min_routes; ++i) {
        ViewRoute r;
        r.prefix = Prefix::make(IpAddr::v4((100u << 24) | (i << 8)), 24);
        r.source = RouteSource::nva;
        r.next_hops = {ip(i % 2 ? "10.0.2.2" : "10.0.2.3")};
        routes.push_back(r);
    }
    comp().set_view("a", routes); // bulk: the batch carries a full IPv4 table
    flush();
    auto r = be->lookup(0, ip("100.0.3.9"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->kind, MapRouteKind::next_hop);
    EXPECT_EQ(r->id, adj("10.0.2.2"));
    EXPECT_FALSE(be->lookup(0, ip("10.9.1.1"))); // not in the new set: gone with the old trie
    r = be->lookup(0, ip("fd00:1::5"));          // the IPv6 table was rebuilt too (E10 entry)
    ASSERT_TRUE(r);
    EXPECT_EQ(r->kind, MapRouteKind::connected);
}

// Root: a network namespace of our own with one veth pair (x0 10.0.1.1/24 + fd00:1::1/64, x1
// 10.0.2.1/24). meson: exit 77 (skip) without root, so the skip shows in the summary.
int main(int argc, char** argv) {
    if (::geteuid() != 0) {
        std::fprintf(stderr, "SKIP: xdp_backend_test needs root (CAP_BPF)\n");
        return 77;
    }
    if (::unshare(CLONE_NEWNET) == 0) {
        g_netns = std::system("ip link add x0 type veth peer name x1 && "
                              "ip addr add 10.0.1.1/24 dev x0 && "
                              "ip addr add fd00:1::1/64 dev x0 nodad && "
                              "ip addr add 10.0.2.1/24 dev x1 && "
                              "ip link set x0 up && ip link set x1 up") == 0;
    }
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
