// control/config_read.cpp — YAML → Config. The reader is strict on purpose: an unknown key, a
// malformed value or a reference to something that does not exist is an error that names the
// file, the line and the field, because a silently ignored typo in a routing lab produces a
// "working" topology that is not the one the user meant. Reading fills a local Config which is
// only returned when everything passed (nothing half-loaded).
//
// Each section of the file has its reader below; the Route Server rules and cross references
// live in config_validate.cpp. The readers call those checks as soon as the values they need
// are read, so the error reported is always the first one in reading order.
#include "control/config.hpp"
#include "control/config_validate.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

namespace rsfwd {

namespace {

namespace check = config_check;

int line_of(const YAML::Node& n) {
    const auto m = n.Mark();
    return m.line >= 0 ? m.line + 1 : 0;
}

// Walks the YAML tree; every accessor knows the dotted field path and the line for its errors.
class Reader {
public:
    explicit Reader(std::string file) : file_(std::move(file)) {}

    [[noreturn]] void fail(int line, const std::string& field, const std::string& msg) const {
        throw ConfigError(file_, line, field, msg);
    }
    [[noreturn]] void fail(const YAML::Node& n, const std::string& field,
                           const std::string& msg) const {
        fail(line_of(n), field, msg);
    }

    // Refuses keys outside `allowed` and duplicate keys (yaml-cpp keeps both silently).
    void map(const YAML::Node& n, const std::string& field,
             std::initializer_list<std::string_view> allowed) const {
        if (!n.IsMap()) fail(n, field, "expected a mapping");
        std::set<std::string> seen;
        for (auto it = n.begin(); it != n.end(); ++it) {
            if (!it->first.IsScalar()) fail(it->first, field, "keys must be plain names");
            const auto key = it->first.Scalar();
            const auto sub = Reader::sub(field, key);
            if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
                fail(it->first, sub, "unknown key");
            }
            if (!seen.insert(key).second) fail(it->first, sub, "duplicate key");
        }
    }

    void seq(const YAML::Node& n, const std::string& field) const {
        if (!n.IsSequence()) fail(n, field, "expected a list");
    }

    static std::string sub(const std::string& field, std::string_view key) {
        return config_check::sub(field, key);
    }
    static std::string idx(const std::string& field, std::size_t i) {
        return config_check::idx(field, i);
    }
    // Where a rule check blames: this node's line and `field`.
    config_check::Where at(const YAML::Node& n, std::string field) const {
        return {file_, line_of(n), std::move(field)};
    }

    // A list: each(n, "nvas", f) calls f(entry, "nvas[i]") for every entry, in order.
    template <typename F>
    void each(const YAML::Node& n, const std::string& field, F&& f) const {
        seq(n, field);
        for (std::size_t i = 0; i < n.size(); ++i) f(n[i], idx(field, i));
    }

    // Required child; the error points at the parent mapping.
    YAML::Node need(const YAML::Node& parent, const std::string& field, const char* key) const {
        auto n = parent[key];
        if (!n.IsDefined() || n.IsNull()) fail(parent, sub(field, key), "required key missing");
        return n;
    }

