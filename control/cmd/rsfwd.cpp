// control/cmd/rsfwd.cpp — `rsfwd`: `plan` (the Route Server dry run, control/plan.hpp) and `run`
// (the DPDK daemon). Exit status: 0 ok, 1 runtime error, 2 usage or config error.
#include <cstdio>
#include <string>

#include "control/cmd/run.hpp"
#include "control/plan.hpp"

namespace {

void usage() {
    std::puts(
        "rsfwd " RSFWD_VERSION " — Azure Route Server emulator on a DPDK data plane\n"
        "\n"
        "usage:\n"
        "  rsfwd plan --config FILE [--json] ...      what Route Server would do (no DPDK)\n"
        "  rsfwd run --config FILE [--backend dpdk|xdp] [--socket PATH] [--metrics ADDR:PORT]\n"
        "            [--duration SECS] [--stats-json FILE] [--bgp-port N] [--no-bgp]\n"
        "            [--rx-map PORT:Q@LCORE,...] [--coalesce-us N] [--stage-cycles]\n"
        "            [--no-icmp-errors] [--bench-routes FILE] [-- EAL args]\n"
        "  rsfwd --help | --version\n"
        "\n"
        "run is the daemon: BGP personas (Route Server, MSEE, VPN gateway), the policy, the JSON\n"
        "API for rsctl, and forwarding on the config's ports until SIGINT/SIGTERM or\n"
        "--duration (SIGHUP reloads the config); it then prints the final counters as JSON.\n"
        "Telemetry: /rsfwd/{stats,drops,ports,workers,fib}. `rsfwd run --help` for details.");
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
    if (cmd == "run") return rsfwd::dp::run_main(argc - 1, argv + 1);
    std::fprintf(stderr, "rsfwd: unknown command '%s' (try --help)\n", cmd.c_str());
    return 2;
}
