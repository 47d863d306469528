// control/cmd/rsctl.cpp — `rsctl`, the operator's client for a running rsfwd.
//
// Every command maps to one API request (control/api/server.hpp). Output is a readable table
// by default and the daemon's JSON with --json. Exit status: 0 ok, 1 the daemon refused the
// request, 2 usage error, 3 the daemon is not reachable.
#include "control/api/server.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

namespace {

using rsfwd::api::Json;

std::string cell(const Json& v) {
    if (v.is_string()) return v.get<std::string>();
    if (v.is_null()) return "-";
    if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
    if (v.is_array()) {
        std::string out;
        for (const auto& e : v) {
            if (!out.empty()) out += ' ';
            out += cell(e);
        }
        return out.empty() ? "-" : out;
    }
    if (v.is_object()) return v.dump();
    return v.dump();
}

bool is_table(const Json& v) {
    return v.is_array() && !v.empty() &&
           std::all_of(v.begin(), v.end(), [](const Json& e) { return e.is_object(); });
}

void print_table(const Json& rows, const std::string& indent) {
    std::vector<std::string> cols;
    for (const auto& r : rows) {
        for (const auto& [k, _] : r.items()) {
            if (std::find(cols.begin(), cols.end(), k) == cols.end()) cols.push_back(k);
        }
    }
    std::vector<std::size_t> width(cols.size());
    std::vector<std::vector<std::string>> cells;
    for (std::size_t c = 0; c < cols.size(); ++c) width[c] = cols[c].size();
    for (const auto& r : rows) {
        auto& line = cells.emplace_back();
        for (std::size_t c = 0; c < cols.size(); ++c) {
            line.push_back(r.contains(cols[c]) ? cell(r.at(cols[c])) : "-");
            width[c] = std::max(width[c], line.back().size());
        }
    }
    auto emit = [&](const std::vector<std::string>& line) {
        std::string out = indent;
        for (std::size_t c = 0; c < line.size(); ++c) {
            out += line[c];
            if (c + 1 < line.size()) out += std::string(width[c] - line[c].size() + 2, ' ');
        }
        std::puts(out.c_str());
    };
    std::vector<std::string> header;
    for (const auto& c : cols) {
        std::string h = c;
        std::transform(h.begin(), h.end(), h.begin(), [](unsigned char ch) {
            return ch == '_' ? ' ' : static_cast<char>(std::toupper(ch));
        });
        header.push_back(h);
    }
    emit(header);
    for (const auto& line : cells) emit(line);
}

// Objects print scalar fields as "key: value", then each table or nested object as a section.
void print_human(const Json& v, const std::string& indent = "") {
    if (is_table(v)) {
        print_table(v, indent);
        return;
    }
    if (!v.is_object()) {
        std::printf("%s%s\n", indent.c_str(), cell(v).c_str());
        return;
    }
    std::size_t key_width = 0;
    for (const auto& [k, e] : v.items()) {
        if (!e.is_object() && !is_table(e)) key_width = std::max(key_width, k.size());
    }
    for (const auto& [k, e] : v.items()) {
        if (e.is_object() || is_table(e)) continue;
        std::printf("%s%-*s  %s\n", indent.c_str(), static_cast<int>(key_width + 1),
                    (k + ":").c_str(), cell(e).c_str());
    }
    for (const auto& [k, e] : v.items()) {
        if (!e.is_object() && !is_table(e)) continue;
        std::printf("%s%s:\n", indent.c_str(), k.c_str());
        print_human(e, indent + "  ");
    }
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"rsctl — control a running rsfwd (Route Server emulator on DPDK).\n"
                 "Talks to the daemon's JSON API on a Unix socket; tables by default, --json "
                 "for scripts."};
    app.require_subcommand(1);
    std::string socket = rsfwd::api::default_socket_path();
    bool as_json = false;
    int timeout_ms = 5000;
    app.add_option("-s,--socket", socket, "API socket of the daemon")->capture_default_str();
    app.add_flag("-j,--json", as_json, "print the daemon's JSON answer");
    app.add_option("--timeout-ms", timeout_ms, "how long to wait for an answer")
        ->capture_default_str()
        ->check(CLI::Range(1, 600000));

    std::string cmd;
    Json args = Json::object();

    auto* peers = app.add_subcommand("peers", "BGP peers: state, uptime, prefixes, last error");
    peers->callback([&] { cmd = "peers"; });