    std::string str(const YAML::Node& n, const std::string& field) const {
        if (!n.IsScalar()) fail(n, field, "expected a string");
        return n.Scalar();
    }
    std::string name(const YAML::Node& n, const std::string& field) const {
        auto s = str(n, field);
        if (s.empty() || s.size() > 64) fail(n, field, "name must be 1..64 characters");
        for (char c : s) {
            if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ||
                  c == '.')) {
                fail(n, field, fmt::format("'{}': names use letters, digits, '-', '_', '.'", s));
            }
        }
        return s;
    }
    bool boolean(const YAML::Node& n, const std::string& field) const {
        const auto s = str(n, field);
        if (s == "true") return true;
        if (s == "false") return false;
        fail(n, field, fmt::format("'{}' is not true or false", s));
    }
    std::uint64_t uint(const YAML::Node& n, const std::string& field, std::uint64_t max) const {
        const auto s = str(n, field);
        std::uint64_t v = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        if (s.empty() || ec != std::errc{} || p != s.data() + s.size() || v > max) {
            fail(n, field, fmt::format("'{}' is not an integer in 0..{}", s, max));
        }
        return v;
    }
    std::uint64_t positive(const YAML::Node& n, const std::string& field, std::uint64_t max) const {
        const auto v = uint(n, field, max);
        if (v == 0) fail(n, field, "must be > 0");
        return v;
    }
    // One of a few keywords; `expected` completes "'x': expected ...".
    template <typename E>
    E keyword(const YAML::Node& n, const std::string& field,
              std::initializer_list<std::pair<std::string_view, E>> options,
              std::string_view expected) const {
        const auto s = str(n, field);
        for (const auto& [text, value] : options)
            if (s == text) return value;
        fail(n, field, fmt::format("'{}': expected {}", s, expected));
    }
    std::uint32_t asn(const YAML::Node& n, const std::string& field) const {
        return static_cast<std::uint32_t>(uint(n, field, 0xFFFFFFFFull));
    }
    IpAddr ip4(const YAML::Node& n, const std::string& field) const {
        const auto s = str(n, field);
        auto a = IpAddr::parse(s);
        if (!a || !a->is_v4()) fail(n, field, fmt::format("'{}' is not an IPv4 address", s));
        return *a;
    }
    Prefix prefix4(const YAML::Node& n, const std::string& field) const {
        const auto s = str(n, field);
        auto p = Prefix::parse(s);
        if (!p || !p->addr.is_v4()) {
            fail(n, field,
                 fmt::format("'{}' is not an IPv4 prefix (a.b.c.d/len, host bits zero; E10)", s));
        }
        return *p;
    }
    // "10.1.3.1/24" → address + masked subnet.
    std::pair<IpAddr, Prefix> iface(const YAML::Node& n, const std::string& field, bool v6) const {
        const auto s = str(n, field);
        auto p = Prefix::parse(s, false);
        const auto slash = s.find('/');
        auto a = slash == std::string::npos ? std::nullopt : IpAddr::parse(s.substr(0, slash));
        if (!p || !a || (v6 ? !a->is_v6() : !a->is_v4())) {
            fail(n, field,
                 fmt::format("'{}' is not an {} interface address (addr/len)", s,
                             v6 ? "IPv6" : "IPv4"));
        }
        return {*a, *p};
    }
    AsPath path(const YAML::Node& n, const std::string& field) const {
        std::string s;
        if (n.IsSequence()) {
            for (std::size_t i = 0; i < n.size(); ++i) {
                if (i) s += ' ';
                s += std::to_string(asn(n[i], idx(field, i)));
            }
        } else {
            s = n.IsNull() ? "" : str(n, field);
        }
        auto p = AsPath::parse(s);
        if (!p) fail(n, field, fmt::format("'{}' is not an AS path (e.g. \"65001 65002\")", s));
        return *p;
    }
    std::vector<Community> communities(const YAML::Node& n, const std::string& field) const {
        seq(n, field);
        std::vector<Community> out;
        for (std::size_t i = 0; i < n.size(); ++i) {
            const auto s = str(n[i], idx(field, i));
            auto c = parse_community(s);
            if (!c) fail(n[i], idx(field, i), fmt::format("'{}' is not a community (hi:lo)", s));
            out.push_back(*c);
        }
        return out;
    }
    template <std::size_t N>
    std::array<IpAddr, N> ips(const YAML::Node& n, const std::string& field) const {
        seq(n, field);
        if (n.size() != N) fail(n, field, fmt::format("expected exactly {} addresses", N));
        std::array<IpAddr, N> out{};
        for (std::size_t i = 0; i < N; ++i) out[i] = ip4(n[i], idx(field, i));
        return out;
    }
    std::vector<Prefix> prefixes(const YAML::Node& n, const std::string& field) const {
        seq(n, field);
        std::vector<Prefix> out;
        std::unordered_set<Prefix, PrefixHash> seen; // O(n): route lists can be 100k long
        for (std::size_t i = 0; i < n.size(); ++i) {
            auto p = prefix4(n[i], idx(field, i));
            if (!seen.insert(p).second) {
                fail(n[i], idx(field, i), fmt::format("duplicate prefix {}", p.str()));
            }
            out.push_back(p);
        }
        return out;
    }

    const std::string& file() const { return file_; }

