// control/daemon/control_plane.hpp — the control thread's wiring: config → Route Server policy
// → BGP sessions (personas) and FIB changes, plus the JSON API that rsctl talks to.
//
// What: ControlPlane owns the RouteServer (control/policy.hpp), a BGP Speaker
// (control/bgp/speaker.hpp) with one session per configured BGP peer, and the API Server
// (control/api/server.hpp). Every policy delta is pushed to the sessions (Adj-RIB-Out changes)
// and to a ForwardingSink (per-view FIB changes; the DPDK engine in `rsfwd run`, or nothing).
// Personas (ROUTE_SERVER.md "The emulated world"):
//   nvas[i].bgp          → one session per Route Server instance the NVA peers with (A1, E6):
//                          local = route_server.instance_ips[k], AS 65515, eBGP multihop (E3)
//   circuits[i].bgp      → the MSEE (AS 12076) towards the circuit's on-prem edge (B3, B4)
//   sites[i].bgp         → the VPN gateway (AS 65515) towards the branch device (C2)
// What the policy's Adj-RIB-Out holds is already what goes on the wire (AS path with 65515 or
// 12076 in front, next hop = the instance or port address, E13/B3), so sessions are transparent.
// Thread: control thread only, on the io_context given to the constructor.
// Ownership: owns policy, speaker and API server; the sink must outlive the ControlPlane.
#pragma once

#include "control/api/metrics.hpp"
#include "control/api/server.hpp"
#include "control/bgp/speaker.hpp"
#include "control/config.hpp"
#include "control/log_limit.hpp"
#include "control/policy.hpp"

#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace rsfwd {

// Where view changes go. `rsfwd run` implements it on the DPDK engine.
class ForwardingSink {
public:
    virtual ~ForwardingSink() = default;
    // Called once, before the first apply(): the policy's views, which ViewChange::view indexes.
    virtual void bind_views(std::span<const ViewName> views) = 0;
    virtual void apply(std::span<const ViewChange> changes) = 0;
    // Counters for `rsctl stats` (any JSON object).
    [[nodiscard]] virtual api::Json stats() const = 0;
    // The same counters as Prometheus families (/metrics), from the sink's counter table.
    virtual void metrics(api::MetricsBuilder& /*out*/) const {}
    // The FIB's answer for `rsctl fib VIEW ADDRESS`; nullopt = not supported by this sink.
    [[nodiscard]] virtual std::optional<api::Json> lookup(const std::string& view,
                                                          const IpAddr& addr) const = 0;
};

struct ControlPlaneOptions {
    std::string socket_path;      // "" = no API server
    std::uint16_t bgp_port = 179; // listen port of every persona (tests use a high port)
    bool bgp = true;              // false: static routes only (no sessions)
    std::string metrics_listen;   // "127.0.0.1:9177" = Prometheus /metrics; "" = off
};

class ControlPlane final : public bgp::SpeakerHandler {
public:
    // Builds the policy from `config` (already validated by load_config) and the sessions.
    // Throws std::runtime_error (API socket in use, BGP listener cannot bind...) with context.
    ControlPlane(boost::asio::io_context& io, Config config, ForwardingSink* sink,
                 ControlPlaneOptions opt);
    ~ControlPlane() override;
    ControlPlane(const ControlPlane&) = delete;
    ControlPlane& operator=(const ControlPlane&) = delete;

    // Announces the config's static routes, pushes the first views to the sink, opens the API
    // socket and starts the BGP sessions.
    void start();
    // Graceful stop: Cease to every BGP peer; the API socket is removed.
    void stop();

    // Re-reads the config file (or `path`): switches and static routes are applied as deltas;
    // anything else that changed (ports, peers, addresses) is refused with "needs a restart".
    // On any error the running config stays as it is. Returns a summary for the API.
    api::Json reload(const std::string& path = "");

    // Live switches (also reachable through the API).
    api::Json set_branch_to_branch(bool on);
    api::Json set_routing_preference(RoutingPreference pref);

    [[nodiscard]] RouteServer& policy() noexcept { return *policy_; }
    [[nodiscard]] const Config& config() const noexcept { return config_; }
    [[nodiscard]] bgp::Speaker* speaker() noexcept { return speaker_.get(); }
    [[nodiscard]] api::Server* api_server() noexcept { return api_.get(); }

    // Counters of the control plane itself.
    struct Counters {
        std::uint64_t policy_events = 0, view_changes = 0, peer_updates = 0;
        std::uint64_t bgp_routes_in = 0, bgp_withdraws_in = 0, max_prefix_teardowns = 0;
        std::uint64_t reloads = 0, reload_failures = 0;
    };
    [[nodiscard]] const Counters& counters() const noexcept { return counters_; }

    // Everything `rsctl stats` and `rsctl peers` show, in Prometheus text format: the control
    // plane's counters (one table for both, control_plane.cpp), peers and BGP sessions, and
    // the sink's metrics().
    [[nodiscard]] std::string prometheus();

    // Exposed for tests: the API as JSON handlers.
    api::Json handle(const std::string& cmd, const api::Json& args);

private:
    void peer_metrics(api::MetricsBuilder& m) const; // peers and BGP sessions for /metrics
    // bgp::SpeakerHandler
    void on_established(const std::string& peer) override;
    void on_routes(const std::string& peer, std::vector<Route> announced,
                   std::vector<Prefix> withdrawn) override;
    void on_down(const std::string& peer, const std::string& reason) override;
    void on_route_refresh(const std::string& peer) override;

    void apply(const PolicyDelta& d);
    void build_sessions();
    void register_api();
    void send_full_rib_out(PeerKey key, const std::string& session);
    [[nodiscard]] PeerKey peer_arg(const api::Json& args) const;
    [[nodiscard]] bool has_session(PeerKey key) const;
    [[nodiscard]] api::Json peers_json() const;

    boost::asio::io_context& io_;
    Config config_;
    ForwardingSink* sink_;
    ControlPlaneOptions opt_;
    // Policy events that repeat (E6 while a feed arrives on one session, E8 warnings) are one
    // log line per condition and window, with a count (DESIGN.md: everything bounded).
    // Before speaker_: sessions may report events while they are torn down.
    TimedLogLimit event_log_{io_};
    std::unique_ptr<RouteServer> policy_;
    std::unique_ptr<bgp::Speaker> speaker_;
    std::unique_ptr<api::Server> api_;
    std::unique_ptr<api::MetricsServer> metrics_;
    std::map<std::string, PeerKey> session_peer_; // session name → policy peer
    std::map<PeerKey, std::string> peer_session_; // policy peer → session name
    std::vector<PolicyEvent> recent_events_;      // last 64, for `rsctl stats`
    Counters counters_;
    bool started_ = false;
};

} // namespace rsfwd
