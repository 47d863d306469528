// The real `rsctl` binary against a real ControlPlane serving its API socket in-process: a
// Route Server with an Established BGP NVA (a second Speaker over loopback), an NVA whose
// session never comes up, a static ExpressRoute circuit and VPN site, and a forwarding sink
// whose `stats` has the engine's shape (ports, workers with nested drops, FIB latency buckets).
// argv[1] is the path of the rsctl binary (meson passes it).
#include "control/daemon/control_plane.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace rsfwd;
using api::Json;

namespace {

std::string g_rsctl;
std::vector<std::string> g_tools; // rsfwd, rsfwd-plan, rsfwd-bgp, rsfwd-xdp: for --version

struct RunResult {
    int status = -1;
    std::string out; // stdout
    std::string err; // stderr
};

RunResult run(const std::string& cmdline) {
    RunResult r;
    const auto err_file = "/tmp/rsfwd-rsctl-err-" + std::to_string(::getpid());
    FILE* p = ::popen((cmdline + " 2>" + err_file).c_str(), "r");
    if (!p) return r;
    std::array<char, 4096> buf{};
    while (std::fgets(buf.data(), buf.size(), p)) r.out += buf.data();
    const int st = ::pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    std::ifstream in(err_file);
    std::stringstream ss;
    ss << in.rdbuf();
    r.err = ss.str();
    std::filesystem::remove(err_file);
    return r;
}

std::size_t widest_line(const std::string& text) {
    std::size_t widest = 0, cur = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c == '\n') {
            widest = std::max(widest, cur);
            cur = 0;
        } else if ((c & 0xC0) != 0x80) {
            ++cur; // one column per UTF-8 character
        }
    }
    return std::max(widest, cur);
}

// `rsctl stats` of a DPDK daemon: the shape of dp::to_json(Stats) (dataplane/engine).
class EngineShapedSink final : public ForwardingSink {
public:
    void bind_views(std::span<const ViewName>) override {}
    void apply(std::span<const ViewChange> changes) override { applied += changes.size(); }
    [[nodiscard]] Json stats() const override {
        const char* drops[] = {
            "no_route",       "ttl_expired",        "bad_header",       "bad_checksum",
            "not_ip",         "not_for_us",         "arp_unresolved",   "no_adjacency",
            "tx_full",        "punt_full",          "inject_full",      "to_us_other",
            "l2_not_unicast", "martian_src",        "martian_dst",      "link_local",
            "frag_to_us",     "directed_broadcast", "neighbour_invalid"};
        Json drop_obj = Json::object();
        for (const auto* d : drops) drop_obj[d] = 12345;
        Json ports = Json::array();
        for (const char* name : {"vms", "nva", "er-onprem"}) {
            ports.push_back({{"name", name},
                             {"port_id", 0},
                             {"rx_queues", 2},
                             {"tx_queues", 3},
                             {"rx_pkts", 123456789012},
                             {"rx_bytes", 98765432109876},
                             {"tx_pkts", 123456789012},
                             {"tx_bytes", 98765432109876},
                             {"hw_ipackets", 123456789012},
                             {"hw_opackets", 123456789012},
                             {"hw_imissed", 0},
                             {"hw_ierrors", 0},
                             {"hw_oerrors", 0},
                             {"hw_rx_nombuf", 0}});
        }
        Json workers = Json::array();
        for (int lcore : {1, 2}) {
            workers.push_back(
                {{"lcore", lcore},
                 {"rx_pkts", 61728394506},
                 {"rx_bytes", 49382716054938},
                 {"tx_pkts", 61728394506},
                 {"tx_bytes", 49382716054938},
                 {"punted", 42},
                 {"loops", 9876543210},
                 {"busy_loops", 876543210},
                 {"idle_sleeps", 76543210},
                 {"generation", 17},
                 {"drops", drop_obj},
                 {"stage_cycles",
                  {{"rx", 111}, {"parse", 222}, {"lookup", 333}, {"resolve", 44}, {"tx", 555}}}});
        }
        Json buckets = Json::array();
        for (int i = 0; i < 64; ++i) buckets.push_back(i < 20 ? 1000 + i : 0);
        const Json out = {
            {"ports", ports},
            {"workers", workers},
            {"drops", drop_obj},
            {"control", {{"arp_requests", 3}, {"arp_replies", 3}, {"punts", 42}}},
            {"fib",
             {{"generation", 17},
              {"publications", 17},
              {"queue_full", 0},
              {"publish_latency_ns",
               {{"count", 17}, {"p50", 51200}, {"p99", 409600}, {"log2_buckets", buckets}}},
              {"views", Json::array({{{"name", "vnet"},
                                      {"routes_v4", 1000000},
                                      {"routes_v6", 0},
                                      {"root_bits_v4", 24},
                                      {"root_bits_v6", 24},
                                      {"lpm_bytes", 123456789},
                                      {"lpm_lookup_bytes", 67108864}},
                                     {{"name", "er/onprem"},
                                      {"routes_v4", 12},
                                      {"routes_v6", 0},
                                      {"root_bits_v4", 16},
                                      {"root_bits_v6", 16},
                                      {"lpm_bytes", 262144},
                                      {"lpm_lookup_bytes", 262144}}})}}},
            {"mbufs", {{"total", 65535}, {"in_use", 4096}}},
            {"tsc_hz", 2100000000}};
        // Through nlohmann::json, as the engine's sink does: the keys come out sorted.
        return Json::parse(nlohmann::json::parse(out.dump()).dump());
    }
    [[nodiscard]] std::optional<Json> lookup(const std::string&, const IpAddr&) const override {
        return std::nullopt;
    }
    std::size_t applied = 0;
};

