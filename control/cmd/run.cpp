// control/cmd/run.cpp — `rsfwd run`: the daemon. The EAL main lcore is the control thread:
// one loop that runs the Boost.Asio event loop (BGP sessions, the JSON API, /metrics) for a
// short slice, then one engine.control_poll() (punted packets: ARP, ICMP; neighbour timers;
// coalesced FIB publication). Workers run on the other lcores and never wait for it.
// `--backend xdp` swaps the DPDK engine for the XDP backend under the same control plane.
#include "control/cmd/run.hpp"

#include "bench/fwd/hooks.hpp"
#include "control/config.hpp"
#include "control/daemon/control_plane.hpp"
#include "control/log.hpp"
#include "dataplane/engine/config_map.hpp"
#include "dataplane/engine/engine.hpp"
#include "dataplane/engine/engine_sink.hpp"
#if RSFWD_HAVE_XDP
#include "dataplane/xdp/xdp_sink.hpp"
#endif

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <memory>

namespace rsfwd::dp {

namespace {

using bench::churn_report;
using bench::ChurnDriver;
using bench::install_random_destinations;
using bench::random_destinations;
using bench::read_bench_routes;

std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};
extern "C" void on_stop_signal(int) {
    g_stop.store(true);
}
extern "C" void on_hup_signal(int) {
    g_reload.store(true);
}
// --bench-churn: SIGUSR1 pauses the churn driver, SIGUSR2 resumes it (the harness compares
// windows with and without churn inside one process).
std::atomic<bool> g_churn_paused{false};
extern "C" void on_churn_pause_signal(int) {
    g_churn_paused.store(true);
}
extern "C" void on_churn_resume_signal(int) {
    g_churn_paused.store(false);
}

struct RunArgs {
    std::string config_path, stats_path, socket, metrics, backend = "dpdk", bench_routes;
    std::string xdp_mode = "auto";
    std::size_t random_dst = 0;
    double churn_rate = 0;
    std::string churn_next_hop;
    double duration = 0;
    std::uint16_t bgp_port = 179;
    bool no_bgp = false, no_icmp = false;
    EngineOptions opt;
    std::vector<std::string> eal{"rsfwd"};
};

// The control loop shared by both backends: poll_backend() runs after every batch of Asio
// handlers and at least once per slice; it returns the next slice (short while the backend has
// work in flight, longer when idle). The slice is an Asio timer, not io.run_for(): run_for
// waits in epoll_wait, whose timeout is whole milliseconds, so a 200 µs slice lasted ~1 ms and
// every FIB publication waited up to a millisecond for its turn (DESIGN: event → worker p99
// ≤ 1 ms). The timer is a timerfd, so the wake-up is on time; socket I/O wakes it earlier, and
// a shorter slice than the one armed re-arms it.
template <class PollBackend>
void control_loop(boost::asio::io_context& io, ControlPlane& cp, double duration,
                  PollBackend&& poll_backend) {
    using Clock = boost::asio::steady_timer::clock_type;
    const auto start = std::chrono::steady_clock::now();
    boost::asio::steady_timer tick(io);
    bool armed = false;
    Clock::time_point deadline{};
    std::chrono::microseconds slice = poll_backend();
    while (!g_stop.load()) {
        const auto now = Clock::now();
        if (!armed || now + slice < deadline) {
            deadline = now + slice;
            tick.expires_at(deadline); // cancels a later wait: its handler sees operation_aborted
            tick.async_wait([&armed](const boost::system::error_code& ec) {
                if (ec != boost::asio::error::operation_aborted) armed = false;
            });
            armed = true;
        }
        io.run_one(); // blocks until one handler ran: I/O, or the tick
        io.poll();    // and whatever else is ready now
        if (io.stopped()) io.restart();
        slice = poll_backend();
        if (g_reload.exchange(false)) {
            try {
                const auto r = cp.reload();
                spdlog::info("SIGHUP: reloaded ({} view changes)", r.value("view_changes", 0));
            } catch (const std::exception& e) {
                spdlog::error("SIGHUP: {}", e.what());
            }
        }
        if (duration > 0 &&
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >=
                duration) {
            break;
        }
    }
    tick.cancel();
    if (io.stopped()) io.restart();
    io.poll(); // runs the cancelled wait's handler now: `armed` dies with this frame
}

// Stop BGP gracefully (Cease), give the NOTIFICATIONs a moment on the wire.
void stop_control(boost::asio::io_context& io, ControlPlane& cp) {
    cp.stop();
    io.run_for(std::chrono::milliseconds(300));
    io.restart();
}

int write_stats(const nlohmann::json& j, const std::string& path) {
    std::cout << j.dump(2) << std::endl;
    if (path.empty()) return 0;
    std::ofstream out(path);
    out << j.dump(2) << '\n';
    if (!out) {
        spdlog::error("cannot write {}", path);
        return 1;
    }
    return 0;
}

ControlPlaneOptions control_options(const RunArgs& a) {
    ControlPlaneOptions o;
    o.socket_path = a.socket;
    o.bgp_port = a.bgp_port;
    o.bgp = !a.no_bgp;
    o.metrics_listen = a.metrics;
    return o;
}

// The policy's id of view vnet, where --bench-routes go.
ViewId vnet_view(ControlPlane& cp) {
    const auto& v = cp.policy().views();
    return static_cast<ViewId>(std::find(v.begin(), v.end(), "vnet") - v.begin());
}

// rsfwd's own addresses that are not port addresses (ARS, gateway and MSEE personas, BGP
// local_ip): traffic to them goes to the kernel (XDP_PASS), never through the FIB. Both backends:
// the XDP one, and the DPDK engine's net_af_xdp ports with the split program.
std::vector<IpAddr> persona_addresses(const Config& cfg) {
    std::vector<IpAddr> out(cfg.route_server.instance_ips.begin(),
                            cfg.route_server.instance_ips.end());
    if (cfg.expressroute_gateway) {
        for (const auto& ip : cfg.expressroute_gateway->instance_ips) out.push_back(ip);
        for (const auto& c : cfg.expressroute_gateway->circuits)
            if (c.bgp && c.bgp->local_ip) out.push_back(*c.bgp->local_ip);
    }
    if (cfg.vpn_gateway) {
        for (const auto& ip : cfg.vpn_gateway->instance_ips) out.push_back(ip);
        for (const auto& s : cfg.vpn_gateway->sites)
            if (s.bgp && s.bgp->local_ip) out.push_back(*s.bgp->local_ip);
    }
    for (const auto& n : cfg.nvas)
        if (n.bgp && n.bgp->local_ip) out.push_back(*n.bgp->local_ip);
    return out;
}

int run_dpdk(const RunArgs& a, const Config& cfg) {
    eal_init(a.eal);
    int rc = 0;
    {
        boost::asio::io_context io;
        EngineOptions opt = a.opt;
        opt.local_addresses = persona_addresses(cfg); // net_af_xdp split ports: to the kernel
        Engine engine(port_specs(cfg), neighbour_specs(cfg), opt);
        EngineSink sink(engine);
        ControlPlane cp(io, cfg, &sink, control_options(a));
        cp.start(); // static routes → compiler; API socket; BGP sessions
        std::vector<ViewChange> bench;
        if (!a.bench_routes.empty()) {
            bench = read_bench_routes(a.bench_routes, vnet_view(cp));
            sink.apply(bench);
            spdlog::info("bench: {} bench routes installed in view vnet", bench.size());
        }
        std::vector<std::uint32_t> random_dst;
        if (a.random_dst > 0) random_dst = random_destinations(bench, cfg, a.random_dst);
        std::unique_ptr<ChurnDriver> churn;
        std::string churn_port; // the port the churned next hops are on
        if (a.churn_rate > 0) {
            const auto alt = IpAddr::parse(a.churn_next_hop);
            if (bench.empty() || !alt) {
                throw std::runtime_error("--bench-churn needs --bench-routes and "
                                         "--bench-churn-next-hop ADDRESS");
            }
            for (const auto& p : cfg.ports)
                if (p.subnet.contains(*alt) || (p.subnet6 && p.subnet6->contains(*alt)))
                    churn_port = p.name;
            churn = std::make_unique<ChurnDriver>(std::move(bench), *alt, a.churn_rate);
        }
        bench.clear();
        bench.shrink_to_fit();
        engine.start();
        if (const std::size_t n = install_random_destinations(engine, std::move(random_dst)))
            spdlog::info("bench: {} random destinations stamped on RX", n);
        spdlog::info("forwarding on {} ports with {} workers; API {}", engine.ports().size(),
                     engine.workers(), a.socket.empty() ? "off" : a.socket);
        const Stats before = engine.stats();
        // 200 µs while anything is in flight (FIB events, a publication, punted packets), 1 ms
        // when idle: ARP/ICMP to us wait at most 1 ms, and an idle daemon wakes 1,000 times a
        // second, not 5,000 (the core it shares with BGP peers, generators, a lab).
        control_loop(io, cp, a.duration, [&] {
            if (churn) churn->poll(sink, g_churn_paused.load(std::memory_order_relaxed));
            engine.control_poll();
            const bool churning = churn && churn->active();
            return std::chrono::microseconds(churning || !engine.control_idle() ? 200 : 1000);
        });
        stop_control(io, cp);
        engine.flush_publication();
        engine.stop();
        nlohmann::json j = engine.stats_json();
        if (churn) j["churn"] = churn_report(*churn, before, engine.stats(), churn_port);
        j["control"] = nlohmann::json(cp.handle("stats", api::Json::object()).at("control"));
        rc = write_stats(j, a.stats_path);
    }
    eal_cleanup();
    return rc;
}

#if RSFWD_HAVE_XDP
// The XDP backend's ports are kernel interfaces: the kernel answers ARP and ICMP and runs BGP on
// them, and the backend resolves next hops from their subnets. So the config's port addresses
// must be on the interfaces; rsfwd adds the missing ones and removes only those on exit (a
// SIGKILLed run leaves them, and the next start finds them present).
class KernelAddresses {
public:
    KernelAddresses() = default;
    KernelAddresses(const KernelAddresses&) = delete;
    KernelAddresses& operator=(const KernelAddresses&) = delete;
    ~KernelAddresses() {
        for (const auto& a : added_) {
            try {
                xdp::change_address(a.ifindex, a.addr, a.len, false);
            } catch (const std::exception& e) {
                spdlog::warn("xdp: {}", e.what());
            }
        }
    }
    void ensure(const xdp::InterfaceInfo& info, const IpAddr& addr, int len) {
        for (std::size_t i = 0; i < info.addresses.size(); ++i) {
            if (info.addresses[i] == addr) {
                if (info.subnets[i].len != len) {
                    spdlog::warn("xdp: {} has {}/{}, the config says /{}", info.name, addr.str(),
                                 int(info.subnets[i].len), len);
                }
                return;
            }
        }
        xdp::change_address(info.ifindex, addr, len, true);
        added_.push_back({info.ifindex, addr, len});
        spdlog::info("xdp: added {}/{} to {}", addr.str(), len, info.name);
    }

private:
    struct Added {
        int ifindex;
        IpAddr addr;
        int len;
    };
    std::vector<Added> added_;
};

int run_xdp(const RunArgs& a, const Config& cfg) {
    const auto mode = xdp::parse_attach_mode(a.xdp_mode);
    if (!mode) throw std::runtime_error("--xdp-mode: auto, native or generic");
    boost::asio::io_context io;
    KernelAddresses addresses; // outlives the backend: removed after the programs are detached
    xdp::XdpBackend backend;
    for (const auto& p : cfg.ports) {
        const auto ifname = xdp_ifname(p.device);
        const auto info = xdp::read_interface(ifname);
        if (!info) {
            throw std::runtime_error("port " + p.name + ": no interface " + ifname +
                                     " in this network namespace");
        }
        addresses.ensure(*info, p.address, p.subnet.len);
        if (p.address6 && p.subnet6) addresses.ensure(*info, *p.address6, p.subnet6->len);
        if (p.mac && *p.mac != info->mac) {
            spdlog::warn("xdp: port {}: the config's mac is ignored, {} keeps {}", p.name, ifname,
                         xdp::mac_str(info->mac));
        }
        const auto st = backend.add_port(ifname, p.view, *mode);
        spdlog::info("xdp: {} ({}) attached in {} mode, view {}", p.name, st.ifname,
                     xdp::to_string(st.mode), p.view);
    }
    for (const auto& ip : persona_addresses(cfg)) backend.add_local_address(ip);
    XdpSink sink(backend); // the FIB compiler over the attached ports
    for (const auto& n : cfg.neighbours) sink.set_static_neighbour(n.ip, n.mac);
    sink.refresh_neighbours(); // the kernel's table before the first routes arrive
    ControlPlane cp(io, cfg, &sink, control_options(a));
    cp.start();
    if (!a.bench_routes.empty()) {
        const auto routes = read_bench_routes(a.bench_routes, vnet_view(cp));
        sink.apply(routes);
        spdlog::info("bench: {} bench routes installed in view vnet", routes.size());
    }
    spdlog::info("XDP backend forwarding on {} interfaces; API {}", cfg.ports.size(),
                 a.socket.empty() ? "off" : a.socket);
    auto last_refresh = std::chrono::steady_clock::now();
    control_loop(io, cp, a.duration, [&] {
        const auto now = std::chrono::steady_clock::now();
        if (now - last_refresh >= std::chrono::milliseconds(500)) {
            sink.refresh_neighbours(); // kernel ARP/ND table → next-hop MACs
            last_refresh = now;
        }
        return std::chrono::microseconds(50'000);
    });
    stop_control(io, cp);
    nlohmann::json j(sink.stats());
    j["control"] = nlohmann::json(cp.handle("stats", api::Json::object()).at("control"));
    backend.detach_all();
    return write_stats(j, a.stats_path);
}
#endif

} // namespace

int run_main(int argc, char** argv) {
    RunArgs a;
    std::vector<std::string> own{"rsfwd run"};
    bool after = false;
    for (int i = 1; i < argc; ++i) {
        const std::string s = argv[i];
        if (!after && s == "--") {
            after = true;
            continue;
        }
        (after ? a.eal : own).push_back(s);
    }
    CLI::App app{"rsfwd run: the Route Server daemon — BGP personas, policy, and forwarding on "
                 "the config's ports. EAL arguments go after `--`."};
    app.name("rsfwd run");
    a.socket = api::default_socket_path();
    app.add_option("--config,-c", a.config_path, "config file (YAML)")->required();
    app.add_option("--backend", a.backend, "dpdk (default) or xdp")
        ->check(CLI::IsMember({"dpdk", "xdp"}));
    app.add_option("--xdp-mode", a.xdp_mode,
                   "--backend xdp: auto (generic on veth), native or generic")
        ->check(CLI::IsMember({"auto", "native", "generic"}))
        ->capture_default_str();
    app.add_option("--duration", a.duration, "stop after SECS seconds (0 = until a signal)");
    app.add_option("--stats-json", a.stats_path, "write the final counters to FILE as JSON");
    app.add_option("--socket", a.socket, "JSON API socket for rsctl (\"\" = off)")
        ->capture_default_str();
    app.add_option("--metrics", a.metrics,
                   "serve Prometheus /metrics on ADDRESS:PORT ([ADDRESS]:PORT for IPv6)");
    app.add_option("--bgp-port", a.bgp_port, "BGP port of every persona")->capture_default_str();
    app.add_flag("--no-bgp", a.no_bgp, "no BGP sessions: static routes only");
    app.add_option("--bench-routes", a.bench_routes,
                   "benchmarks: FILE of \"PREFIX NEXT_HOP\" lines put straight into view vnet");
    app.add_option("--bench-random-dst", a.random_dst,
                   "benchmarks: stamp random FIB-covered IPv4 destinations (N, rounded up to a "
                   "power of two) into every received frame (DPDK backend)");
    app.add_option("--bench-churn", a.churn_rate,
                   "benchmarks: re-announce --bench-routes at RATE changes/s while forwarding "
                   "(SIGUSR1 pauses it, SIGUSR2 resumes)");
    app.add_option("--bench-churn-next-hop", a.churn_next_hop,
                   "benchmarks: the alternate next hop --bench-churn flips routes to");
    app.add_option("--rx-map", a.opt.rx_map, "PORT:QUEUE@LCORE,... (default: automatic)");
    app.add_option("--coalesce-us", a.opt.coalesce_us, "FIB publication coalescing window (µs)")
        ->capture_default_str();
    app.add_flag("--stage-cycles", a.opt.stage_cycles, "count TSC cycles per pipeline stage");
    app.add_option("--idle-sleep-us", a.opt.idle_sleep_us,
                   "workers sleep N µs per loop after 1024 empty polls (0 = busy-poll)")
        ->capture_default_str();
    app.add_flag("--no-icmp-errors", a.no_icmp, "do not send ICMP time-exceeded/unreachable");
    std::string log_level = "info";
    app.add_option("--log-level", log_level,
                   "log threshold: " + std::string(log::level_names) +
                       " (DPDK's follows it; an EAL --log-level after -- overrides DPDK's)")
        ->capture_default_str();
    app.add_flag("--allow-martian-sources", a.opt.allow_martian_sources,
                 "forward IPv4 sources in 0/8, 127/8, 224/4, 240/4 (RFC 1812 5.3.7 switch)");
    std::vector<char*> av;
    av.reserve(own.size());
    for (auto& s : own) av.push_back(s.data());
    try {
        app.parse(static_cast<int>(av.size()), av.data());
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }
    a.opt.icmp_errors = !a.no_icmp;
    const auto level = log::parse_level(log_level);
    if (!level) {
        std::fprintf(stderr, "rsfwd: --log-level: '%s' is not one of %s\n", log_level.c_str(),
                     std::string(log::level_names).c_str());
        return 2;
    }
    log::init("rsfwd", *level);
    if (!a.metrics.empty()) {
        try {
            (void)api::parse_listen(a.metrics); // refused here, before EAL and ports
        } catch (const std::invalid_argument& e) {
            std::fprintf(stderr, "rsfwd: --metrics: %s\n", e.what());
            return 2;
        }
    }

    Config cfg;
    try {
        cfg = load_config(a.config_path);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "rsfwd: %s\n", e.what());
        return 2;
    }
    for (const auto& w : cfg.warnings) spdlog::warn("config: {}", w);
    // The flag or the config's switch (RFC 1812 §5.3.7) lets martian sources through.
    a.opt.allow_martian_sources =
        a.opt.allow_martian_sources || cfg.dataplane.allow_martian_sources;
    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);
    std::signal(SIGHUP, on_hup_signal);
    // A peer that closed its end must be an error return, never a kill: DPDK's virtio_user
    // sends vhost-user messages with sendmsg() without MSG_NOSIGNAL, and rsfwd died of SIGPIPE
    // in shutdown (no stats written) after its vhost-user server had exited
    // (tests/dataplane/vhost_peer_gone.py).
    std::signal(SIGPIPE, SIG_IGN);
    if (a.churn_rate > 0) {
        std::signal(SIGUSR1, on_churn_pause_signal);
        std::signal(SIGUSR2, on_churn_resume_signal);
    }
    try {
        if (a.backend == "xdp") {
            if (a.random_dst > 0) {
                std::fprintf(stderr, "rsfwd: --bench-random-dst needs the DPDK backend\n");
                return 2;
            }
#if RSFWD_HAVE_XDP
            return run_xdp(a, cfg);
#else
            std::fprintf(stderr, "rsfwd: this build has no XDP backend (libbpf-dev, clang)\n");
            return 2;
#endif
        }
        return run_dpdk(a, cfg);
    } catch (const std::exception& e) {
        spdlog::critical("{}", e.what());
        return 1;
    }
}

} // namespace rsfwd::dp
