// control/cmd/rsfwd_bgp.cpp — rsfwd-bgp: the BGP speaker from the command line. Runs sessions from
// flags, advertises static routes, prints what peers send as JSON lines on stdout, and takes
// JSON commands on stdin. The interop tests (tests/e2e/bgp) drive it; it is also a quick way to
// poke at a router:
//
//   rsfwd-bgp --port 1790
//     --peer name=nva1,local=127.0.0.1,remote=127.0.0.2,remote-as=65001,remote-port=1791
//     --route peer=*,prefix=10.1.0.0/16,nh=10.1.0.4,communities=65517:65517
//
// stdin commands, one JSON object a line:
//   {"cmd":"announce","peer":"nva1","routes":[{"prefix":"10.2.0.0/16","next_hop":"10.1.0.4",
//     "as_path":"65010","communities":["65001:1"],"large_communities":["1:2:3"],"med":5}]}
//   {"cmd":"withdraw","peer":"nva1","prefixes":["10.2.0.0/16"]}
//   {"cmd":"refresh","peer":"nva1"}   {"cmd":"reset","peer":"nva1"}   {"cmd":"sessions"}
//   {"cmd":"quit"}
// stdout events: established, update, down, refresh, sessions, done, error.
#include "control/bgp/speaker.hpp"
#include "control/log.hpp"

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>

using namespace rsfwd;
using namespace rsfwd::bgp;
using json = nlohmann::json;

namespace {

std::map<std::string, std::string> parse_kv(const std::string& spec) {
    std::map<std::string, std::string> kv;
    std::stringstream ss(spec);
    std::string item;
    while (std::getline(ss, item, ',')) {
        if (item.empty()) continue;
        const auto eq = item.find('=');
        if (eq == std::string::npos)
            kv[item] = "true";
        else
            kv[item.substr(0, eq)] = item.substr(eq + 1);
    }
    return kv;
}

IpAddr need_addr(const std::string& s, const std::string& what) {
    auto a = IpAddr::parse(s);
    if (!a) throw std::invalid_argument(what + ": not an address: " + s);
    return *a;
}

std::vector<std::string> split(const std::string& s, char sep) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string item;
    while (std::getline(ss, item, sep)) {
        if (!item.empty()) out.push_back(item);
    }
    return out;
}

PeerConfig parse_peer(const std::string& spec) {
    auto kv = parse_kv(spec);
    PeerConfig p;
    auto get = [&](const char* k) -> std::optional<std::string> {
        auto it = kv.find(k);
        if (it == kv.end()) return std::nullopt;
        return it->second;
    };
    p.name = get("name").value_or("");
    p.local_address = need_addr(get("local").value_or(""), "peer local");
    p.remote_address = need_addr(get("remote").value_or(""), "peer remote");
    p.remote_as = static_cast<std::uint32_t>(std::stoul(get("remote-as").value_or("0")));
    if (auto v = get("local-as")) p.local_as = static_cast<std::uint32_t>(std::stoul(*v));
    if (auto v = get("router-id")) p.router_id = need_addr(*v, "router-id").v4_host();
    if (auto v = get("remote-port")) p.remote_port = static_cast<std::uint16_t>(std::stoul(*v));
    if (get("passive")) p.passive = true;
    if (auto v = get("hold")) p.hold_time = static_cast<std::uint16_t>(std::stoul(*v));
    if (auto v = get("connect-retry")) p.connect_retry = std::chrono::seconds(std::stoul(*v));
    if (auto v = get("md5")) p.md5_key = *v;
    if (auto v = get("multihop")) p.multihop_ttl = std::stoi(*v);
    if (get("gtsm")) p.gtsm = true;
    if (auto v = get("gtsm-hops")) p.gtsm_hops = std::stoi(*v);
    if (auto v = get("max-prefixes")) p.max_prefixes = static_cast<std::uint32_t>(std::stoul(*v));
    if (auto v = get("max-prefix-restart")) {
        p.max_prefix_restart = std::chrono::seconds(std::stoul(*v));
    }
    if (auto v = get("next-hop-self")) p.next_hop_self = need_addr(*v, "next-hop-self");
    if (get("transparent")) p.prepend_local_as = false;
    if (get("no-enforce-first-as")) p.enforce_first_as = false;
    if (get("enhanced-refresh")) p.enhanced_route_refresh = true;
    if (auto v = get("families")) {
        p.families.clear();
        for (const auto& f : split(*v, '+')) {
            if (f == "ipv4")
                p.families.push_back(AfiSafi{afi_ipv4, safi_unicast});
            else if (f == "ipv6")
                p.families.push_back(AfiSafi{afi_ipv6, safi_unicast});
            else
                throw std::invalid_argument("families: ipv4, ipv6 joined by +");
        }
    }
    return p;
}