private:
    std::string file_;
};
BgpConfig read_bgp(const Reader& r, const YAML::Node& n, const std::string& f, bool nva) {
    if (nva)
        r.map(n, f, {"local_ip", "peer_ip", "md5", "hold_time", "multihop"});
    else
        r.map(n, f, {"local_ip", "peer_ip", "md5", "hold_time"});
    BgpConfig b;
    b.line = line_of(n);
    if (n["local_ip"]) b.local_ip = r.ip4(n["local_ip"], Reader::sub(f, "local_ip"));
    if (n["peer_ip"]) b.peer_ip = r.ip4(n["peer_ip"], Reader::sub(f, "peer_ip"));
    if (n["md5"]) {
        b.md5 = r.str(n["md5"], Reader::sub(f, "md5"));
        if (b.md5.size() > 80) r.fail(n["md5"], Reader::sub(f, "md5"), "longer than 80 bytes");
    }
    if (n["hold_time"]) {
        b.hold_time =
            static_cast<std::uint16_t>(r.uint(n["hold_time"], Reader::sub(f, "hold_time"), 65535));
        if (b.hold_time == 1 || b.hold_time == 2) {
            r.fail(n["hold_time"], Reader::sub(f, "hold_time"), "must be 0 or >= 3 (RFC 4271)");
        }
    }
    if (n["multihop"]) b.multihop = r.boolean(n["multihop"], Reader::sub(f, "multihop"));
    return b;
}

enum class RouteKind { nva, circuit, site };

RouteConfig read_route(const Reader& r, const YAML::Node& e, const std::string& ef,
                       RouteKind kind) {
    if (kind == RouteKind::nva) {
        r.map(e, ef, {"prefix", "as_path", "next_hop", "communities", "instance"});
    } else {
        r.map(e, ef, {"prefix", "as_path", "communities"});
    }
    RouteConfig rc;
    rc.line = line_of(e);
    rc.prefix = r.prefix4(r.need(e, ef, "prefix"), Reader::sub(ef, "prefix"));
    if (e["as_path"]) rc.as_path = r.path(e["as_path"], Reader::sub(ef, "as_path"));
    if (e["next_hop"]) rc.next_hop = r.ip4(e["next_hop"], Reader::sub(ef, "next_hop"));
    if (e["communities"]) {
        rc.communities = r.communities(e["communities"], Reader::sub(ef, "communities"));
    }
    if (e["instance"]) {
        const auto s = r.str(e["instance"], Reader::sub(ef, "instance"));
        if (s == "both")
            rc.instance = -1;
        else
            rc.instance = static_cast<int>(r.uint(e["instance"], Reader::sub(ef, "instance"), 1));
    }
    return rc;
}

std::vector<RouteConfig> read_routes(const Reader& r, const YAML::Node& n, const std::string& f,
                                     RouteKind kind) {
    std::vector<RouteConfig> out;
    // prefix → indices in `out` with that prefix: duplicate checks stay O(n) on long lists.
    std::unordered_map<Prefix, std::vector<std::size_t>, PrefixHash> by_prefix;
    r.each(n, f, [&](const YAML::Node& e, const std::string& ef) {
        RouteConfig rc = read_route(r, e, ef, kind);
        auto& same = by_prefix[rc.prefix];
        for (const std::size_t k : same) {
            const auto& prev = out[k];
            if (prev.instance == rc.instance || prev.instance < 0 || rc.instance < 0) {
                r.fail(e, Reader::sub(ef, "prefix"),
                       fmt::format("duplicate prefix {} (line {})", rc.prefix.str(), prev.line));
            }
        }
        same.push_back(out.size());
        out.push_back(std::move(rc));
    });
    return out;
}