struct NvaPeer final : bgp::SpeakerHandler {
    bool up = false;
    void on_established(const std::string&) override { up = true; }
    void on_routes(const std::string&, std::vector<Route>, std::vector<Prefix>) override {}
    void on_down(const std::string&, const std::string&) override { up = false; }
    void on_route_refresh(const std::string&) override {}
};

// The daemon: ControlPlane + an NVA speaker on one io_context, run on its own thread once the
// session is up (as rsfwd runs it on the control thread).
class Daemon {
public:
    Daemon() {
        const auto port = static_cast<std::uint16_t>(30000 + ::getpid() % 20000);
        socket = "/tmp/rsfwd-rsctl-" + std::to_string(::getpid()) + ".sock";
        config_file = "/tmp/rsfwd-rsctl-" + std::to_string(::getpid()) + ".yaml";
        std::ofstream(config_file) << R"(route_server:
  instance_ips: [127.0.0.4, 127.0.0.5]
  branch_to_branch: false
vnet:
  address_space: [10.1.0.0/16]
ports:
  - {name: nva, device: "net_null0", address: 10.1.2.1/24, view: vnet}
  - {name: er, device: "net_null1", address: 192.0.2.1/30, view: er/onprem}
  - {name: vpn-branch, device: "net_null2", address: 192.0.2.5/30, view: vpn/branch}
expressroute_gateway:
  instance_ips: [10.1.1.4, 10.1.1.5]
  circuits:
    - name: onprem
      port: er
      onprem_asn: 65100
      edge_ip: 192.0.2.2
      routes:
        - {prefix: 172.16.0.0/16, as_path: "65100"}
vpn_gateway:
  instance_ips: [10.1.1.6, 10.1.1.7]
  sites:
    - name: branch
      port: vpn-branch
      asn: 65200
      device_ip: 192.0.2.6
      routes:
        - {prefix: 172.16.5.0/24, as_path: ""}
nvas:
  - name: sdwan
    asn: 65001
    ip: 10.1.2.4
    port: nva
    peers_with: [0]
    bgp: {peer_ip: 127.0.0.24, hold_time: 9}
  - name: firewall
    asn: 65002
    ip: 10.1.2.5
    port: nva
    peers_with: [0]
    bgp: {peer_ip: 127.0.0.25, hold_time: 9}
)";
        ControlPlaneOptions opt;
        opt.socket_path = socket;
        opt.bgp_port = port;
        cp = std::make_unique<ControlPlane>(io, load_config(config_file), &sink, opt);
        cp->start();
        nva = std::make_unique<bgp::Speaker>(io, nva_handler, bgp::SpeakerOptions{port, true});
        bgp::PeerConfig pc;
        pc.name = "ars0";
        pc.local_address = *IpAddr::parse("127.0.0.24");
        pc.local_as = 65001;
        pc.remote_address = *IpAddr::parse("127.0.0.4");
        pc.remote_as = 65515;
        pc.remote_port = port;
        pc.passive = true;
        pc.hold_time = 9;
        pc.multihop_ttl = 255;
        nva->add_peer(pc);
        nva->start();
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (!nva_handler.up && std::chrono::steady_clock::now() < deadline) {
            io.run_for(std::chrono::milliseconds(20));
            io.restart();
        }
        established = nva_handler.up;
        thread = std::thread([this] {
            auto guard = boost::asio::make_work_guard(io);
            io.run();
        });
    }
    ~Daemon() {
        std::promise<void> done;
        boost::asio::post(io, [&] {
            nva->stop();
            cp->stop();
            done.set_value();
        });
        done.get_future().wait();
        io.stop();
        thread.join();
        nva.reset();
        cp.reset();
        std::filesystem::remove(config_file);
    }
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;

    [[nodiscard]] std::string rsctl() const { return g_rsctl + " --socket " + socket; }

    boost::asio::io_context io;
    EngineShapedSink sink;
    NvaPeer nva_handler;
    std::unique_ptr<ControlPlane> cp;
    std::unique_ptr<bgp::Speaker> nva;
    std::string socket, config_file;
    bool established = false;
    std::thread thread;
};

