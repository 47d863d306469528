// dataplane/daemon_main.cpp — `rsfwd run`: the daemon. The EAL main lcore is the control thread:
// one loop that runs the Boost.Asio event loop (BGP sessions, the JSON API, /metrics) for a
// short slice, then one engine.control_poll() (punted packets: ARP, ICMP; neighbour timers;
// coalesced FIB publication). Workers run on the other lcores and never wait for it.
// `--backend xdp` swaps the DPDK engine for the XDP backend under the same control plane.
#include "dataplane/daemon_main.hpp"

#include "control/config.hpp"
#include "control/daemon/control_plane.hpp"
#include "dataplane/config_map.hpp"
#include "dataplane/engine.hpp"
#include "dataplane/engine_sink.hpp"
#if RSFWD_HAVE_XDP
#include "dataplane/xdp_sink.hpp"
#endif

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>

namespace rsfwd::dp {

namespace {

std::atomic<bool> g_stop{false};
std::atomic<bool> g_reload{false};
extern "C" void on_stop_signal(int) {
    g_stop.store(true);
}
extern "C" void on_hup_signal(int) {
    g_reload.store(true);
}

struct RunArgs {
    std::string config_path, stats_path, socket, metrics, backend = "dpdk", bench_routes;
    double duration = 0;
    std::uint16_t bgp_port = 179;
    bool no_bgp = false, no_icmp = false;
    EngineOptions opt;
    std::vector<std::string> eal{"rsfwd"};
};

// The control loop shared by both backends. poll_backend() runs once per slice.
template <class PollBackend>
void control_loop(boost::asio::io_context& io, ControlPlane& cp, double duration,
                  std::chrono::microseconds slice, PollBackend&& poll_backend) {
    const auto start = std::chrono::steady_clock::now();
    while (!g_stop.load()) {
        io.run_for(slice);
        io.restart();
        poll_backend();
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
        std::fprintf(stderr, "rsfwd: cannot write %s\n", path.c_str());
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

// `--bench-routes FILE`: "PREFIX NEXT_HOP" per line ('#' comments), installed straight into the
// vnet view — bypassing the policy — so that benchmarks can forward on 1M-route FIBs without a
// 1M-route YAML. Malformed lines stop the start with the line number.
std::vector<ViewChange> read_bench_routes(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read --bench-routes file " + path);
    std::vector<ViewChange> out;
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
        if (line.empty() || line[0] == '#') continue;
        const auto sp = line.find(' ');
        const auto pfx = Prefix::parse(line.substr(0, sp));
        const auto nh = sp == std::string::npos ? std::nullopt : IpAddr::parse(line.substr(sp + 1));
        if (!pfx || !nh) {
            throw std::runtime_error(path + ":" + std::to_string(n) +
                                     ": expected \"PREFIX NEXT_HOP\", got \"" + line + "\"");
        }
        ViewRoute r{*pfx, RouteSource::nva, {*nh}};
        out.push_back(ViewChange{"vnet", *pfx, std::move(r)});
    }
    return out;
}

int run_dpdk(const RunArgs& a, const Config& cfg) {
    eal_init(a.eal);
    int rc = 0;
    {
        boost::asio::io_context io;
        Engine engine(port_specs(cfg), neighbour_specs(cfg), a.opt);
        EngineSink sink(engine);
        ControlPlane cp(io, cfg, &sink, control_options(a));
        cp.start(); // static routes → compiler; API socket; BGP sessions
        if (!a.bench_routes.empty()) {
            const auto routes = read_bench_routes(a.bench_routes);
            sink.apply(routes);
            std::fprintf(stderr, "rsfwd: %zu bench routes installed in view vnet\n", routes.size());
        }
        engine.start();
        std::fprintf(stderr, "rsfwd: forwarding on %zu ports with %u workers; API %s\n",
                     engine.ports().size(), engine.workers(),
                     a.socket.empty() ? "off" : a.socket.c_str());
        control_loop(io, cp, a.duration, std::chrono::microseconds(200),
                     [&engine] { engine.control_poll(); });
        stop_control(io, cp);
        engine.flush_publication();
        engine.stop();
        nlohmann::json j = engine.stats_json();
        j["control"] =
            nlohmann::json::parse(cp.handle("stats", api::Json::object()).at("control").dump());
        rc = write_stats(j, a.stats_path);
    }
    eal_cleanup();
    return rc;
}

#if RSFWD_HAVE_XDP
int run_xdp(const RunArgs& a, const Config& cfg) {
    boost::asio::io_context io;
    xdp::XdpBackend backend;
    for (const auto& p : cfg.ports) {
        const auto st = backend.add_port(xdp_ifname(p.device), p.view);
        spdlog::info("xdp: {} ({}) attached in {} mode, view {}", p.name, st.ifname,
                     xdp::to_string(st.mode), p.view);
    }
    for (const auto& n : cfg.neighbours) backend.set_static_neighbour(n.ip, n.mac);
    XdpSink sink(backend);
    ControlPlane cp(io, cfg, &sink, control_options(a));
    cp.start();
    std::fprintf(stderr, "rsfwd: XDP backend forwarding on %zu interfaces; API %s\n",
                 cfg.ports.size(), a.socket.empty() ? "off" : a.socket.c_str());
    auto last_refresh = std::chrono::steady_clock::now() - std::chrono::seconds(1);
    control_loop(io, cp, a.duration, std::chrono::milliseconds(50), [&] {
        const auto now = std::chrono::steady_clock::now();
        if (now - last_refresh >= std::chrono::seconds(1)) {
            backend.refresh_neighbours(); // kernel ARP table → next-hop MACs
            last_refresh = now;
        }
    });
    stop_control(io, cp);
    nlohmann::json j = nlohmann::json::parse(sink.stats().dump());
    j["control"] =
        nlohmann::json::parse(cp.handle("stats", api::Json::object()).at("control").dump());
    backend.detach_all();
    return write_stats(j, a.stats_path);
}
#endif

} // namespace

int daemon_main(int argc, char** argv) {
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
    app.add_option("--duration", a.duration, "stop after SECS seconds (0 = until a signal)");
    app.add_option("--stats-json", a.stats_path, "write the final counters to FILE as JSON");
    app.add_option("--socket", a.socket, "JSON API socket for rsctl (\"\" = off)")
        ->capture_default_str();
    app.add_option("--metrics", a.metrics, "serve Prometheus /metrics on ADDRESS:PORT");
    app.add_option("--bgp-port", a.bgp_port, "BGP port of every persona")->capture_default_str();
    app.add_flag("--no-bgp", a.no_bgp, "no BGP sessions: static routes only");
    app.add_option("--bench-routes", a.bench_routes,
                   "benchmarks: FILE of \"PREFIX NEXT_HOP\" lines put straight into view vnet");
    app.add_option("--rx-map", a.opt.rx_map, "PORT:QUEUE@LCORE,... (default: automatic)");
    app.add_option("--coalesce-us", a.opt.coalesce_us, "FIB publication coalescing window (µs)")
        ->capture_default_str();
    app.add_flag("--stage-cycles", a.opt.stage_cycles, "count TSC cycles per pipeline stage");
    app.add_flag("--no-icmp-errors", a.no_icmp, "do not send ICMP time-exceeded/unreachable");
    std::vector<char*> av;
    for (auto& s : own) av.push_back(s.data());
    try {
        app.parse(static_cast<int>(av.size()), av.data());
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }
    a.opt.icmp_errors = !a.no_icmp;

    Config cfg;
    try {
        cfg = load_config(a.config_path);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "rsfwd: %s\n", e.what());
        return 2;
    }
    for (const auto& w : cfg.warnings) std::fprintf(stderr, "rsfwd: warning: %s\n", w.c_str());
    std::signal(SIGINT, on_stop_signal);
    std::signal(SIGTERM, on_stop_signal);
    std::signal(SIGHUP, on_hup_signal);
    try {
        if (a.backend == "xdp") {
#if RSFWD_HAVE_XDP
            return run_xdp(a, cfg);
#else
            std::fprintf(stderr, "rsfwd: this build has no XDP backend (libbpf-dev, clang)\n");
            return 2;
#endif
        }
        return run_dpdk(a, cfg);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "rsfwd: %s\n", e.what());
        return 1;
    }
}

} // namespace rsfwd::dp