RouteServerConfig read_route_server(const Reader& r, const YAML::Node& n) {
    const std::string f = "route_server";
    r.map(n, f,
          {"name", "asn", "instance_ips", "branch_to_branch", "routing_preference", "max_prefixes",
           "max_prefix_action", "er_max_advertised", "er_limit_action", "no_export", "p2s_transit",
           "er_drop_hairpin", "vpn_max_prefixes", "bgp_write_queue_max"});
    RouteServerConfig rs;
    rs.line = line_of(n);
    if (n["name"]) rs.name = r.name(n["name"], f + ".name");
    if (n["asn"]) {
        rs.asn = r.asn(n["asn"], f + ".asn");
        check::route_server_asn(r.at(n["asn"], f + ".asn"), rs.asn);
    }
    rs.instance_ips = r.ips<2>(r.need(n, f, "instance_ips"), f + ".instance_ips");
    check::distinct_instance_ips(r.at(n["instance_ips"], f + ".instance_ips"), rs.instance_ips);
    if (n["branch_to_branch"]) {
        rs.branch_to_branch = r.boolean(n["branch_to_branch"], f + ".branch_to_branch");
    }
    if (n["routing_preference"]) {
        const auto s = r.str(n["routing_preference"], f + ".routing_preference");
        auto p = parse_routing_preference(s);
        if (!p) {
            r.fail(n["routing_preference"], f + ".routing_preference",
                   fmt::format("'{}': expected ExpressRoute, VpnGateway or ASPath (D2)", s));
        }
        rs.routing_preference = *p;
    }
    if (n["max_prefixes"]) {
        rs.max_prefixes =
            static_cast<std::uint32_t>(r.positive(n["max_prefixes"], f + ".max_prefixes", 1000000));
    }
    if (n["max_prefix_action"]) {
        rs.max_prefix_action = r.keyword<MaxPrefixAction>(
            n["max_prefix_action"], f + ".max_prefix_action",
            {{"teardown", MaxPrefixAction::teardown}, {"ignore", MaxPrefixAction::ignore}},
            "teardown or ignore (E8)");
    }
    if (n["er_max_advertised"]) {
        rs.er_max_advertised = static_cast<std::uint32_t>(
            r.uint(n["er_max_advertised"], f + ".er_max_advertised", 1000000));
    }
    if (n["er_limit_action"]) {
        rs.er_limit_action = r.keyword<ErLimitAction>(
            n["er_limit_action"], f + ".er_limit_action",
            {{"truncate", ErLimitAction::truncate}, {"ignore", ErLimitAction::ignore}},
            "truncate or ignore (B7)");
    }
    if (n["no_export"]) {
        rs.no_export = r.keyword<NoExportMode>(
            n["no_export"], f + ".no_export",
            {{"ignore", NoExportMode::ignore}, {"rfc1997", NoExportMode::rfc1997}},
            "ignore or rfc1997 (G2)");
    }
    if (n["p2s_transit"]) rs.p2s_transit = r.boolean(n["p2s_transit"], f + ".p2s_transit");
    if (n["er_drop_hairpin"]) {
        rs.er_drop_hairpin = r.boolean(n["er_drop_hairpin"], f + ".er_drop_hairpin");
    }
    if (n["vpn_max_prefixes"]) {
        rs.vpn_max_prefixes = static_cast<std::uint32_t>(
            r.positive(n["vpn_max_prefixes"], f + ".vpn_max_prefixes", 1000000));
    }
    if (n["bgp_write_queue_max"]) {
        // At least 4 MiB: UPDATEs are paced at 1 MiB plus one encoding batch, so a smaller cap
        // would reset healthy peers during a full-table send.
        const auto field = f + ".bgp_write_queue_max";
        rs.bgp_write_queue_max =
            r.positive(n["bgp_write_queue_max"], field, std::uint64_t{1} << 40);
        if (rs.bgp_write_queue_max < (std::uint64_t{4} << 20)) {
            r.fail(n["bgp_write_queue_max"], field, "must be at least 4194304 (4 MiB)");
        }
    }
    return rs;
}

