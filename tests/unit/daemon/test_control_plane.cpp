// ControlPlane: policy ↔ sessions ↔ FIB sink ↔ API. The BGP test runs a second, independent
// bgp::Speaker as the NVA over real loopback TCP; the sink records what the FIB would receive.
#include "control/daemon/control_plane.hpp"

#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

using namespace rsfwd;
using api::ApiError;
using api::Json;

namespace {

// Records the FIB changes, keyed by (view, prefix) → the last route (or deleted).
class RecordingSink final : public ForwardingSink {
public:
    void bind_views(std::span<const ViewName> v) override { views.assign(v.begin(), v.end()); }
    void apply(std::span<const ViewChange> changes) override {
        for (const auto& c : changes) {
            if (c.route)
                routes[{views.at(c.view), c.prefix.str()}] = *c.route;
            else
                routes.erase({views.at(c.view), c.prefix.str()});
            ++applied;
        }
    }
    [[nodiscard]] Json stats() const override { return {{"applied", applied}}; }
    [[nodiscard]] std::optional<Json> lookup(const std::string&, const IpAddr&) const override {
        return std::nullopt;
    }
    [[nodiscard]] bool has(const std::string& view, const std::string& prefix) const {
        return routes.count({view, prefix}) != 0;
    }
    std::vector<ViewName> views; // the policy's, by view id
    std::map<std::pair<std::string, std::string>, ViewRoute> routes;
    std::size_t applied = 0;
};

std::string seed_yaml(const std::string& b2b = "false", const std::string& nva_extra = "",
                      const std::string& port_addr = "10.1.2.1/24") {
    return R"(route_server:
  instance_ips: [10.1.0.4, 10.1.0.5]
  branch_to_branch: )" +
           b2b + R"(
vnet:
  address_space: [10.1.0.0/16]
ports:
  - {name: nva, device: "net_null0", address: )" +
           port_addr + R"(, view: vnet}
  - {name: er, device: "net_null1", address: 192.0.2.1/30, view: er/onprem}
expressroute_gateway:
  instance_ips: [10.1.1.4, 10.1.1.5]
  circuits:
    - name: onprem
      port: er
      onprem_asn: 65100
      edge_ip: 192.0.2.2
      routes:
        - {prefix: 172.16.0.0/16, as_path: "65100"}
nvas:
  - name: nva1
    asn: 65001
    ip: 10.1.2.4
    port: nva
)" + nva_extra;
}

std::string write_temp(const std::string& text, const char* tag) {
    const auto path =
        "/tmp/rsfwd-cp-" + std::string(tag) + "-" + std::to_string(::getpid()) + ".yaml";
    std::ofstream(path) << text;
    return path;
}

} // namespace

