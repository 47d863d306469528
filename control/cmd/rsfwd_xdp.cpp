// control/cmd/rsfwd_xdp.cpp — `rsfwd-xdp`: the XDP backend and the AF_XDP split program
// as a standalone tool (`rsfwd run --backend xdp` is the daemon on the same backend). Routes go
// through the same FIB compiler as the daemon's (XdpFib): this tool only keeps the routes it was
// given, to answer `del` and count them.
//
//   rsfwd-xdp forward --port r1=vnet --port r2=vnet --config routes.txt [--stdin]
//   rsfwd-xdp split --iface eth1 --local 10.0.0.1 [--configure-attached | --show-attached]
//   rsfwd-xdp write-object /tmp/rsfwd_split.bpf.o
//
// The command language (config file lines, and stdin lines with --stdin; '#' starts a comment):
//   port IFNAME VIEW [auto|native|generic]  config file (or --port) only: the compiler's ports
//                                           are fixed before the first route
//   route VIEW PREFIX [via NH [NH...]]     no `via`: connected (D11); several NH: ECMP (D7);
//                                           a NH no port subnet holds is left out (blackhole)
//   blackhole VIEW PREFIX
//   del VIEW PREFIX
//   neigh ADDR MAC [IFNAME]                 static neighbour (its port: the subnet holding ADDR)
//   local ADDR                              extra address punted to the kernel
//   refresh | stats | quit
// Every stdin command answers one JSON line: {"ok":true} / {"ok":false,"error":"..."} / stats.
// The process detaches everything on exit, SIGINT, SIGTERM — and, through bpf_link, on SIGKILL.
#include "dataplane/xdp/xdp_backend.hpp"
#include "dataplane/xdp/xdp_fib.hpp"
#include "dataplane/xdp/xdp_split.hpp"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

using namespace rsfwd;
using namespace rsfwd::xdp;
using json = nlohmann::json;

namespace {

volatile std::sig_atomic_t g_stop = 0;

void on_signal(int) {
    g_stop = 1;
}

void install_signals() {
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; // no SA_RESTART: poll() returns EINTR and the loop sees g_stop
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);
}

// The forwarding tool's state: the backend, the compiler feeding it (built once the ports are
// known) and the routes given so far (the tool's RIB, not a FIB: the compiler owns that).
struct Forwarder {
    XdpBackend be;
    std::unique_ptr<XdpFib> fib;
    std::map<std::pair<ViewName, Prefix>, ViewRoute> routes;

    XdpFib& need_fib() {
        if (!fib) {
            fib = std::make_unique<XdpFib>(be);
            check(fib->refresh_neighbours());
        }
        return *fib;
    }
    // Map writes the command caused: a failed one fails the command.
    static void check(const ApplyResult& r) {
        if (r.failed) throw XdpError(r.first_error);
    }
    void change(const ViewName& view, const Prefix& p, std::optional<ViewRoute> r) {
        need_fib().change(view, p, r);
        if (r)
            routes[{view, p}] = *r;
        else
            routes.erase({view, p});
        check(fib->flush());
        // The kernel resolves on demand only: ask now for the next hops it does not know yet
        // (refresh_neighbours() asks again until it does).
        const auto& comp = fib->compiler();
        for (const IpAddr& nh : r ? r->next_hops : NextHops{})
            if (auto a = comp.find_neighbour(nh); a && !comp.neighbour_info(*a).resolved)
                kick_resolution(comp.ports()[comp.neighbour_info(*a).port].port_id, nh);
    }
};

json stats_json(const Forwarder& f) {
    json j;
    auto c = f.be.counters();
    json counters = json::object();
    for (std::size_t i = 0; i < fwd_counter_count; ++i)
        counters[std::string(to_string(static_cast<FwdCounter>(i)))] = c.value[i];
    j["counters"] = counters;
    json ports = json::array();
    for (const auto& p : f.be.ports())
        ports.push_back({{"ifname", p.ifname},
                         {"ifindex", p.ifindex},
                         {"view", p.view},
                         {"mode", std::string(to_string(p.mode))}});
    j["ports"] = ports;
    json nhs = json::array(); // every compiler neighbour: next hops and connected destinations
    if (f.fib)
        for (const auto& n : f.fib->neighbours())
            nhs.push_back({{"addr", n.addr.str()},
                           {"ifindex", n.ifindex},
                           {"mac", n.mac ? mac_str(*n.mac) : std::string()},
                           {"static", n.is_static},
                           {"host", n.host}});
    j["next_hops"] = nhs;
    j["routes"] = f.routes.size();
    return j;
}