PeeringConfig read_peering(const Reader& r, const YAML::Node& n, const std::string& pf) {
    r.map(n, pf, {"name", "address_space", "use_remote_gateway"});
    PeeringConfig p;
    p.line = line_of(n);
    p.name = r.name(r.need(n, pf, "name"), pf + ".name");
    p.address_space = r.prefixes(r.need(n, pf, "address_space"), pf + ".address_space");
    if (p.address_space.empty()) r.fail(n, pf + ".address_space", "is empty");
    if (n["use_remote_gateway"]) {
        p.use_remote_gateway = r.boolean(n["use_remote_gateway"], pf + ".use_remote_gateway");
    }
    return p;
}

VnetConfig read_vnet(const Reader& r, const YAML::Node& n) {
    const std::string f = "vnet";
    r.map(n, f, {"name", "address_space", "peerings"});
    VnetConfig v;
    v.line = line_of(n);
    if (n["name"]) v.name = r.name(n["name"], f + ".name");
    v.address_space = r.prefixes(r.need(n, f, "address_space"), f + ".address_space");
    if (v.address_space.empty()) r.fail(n["address_space"], f + ".address_space", "is empty");
    if (n["peerings"]) {
        r.each(n["peerings"], f + ".peerings", [&](const YAML::Node& e, const std::string& pf) {
            v.peerings.push_back(read_peering(r, e, pf));
        });
    }
    return v;
}

PortConfig read_port(const Reader& r, const YAML::Node& n, const std::string& pf) {
    r.map(n, pf, {"name", "device", "address", "address6", "mac", "view"});
    PortConfig p;
    p.line = line_of(n);
    p.name = r.name(r.need(n, pf, "name"), pf + ".name");
    p.device = r.str(r.need(n, pf, "device"), pf + ".device");
    if (p.device.empty()) r.fail(n["device"], pf + ".device", "is empty");
    std::tie(p.address, p.subnet) = r.iface(r.need(n, pf, "address"), pf + ".address", false);
    if (n["address6"]) {
        auto [a, s] = r.iface(n["address6"], pf + ".address6", true);
        p.address6 = a;
        p.subnet6 = s;
    }
    if (n["mac"]) {
        const auto s = r.str(n["mac"], pf + ".mac");
        p.mac = parse_mac(s);
        if (!p.mac) r.fail(n["mac"], pf + ".mac", fmt::format("'{}' is not a MAC", s));
    }
    if (n["view"]) {
        p.view = r.str(n["view"], pf + ".view");
        const bool ok = p.view == "vnet" || (p.view.rfind("er/", 0) == 0 && p.view.size() > 3) ||
                        (p.view.rfind("vpn/", 0) == 0 && p.view.size() > 4);
        if (!ok) {
            r.fail(n["view"], pf + ".view",
                   fmt::format("'{}': expected vnet, er/<circuit> or vpn/<site>", p.view));
        }
    }
    return p;
}

// A `port:` reference: the named port must exist (ports are read first).
const PortConfig& read_port_ref(const Reader& r, const YAML::Node& parent, const std::string& f,
                                const Config& c) {
    const auto& n = r.need(parent, f, "port");
    const auto name = r.str(n, f + ".port");
    return check::port_ref(c, r.at(n, f + ".port"), name);
}

// What circuits and sites share: a unique name, a port that carries the view <view>/<name>, the
// on-prem ASN (E2) and the on-prem address, a host of that port.
struct OnPremPeer {
    std::string name, port;
    std::uint32_t asn = 0;
    IpAddr ip;
};
struct OnPremKeys {
    const char* kind; // "circuit", "site"
    const char* view; // "er/", "vpn/"
    const char* asn;  // the ASN key
    const char* ip;   // the address key
};
template <typename Earlier>
OnPremPeer read_onprem_peer(const Reader& r, const YAML::Node& e, const std::string& f,
                            const Config& c, const Earlier& earlier, const OnPremKeys& keys) {
    OnPremPeer o;
    o.name = r.name(r.need(e, f, "name"), f + ".name");
    check::unique_name(r.at(e["name"], f + ".name"), earlier, o.name, keys.kind);
    const auto& port = read_port_ref(r, e, f, c);
    o.port = port.name;
    check::port_view(r.at(e["port"], f + ".port"), port, keys.view + o.name, "");
    const auto asn_f = Reader::sub(f, keys.asn), ip_f = Reader::sub(f, keys.ip);
    o.asn = r.asn(r.need(e, f, keys.asn), asn_f);
    check::peer_asn(r.at(e[keys.asn], asn_f), o.asn, false);
    o.ip = r.ip4(r.need(e, f, keys.ip), ip_f);
    check::host_of_port(r.at(e[keys.ip], ip_f), port, o.ip);
    return o;
}