std::vector<LargeCommunity> parse_large(const std::vector<std::string>& items) {
    std::vector<LargeCommunity> out;
    for (const auto& s : items) {
        auto parts = split(s, ':');
        if (parts.size() != 3) throw std::invalid_argument("large community a:b:c: " + s);
        out.push_back(LargeCommunity{static_cast<std::uint32_t>(std::stoul(parts[0])),
                                     static_cast<std::uint32_t>(std::stoul(parts[1])),
                                     static_cast<std::uint32_t>(std::stoul(parts[2]))});
    }
    return out;
}

Route route_from_json(const json& j) {
    Route r;
    auto p = Prefix::parse(j.at("prefix").get<std::string>());
    if (!p) throw std::invalid_argument("bad prefix " + j.at("prefix").dump());
    r.prefix = *p;
    if (j.contains("next_hop"))
        r.next_hop = need_addr(j["next_hop"].get<std::string>(), "next_hop");
    if (j.contains("as_path")) {
        auto ap = AsPath::parse(j["as_path"].get<std::string>());
        if (!ap) throw std::invalid_argument("bad as_path");
        r.as_path = *ap;
    }
    if (j.contains("origin")) {
        const auto o = j["origin"].get<std::string>();
        r.origin = o == "egp" ? Origin::egp : o == "incomplete" ? Origin::incomplete : Origin::igp;
    }
    for (const auto& c : j.value("communities", json::array())) {
        auto v = parse_community(c.get<std::string>());
        if (!v) throw std::invalid_argument("bad community " + c.dump());
        r.communities.push_back(*v);
    }
    r.large_communities =
        parse_large(j.value("large_communities", json::array()).get<std::vector<std::string>>());
    if (j.contains("med")) r.med = j["med"].get<std::uint32_t>();
    if (j.contains("local_pref")) r.local_pref = j["local_pref"].get<std::uint32_t>();
    return r;
}

// --route peer=X,prefix=P,nh=A,path=65001 65002,communities=a:b c:d,large=1:2:3,med=N
std::pair<std::string, Route> parse_route(const std::string& spec) {
    auto kv = parse_kv(spec);
    json j;
    j["prefix"] = kv["prefix"];
    if (kv.count("nh")) j["next_hop"] = kv["nh"];
    if (kv.count("path")) j["as_path"] = kv["path"];
    if (kv.count("origin")) j["origin"] = kv["origin"];
    if (kv.count("communities")) j["communities"] = split(kv["communities"], ' ');
    if (kv.count("large")) j["large_communities"] = split(kv["large"], ' ');
    if (kv.count("med")) j["med"] = std::stoul(kv["med"]);
    if (kv.count("local-pref")) j["local_pref"] = std::stoul(kv["local-pref"]);
    return {kv.count("peer") ? kv["peer"] : "*", route_from_json(j)};
}

json route_json(const Route& r) {
    json j;
    j["prefix"] = r.prefix.str();
    j["next_hop"] = r.next_hop.str();
    j["as_path"] = r.as_path.str();
    j["origin"] = r.origin == Origin::igp ? "igp" : r.origin == Origin::egp ? "egp" : "incomplete";
    json comms = json::array();
    for (auto c : r.communities) comms.push_back(community_str(c));
    j["communities"] = comms;
    json large = json::array();
    for (const auto& c : r.large_communities) {
        large.push_back(fmt::format("{}:{}:{}", c.global, c.local1, c.local2));
    }
    j["large_communities"] = large;
    if (r.med) j["med"] = *r.med;
    if (r.local_pref) j["local_pref"] = *r.local_pref;
    return j;
}

json session_json(const SessionInfo& s) {
    return json{{"name", s.name},
                {"remote", s.remote_address.str()},
                {"remote_as", s.remote_as},
                {"state", std::string(to_string(s.state))},
                {"uptime_s", s.uptime.count()},
                {"hold_time", s.hold_time},
                {"route_refresh", s.route_refresh},
                {"msgs_in", s.msgs_in},
                {"msgs_out", s.msgs_out},
                {"updates_in", s.updates_in},
                {"updates_out", s.updates_out},
                {"prefixes_received", s.prefixes_received},
                {"prefixes_held", s.prefixes_held},
                {"prefixes_advertised", s.prefixes_advertised},
                {"treat_as_withdraw", s.treat_as_withdraw},
                {"established_count", s.established_count},
                {"write_queue_bytes", s.write_queue_bytes},
                {"write_stalls", s.write_stalls},
                {"pending_changes", s.pending_changes},
                {"collisions", s.collisions},
                {"last_error", s.last_error},
                {"last_event", s.last_event}};
}

void emit(const json& j) {
    const auto line = j.dump() + "\n";
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fflush(stdout);
}