Daemon& daemon() {
    static Daemon d; // one daemon for the suite: the BGP session takes a second to come up
    return d;
}

} // namespace

TEST(RsctlCli, UnknownCommandSuggestsAndExits2) {
    auto r = run(g_rsctl + " pers");
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_EQ(r.err, "rsctl: unknown command 'pers' (did you mean 'peers'?)\n");
    auto nested = run(g_rsctl + " routes lernd nva/sdwan@0");
    EXPECT_EQ(nested.status, 2);
    EXPECT_NE(nested.err.find("unknown command 'routes lernd' (did you mean 'routes learned'?)"),
              std::string::npos)
        << nested.err;
}

TEST(RsctlCli, UnknownOptionIsNamedAndExits2) {
    auto r = run(g_rsctl + " --bogus");
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find("unknown option '--bogus'"), std::string::npos) << r.err;
    auto typo = run(g_rsctl + " peers --jsn");
    EXPECT_EQ(typo.status, 2);
    EXPECT_NE(typo.err.find("unknown option '--jsn' (did you mean '--json'?)"), std::string::npos)
        << typo.err;
}

TEST(RsctlCli, VersionPrintsAndExits0) {
    auto r = run(g_rsctl + " --version");
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "rsctl " RSFWD_VERSION "\n");
}

TEST(RsctlCli, EveryToolPrintsItsVersion) {
    ASSERT_FALSE(g_tools.empty());
    for (const auto& tool : g_tools) {
        auto r = run(tool + " --version");
        EXPECT_EQ(r.status, 0) << tool << ": " << r.err;
        EXPECT_EQ(r.out, std::filesystem::path(tool).filename().string() + " " RSFWD_VERSION "\n");
    }
}

TEST(RsctlCli, BadPrefixIsAUsageError) {
    // Checked before any request: exit 2 even with no daemon, and the reason is the real one.
    auto r = run(g_rsctl + " --socket /tmp/rsfwd-test-nobody.sock announce vpn/branch 10.0.0.0/33");
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_NE(r.err.find("not a prefix: 10.0.0.0/33"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("host bits"), std::string::npos) << r.err;
    auto host = run(g_rsctl + " withdraw vpn/branch 10.0.0.1/24");
    EXPECT_EQ(host.status, 2);
    EXPECT_NE(host.err.find("10.0.0.0/24"), std::string::npos) << host.err;
}

TEST(RsctlCli, UnreachableDaemonExits3SayingWhy) {
    const std::string missing = "/tmp/rsfwd-test-missing-" + std::to_string(::getpid()) + ".sock";
    auto r = run(g_rsctl + " --socket " + missing + " peers --json");
    EXPECT_EQ(r.status, 3);
    EXPECT_NE(r.err.find("no socket at " + missing), std::string::npos) << r.err;
    // A socket file nobody listens on (a daemon that was killed): refused, not "missing".
    const std::string stale = "/tmp/rsfwd-test-stale-" + std::to_string(::getpid()) + ".sock";
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, stale.c_str(), sizeof sa.sun_path - 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    auto refused = run(g_rsctl + " --json --socket " + stale + " stats");
    ::close(fd);
    std::filesystem::remove(stale);
    EXPECT_EQ(refused.status, 3);
    EXPECT_NE(refused.err.find("nothing listens on " + stale), std::string::npos) << refused.err;
}

TEST(RsctlCli, CompletionListsTheCommands) {
    auto r = run(g_rsctl + " --completion bash");
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("complete -F _rsctl rsctl"), std::string::npos);
    for (const char* w : {"peers", "learned", "branch-to-branch", "--json", "ExpressRoute"})
        EXPECT_NE(r.out.find(w), std::string::npos) << w;
    auto syntax = run("bash -n -c \"$(" + g_rsctl + " --completion bash)\"");
    EXPECT_EQ(syntax.status, 0) << syntax.err;
}