CircuitConfig read_circuit(const Reader& r, const YAML::Node& e, const std::string& cf,
                           const Config& c, const std::vector<CircuitConfig>& earlier) {
    r.map(e, cf, {"name", "port", "onprem_asn", "edge_ip", "routes", "bgp"});
    CircuitConfig cc;
    cc.line = line_of(e);
    auto o = read_onprem_peer(r, e, cf, c, earlier, {"circuit", "er/", "onprem_asn", "edge_ip"});
    cc.name = std::move(o.name);
    cc.port = std::move(o.port);
    cc.onprem_asn = o.asn;
    cc.edge_ip = o.ip;
    if (e["routes"]) cc.routes = read_routes(r, e["routes"], cf + ".routes", RouteKind::circuit);
    if (e["bgp"]) cc.bgp = read_bgp(r, e["bgp"], cf + ".bgp", false);
    return cc;
}

GlobalReachConfig read_global_reach(const Reader& r, const YAML::Node& n, const std::string& gf,
                                    const ErGatewayConfig& g) {
    r.map(n, gf, {"a", "b"});
    GlobalReachConfig gr;
    gr.line = line_of(n);
    gr.a = r.str(r.need(n, gf, "a"), gf + ".a");
    gr.b = r.str(r.need(n, gf, "b"), gf + ".b");
    check::global_reach_circuit(r.at(n["a"], gf + ".a"), g.circuits, gr.a);
    check::global_reach_circuit(r.at(n["b"], gf + ".b"), g.circuits, gr.b);
    check::global_reach_pair(r.at(n, gf), gr, g.global_reach);
    return gr;
}

ErGatewayConfig read_expressroute_gateway(const Reader& r, const YAML::Node& n, const Config& c) {
    const std::string f = "expressroute_gateway";
    r.map(n, f, {"instance_ips", "circuits", "global_reach"});
    ErGatewayConfig g;
    g.line = line_of(n);
    g.instance_ips = r.ips<2>(r.need(n, f, "instance_ips"), f + ".instance_ips");
    if (n["circuits"]) {
        r.each(n["circuits"], f + ".circuits", [&](const YAML::Node& e, const std::string& cf) {
            g.circuits.push_back(read_circuit(r, e, cf, c, g.circuits));
        });
    }
    if (n["global_reach"]) {
        r.each(n["global_reach"], f + ".global_reach",
               [&](const YAML::Node& e, const std::string& gf) {
                   g.global_reach.push_back(read_global_reach(r, e, gf, g));
               });
    }
    return g;
}

SiteConfig read_site(const Reader& r, const YAML::Node& e, const std::string& sf, const Config& c,
                     const std::vector<SiteConfig>& earlier) {
    r.map(e, sf, {"name", "port", "asn", "device_ip", "prefixes", "routes", "bgp"});
    SiteConfig s;
    s.line = line_of(e);
    auto o = read_onprem_peer(r, e, sf, c, earlier, {"site", "vpn/", "asn", "device_ip"});
    s.name = std::move(o.name);
    s.port = std::move(o.port);
    s.asn = o.asn;
    s.device_ip = o.ip;
    if (e["prefixes"]) s.prefixes = r.prefixes(e["prefixes"], sf + ".prefixes");
    if (e["routes"]) s.routes = read_routes(r, e["routes"], sf + ".routes", RouteKind::site);
    for (const auto& rc : s.routes) {
        if (std::find(s.prefixes.begin(), s.prefixes.end(), rc.prefix) != s.prefixes.end()) {
            r.fail(rc.line, sf + ".routes.prefix",
                   fmt::format("duplicate prefix {} (also in prefixes)", rc.prefix.str()));
        }
    }
    if (e["bgp"]) s.bgp = read_bgp(r, e["bgp"], sf + ".bgp", false);
    return s;
}