TEST(ControlPlane, StaticRoutesReachTheSinkAndSwitchesApplyLive) {
    boost::asio::io_context io;
    RecordingSink sink;
    const auto file = write_temp(
        seed_yaml("false", "    routes:\n      - {prefix: 192.168.10.0/24, as_path: \"65001\"}\n"),
        "static");
    ControlPlane cp(io, load_config(file), &sink, {});
    cp.start();
    // The first state is complete: VNet space (A3) as connected routes in every view.
    EXPECT_TRUE(sink.has("vnet", "10.1.0.0/16"));
    EXPECT_TRUE(sink.has("er/onprem", "10.1.0.0/16"));
    // A2: the NVA route is in the vnet view; A5: not in the circuit's view (b2b off).
    EXPECT_TRUE(sink.has("vnet", "192.168.10.0/24"));
    EXPECT_TRUE(sink.has("vnet", "172.16.0.0/16"));
    EXPECT_FALSE(sink.has("er/onprem", "192.168.10.0/24"));

    auto r = cp.handle("set.branch_to_branch", {{"value", "on"}});
    EXPECT_GT(r.at("view_changes").get<int>(), 0);
    EXPECT_TRUE(sink.has("er/onprem", "192.168.10.0/24")); // A6
    cp.handle("set.branch_to_branch", {{"value", "off"}});
    EXPECT_FALSE(sink.has("er/onprem", "192.168.10.0/24"));
    EXPECT_THROW(cp.handle("set.branch_to_branch", {{"value", "sometimes"}}), ApiError);
    EXPECT_THROW(cp.handle("set.routing_preference", {{"value", "Fastest"}}), ApiError);

    // fib.lookup answers from the policy when the sink has no FIB.
    auto hit = cp.handle("fib.lookup", {{"view", "vnet"}, {"address", "172.16.3.4"}});
    EXPECT_EQ(hit.at("route").at("prefix"), "172.16.0.0/16");
    EXPECT_EQ(hit.at("route").at("source"), "expressroute");
    auto miss = cp.handle("fib.lookup", {{"view", "er/onprem"}, {"address", "192.168.10.1"}});
    EXPECT_EQ(miss.at("result"), "no_route"); // b2b off: on-prem cannot reach the NVA's branch
    EXPECT_THROW(cp.handle("fib.lookup", {{"view", "nope"}, {"address", "1.2.3.4"}}), ApiError);
    EXPECT_THROW(cp.handle("fib.lookup", {{"view", "vnet"}, {"address", "1.2.3"}}), ApiError);
    std::filesystem::remove(file);
}

TEST(ControlPlane, AnnounceWithdrawOnStaticPeersWithReasons) {
    boost::asio::io_context io;
    RecordingSink sink;
    const auto file = write_temp(seed_yaml(), "announce");
    ControlPlane cp(io, load_config(file), &sink, {});
    cp.start();
    auto ok = cp.handle("announce", {{"peer", "nva/nva1@0"},
                                     {"prefix", "192.168.20.0/24"},
                                     {"as_path", "65001"},
                                     {"communities", {"65535:65282"}}});
    EXPECT_EQ(ok.at("status"), "accepted");
    EXPECT_TRUE(sink.has("vnet", "192.168.20.0/24")); // G2: NO_ADVERTISE is still programmed
    // F1: an NVA route inside VNet space is kept but rejected, with the rule in the reason.
    auto f1 = cp.handle("announce",
                        {{"peer", "nva/nva1@0"}, {"prefix", "10.1.3.0/24"}, {"as_path", "65001"}});
    EXPECT_NE(f1.at("status").get<std::string>().find("F1"), std::string::npos) << f1.dump();
    EXPECT_EQ(f1.at("accepted"), false);
    EXPECT_NE(f1.at("reason").get<std::string>().rfind("F1", 0), std::string::npos);
    EXPECT_EQ(ok.at("accepted"), true);
    auto learned = cp.handle("routes.learned", {{"peer", "nva/nva1@0"}});
    EXPECT_EQ(learned.size(), 2u);
    cp.handle("withdraw", {{"peer", "nva/nva1@0"}, {"prefix", "192.168.20.0/24"}});
    EXPECT_FALSE(sink.has("vnet", "192.168.20.0/24"));
    // Withdrawing what was never announced (or twice) is refused, not reported as done.
    EXPECT_THROW(cp.handle("withdraw", {{"peer", "nva/nva1@0"}, {"prefix", "192.168.20.0/24"}}),
                 ApiError);
    EXPECT_THROW(cp.handle("announce", {{"peer", "nva/zzz@0"}, {"prefix", "1.0.0.0/8"}}), ApiError);
    EXPECT_THROW(cp.handle("announce", {{"peer", "nva/nva1@0"}, {"prefix", "1.0.0.1/8"}}),
                 ApiError);
    EXPECT_THROW(cp.handle("announce", {{"peer", "ergw"}, {"prefix", "1.0.0.0/8"}}), ApiError);
    std::filesystem::remove(file);
}