class Tool : public SpeakerHandler {
public:
    Tool(boost::asio::io_context& io, SpeakerOptions opts) : io_(io), speaker_(io, *this, opts) {}

    Speaker& speaker() { return speaker_; }
    std::map<std::string, std::map<Prefix, Route>> rib_out; // "*" = every peer
    bool quiet = false;
    std::uint64_t expect = 0;
    bool exit_on_expect = false;

    void on_established(const std::string& peer) override {
        if (!established_at_) established_at_ = std::chrono::steady_clock::now();
        emit({{"event", "established"}, {"peer", peer}});
        send_all(peer);
    }
    void on_routes(const std::string& peer, std::vector<Route> announced,
                   std::vector<Prefix> withdrawn) override {
        if (!first_route_) first_route_ = std::chrono::steady_clock::now();
        total_held_ += announced.size();
        total_held_ -= std::min<std::uint64_t>(total_held_, withdrawn.size());
        if (!quiet) {
            json ann = json::array();
            for (const auto& r : announced) ann.push_back(route_json(r));
            json wd = json::array();
            for (const auto& p : withdrawn) wd.push_back(p.str());
            emit({{"event", "update"}, {"peer", peer}, {"announce", ann}, {"withdraw", wd}});
        }
        if (expect != 0 && !done_) {
            std::uint64_t held = 0;
            for (const auto& s : speaker_.sessions()) held += s.prefixes_held;
            if (held >= expect) {
                done_ = true;
                const std::chrono::duration<double> secs =
                    std::chrono::steady_clock::now() - *first_route_;
                const std::chrono::duration<double> since_est =
                    std::chrono::steady_clock::now() - established_at_.value_or(*first_route_);
                emit({{"event", "done"},
                      {"prefixes", held},
                      {"seconds", secs.count()},
                      {"seconds_since_established", since_est.count()}});
                if (exit_on_expect) {
                    speaker_.stop();
                    io_.stop();
                }
            }
        }
    }
    void on_down(const std::string& peer, const std::string& reason) override {
        emit({{"event", "down"}, {"peer", peer}, {"reason", reason}});
    }
    void on_route_refresh(const std::string& peer) override {
        emit({{"event", "refresh"}, {"peer", peer}});
        send_all(peer);
    }

    void send_all(const std::string& peer) {
        std::vector<Route> routes;
        for (const auto* key : {"*", peer.c_str()}) {
            auto it = rib_out.find(key);
            if (it == rib_out.end()) continue;
            for (const auto& [p, r] : it->second) routes.push_back(r);
        }
        if (!routes.empty()) speaker_.advertise(peer, routes);
    }

    std::vector<std::string> targets(const std::string& peer) {
        std::vector<std::string> out;
        for (const auto& s : speaker_.sessions()) {
            if (peer == "*" || peer == s.name) out.push_back(s.name);
        }
        return out;
    }

    void command(const std::string& line) {
        if (line.empty()) return;
        json j;
        try {
            j = json::parse(line);
            const auto cmd = j.at("cmd").get<std::string>();
            const auto peer = j.value("peer", std::string("*"));
            if (cmd == "announce") {
                std::vector<Route> routes;
                for (const auto& r : j.at("routes")) routes.push_back(route_from_json(r));
                for (const auto& r : routes) rib_out[peer][r.prefix] = r;
                for (const auto& t : targets(peer)) speaker_.advertise(t, routes);
            } else if (cmd == "withdraw") {
                std::vector<Prefix> ps;
                for (const auto& p : j.at("prefixes")) {
                    auto v = Prefix::parse(p.get<std::string>());
                    if (!v) throw std::invalid_argument("bad prefix " + p.dump());
                    ps.push_back(*v);
                    rib_out[peer].erase(*v);
                }
                for (const auto& t : targets(peer)) speaker_.withdraw(t, ps);
            } else if (cmd == "refresh") {
                for (const auto& t : targets(peer)) {
                    emit({{"event", "refresh_sent"},
                          {"peer", t},
                          {"ok", speaker_.request_refresh(t)}});
                }
            } else if (cmd == "reset") {
                for (const auto& t : targets(peer)) speaker_.reset_peer(t);
            } else if (cmd == "sessions") {
                json arr = json::array();
                for (const auto& s : speaker_.sessions()) arr.push_back(session_json(s));
                emit({{"event", "sessions"}, {"sessions", arr}});
            } else if (cmd == "quit") {
                speaker_.stop();
                quit_timer_ = std::make_unique<boost::asio::steady_timer>(io_);
                quit_timer_->expires_after(std::chrono::milliseconds(300));
                quit_timer_->async_wait([this](const boost::system::error_code&) { io_.stop(); });
            } else {
                throw std::invalid_argument("unknown cmd " + cmd);
            }
        } catch (const std::exception& e) {
            emit({{"event", "error"}, {"error", e.what()}, {"line", line}});
        }
    }

private:
    boost::asio::io_context& io_;
    Speaker speaker_;
    std::optional<std::chrono::steady_clock::time_point> first_route_, established_at_;
    std::uint64_t total_held_ = 0;
    bool done_ = false;
    std::unique_ptr<boost::asio::steady_timer> quit_timer_;
};