VpnGatewayConfig read_vpn_gateway(const Reader& r, const YAML::Node& n, const Config& c) {
    const std::string f = "vpn_gateway";
    r.map(n, f, {"asn", "active_active", "instance_ips", "sites"});
    VpnGatewayConfig g;
    g.line = line_of(n);
    if (n["asn"]) {
        g.asn = r.asn(n["asn"], f + ".asn");
        check::vpn_gateway_asn(r.at(n["asn"], f + ".asn"), g.asn);
    }
    if (n["active_active"]) {
        g.active_active = r.boolean(n["active_active"], f + ".active_active");
        check::vpn_active_active(r.at(n["active_active"], f + ".active_active"), g.active_active);
    }
    g.instance_ips = r.ips<2>(r.need(n, f, "instance_ips"), f + ".instance_ips");
    if (n["sites"]) {
        r.each(n["sites"], f + ".sites", [&](const YAML::Node& e, const std::string& sf) {
            g.sites.push_back(read_site(r, e, sf, c, g.sites));
        });
    }
    return g;
}

// peers_with: [0], [1] or [0, 1], sorted (E6).
std::vector<int> read_peers_with(const Reader& r, const YAML::Node& pw, const std::string& f) {
    r.seq(pw, f);
    if (pw.size() == 0 || pw.size() > 2) r.fail(pw, f, "expected [0], [1] or [0, 1]");
    std::vector<int> out;
    for (std::size_t j = 0; j < pw.size(); ++j) {
        const int inst = static_cast<int>(r.uint(pw[j], Reader::idx(f, j), 1));
        if (std::find(out.begin(), out.end(), inst) != out.end()) {
            r.fail(pw[j], Reader::idx(f, j), "duplicate instance");
        }
        out.push_back(inst);
    }
    std::sort(out.begin(), out.end());
    return out;
}

NvaConfig read_nva(const Reader& r, const YAML::Node& e, const std::string& nf, Config& c) {
    r.map(e, nf, {"name", "asn", "ip", "port", "peers_with", "routes", "bgp"});
    NvaConfig v;
    v.line = line_of(e);
    v.name = r.name(r.need(e, nf, "name"), nf + ".name");
    check::unique_name(r.at(e["name"], nf + ".name"), c.nvas, v.name, "NVA");
    v.asn = r.asn(r.need(e, nf, "asn"), nf + ".asn");
    check::peer_asn(r.at(e["asn"], nf + ".asn"), v.asn, true);
    v.ip = r.ip4(r.need(e, nf, "ip"), nf + ".ip");
    const auto& port = read_port_ref(r, e, nf, c);
    v.port = port.name;
    check::port_view(r.at(e["port"], nf + ".port"), port, "vnet", "NVA ");
    check::host_of_port(r.at(e["ip"], nf + ".ip"), port, v.ip);
    if (e["peers_with"]) {
        v.peers_with = read_peers_with(r, e["peers_with"], nf + ".peers_with");
        check::warn_one_instance(c, r.at(e["peers_with"], nf + ".peers_with"), nf, v.name,
                                 v.peers_with.size());
    }
    if (e["routes"]) {
        v.routes = read_routes(r, e["routes"], nf + ".routes", RouteKind::nva);
        check::nva_route_instances(r.file(), v, nf);
    }
    if (e["bgp"]) v.bgp = read_bgp(r, e["bgp"], nf + ".bgp", true);
    return v;
}