TEST(ControlPlane, ReloadAppliesSwitchesAndRefusesBrokenOrStructuralChanges) {
    boost::asio::io_context io;
    RecordingSink sink;
    const auto file = write_temp(
        seed_yaml("false", "    routes:\n      - {prefix: 192.168.10.0/24, as_path: \"65001\"}\n"),
        "reload");
    ControlPlane cp(io, load_config(file), &sink, {});
    cp.start();
    ASSERT_FALSE(sink.has("er/onprem", "192.168.10.0/24"));

    // Broken file: refused, the running config stays.
    std::ofstream(file) << "route_server: [\n";
    EXPECT_THROW(cp.reload(), ApiError);
    EXPECT_FALSE(cp.policy().branch_to_branch());

    // A port address change needs a restart: refused.
    std::ofstream(file) << seed_yaml("true", "", "10.1.2.1/25");
    try {
        cp.reload();
        ADD_FAILURE() << "structural change accepted";
    } catch (const ApiError& e) {
        EXPECT_NE(std::string(e.what()).find("needs a restart"), std::string::npos);
    }
    EXPECT_FALSE(cp.policy().branch_to_branch());

    // Switch + static routes: applied as a delta. The NVA route is gone (not in the new file),
    // a new one appears, and b2b is on.
    std::ofstream(file) << seed_yaml(
        "true", "    routes:\n      - {prefix: 192.168.11.0/24, as_path: \"65001\"}\n");
    auto out = cp.reload();
    EXPECT_TRUE(cp.policy().branch_to_branch());
    EXPECT_GT(out.at("view_changes").get<int>(), 0);
    EXPECT_FALSE(sink.has("vnet", "192.168.10.0/24"));
    EXPECT_TRUE(sink.has("vnet", "192.168.11.0/24"));
    EXPECT_TRUE(sink.has("er/onprem", "192.168.11.0/24"));
    EXPECT_EQ(cp.counters().reload_failures, 2u);
    std::filesystem::remove(file);
}

// A real BGP session over loopback: rsfwd's Route Server persona (127.0.0.4, AS 65515) and an
// NVA played by a second, independent Speaker (127.0.0.24, AS 65001).
namespace {
struct NvaPeer final : bgp::SpeakerHandler {
    bool up = false;
    std::map<std::string, Route> received;
    bool down = false;
    void on_established(const std::string&) override { up = true; }
    void on_routes(const std::string&, std::vector<Route> a, std::vector<Prefix> w) override {
        for (auto& r : a) received[r.prefix.str()] = r;
        for (auto& p : w) received.erase(p.str());
    }
    void on_down(const std::string&, const std::string&) override {
        up = false;
        down = true;
    }
    void on_route_refresh(const std::string&) override {}
};

template <class Pred>
bool run_until(boost::asio::io_context& io, Pred pred, std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred() && std::chrono::steady_clock::now() < deadline) {
        io.run_for(std::chrono::milliseconds(20));
        io.restart();
    }
    return pred();
}

// Instances at 127.0.0.4/.5 and one NVA, for the tests with real BGP sessions.
std::string bgp_yaml(const std::string& rs_extra, const std::string& nva_extra) {
    return "route_server:\n  instance_ips: [127.0.0.4, 127.0.0.5]\n" + rs_extra + R"(vnet:
  address_space: [10.1.0.0/16]
ports:
  - {name: nva, device: "net_null0", address: 10.1.2.1/24, view: vnet}
nvas:
  - name: nva1
    asn: 65001
    ip: 10.1.2.4
    port: nva
)" + nva_extra;
}

// The NVA's side of its session to instance 0 (127.0.0.4), passive: rsfwd opens the session.
bgp::PeerConfig nva_side(const char* local, std::uint16_t port) {
    bgp::PeerConfig pc;
    pc.name = "ars0";
    pc.local_address = *IpAddr::parse(local);
    pc.local_as = 65001;
    pc.remote_address = *IpAddr::parse("127.0.0.4");
    pc.remote_as = 65515;
    pc.remote_port = port;
    pc.passive = true;
    pc.hold_time = 9;
    pc.multihop_ttl = 255;
    return pc;
}
} // namespace

