// control/daemon/control_plane.cpp — glue between the policy, the BGP sessions, the FIB and the
// API. Kept deliberately thin: the rules live in control/policy*, the protocol in control/bgp.
#include "control/daemon/control_plane.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>
#include <sstream>

namespace rsfwd {

using api::ApiError;
using api::Json;

namespace {

// The control plane's own counters, described once: `rsctl stats` (section "control") and
// /metrics are generated from this table.
struct ControlCounter {
    std::string_view key, metric, help;
    std::uint64_t ControlPlane::Counters::*field;
};
using C = ControlPlane::Counters;
constexpr ControlCounter control_counters[] = {
    {"policy_events", "rsfwd_policy_events_total", "Policy events (route decisions logged)",
     &C::policy_events},
    {"view_changes", "rsfwd_view_changes_total", "Route changes sent to the forwarding views",
     &C::view_changes},
    {"peer_updates", "rsfwd_peer_updates_total", "Route changes sent to peers (Adj-RIB-Out)",
     &C::peer_updates},
    {"bgp_routes_in", "rsfwd_bgp_routes_received_total", "Routes received over BGP",
     &C::bgp_routes_in},
    {"bgp_withdraws_in", "rsfwd_bgp_withdraws_received_total", "Withdrawals received over BGP",
     &C::bgp_withdraws_in},
    {"max_prefix_teardowns", "rsfwd_max_prefix_teardowns_total",
     "BGP sessions torn down for exceeding max-prefix", &C::max_prefix_teardowns},
    {"reloads", "rsfwd_config_reloads_total", "Configuration reloads applied", &C::reloads},
    {"reload_failures", "rsfwd_config_reload_failures_total",
     "Configuration reloads refused (the old config kept running)", &C::reload_failures},
};

std::string kind_str(PeerKind k) {
    switch (k) {
    case PeerKind::nva:
        return "nva";
    case PeerKind::er_circuit:
        return "er-circuit";
    case PeerKind::vpn_site:
        return "vpn-site";
    case PeerKind::er_gateway:
        return "er-gateway";
    case PeerKind::vpn_gateway:
        return "vpn-gateway";
    }
    return "?";
}

Json communities_json(const Route& r) {
    Json out = Json::array();
    for (auto c : r.communities) out.push_back(community_str(c));
    for (const auto& l : r.large_communities) {
        out.push_back(std::to_string(l.global) + ":" + std::to_string(l.local1) + ":" +
                      std::to_string(l.local2));
    }
    return out;
}

Json route_json(const Route& r) {
    return {{"prefix", r.prefix.str()},
            {"as_path", r.as_path.str()},
            {"next_hop", r.next_hop.valid() ? r.next_hop.str() : "-"},
            {"communities", communities_json(r)}};
}

Json view_route_json(const ViewRoute& v) {
    Json nhs = Json::array();
    for (const auto& n : v.next_hops) nhs.push_back(n.str());
    if (v.next_hops.empty()) nhs.push_back("connected");
    return {{"prefix", v.prefix.str()},
            {"source", std::string(to_string(v.source))},
            {"next_hops", nhs}};
}

// The part of a config that a reload cannot change without a restart.
std::string topology_signature(const Config& c) {
    std::ostringstream s;
    s << "rs:" << c.route_server.instance_ips[0].str() << ","
      << c.route_server.instance_ips[1].str() << ";";
    s << "wq:" << c.route_server.bgp_write_queue_max << ";"; // PeerConfig of every session
    s << "vnet:";
    for (const auto& p : c.vnet.address_space) s << p.str() << ",";
    for (const auto& p : c.vnet.peerings) {
        s << p.name << "=" << p.use_remote_gateway << ":";
        for (const auto& a : p.address_space) s << a.str() << ",";
    }
    s << ";ports:";
    for (const auto& p : c.ports) {
        s << p.name << "|" << p.device << "|" << p.address.str() << "|" << p.subnet.str() << "|"
          << p.view << "|" << (p.mac ? mac_str(*p.mac) : "") << ",";
    }
    auto bgp = [&s](const std::optional<BgpConfig>& b) {
        if (!b) return;
        s << "bgp(" << (b->local_ip ? b->local_ip->str() : "") << ","
          << (b->peer_ip ? b->peer_ip->str() : "") << "," << b->md5 << "," << b->hold_time << ","
          << b->multihop << ")";
    };
    s << ";nvas:";
    for (const auto& n : c.nvas) {
        s << n.name << "|" << n.asn << "|" << n.ip.str() << "|" << n.port << "|";
        for (int i : n.peers_with) s << i;
        bgp(n.bgp);
        s << ",";
    }
    if (c.expressroute_gateway) {
        s << ";er:";
        for (const auto& ci : c.expressroute_gateway->circuits) {
            s << ci.name << "|" << ci.port << "|" << ci.onprem_asn << "|" << ci.edge_ip.str();
            bgp(ci.bgp);
            s << ",";
        }
    }
    if (c.vpn_gateway) {
        s << ";vpn:";
        for (const auto& si : c.vpn_gateway->sites) {
            s << si.name << "|" << si.port << "|" << si.asn << "|" << si.device_ip.str();
            bgp(si.bgp);
            s << ",";
        }
    }
    s << ";neigh:";
    for (const auto& n : c.neighbours) s << n.ip.str() << "=" << mac_str(n.mac) << ",";
    return s.str();
}

// What changes between two whole states (both from RouteServer::snapshot()).
PolicyDelta diff_snapshots(const PolicyDelta& before, const PolicyDelta& after) {
    PolicyDelta out;
    std::map<PeerKey, std::map<Prefix, const Route*>> old_rib, new_rib;
    for (const auto& p : before.peers) {
        for (const auto& r : p.advertise) old_rib[p.peer][r.prefix] = &r;
    }
    for (const auto& p : after.peers) {
        for (const auto& r : p.advertise) new_rib[p.peer][r.prefix] = &r;
    }
    std::set<PeerKey> keys;
    for (const auto& [k, _] : old_rib) keys.insert(k);
    for (const auto& [k, _] : new_rib) keys.insert(k);
    for (const auto& k : keys) {
        PeerDelta pd{k, {}, {}};
        const auto& o = old_rib[k];
        const auto& n = new_rib[k];
        for (const auto& [pfx, r] : o) {
            if (!n.count(pfx)) pd.withdraw.push_back(pfx);
        }
        for (const auto& [pfx, r] : n) {
            auto it = o.find(pfx);
            if (it == o.end() || !(*it->second == *r)) pd.advertise.push_back(*r);
        }
        if (!pd.advertise.empty() || !pd.withdraw.empty()) out.peers.push_back(std::move(pd));
    }
    std::map<std::pair<ViewId, Prefix>, const ViewRoute*> old_v, new_v;
    for (const auto& c : before.views) {
        if (c.route) old_v[{c.view, c.prefix}] = &*c.route;
    }
    for (const auto& c : after.views) {
        if (c.route) new_v[{c.view, c.prefix}] = &*c.route;
    }
    for (const auto& [key, r] : old_v) {
        if (!new_v.count(key)) out.views.push_back({key.first, key.second, std::nullopt});
    }
    for (const auto& [key, r] : new_v) {
        auto it = old_v.find(key);
        if (it == old_v.end() || !(*it->second == *r))
            out.views.push_back({key.first, key.second, *r});
    }
    return out;
}

} // namespace

ControlPlane::ControlPlane(boost::asio::io_context& io, Config config, ForwardingSink* sink,
                           ControlPlaneOptions opt)
    : io_(io), config_(std::move(config)), sink_(sink), opt_(std::move(opt)),
      policy_(std::make_unique<RouteServer>(config_)) {
    if (sink_) sink_->bind_views(policy_->views());
    if (opt_.bgp) build_sessions();
}

ControlPlane::~ControlPlane() = default;

void ControlPlane::build_sessions() {
    const auto& rs = config_.route_server;
    bgp::SpeakerOptions so;
    so.listen_port = opt_.bgp_port;
    std::vector<bgp::PeerConfig> sessions;
    auto base = [port = opt_.bgp_port, wq_max = rs.bgp_write_queue_max](const BgpConfig& b) {
        bgp::PeerConfig pc;
        pc.hold_time = b.hold_time;
        pc.write_queue_max = static_cast<std::size_t>(wq_max);
        pc.md5_key = b.md5;
        pc.multihop_ttl = b.multihop ? 255 : 1; // E3
        pc.remote_port = port;                  // 179 in production; tests move both ends
        pc.prepend_local_as = false; // the policy's Adj-RIB-Out already carries 65515/12076
        pc.next_hop_self.reset();    // ... and the next hop (E13, B3)
        return pc;
    };
    for (std::size_t i = 0; i < config_.nvas.size(); ++i) {
        const auto& nva = config_.nvas[i];
        if (!nva.bgp) continue;
        for (int inst : nva.peers_with) {
            auto pc = base(*nva.bgp);
            const auto key =
                PeerKey::nva(static_cast<std::uint16_t>(i), static_cast<std::uint8_t>(inst));
            pc.name = policy_->peer_name(key);
            pc.local_address = rs.instance_ips[static_cast<std::size_t>(inst)]; // A1, E5
            pc.local_as = rs.asn;                                               // E1: 65515
            pc.remote_address = nva.bgp->peer_ip.value_or(nva.ip);
            pc.remote_as = nva.asn;
            if (rs.max_prefix_action == MaxPrefixAction::teardown)
                pc.max_prefixes = rs.max_prefixes; // E8
            sessions.push_back(std::move(pc));
            session_peer_[sessions.back().name] = key;
            peer_session_[key] = sessions.back().name;
        }
    }
    if (config_.expressroute_gateway) {
        const auto& circuits = config_.expressroute_gateway->circuits;
        for (std::size_t i = 0; i < circuits.size(); ++i) {
            const auto& c = circuits[i];
            if (!c.bgp) continue;
            auto pc = base(*c.bgp);
            const auto key = PeerKey::circuit(static_cast<std::uint16_t>(i));
            pc.name = policy_->peer_name(key);
            const auto* port = config_.find_port(c.port);
            pc.local_address = c.bgp->local_ip.value_or(port ? port->address : IpAddr{});
            pc.local_as = 12076; // the MSEE (B3, B4)
            pc.remote_address = c.bgp->peer_ip.value_or(c.edge_ip);
            pc.remote_as = c.onprem_asn;
            sessions.push_back(std::move(pc));
            session_peer_[sessions.back().name] = key;
            peer_session_[key] = sessions.back().name;
        }
    }
    if (config_.vpn_gateway) {
        const auto& sites = config_.vpn_gateway->sites;
        for (std::size_t i = 0; i < sites.size(); ++i) {
            const auto& s = sites[i];
            if (!s.bgp) continue;
            auto pc = base(*s.bgp);
            const auto key = PeerKey::site(static_cast<std::uint16_t>(i));
            pc.name = policy_->peer_name(key);
            const auto* port = config_.find_port(s.port);
            pc.local_address = s.bgp->local_ip.value_or(port ? port->address : IpAddr{});
            pc.local_as = config_.vpn_gateway->asn; // C1: 65515
            pc.remote_address = s.bgp->peer_ip.value_or(s.device_ip);
            pc.remote_as = s.asn;
            pc.max_prefixes = rs.vpn_max_prefixes; // C5
            sessions.push_back(std::move(pc));
            session_peer_[sessions.back().name] = key;
            peer_session_[key] = sessions.back().name;
        }
    }
    if (sessions.empty()) return;
    speaker_ = std::make_unique<bgp::Speaker>(io_, *this, so);
    for (const auto& s : sessions) speaker_->add_peer(s);
}

void ControlPlane::start() {
    if (started_) return;
    // The policy's constructor already holds the VNet space (A3) and the config's static routes
    // produce deltas only for what they change, so the FIB gets the whole first state at once.
    const auto first = policy_->announce_config_routes();
    for (const auto& e : first.events)
        spdlog::info("{}: {}", policy_->peer_name(e.peer), e.message);
    const auto snap = policy_->snapshot();
    counters_.view_changes += snap.views.size();
    if (sink_ && !snap.views.empty()) sink_->apply(snap.views);
    if (!opt_.socket_path.empty()) {
        api_ = std::make_unique<api::Server>(io_, opt_.socket_path);
        register_api();
    }
    if (!opt_.metrics_listen.empty()) {
        metrics_ = std::make_unique<api::MetricsServer>(io_, opt_.metrics_listen,
                                                        [this] { return prometheus(); });
        spdlog::info("metrics: serving Prometheus /metrics on http://{}/metrics",
                     metrics_->address());
    }
    if (speaker_) speaker_->start();
    started_ = true;
    spdlog::info("control plane up: {} peers, {} BGP sessions, {} views", policy_->peers().size(),
                 session_peer_.size(), policy_->views().size());
}

void ControlPlane::stop() {
    if (speaker_) speaker_->stop();
    api_.reset();
    metrics_.reset();
}

std::string ControlPlane::prometheus() {
    using api::MetricType;
    api::MetricsBuilder m;
    auto gauge = [&](std::string_view name, std::string_view help, double v) {
        m.family(name, help, MetricType::gauge);
        m.sample({}, v);
    };
    gauge("rsfwd_route_server_branch_to_branch", "1 when branch-to-branch traffic is on",
          policy_->branch_to_branch() ? 1 : 0);
    m.family("rsfwd_route_server_routing_preference",
             "The routing preference in force (value 1, the preference as a label)",
             MetricType::gauge);
    m.sample({{"preference", std::string(to_string(policy_->routing_preference()))}}, 1);
    gauge("rsfwd_route_server_peers", "Configured peers",
          static_cast<double>(policy_->peers().size()));
    gauge("rsfwd_route_server_bgp_sessions", "Configured BGP sessions",
          static_cast<double>(session_peer_.size()));
    for (const auto& c : control_counters) {
        m.family(c.metric, c.help, MetricType::counter);
        m.sample({}, static_cast<double>(counters_.*c.field));
    }
    peer_metrics(m);
    if (sink_) sink_->metrics(m);
    return m.text();
}

// Per peer: RIB counts; per BGP session: its state as a gauge (BGP4-MIB bgpPeerState: 1 idle
// … 6 established) and its counters. Labels: peer (and kind on the RIB counts).
void ControlPlane::peer_metrics(api::MetricsBuilder& m) const {
    using api::MetricType;
    std::map<std::string, bgp::SessionInfo> sessions;
    if (speaker_) {
        for (auto& si : speaker_->sessions()) sessions[si.name] = si;
    }
    struct Row {
        std::string name, kind;
        RouteServer::RibCounts counts;
        bool accepts;
        const bgp::SessionInfo* session;
    };
    std::vector<Row> rows;
    for (const auto& key : policy_->peers()) {
        Row r{policy_->peer_name(key), kind_str(key.kind), policy_->rib_counts(key),
              policy_->accepts_routes(key), nullptr};
        auto it = peer_session_.find(key);
        if (it != peer_session_.end() && sessions.count(it->second))
            r.session = &sessions[it->second];
        rows.push_back(std::move(r));
    }
    auto per_peer = [&](std::string_view name, std::string_view help, bool only_accepting,
                        auto value) {
        m.family(name, help, MetricType::gauge);
        for (const auto& r : rows)
            if (r.accepts || !only_accepting)
                m.sample({{"peer", r.name}, {"kind", r.kind}}, static_cast<double>(value(r)));
    };
    per_peer("rsfwd_peer_routes_received", "Routes in the peer's Adj-RIB-In", true,
             [](const Row& r) { return r.counts.received; });
    per_peer("rsfwd_peer_routes_accepted", "Routes of the peer the policy accepted", true,
             [](const Row& r) { return r.counts.accepted; });
    per_peer("rsfwd_peer_routes_advertised", "Routes advertised to the peer", false,
             [](const Row& r) { return r.counts.advertised; });
    auto per_session = [&](std::string_view name, std::string_view help, MetricType type,
                           auto value) {
        m.family(name, help, type);
        for (const auto& r : rows)
            if (r.session) m.sample({{"peer", r.name}}, static_cast<double>(value(*r.session)));
    };
    using S = bgp::SessionInfo;
    per_session("rsfwd_bgp_session_state",
                "BGP FSM state (1 idle, 2 connect, 3 active, 4 open_sent, 5 open_confirm, "
                "6 established)",
                MetricType::gauge, [](const S& x) { return static_cast<int>(x.state) + 1; });
    per_session("rsfwd_bgp_session_established", "1 while the BGP session is established",
                MetricType::gauge,
                [](const S& x) { return x.state == bgp::SessionState::established ? 1 : 0; });
    per_session("rsfwd_bgp_session_uptime_seconds", "Time the session has been in its state",
                MetricType::gauge, [](const S& x) { return x.uptime.count(); });
    per_session("rsfwd_bgp_session_collisions_total", "Connection collisions resolved",
                MetricType::counter, [](const S& x) { return x.collisions; });
    per_session("rsfwd_bgp_session_write_queue_bytes", "Bytes waiting to be written to the peer",
                MetricType::gauge, [](const S& x) { return x.write_queue_bytes; });
    per_session("rsfwd_bgp_session_write_stalls_total",
                "Times the write queue hit its bound and the session paused", MetricType::counter,
                [](const S& x) { return x.write_stalls; });
    per_session("rsfwd_bgp_session_pending_changes", "Route changes queued for the peer",
                MetricType::gauge, [](const S& x) { return x.pending_changes; });
}

bool ControlPlane::has_session(PeerKey key) const {
    return peer_session_.count(key) != 0;
}

void ControlPlane::apply(const PolicyDelta& d) {
    if (speaker_) {
        for (const auto& p : d.peers) {
            auto it = peer_session_.find(p.peer);
            if (it == peer_session_.end()) continue;
            if (!p.withdraw.empty()) (void)speaker_->withdraw(it->second, p.withdraw);
            if (!p.advertise.empty()) (void)speaker_->advertise(it->second, p.advertise);
        }
    }
    counters_.peer_updates += d.peers.size();
    counters_.view_changes += d.views.size();
    if (sink_ && !d.views.empty()) sink_->apply(d.views);
    for (const auto& e : d.events) {
        ++counters_.policy_events;
        const auto name = policy_->peer_name(e.peer);
        const bool teardown = e.kind == PolicyEventKind::max_prefix_teardown;
        if (teardown) ++counters_.max_prefix_teardowns;
        // One key per (kind, peer): a condition reported again and again (E6 counts growing
        // while a feed arrives) is one line now and one summary with the latest text later.
        (void)event_log_.log(teardown ? spdlog::level::warn : spdlog::level::info,
                             fmt::format("{} {}", to_string(e.kind), name),
                             fmt::format("{}: {}", name, e.message));
        // The same for `rsctl stats`: the newest event of a condition replaces the one before
        // it, so that a feed does not push every other event out of the 64.
        if (!recent_events_.empty() && recent_events_.back().kind == e.kind &&
            recent_events_.back().peer == e.peer && !teardown) {
            recent_events_.back() = e;
            continue;
        }
        if (recent_events_.size() == 64) recent_events_.erase(recent_events_.begin());
        recent_events_.push_back(e);
    }
}

void ControlPlane::send_full_rib_out(PeerKey key, const std::string& session) {
    const auto routes = policy_->adj_rib_out(key);
    if (!routes.empty()) (void)speaker_->advertise(session, routes);
}

void ControlPlane::on_established(const std::string& peer) {
    auto it = session_peer_.find(peer);
    if (it == session_peer_.end()) return;
    spdlog::info("bgp {}: established", peer);
    send_full_rib_out(it->second, peer);
}

void ControlPlane::on_routes(const std::string& peer, std::vector<Route> announced,
                             std::vector<Prefix> withdrawn) {
    auto it = session_peer_.find(peer);
    if (it == session_peer_.end()) return;
    const PeerKey key = it->second;
    counters_.bgp_routes_in += announced.size();
    counters_.bgp_withdraws_in += withdrawn.size();
    // H4 / "Next hops": an on-prem route is forwarded to the circuit's (site's) edge address on
    // its data port, whatever address the BGP session itself runs on.
    if (key.kind == PeerKind::er_circuit) {
        const auto& c = config_.expressroute_gateway->circuits[key.index];
        for (auto& r : announced) r.next_hop = c.edge_ip;
    } else if (key.kind == PeerKind::vpn_site) {
        const auto& s = config_.vpn_gateway->sites[key.index];
        for (auto& r : announced) r.next_hop = s.device_ip;
    }
    if (!withdrawn.empty()) apply(policy_->withdraw(key, withdrawn));
    if (!announced.empty()) apply(policy_->announce(key, announced));
}

void ControlPlane::on_down(const std::string& peer, const std::string& reason) {
    auto it = session_peer_.find(peer);
    if (it == session_peer_.end()) return;
    // A flapping session (down every connect_retry) is one line per window with a count.
    (void)event_log_.log(spdlog::level::warn, "down " + peer,
                         fmt::format("bgp {}: down ({}); its routes are withdrawn", peer, reason));
    apply(policy_->peer_down(it->second));
}

void ControlPlane::on_route_refresh(const std::string& peer) {
    auto it = session_peer_.find(peer);
    if (it == session_peer_.end()) return;
    send_full_rib_out(it->second, peer); // A10 / RFC 2918
}

Json ControlPlane::set_branch_to_branch(bool on) {
    const auto d = policy_->set_branch_to_branch(on);
    apply(d);
    return {{"branch_to_branch", on},
            {"view_changes", d.views.size()},
            {"peer_updates", d.peers.size()}};
}

Json ControlPlane::set_routing_preference(RoutingPreference pref) {
    const auto d = policy_->set_routing_preference(pref);
    apply(d);
    return {{"routing_preference", std::string(to_string(pref))},
            {"view_changes", d.views.size()},
            {"peer_updates", d.peers.size()}};
}

Json ControlPlane::reload(const std::string& path) {
    const std::string file = path.empty() ? config_.file : path;
    ++counters_.reloads;
    Config next;
    try {
        next = load_config(file);
    } catch (const std::exception& e) {
        ++counters_.reload_failures;
        throw ApiError(std::string("reload refused, the running config stays: ") + e.what());
    }
    if (topology_signature(next) != topology_signature(config_)) {
        ++counters_.reload_failures;
        throw ApiError("reload refused, the running config stays: ports, peers, addresses or "
                       "address space changed, which needs a restart (only switches and static "
                       "routes reload live)");
    }
    // Rebuild the policy from the new file, replay what BGP sessions currently hold, and apply
    // the difference between the two whole states: the sessions and the FIB see only deltas.
    auto fresh = std::make_unique<RouteServer>(next);
    (void)fresh->announce_config_routes();
    for (const auto& [session, key] : session_peer_) {
        std::vector<Route> held;
        for (const auto& r : policy_->adj_rib_in(key)) held.push_back(r.received);
        if (!held.empty()) (void)fresh->announce(key, held);
    }
    const auto delta = diff_snapshots(policy_->snapshot(), fresh->snapshot());
    policy_ = std::move(fresh);
    config_ = std::move(next);
    apply(delta);
    spdlog::info("reloaded {}: {} view changes, {} peer updates", file, delta.views.size(),
                 delta.peers.size());
    return {{"file", file},
            {"view_changes", delta.views.size()},
            {"peer_updates", delta.peers.size()},
            {"branch_to_branch", policy_->branch_to_branch()},
            {"routing_preference", std::string(to_string(policy_->routing_preference()))}};
}

PeerKey ControlPlane::peer_arg(const Json& args) const {
    const auto name = api::arg_string(args, "peer");
    auto key = policy_->find_peer(name);
    if (!key) {
        std::string known;
        for (const auto& p : policy_->peers()) {
            known += ' ';
            known += policy_->peer_name(p);
        }
        throw ApiError("unknown peer '" + name + "'; peers:" + known);
    }
    return *key;
}

Json ControlPlane::peers_json() const {
    Json rows = Json::array();
    std::map<std::string, bgp::SessionInfo> sessions;
    if (speaker_) {
        for (auto& s : speaker_->sessions()) sessions[s.name] = s;
    }
    for (const auto& key : policy_->peers()) {
        const auto name = policy_->peer_name(key);
        Json row{{"name", name}, {"kind", kind_str(key.kind)}};
        // Counts only: copying and sorting a 1M-route Adj-RIB-In per peer per `rsctl peers`
        // (and per /metrics scrape) stalled the control thread for a second or more.
        const auto counts = policy_->rib_counts(key);
        if (policy_->accepts_routes(key)) {
            row["received"] = counts.received;
            row["accepted"] = counts.accepted;
        } else {
            row["received"] = nullptr;
            row["accepted"] = nullptr;
        }
        row["advertised"] = counts.advertised;
        auto it = peer_session_.find(key);
        if (it != peer_session_.end() && sessions.count(it->second)) {
            const auto& s = sessions[it->second];
            row["session"] = "bgp";
            row["state"] = std::string(bgp::to_string(s.state));
            row["established"] = s.state == bgp::SessionState::established;
            row["remote"] = s.remote_address.str() + " AS" + std::to_string(s.remote_as);
            row["uptime_s"] = s.uptime.count();
            row["last_error"] = s.last_error.empty() ? Json(nullptr) : Json(s.last_error);
            row["last_event"] = s.last_event.empty() ? Json(nullptr) : Json(s.last_event);
            row["collisions"] = s.collisions;
            row["write_queue_bytes"] = s.write_queue_bytes;
            row["write_stalls"] = s.write_stalls;
            row["pending_changes"] = s.pending_changes;
        } else {
            row["session"] = policy_->accepts_routes(key) ? "static" : "internal";
            row["state"] = "-";
        }
        rows.push_back(std::move(row));
    }
    return rows;
}

Json ControlPlane::handle(const std::string& cmd, const Json& args) {
    if (cmd == "peers") return peers_json();
    if (cmd == "routes.learned") {
        const auto key = peer_arg(args);
        if (!policy_->accepts_routes(key)) throw ApiError("this peer only receives routes");
        Json rows = Json::array();
        for (const auto& r : policy_->adj_rib_in(key)) {
            Json row = route_json(r.received);
            row["held_as_path"] = r.held.as_path.str();
            row["status"] = r.accepted ? "accepted" : "rejected";
            row["reason"] = r.reason.empty() ? Json(nullptr) : Json(r.reason);
            rows.push_back(std::move(row));
        }
        return rows;
    }
    if (cmd == "routes.advertised") {
        Json rows = Json::array();
        for (const auto& r : policy_->adj_rib_out(peer_arg(args))) rows.push_back(route_json(r));
        return rows;
    }
    if (cmd == "routes.view" || cmd == "fib.lookup") {
        const auto view = api::arg_string(args, "view");
        const auto& views = policy_->views();
        if (std::find(views.begin(), views.end(), view) == views.end()) {
            std::string known;
            for (const auto& v : views) {
                known += ' ';
                known += v;
            }
            throw ApiError("unknown view '" + view + "'; views:" + known);
        }
        if (cmd == "routes.view") {
            Json rows = Json::array();
            for (const auto& r : policy_->view(view)) rows.push_back(view_route_json(r));
            return rows;
        }
        const auto text = api::arg_string(args, "address");
        const auto addr = IpAddr::parse(text);
        if (!addr) throw ApiError("not an IP address: '" + text + "'");
        Json out{{"view", view}, {"address", addr->str()}};
        // The policy's answer (longest match over the view's effective routes) ...
        const ViewRoute* best = nullptr;
        const auto routes = policy_->view(view);
        for (const auto& r : routes) {
            if (r.prefix.contains(*addr) && (!best || r.prefix.len > best->prefix.len)) best = &r;
        }
        out["route"] = best ? view_route_json(*best) : Json(nullptr);
        if (!best) out["result"] = "no_route";
        // ... and, in the daemon, what the workers' FIB says.
        if (sink_) {
            if (auto fib = sink_->lookup(view, *addr)) out["fib"] = *fib;
        }
        return out;
    }
    if (cmd == "stats") {
        Json events = Json::array();
        for (const auto& e : recent_events_) {
            events.push_back({{"kind", std::string(to_string(e.kind))},
                              {"peer", policy_->peer_name(e.peer)},
                              {"message", e.message}});
        }
        Json out{{"route_server",
                  {{"branch_to_branch", policy_->branch_to_branch()},
                   {"routing_preference", std::string(to_string(policy_->routing_preference()))},
                   {"peers", policy_->peers().size()},
                   {"bgp_sessions", session_peer_.size()}}},
                 {"control", Json::object()}};
        for (const auto& c : control_counters)
            out["control"][std::string(c.key)] = counters_.*c.field;
        if (!events.empty()) out["recent_events"] = events;
        if (sink_) out["forwarding"] = sink_->stats();
        return out;
    }
    if (cmd == "set.branch_to_branch") {
        const auto v = api::arg_string(args, "value");
        if (v != "on" && v != "off") throw ApiError("branch-to-branch takes on or off");
        return set_branch_to_branch(v == "on");
    }
    if (cmd == "set.routing_preference") {
        const auto v = api::arg_string(args, "value");
        auto pref = parse_routing_preference(v);
        if (!pref) throw ApiError("routing preference is ExpressRoute, VpnGateway or ASPath");
        return set_routing_preference(*pref);
    }
    if (cmd == "announce" || cmd == "withdraw") {
        const auto key = peer_arg(args);
        if (!policy_->accepts_routes(key)) throw ApiError("this peer does not announce routes");
        if (has_session(key)) {
            throw ApiError("peer '" + policy_->peer_name(key) +
                           "' is a BGP peer: its routes come from its session");
        }
        const auto text = api::arg_string(args, "prefix");
        const auto prefix = Prefix::parse(text);
        if (!prefix) {
            if (auto loose = Prefix::parse(text, false)) {
                throw ApiError("host bits set in " + text + " (the prefix is " + loose->str() +
                               ")");
            }
            throw ApiError("not a prefix: " + text);
        }
        if (cmd == "withdraw") {
            const auto held = policy_->adj_rib_in(key); // a static peer's few routes
            if (std::none_of(held.begin(), held.end(),
                             [&](const auto& r) { return r.received.prefix == *prefix; })) {
                throw ApiError(prefix->str() + " was not announced by " + policy_->peer_name(key) +
                               ": nothing to withdraw");
            }
            const auto d = policy_->withdraw(key, *prefix);
            apply(d);
            return {{"withdrawn", prefix->str()}, {"view_changes", d.views.size()}};
        }
        Route r;
        r.prefix = *prefix;
        const auto path_text = api::arg_string_or(args, "as_path", "");
        auto path = AsPath::parse(path_text);
        if (!path) throw ApiError("not an AS path: '" + path_text + "'");
        r.as_path = *path;
        const auto nh_text = api::arg_string_or(args, "next_hop", "");
        if (!nh_text.empty()) {
            auto nh = IpAddr::parse(nh_text);
            if (!nh) throw ApiError("not a next-hop address: '" + nh_text + "'");
            r.next_hop = *nh;
        }
        if (args.contains("communities")) {
            if (!args.at("communities").is_array()) throw ApiError("communities must be a list");
            for (const auto& c : args.at("communities")) {
                auto v = c.is_string() ? parse_community(c.get<std::string>()) : std::nullopt;
                if (!v) throw ApiError("not a community: " + c.dump());
                r.communities.push_back(*v);
            }
        }
        const auto d = policy_->announce(key, r);
        apply(d);
        Json status = nullptr, accepted = nullptr, reason = nullptr;
        for (const auto& in : policy_->adj_rib_in(key)) {
            if (in.received.prefix == r.prefix) {
                status = in.accepted ? Json("accepted") : Json("rejected: " + in.reason);
                accepted = in.accepted;
                if (!in.accepted) reason = in.reason;
            }
        }
        return {{"announced", prefix->str()},
                {"status", status},
                {"accepted", accepted},
                {"reason", reason},
                {"view_changes", d.views.size()}};
    }
    if (cmd == "warnings") {
        // The standing list: config warnings, then E6 disagreements (one per NVA and prefix),
        // at most `limit` (default 1000) of them; `count` is the whole number.
        std::size_t limit = 1000;
        if (args.contains("limit")) {
            const auto& l = args.at("limit");
            if (!l.is_number_integer() || l.get<std::int64_t>() < 0) {
                throw ApiError("argument 'limit' must be a non-negative integer");
            }
            limit = l.get<std::size_t>();
        }
        auto all = config_.warnings;
        for (auto& w : policy_->consistency_warnings()) all.push_back(std::move(w));
        Json list = Json::array();
        for (std::size_t i = 0; i < all.size() && i < limit; ++i) list.push_back(all[i]);
        return Json{{"count", all.size()}, {"warnings", std::move(list)}};
    }
    if (cmd == "reload") return reload(api::arg_string_or(args, "file", ""));
    throw ApiError("unknown command '" + cmd + "'");
}

void ControlPlane::register_api() {
    struct Cmd {
        const char* name;
        const char* help;
    };
    static constexpr Cmd cmds[] = {
        {"peers", "every peer: kind, session state, routes received/accepted/advertised"},
        {"routes.learned", "Adj-RIB-In of {peer}: accepted or rejected, and why"},
        {"routes.advertised", "Adj-RIB-Out of {peer}"},
        {"routes.view", "effective routes of {view}"},
        {"fib.lookup", "longest match of {address} in {view}: policy and worker FIB"},
        {"stats", "switches, control counters, recent policy events, forwarding counters"},
        {"set.branch_to_branch", "{value: on|off} (A5/A6)"},
        {"set.routing_preference", "{value: ExpressRoute|VpnGateway|ASPath} (D2)"},
        {"announce", "{peer, prefix, as_path?, next_hop?, communities?} on a static peer"},
        {"withdraw", "{peer, prefix} on a static peer"},
        {"warnings", "standing warnings: config, E6 session disagreements ({limit?})"},
        {"reload", "re-read the config file ({file?}); switches and static routes apply live"},
    };
    for (const auto& c : cmds) {
        const std::string name = c.name;
        api_->on(name, c.help, [this, name](const Json& args) { return handle(name, args); });
    }
}

} // namespace rsfwd