IpAddr need_addr(const std::string& s) {
    auto a = IpAddr::parse(s);
    if (!a) throw XdpError("bad address '" + s + "'");
    return *a;
}

Prefix need_prefix(const std::string& s) {
    auto p = Prefix::parse(s, true);
    if (!p) throw XdpError("bad prefix '" + s + "' (host bits set?)");
    return *p;
}

std::vector<std::string> words(const std::string& line) {
    std::istringstream in(line.substr(0, line.find('#')));
    std::vector<std::string> w;
    for (std::string t; in >> t;) w.push_back(t);
    return w;
}

// Runs one command line. Returns false on `quit`. `out` receives stats for `stats`.
bool run_command(Forwarder& f, const std::string& line, AttachMode default_mode, json& out) {
    const std::vector<std::string> w = words(line);
    if (w.empty()) return true;
    const std::string& cmd = w[0];
    if (cmd == "quit" || cmd == "exit") return false;
    if (cmd == "port" && (w.size() == 3 || w.size() == 4)) {
        if (f.fib)
            throw XdpError("port: the ports are fixed once routes can be given (--port, or the "
                           "config file's port lines)");
        AttachMode m = default_mode;
        if (w.size() == 4) {
            auto pm = parse_attach_mode(w[3]);
            if (!pm) throw XdpError("bad attach mode '" + w[3] + "'");
            m = *pm;
        }
        auto st = f.be.add_port(w[1], w[2], m);
        out = {{"port", st.ifname}, {"mode", std::string(to_string(st.mode))}};
    } else if (cmd == "route" && w.size() >= 3) {
        ViewRoute r;
        r.prefix = need_prefix(w[2]);
        r.source = RouteSource::nva;
        std::size_t i = 3;
        if (i < w.size()) {
            if (w[i] != "via" || i + 1 >= w.size())
                throw XdpError("expected: route VIEW PREFIX [via NH...]");
            for (++i; i < w.size(); ++i) r.next_hops.push_back(need_addr(w[i]));
        }
        if (r.next_hops.empty()) r.source = RouteSource::vnet_local;
        r.next_hops.sort_unique();
        if (r.next_hops.overflowed())
            throw XdpError("route " + w[2] + ": more than 8 next hops, at most 8 (D7)");
        for (const auto& nh : r.next_hops)
            if (nh.family != r.prefix.family())
                throw XdpError("route " + w[2] + ": next hop " + nh.str() +
                               " of the other address family");
        f.change(w[1], r.prefix, r);
    } else if (cmd == "blackhole" && w.size() == 3) {
        // The compiler's blackhole: a route whose next hops no port subnet holds (the unspecified
        // address is held by none).
        ViewRoute r;
        r.prefix = need_prefix(w[2]);
        r.source = RouteSource::nva;
        r.next_hops.push_back(IpAddr{});
        f.change(w[1], r.prefix, r);
    } else if (cmd == "del" && w.size() == 3) {
        const Prefix p = need_prefix(w[2]);
        if (!f.routes.count({w[1], p})) throw XdpError("no route " + w[2] + " in view " + w[1]);
        f.change(w[1], p, std::nullopt);
    } else if (cmd == "neigh" && (w.size() == 3 || w.size() == 4)) {
        auto mac = parse_mac(w[2]);
        if (!mac) throw XdpError("bad MAC '" + w[2] + "'");
        f.need_fib().set_static_neighbour(need_addr(w[1]), *mac);
        Forwarder::check(f.fib->flush());
    } else if (cmd == "local" && w.size() == 2) {
        f.be.add_local_address(need_addr(w[1]));
    } else if (cmd == "refresh" && w.size() == 1) {
        Forwarder::check(f.need_fib().refresh_neighbours());
    } else if (cmd == "stats" && w.size() == 1) {
        out = stats_json(f);
    } else {
        throw XdpError("unknown or malformed command: " + line);
    }
    return true;
}