void read_stdin(boost::asio::posix::stream_descriptor& in, boost::asio::streambuf& buf,
                Tool& tool) {
    boost::asio::async_read_until(in, buf, '\n',
                                  [&](const boost::system::error_code& ec, std::size_t) {
                                      if (ec) return; // EOF: keep running
                                      std::istream is(&buf);
                                      std::string line;
                                      std::getline(is, line);
                                      tool.command(line);
                                      read_stdin(in, buf, tool);
                                  });
}

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"rsfwd-bgp: run the rsfwd BGP speaker from flags; JSON lines on stdout"};
    app.set_version_flag("--version", "rsfwd-bgp " RSFWD_VERSION);
    SpeakerOptions opts;
    std::vector<std::string> peers, routes;
    std::string log_level = "info";
    bool no_listen = false, quiet = false, exit_on_expect = false, no_stdin = false;
    std::uint64_t expect = 0;
    app.add_option("--port", opts.listen_port, "listen port (179)");
    app.add_flag("--no-listen", no_listen, "do not listen (active sessions only)");
    app.add_option("--peer", peers,
                   "name=N,local=A,remote=A,remote-as=N[,local-as=N,router-id=A,remote-port=N,"
                   "passive,hold=S,connect-retry=S,md5=KEY,multihop=TTL,gtsm,gtsm-hops=N,"
                   "max-prefixes=N,max-prefix-restart=S,next-hop-self=A,transparent,"
                   "no-enforce-first-as,enhanced-refresh,families=ipv4+ipv6]")
        ->required();
    app.add_option("--route", routes,
                   "peer=NAME|*,prefix=P[,nh=A,path='65001 65002',communities='a:b c:d',"
                   "large='1:2:3',med=N,local-pref=N,origin=igp|egp|incomplete]");
    app.add_option("--log-level", log_level, "trace|debug|info|warn|error|off");
    app.add_flag("--quiet-routes", quiet, "do not print update events");
    app.add_option("--expect", expect, "print a 'done' event once this many prefixes are held");
    app.add_flag("--exit-on-expect", exit_on_expect, "exit after the 'done' event");
    app.add_flag("--no-stdin", no_stdin, "do not read commands from stdin");
    CLI11_PARSE(app, argc, argv);
    opts.listen = !no_listen;

    const auto level = rsfwd::log::parse_level(log_level);
    if (!level) {
        std::fprintf(stderr, "rsfwd-bgp: --log-level: '%s' is not one of %s\n", log_level.c_str(),
                     std::string(rsfwd::log::level_names).c_str());
        return 2;
    }
    rsfwd::log::init("rsfwd-bgp", *level);

    boost::asio::io_context io;
    Tool tool(io, opts);
    tool.quiet = quiet;
    tool.expect = expect;
    tool.exit_on_expect = exit_on_expect;
    try {
        for (const auto& p : peers) tool.speaker().add_peer(parse_peer(p));
        for (const auto& r : routes) {
            auto [peer, route] = parse_route(r);
            tool.rib_out[peer][route.prefix] = route;
        }
        tool.speaker().start();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "rsfwd-bgp: %s\n", e.what());
        return 2;
    }

    boost::asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& ec, int) {
        if (ec) return;
        tool.speaker().stop();
        auto t = std::make_shared<boost::asio::steady_timer>(io);
        t->expires_after(std::chrono::milliseconds(300));
        t->async_wait([&io, t](const boost::system::error_code&) { io.stop(); });
    });
    // --expect: a progress line every 5 s (held prefixes), so a slow feed is visible.
    boost::asio::steady_timer progress(io);
    std::function<void()> tick = [&] {
        progress.expires_after(std::chrono::seconds(5));
        progress.async_wait([&](const boost::system::error_code& ec) {
            if (ec) return;
            std::uint64_t held = 0;
            for (const auto& s : tool.speaker().sessions()) held += s.prefixes_held;
            emit({{"event", "progress"}, {"prefixes", held}});
            tick();
        });
    };
    if (expect != 0) tick();
    boost::asio::posix::stream_descriptor in(io);
    boost::asio::streambuf buf;
    if (!no_stdin) {
        try {
            in.assign(::dup(STDIN_FILENO)); // fails for files and /dev/null: no commands then
            read_stdin(in, buf, tool);
        } catch (const std::exception& e) {
            spdlog::debug("stdin not readable as a stream ({}): no commands", e.what());
        }
    }
    io.run();
    return 0;
}
