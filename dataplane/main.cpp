// dataplane/main.cpp — `rsfwd`: `plan` (the Route Server dry run, control/plan.hpp) and `run`
// (the DPDK daemon). Exit status: 0 ok, 1 runtime error, 2 usage or config error.
#include <atomic>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "control/config.hpp"
#include "control/plan.hpp"
#include "control/policy.hpp"
#include "dataplane/config_map.hpp"
#include "dataplane/engine.hpp"

namespace {

std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) {
    g_stop.store(true);
}

void usage() {
    std::puts("rsfwd " RSFWD_VERSION " — Azure Route Server emulator on a DPDK data plane\n"
              "\n"
              "usage:\n"
              "  rsfwd plan --config FILE [--json] ...      what Route Server would do (no DPDK)\n"
              "  rsfwd run --config FILE [--duration SECS] [--stats-json FILE]\n"
              "            [--rx-map PORT:Q@LCORE,...] [--coalesce-us N] [--stage-cycles]\n"
              "            [--no-icmp-errors] [-- EAL args]\n"
              "  rsfwd --help | --version\n"
              "\n"
              "run forwards on the config's ports until SIGINT/SIGTERM or --duration, then prints\n"
              "the final counters as JSON. Telemetry: /rsfwd/{stats,drops,ports,workers,fib}.");
}

int run_main(int argc, char** argv) {
    std::vector<std::string> own{"rsfwd run"}, eal{"rsfwd"};
    bool after = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (!after && a == "--") {
            after = true;
            continue;
        }
        (after ? eal : own).push_back(a);
    }
    CLI::App app{"rsfwd run: forward packets on the config's ports"};
    app.name("rsfwd run");
    std::string config_path, stats_path;
    double duration = 0;
    rsfwd::dp::EngineOptions opt;
    bool no_icmp = false;
    app.add_option("--config,-c", config_path, "config file (YAML)")->required();
    app.add_option("--duration", duration, "stop after SECS seconds (0 = until a signal)");
    app.add_option("--stats-json", stats_path, "write the final counters to FILE as JSON");
    app.add_option("--rx-map", opt.rx_map, "PORT:QUEUE@LCORE,... (default: automatic)");
    app.add_option("--coalesce-us", opt.coalesce_us, "FIB publication coalescing window (µs)");
    app.add_flag("--stage-cycles", opt.stage_cycles, "count TSC cycles per pipeline stage");
    app.add_flag("--no-icmp-errors", no_icmp, "do not send ICMP time-exceeded/unreachable");
    std::vector<char*> av;
    for (auto& s : own) av.push_back(s.data());
    try {
        app.parse(static_cast<int>(av.size()), av.data());
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }
    opt.icmp_errors = !no_icmp;

    rsfwd::Config cfg;
    try {
        cfg = rsfwd::load_config(config_path);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "rsfwd: %s\n", e.what());
        return 2;
    }
    for (const auto& w : cfg.warnings) std::fprintf(stderr, "rsfwd: warning: %s\n", w.c_str());
    try {
        // Installed before EAL init: a signal during set-up stops right after start.
        std::signal(SIGINT, on_signal);
        std::signal(SIGTERM, on_signal);
        rsfwd::RouteServer rs(cfg);
        (void)rs.announce_config_routes();
        rsfwd::dp::eal_init(eal);
        int rc = 0;
        {
            rsfwd::dp::Engine engine(rsfwd::dp::port_specs(cfg), rsfwd::dp::neighbour_specs(cfg),
                                     opt);
            for (const std::string& v : engine.compiler().views()) {
                const auto routes = rs.view(v);
                engine.compiler().set_view(v, routes);
            }
            engine.start();
            std::fprintf(stderr, "rsfwd: forwarding on %zu ports with %u workers\n",
                         engine.ports().size(), engine.workers());
            engine.run(&g_stop, duration);
            engine.stop();
            const nlohmann::json j = engine.stats_json();
            std::cout << j.dump(2) << std::endl;
            if (!stats_path.empty()) {
                std::ofstream out(stats_path);
                out << j.dump(2) << '\n';
                if (!out) {
                    std::fprintf(stderr, "rsfwd: cannot write %s\n", stats_path.c_str());
                    rc = 1;
                }
            }
        }
        rsfwd::dp::eal_cleanup();
        return rc;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "rsfwd: %s\n", e.what());
        return 1;
    }
}

} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        usage();
        return 2;
    }
    const std::string cmd = argv[1];
    if (cmd == "--help" || cmd == "-h" || cmd == "help") {
        usage();
        return 0;
    }
    if (cmd == "--version") {
        std::puts("rsfwd " RSFWD_VERSION);
        return 0;
    }
    if (cmd == "plan") return rsfwd::plan_main(argc - 1, argv + 1);
    if (cmd == "run") return run_main(argc - 1, argv + 1);
    std::fprintf(stderr, "rsfwd: unknown command '%s' (try --help)\n", cmd.c_str());
    return 2;
}