TEST(ControlPlane, BgpNvaSessionLearnsAndAdvertises) {
    const std::uint16_t port = static_cast<std::uint16_t>(20000 + ::getpid() % 20000);
    boost::asio::io_context io;
    RecordingSink sink;
    std::string yaml =
        bgp_yaml("  branch_to_branch: false\n",
                 "    peers_with: [0]\n    bgp: {peer_ip: 127.0.0.24, hold_time: 9}\n");
    const auto file = write_temp(yaml, "bgp");
    ControlPlaneOptions opt;
    opt.bgp_port = port;
    ControlPlane cp(io, load_config(file), &sink, opt);
    cp.start();

    NvaPeer nva_handler;
    bgp::Speaker nva(io, nva_handler, bgp::SpeakerOptions{port, true});
    nva.add_peer(nva_side("127.0.0.24", port));
    nva.start();

    ASSERT_TRUE(run_until(
        io, [&] { return nva_handler.up && !nva_handler.received.empty(); },
        std::chrono::seconds(30)));
    // A3 + E13: the NVA learns the VNet space from ARS, path 65515, next hop = the instance.
    ASSERT_TRUE(nva_handler.received.count("10.1.0.0/16"));
    const auto& vnet = nva_handler.received["10.1.0.0/16"];
    EXPECT_EQ(vnet.as_path.str(), "65515");
    EXPECT_EQ(vnet.next_hop.str(), "127.0.0.4");

    // The NVA announces a branch prefix with a third-party next hop (E12).
    Route r;
    r.prefix = *Prefix::parse("192.168.10.0/24");
    r.next_hop = *IpAddr::parse("10.1.2.4");
    r.as_path = AsPath::of({65001});
    nva.advertise("ars0", std::span<const Route>(&r, 1));
    ASSERT_TRUE(run_until(
        io, [&] { return sink.has("vnet", "192.168.10.0/24"); }, std::chrono::seconds(10)));
    const auto& vr = sink.routes.at({"vnet", "192.168.10.0/24"});
    ASSERT_EQ(vr.next_hops.size(), 1u);
    EXPECT_EQ(vr.next_hops[0].str(), "10.1.2.4");

    auto peers = cp.handle("peers", Json::object());
    bool found = false;
    for (const auto& p : peers) {
        if (p.at("name") == "nva/nva1@0") {
            found = true;
            EXPECT_EQ(p.at("state"), "Established");
            EXPECT_EQ(p.at("accepted"), 1);
            // A healthy session: the write queue drained. (last_error is history: a refused
            // connect before the peer listened stays there, as "last reset reason" does.)
            EXPECT_EQ(p.at("write_queue_bytes"), 0) << p.dump();
            EXPECT_EQ(p.at("pending_changes"), 0) << p.dump();
            EXPECT_TRUE(p.contains("collisions") && p.contains("last_event")) << p.dump();
        }
    }
    EXPECT_TRUE(found) << peers.dump();

    // /metrics: the session state is a gauge with a value (6 = established, BGP4-MIB), and the
    // whole exposition passes promtool's checks (when promtool is installed).
    const std::string metrics = cp.prometheus();
    EXPECT_NE(metrics.find("rsfwd_bgp_session_state{peer=\"nva/nva1@0\"} 6\n"), std::string::npos)
        << metrics;
    EXPECT_NE(metrics.find("rsfwd_bgp_session_established{peer=\"nva/nva1@0\"} 1\n"),
              std::string::npos);
    EXPECT_NE(metrics.find("rsfwd_peer_routes_accepted{peer=\"nva/nva1@0\",kind=\"nva\"} 1\n"),
              std::string::npos);
    if (std::system("command -v promtool >/dev/null 2>&1") == 0) {
        const auto mfile = write_temp(metrics, "metrics");
        const std::string cmd = "promtool check metrics < " + mfile + " 2>&1";
        std::string out;
        FILE* p = ::popen(cmd.c_str(), "r");
        ASSERT_NE(p, nullptr);
        char buf[512];
        while (std::fgets(buf, sizeof buf, p)) out += buf;
        const int rc = ::pclose(p);
        EXPECT_EQ(rc, 0) << out;
        EXPECT_EQ(out, "") << "promtool: " << out;
        std::filesystem::remove(mfile);
    }

    // Session loss: the NVA's routes leave the FIB (D9: recomputed at once).
    nva.stop();
    ASSERT_TRUE(run_until(
        io, [&] { return !sink.has("vnet", "192.168.10.0/24"); }, std::chrono::seconds(15)));
    cp.stop();
    io.run_for(std::chrono::milliseconds(100));
    std::filesystem::remove(file);
}