NeighbourConfig read_neighbour(const Reader& r, const YAML::Node& e, const std::string& nf,
                               const Config& c) {
    r.map(e, nf, {"ip", "mac", "port"});
    NeighbourConfig nb;
    nb.line = line_of(e);
    // IPv4 (static ARP entry) or IPv6 (static ND entry, on a port with address6).
    {
        const auto& in = r.need(e, nf, "ip");
        const auto s = r.str(in, nf + ".ip");
        auto a = IpAddr::parse(s);
        if (!a) r.fail(in, nf + ".ip", fmt::format("'{}' is not an IP address", s));
        nb.ip = *a;
    }
    const auto ms = r.str(r.need(e, nf, "mac"), nf + ".mac");
    auto mac = parse_mac(ms);
    if (!mac) r.fail(e["mac"], nf + ".mac", fmt::format("'{}' is not a MAC", ms));
    nb.mac = *mac;
    const auto& port = read_port_ref(r, e, nf, c);
    nb.port = port.name;
    check::neighbour(r.at(e["ip"], nf + ".ip"), port, nb, c.neighbours);
    return nb;
}

Config parse_root(const Reader& r, const YAML::Node& root) {
    Config c;
    c.file = r.file();
    if (!root.IsDefined() || root.IsNull()) r.fail(1, "", "empty configuration");
    r.map(root, "",
          {"route_server", "vnet", "expressroute_gateway", "vpn_gateway", "nvas", "ports",
           "neighbours", "dataplane"});
    if (root["dataplane"]) {
        const auto d = root["dataplane"];
        r.map(d, "dataplane", {"allow_martian_sources"});
        if (d["allow_martian_sources"])
            c.dataplane.allow_martian_sources =
                r.boolean(d["allow_martian_sources"], "dataplane.allow_martian_sources");
    }
    c.route_server = read_route_server(r, r.need(root, "", "route_server"));
    c.vnet = read_vnet(r, r.need(root, "", "vnet"));
    // ports first: everything else refers to them.
    if (root["ports"]) {
        r.each(root["ports"], "ports", [&](const YAML::Node& e, const std::string& pf) {
            auto p = read_port(r, e, pf);
            check::unique_name(r.at(e["name"], pf + ".name"), c.ports, p.name, "port");
            c.ports.push_back(std::move(p));
        });
    }
    if (root["expressroute_gateway"]) {
        c.expressroute_gateway = read_expressroute_gateway(r, root["expressroute_gateway"], c);
    }
    if (root["vpn_gateway"]) c.vpn_gateway = read_vpn_gateway(r, root["vpn_gateway"], c);
    if (root["nvas"]) {
        const auto ns = root["nvas"];
        r.seq(ns, "nvas");
        // E7 blames the ninth entry, which only exists past the limit.
        if (ns.size() > 8) check::nva_count(r.at(ns[8], "nvas[8]"), ns.size());
        r.each(ns, "nvas", [&](const YAML::Node& e, const std::string& nf) {
            c.nvas.push_back(read_nva(r, e, nf, c));
        });
    }
    if (root["neighbours"]) {
        r.each(root["neighbours"], "neighbours", [&](const YAML::Node& e, const std::string& nf) {
            c.neighbours.push_back(read_neighbour(r, e, nf, c));
        });
    }
    check::validate_config(c);
    return c;
}

} // namespace

Config parse_config(std::string_view yaml_text, const std::string& file) {
    Reader r(file);
    YAML::Node root;
    try {
        root = YAML::Load(std::string(yaml_text));
    } catch (const YAML::Exception& e) {
        throw ConfigError(file, e.mark.line >= 0 ? e.mark.line + 1 : 0, "", e.msg);
    }
    try {
        return parse_root(r, root);
    } catch (const ConfigError&) {
        throw;
    } catch (const YAML::Exception& e) {
        throw ConfigError(file, e.mark.line >= 0 ? e.mark.line + 1 : 0, "", e.msg);
    }
}

Config load_config(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw ConfigError(path, 0, "", "cannot read file");
    std::ostringstream ss;
    ss << in.rdbuf();
    return parse_config(ss.str(), path);
}

} // namespace rsfwd