int run_forward(const std::vector<std::string>& port_args, const std::string& config,
                const std::string& mode_s, bool use_stdin, double stats_interval,
                double refresh_interval, double duration) {
    auto mode = parse_attach_mode(mode_s);
    if (!mode) throw XdpError("bad --mode '" + mode_s + "' (auto, native, generic)");
    Forwarder f;
    json ignored;
    for (const auto& pa : port_args) {
        auto eq = pa.find('=');
        if (eq == std::string::npos) throw XdpError("--port wants IFNAME=VIEW, got '" + pa + "'");
        f.be.add_port(pa.substr(0, eq), pa.substr(eq + 1), *mode);
    }
    if (!config.empty()) {
        std::ifstream in(config);
        if (!in) throw XdpError("cannot open " + config);
        std::vector<std::string> lines;
        for (std::string line; std::getline(in, line);) lines.push_back(line);
        // Two passes: every port line first (the compiler is built from the port set), then the
        // rest in file order.
        for (int pass = 0; pass < 2; ++pass) {
            for (std::size_t i = 0; i < lines.size(); ++i) {
                const auto w = words(lines[i]);
                if (w.empty() || (w[0] == "port") != (pass == 0)) continue;
                try {
                    if (!run_command(f, lines[i], *mode, ignored)) break;
                } catch (const std::exception& e) {
                    throw XdpError(config + ":" + std::to_string(i + 1) + ": " + e.what());
                }
            }
        }
    }
    Forwarder::check(f.need_fib().refresh_neighbours()); // resolve what the config points at
    install_signals();
    json ready = stats_json(f);
    ready["ready"] = true;
    std::cout << ready.dump() << std::endl;

    using clock = std::chrono::steady_clock;
    auto start = clock::now(), last_refresh = start, last_stats = start;
    auto secs = [](clock::duration d) { return std::chrono::duration<double>(d).count(); };
    bool stdin_open = use_stdin;
    std::string pending;
    while (!g_stop) {
        auto now = clock::now();
        if (duration > 0 && secs(now - start) >= duration) break;
        if (refresh_interval > 0 && secs(now - last_refresh) >= refresh_interval) {
            try {
                Forwarder::check(f.fib->refresh_neighbours());
            } catch (const std::exception& e) {
                std::cerr << "rsfwd-xdp: refresh: " << e.what() << "\n";
            }
            last_refresh = now;
        }
        if (stats_interval > 0 && secs(now - last_stats) >= stats_interval) {
            std::cout << stats_json(f).dump() << std::endl;
            last_stats = now;
        }
        pollfd pfd{stdin_open ? 0 : -1, POLLIN, 0};
        int rc = ::poll(&pfd, 1, 100);
        if (rc <= 0 || !(pfd.revents & (POLLIN | POLLHUP))) continue;
        char buf[4096];
        ssize_t n = ::read(0, buf, sizeof buf);
        if (n <= 0) {
            break; // EOF on the command stream: clean shutdown
        }
        pending.append(buf, static_cast<std::size_t>(n));
        for (std::size_t nl; (nl = pending.find('\n')) != std::string::npos;) {
            std::string line = pending.substr(0, nl);
            pending.erase(0, nl + 1);
            json out;
            try {
                if (!run_command(f, line, *mode, out)) {
                    g_stop = 1;
                    out = {{"ok", true}, {"bye", true}};
                } else if (out.is_null()) {
                    out = {{"ok", true}};
                } else {
                    out["ok"] = true;
                }
            } catch (const std::exception& e) {
                out = {{"ok", false}, {"error", e.what()}};
            }
            std::cout << out.dump() << std::endl;
            if (g_stop) break;
        }
    }
    json fin = stats_json(f);
    fin["final"] = true;
    std::cout << fin.dump() << std::endl;
    f.be.detach_all();
    return 0;
}