TEST(ControlPlane, E6FeedOnOneInstanceIsBoundedInTheLog) {
    // Issue #24: an NVA configured for both instances with only one session up, announcing
    // 20,000 prefixes three times, wrote one log line per prefix (120,003 lines). Now: one line
    // per condition and window (plus its summary); the full list is the `warnings` command.
    std::ostringstream out;
    auto old = spdlog::default_logger();
    spdlog::set_default_logger(std::make_shared<spdlog::logger>(
        "capture", std::make_shared<spdlog::sinks::ostream_sink_st>(out)));
    const std::uint16_t port = static_cast<std::uint16_t>(20000 + (::getpid() + 7) % 20000);
    boost::asio::io_context io;
    RecordingSink sink;
    const std::string yaml =
        bgp_yaml("  max_prefixes: 100000\n", "    bgp: {peer_ip: 127.0.0.25, hold_time: 9}\n");
    const auto file = write_temp(yaml, "e6");
    ControlPlaneOptions opt;
    opt.bgp_port = port;
    ControlPlane cp(io, load_config(file), &sink, opt);
    cp.start();
    NvaPeer nva_handler;
    bgp::Speaker nva(io, nva_handler, bgp::SpeakerOptions{port, true});
    nva.add_peer(nva_side("127.0.0.25", port)); // instance 0 only: 127.0.0.5 stays down
    nva.start();
    ASSERT_TRUE(run_until(
        io, [&] { return nva_handler.up; }, std::chrono::seconds(30)));
    std::vector<Route> routes;
    std::vector<Prefix> prefixes;
    for (std::uint32_t i = 0; i < 20000; ++i) {
        Route r;
        r.prefix = Prefix{IpAddr::v4(0x0B000000u + (i << 8)), 24};
        r.next_hop = *IpAddr::parse("10.1.2.4");
        r.as_path = AsPath::of({65001});
        routes.push_back(r);
        prefixes.push_back(r.prefix);
    }
    for (int round = 0; round < 3; ++round) {
        nva.advertise("ars0", routes);
        ASSERT_TRUE(run_until(
            io,
            [&] {
                return cp.handle("warnings", Json{{"limit", 0}}).at("count") == 20000;
            },
            std::chrono::seconds(30)));
        if (round < 2) {
            nva.withdraw("ars0", prefixes);
            ASSERT_TRUE(run_until(
                io,
                [&] {
                    return cp.handle("warnings", Json{{"limit", 0}}).at("count") == 0;
                },
                std::chrono::seconds(30)));
        }
    }
    const auto w = cp.handle("warnings", Json{{"limit", 3}});
    EXPECT_EQ(w.at("warnings").size(), 3u);
    spdlog::set_default_logger(old);
    std::istringstream in(out.str());
    std::size_t e6 = 0, lines = 0;
    for (std::string line; std::getline(in, line);) {
        ++lines;
        e6 += line.find("E6") != std::string::npos;
    }
    EXPECT_LE(e6, 2u) << out.str().substr(0, 4000);
    EXPECT_LT(lines, 100u);
    cp.stop();
}