TEST(RsctlDaemon, JsonAnywhereOnTheLine) {
    auto& d = daemon();
    auto after = run(d.rsctl() + " peers --json");
    auto before = run(g_rsctl + " --json --socket " + d.socket + " peers");
    ASSERT_EQ(after.status, 0) << after.err;
    ASSERT_EQ(before.status, 0) << before.err;
    const auto a = Json::parse(after.out);
    EXPECT_EQ(a, Json::parse(before.out));
    EXPECT_EQ(a.at(0).at("name"), "nva/sdwan@0");
    auto nested = run(d.rsctl() + " routes learned er/onprem --json");
    ASSERT_EQ(nested.status, 0) << nested.err;
    EXPECT_EQ(Json::parse(nested.out).at(0).at("prefix"), "172.16.0.0/16");
}

TEST(RsctlDaemon, PeersTableFits100ColumnsWithReadableUptime) {
    auto& d = daemon();
    ASSERT_TRUE(d.established);
    auto r = run(d.rsctl() + " peers");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_LE(widest_line(r.out), 100u) << r.out;
    EXPECT_EQ(r.out.rfind("NAME", 0), 0u) << r.out; // names first
    std::istringstream lines(r.out);
    std::string line;
    bool saw_up = false, saw_down = false;
    while (std::getline(lines, line)) {
        if (line.rfind("nva/sdwan@0", 0) == 0) {
            saw_up = true;
            EXPECT_NE(line.find("Established"), std::string::npos) << line;
            EXPECT_NE(line.find("00:00:"), std::string::npos) << line; // HH:MM:SS
        }
        if (line.rfind("nva/firewall@0", 0) == 0) {
            saw_down = true; // never up: no counting uptime
            EXPECT_EQ(line.find("00:00:"), std::string::npos) << line;
        }
    }
    EXPECT_TRUE(saw_up && saw_down) << r.out;
    // Why the down session is down, in full, under the table.
    EXPECT_NE(r.out.find("nva/firewall@0: connect: Connection refused"), std::string::npos)
        << r.out;
    auto wide = run(d.rsctl() + " peers --wide");
    ASSERT_EQ(wide.status, 0);
    EXPECT_NE(wide.out.find("WRITE QUEUE BYTES"), std::string::npos) << wide.out;
}

TEST(RsctlDaemon, StatsFits100ColumnsWithoutRawJson) {
    auto& d = daemon();
    auto r = run(d.rsctl() + " stats");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_LE(widest_line(r.out), 100u) << r.out;
    EXPECT_EQ(r.out.find('{'), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find('"'), std::string::npos) << r.out;
    for (const char* w : {"no_route", "hw_imissed", "lookup=333", "LPM BYTES"})
        EXPECT_NE(r.out.find(w), std::string::npos) << w << "\n" << r.out;
    // Rows are named by their name (or lcore) first, whatever order the keys come in.
    EXPECT_NE(r.out.find("\n    er-onprem  "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\n    lcore=2  "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\n      NAME "), std::string::npos) << r.out; // fib views table
}

TEST(RsctlDaemon, RouteTablesShowEmptyAsPaths) {
    auto& d = daemon();
    auto r = run(d.rsctl() + " routes learned vpn/branch");
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("172.16.5.0/24"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("(empty)"), std::string::npos) << r.out;
}

TEST(RsctlDaemon, RejectedAnnounceExits1WithTheReason) {
    auto& d = daemon();
    // C5: a VPN site may not announce VNet space.
    auto r = run(d.rsctl() + " announce vpn/branch 10.1.5.0/24");
    EXPECT_EQ(r.status, 1) << r.out << r.err;
    EXPECT_NE(r.err.find("C5"), std::string::npos) << r.err;
    auto ok = run(d.rsctl() + " announce vpn/branch 172.16.9.0/24");
    EXPECT_EQ(ok.status, 0) << ok.err;
    EXPECT_NE(ok.out.find("accepted"), std::string::npos) << ok.out;
}

TEST(RsctlDaemon, WithdrawOfAPrefixNeverAnnouncedExits1) {
    auto& d = daemon();
    auto r = run(d.rsctl() + " withdraw vpn/branch 172.16.77.0/24");
    EXPECT_EQ(r.status, 1) << r.out;
    EXPECT_EQ(r.out.find("withdrawn"), std::string::npos) << r.out;
    EXPECT_NE(r.err.find("not announced"), std::string::npos) << r.err;
    ASSERT_EQ(run(d.rsctl() + " announce vpn/branch 172.16.78.0/24").status, 0);
    auto ok = run(d.rsctl() + " withdraw vpn/branch 172.16.78.0/24");
    EXPECT_EQ(ok.status, 0) << ok.err;
    EXPECT_NE(ok.out.find("withdrawn"), std::string::npos) << ok.out;
}

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    if (argc > 1) g_rsctl = argv[1];
    for (int i = 2; i < argc; ++i) g_tools.emplace_back(argv[i]);
    return RUN_ALL_TESTS();
}