int run_split(const std::string& iface, const std::vector<std::string>& locals, int bgp_port,
              bool pass_all_local, const std::string& mode_s, bool configure_attached,
              bool show_attached, double duration) {
    SplitConfig cfg;
    for (const auto& l : locals) cfg.local.push_back(need_addr(l));
    cfg.bgp_port = static_cast<std::uint16_t>(bgp_port);
    cfg.pass_all_local = pass_all_local;
    auto print = [](const SplitCounters& c, const char* tag) {
        json j = json::object();
        for (std::size_t i = 0; i < split_counter_count; ++i)
            j[std::string(to_string(static_cast<SplitCounter>(i)))] = c[i];
        std::cout << json{{tag, true}, {"counters", j}}.dump() << std::endl;
    };
    if (show_attached) {
        print(SplitProgram::attached_counters(iface), "attached");
        return 0;
    }
    if (configure_attached) {
        SplitProgram::configure_attached(iface, cfg);
        print(SplitProgram::attached_counters(iface), "configured");
        return 0;
    }
    auto mode = parse_attach_mode(mode_s);
    if (!mode) throw XdpError("bad --mode '" + mode_s + "'");
    auto sp = SplitProgram::attach(iface, cfg, *mode);
    install_signals();
    std::cout << json{{"ready", true}, {"mode", std::string(to_string(sp->mode()))}}.dump()
              << std::endl;
    auto start = std::chrono::steady_clock::now();
    while (!g_stop) {
        if (duration > 0 &&
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >=
                duration)
            break;
        pollfd pfd{0, POLLIN, 0};
        int rc = ::poll(&pfd, 1, 100);
        if (rc > 0) {
            char buf[256];
            ssize_t n = ::read(0, buf, sizeof buf);
            if (n <= 0) break;
            print(sp->counters(), "stats");
        }
    }
    print(sp->counters(), "final");
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"rsfwd-xdp — rsfwd's XDP forwarding backend and AF_XDP control/data split"};
    app.set_version_flag("--version", "rsfwd-xdp " RSFWD_VERSION);
    app.require_subcommand(1);

    auto* fwd = app.add_subcommand("forward", "attach the XDP router to ports and forward");
    std::vector<std::string> ports;
    std::string config, mode = "auto";
    bool use_stdin = false;
    double stats_interval = 0, refresh_interval = 1.0, duration = 0;
    fwd->add_option("--port", ports, "IFNAME=VIEW (repeatable)");
    fwd->add_option("--config", config, "command file (port/route/neigh/... lines)");
    fwd->add_option("--mode", mode, "auto | native | generic")->capture_default_str();
    fwd->add_flag("--stdin", use_stdin, "read commands from stdin, answer JSON lines");
    fwd->add_option("--stats-interval", stats_interval, "print counters every S seconds");
    fwd->add_option("--refresh-interval", refresh_interval, "neighbour refresh period (s)")
        ->capture_default_str();
    fwd->add_option("--duration", duration, "exit after S seconds (0: until signal/quit)");

    auto* split = app.add_subcommand("split", "AF_XDP control/data split program");
    std::string iface;
    std::vector<std::string> locals;
    int bgp_port = 179;
    bool pass_all_local = false, configure_attached = false, show_attached = false;
    double split_duration = 0;
    std::string split_mode = "auto";
    split->add_option("--iface", iface, "interface")->required();
    split->add_option("--local", locals, "rsfwd address on the port (repeatable)");
    split->add_option("--bgp-port", bgp_port)->capture_default_str();
    split->add_flag("--pass-all-local", pass_all_local, "any traffic to --local → kernel");
    split->add_option("--mode", split_mode, "auto | native | generic")->capture_default_str();
    split->add_flag("--configure-attached", configure_attached,
                    "configure the program DPDK (xdp_prog=) attached, then exit");
    split->add_flag("--show-attached", show_attached,
                    "print the counters of the split program attached to --iface, then exit");
    split->add_option("--duration", split_duration, "exit after S seconds");

    auto* wo = app.add_subcommand("write-object", "write rsfwd_split.bpf.o (for xdp_prog=)");
    std::string wo_path;
    wo->add_option("path", wo_path)->required();

    CLI11_PARSE(app, argc, argv);
    try {
        if (*fwd)
            return run_forward(ports, config, mode, use_stdin, stats_interval, refresh_interval,
                               duration);
        if (*split)
            return run_split(iface, locals, bgp_port, pass_all_local, split_mode,
                             configure_attached, show_attached, split_duration);
        if (*wo) {
            SplitProgram::write_object(wo_path);
            return 0;
        }
    } catch (const std::exception& e) {
        std::cerr << "rsfwd-xdp: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