    auto* routes =
        app.add_subcommand("routes", "routes a peer sent, a peer receives, or a view holds");
    routes->require_subcommand(1);
    std::string peer, view, address, value, prefix, as_path, next_hop;
    std::vector<std::string> communities;
    auto* learned =
        routes->add_subcommand("learned", "Adj-RIB-In of PEER, with accept/reject reasons");
    learned->add_option("PEER", peer, "peer name (see `rsctl peers`)")->required();
    learned->callback([&] { cmd = "routes.learned", args["peer"] = peer; });
    auto* advertised = routes->add_subcommand("advertised", "Adj-RIB-Out of PEER");
    advertised->add_option("PEER", peer, "peer name (see `rsctl peers`)")->required();
    advertised->callback([&] { cmd = "routes.advertised", args["peer"] = peer; });
    auto* vroutes = routes->add_subcommand("view", "effective routes of VIEW (vnet, er/C, vpn/S)");
    vroutes->add_option("VIEW", view, "view name")->required();
    vroutes->callback([&] { cmd = "routes.view", args["view"] = view; });

    auto* fib = app.add_subcommand("fib", "look ADDRESS up in the FIB of VIEW, as a worker would");
    fib->add_option("VIEW", view, "view name (vnet, er/C, vpn/S)")->required();
    fib->add_option("ADDRESS", address, "destination address")->required();
    fib->callback([&] { cmd = "fib.lookup", args = {{"view", view}, {"address", address}}; });

    auto* stats = app.add_subcommand("stats", "ports, workers, drops by reason, FIB generation");
    stats->callback([&] { cmd = "stats"; });

    auto* set = app.add_subcommand("set", "change a Route Server switch live");
    set->require_subcommand(1);
    auto* b2b = set->add_subcommand("branch-to-branch", "allowBranchToBranchTraffic (A5/A6)");
    b2b->add_option("VALUE", value, "on|off")->required()->check(CLI::IsMember({"on", "off"}));
    b2b->callback([&] { cmd = "set.branch_to_branch", args["value"] = value; });
    auto* pref = set->add_subcommand("routing-preference", "hubRoutingPreference (D2)");
    pref->add_option("VALUE", value, "ExpressRoute|VpnGateway|ASPath")
        ->required()
        ->check(CLI::IsMember({"ExpressRoute", "VpnGateway", "ASPath"}));
    pref->callback([&] { cmd = "set.routing_preference", args["value"] = value; });

    auto* announce = app.add_subcommand("announce", "announce PREFIX from a static peer");
    announce->add_option("PEER", peer, "static peer (an NVA, circuit or site without BGP)")
        ->required();
    announce->add_option("PREFIX", prefix, "e.g. 192.168.10.0/24")->required();
    announce->add_option("--as-path", as_path, "AS path as the peer sends it, e.g. \"65001\"");
    announce->add_option("--next-hop", next_hop, "next hop (default: the peer's address)");
    announce->add_option("--community", communities, "community, e.g. 65535:65282 (repeatable)");
    announce->callback([&] {
        cmd = "announce";
        args = {{"peer", peer}, {"prefix", prefix}};
        if (!as_path.empty()) args["as_path"] = as_path;
        if (!next_hop.empty()) args["next_hop"] = next_hop;
        if (!communities.empty()) args["communities"] = communities;
    });
    auto* withdraw = app.add_subcommand("withdraw", "withdraw PREFIX from a static peer");
    withdraw->add_option("PEER", peer, "static peer")->required();
    withdraw->add_option("PREFIX", prefix, "prefix")->required();
    withdraw->callback([&] { cmd = "withdraw", args = {{"peer", peer}, {"prefix", prefix}}; });

    auto* reload = app.add_subcommand("reload", "re-read the config file and apply the difference");
    reload->callback([&] { cmd = "reload"; });
    auto* commands = app.add_subcommand("commands", "list the daemon's API commands");
    commands->callback([&] { cmd = "help"; });

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);
        return rc == 0 ? 0 : 2;
    }

    Json response;
    try {
        response = rsfwd::api::call(socket, cmd, args, timeout_ms);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "rsctl: %s\n", e.what());
        return 3;
    }
    if (!response.value("ok", false)) {
        if (as_json) std::cout << response.dump(2) << "\n";
        std::fprintf(stderr, "rsctl: %s\n", response.value("error", std::string("error")).c_str());
        return 1;
    }
    const Json& result = response.contains("result") ? response.at("result") : Json();
    if (as_json) {
        std::cout << result.dump(2) << "\n";
    } else {
        print_human(result);
    }
    return 0;
}
