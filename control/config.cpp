// control/config.cpp — YAML → Config. The loader is strict on purpose: an unknown key, a
// malformed value or a reference to something that does not exist is an error that names the
// file, the line and the field, because a silently ignored typo in a routing lab produces a
// "working" topology that is not the one the user meant. Validation runs to completion on a
// local Config which is only returned when everything passed (nothing half-loaded).
#include "control/config.hpp"

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

ConfigError::ConfigError(std::string file, int line, std::string field, const std::string& message)
    : std::runtime_error(
          fmt::format("{}:{}: {}{}{}", file, line, field, field.empty() ? "" : ": ", message)),
      file_(std::move(file)), line_(line), field_(std::move(field)) {}

std::optional<MacAddr> parse_mac(std::string_view text) {
    if (text.size() != 17) return std::nullopt;
    MacAddr mac{};
    for (int i = 0; i < 6; ++i) {
        const auto part = text.substr(static_cast<std::size_t>(i) * 3, 2);
        if (i < 5 && text[static_cast<std::size_t>(i) * 3 + 2] != ':') return std::nullopt;
        unsigned v = 0;
        auto [p, ec] = std::from_chars(part.data(), part.data() + 2, v, 16);
        if (ec != std::errc{} || p != part.data() + 2) return std::nullopt;
        mac[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v);
    }
    return mac;
}

std::string mac_str(const MacAddr& m) {
    return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4],
                       m[5]);
}

std::string_view to_string(RoutingPreference p) noexcept {
    switch (p) {
    case RoutingPreference::expressroute:
        return "ExpressRoute";
    case RoutingPreference::vpn_gateway:
        return "VpnGateway";
    case RoutingPreference::as_path:
        return "ASPath";
    }
    return "?";
}

std::optional<RoutingPreference> parse_routing_preference(std::string_view t) {
    if (t == "ExpressRoute") return RoutingPreference::expressroute;
    if (t == "VpnGateway") return RoutingPreference::vpn_gateway;
    if (t == "ASPath") return RoutingPreference::as_path;
    return std::nullopt;
}

bool is_reserved_peer_asn(std::uint32_t asn) noexcept {
    // E2 (FAQ): 8074, 8075, 12076, 65515, 65517-65520, 23456, 64496-64511, 65535-65551, > 65535.
    if (asn == 8074 || asn == 8075 || asn == 12076 || asn == 65515 || asn == 23456) return true;
    if (asn >= 65517 && asn <= 65520) return true;
    if (asn >= 64496 && asn <= 64511) return true;
    if (asn >= 65535) return true; // covers 65535-65551 and everything above 65535
    return asn == 0;
}

const PortConfig* Config::find_port(std::string_view name) const noexcept {
    for (const auto& p : ports)
        if (p.name == name) return &p;
    return nullptr;
}
const CircuitConfig* Config::find_circuit(std::string_view name) const noexcept {
    if (!expressroute_gateway) return nullptr;
    for (const auto& c : expressroute_gateway->circuits)
        if (c.name == name) return &c;
    return nullptr;
}
const SiteConfig* Config::find_site(std::string_view name) const noexcept {
    if (!vpn_gateway) return nullptr;
    for (const auto& s : vpn_gateway->sites)
        if (s.name == name) return &s;
    return nullptr;
}
const NvaConfig* Config::find_nva(std::string_view name) const noexcept {
    for (const auto& n : nvas)
        if (n.name == name) return &n;
    return nullptr;
}

namespace {

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
            const auto sub = field.empty() ? key : field + "." + key;
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
        return field.empty() ? std::string(key) : field + "." + std::string(key);
    }
    static std::string idx(const std::string& field, std::size_t i) {
        return fmt::format("{}[{}]", field, i);
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

std::vector<RouteConfig> read_routes(const Reader& r, const YAML::Node& n, const std::string& f,
                                     RouteKind kind) {
    r.seq(n, f);
    std::vector<RouteConfig> out;
    // prefix → indices in `out` with that prefix: duplicate checks stay O(n) on long lists.
    std::unordered_map<Prefix, std::vector<std::size_t>, PrefixHash> by_prefix;
    for (std::size_t i = 0; i < n.size(); ++i) {
        const auto e = n[i];
        const auto ef = Reader::idx(f, i);
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
                rc.instance =
                    static_cast<int>(r.uint(e["instance"], Reader::sub(ef, "instance"), 1));
        }
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
    }
    return out;
}

RouteServerConfig read_route_server(const Reader& r, const YAML::Node& n) {
    const std::string f = "route_server";
    r.map(n, f,
          {"name", "asn", "instance_ips", "branch_to_branch", "routing_preference", "max_prefixes",
           "max_prefix_action", "er_max_advertised", "er_limit_action", "no_export", "p2s_transit",
           "er_drop_hairpin", "vpn_max_prefixes"});
    RouteServerConfig rs;
    rs.line = line_of(n);
    if (n["name"]) rs.name = r.name(n["name"], f + ".name");
    if (n["asn"]) {
        rs.asn = r.asn(n["asn"], f + ".asn");
        if (rs.asn != 65515)
            r.fail(n["asn"], f + ".asn", "E1: Route Server's ASN is fixed at 65515");
    }
    rs.instance_ips = r.ips<2>(r.need(n, f, "instance_ips"), f + ".instance_ips");
    if (rs.instance_ips[0] == rs.instance_ips[1]) {
        r.fail(n["instance_ips"], f + ".instance_ips", "E5: the two instances need distinct IPs");
    }
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
            static_cast<std::uint32_t>(r.uint(n["max_prefixes"], f + ".max_prefixes", 1000000));
        if (rs.max_prefixes == 0) r.fail(n["max_prefixes"], f + ".max_prefixes", "must be > 0");
    }
    if (n["max_prefix_action"]) {
        const auto s = r.str(n["max_prefix_action"], f + ".max_prefix_action");
        if (s == "teardown")
            rs.max_prefix_action = MaxPrefixAction::teardown;
        else if (s == "ignore")
            rs.max_prefix_action = MaxPrefixAction::ignore;
        else
            r.fail(n["max_prefix_action"], f + ".max_prefix_action",
                   fmt::format("'{}': expected teardown or ignore (E8)", s));
    }
    if (n["er_max_advertised"]) {
        rs.er_max_advertised = static_cast<std::uint32_t>(
            r.uint(n["er_max_advertised"], f + ".er_max_advertised", 1000000));
    }
    if (n["er_limit_action"]) {
        const auto s = r.str(n["er_limit_action"], f + ".er_limit_action");
        if (s == "truncate")
            rs.er_limit_action = ErLimitAction::truncate;
        else if (s == "ignore")
            rs.er_limit_action = ErLimitAction::ignore;
        else
            r.fail(n["er_limit_action"], f + ".er_limit_action",
                   fmt::format("'{}': expected truncate or ignore (B7)", s));
    }
    if (n["no_export"]) {
        const auto s = r.str(n["no_export"], f + ".no_export");
        if (s == "ignore")
            rs.no_export = NoExportMode::ignore;
        else if (s == "rfc1997")
            rs.no_export = NoExportMode::rfc1997;
        else
            r.fail(n["no_export"], f + ".no_export",
                   fmt::format("'{}': expected ignore or rfc1997 (G2)", s));
    }
    if (n["p2s_transit"]) rs.p2s_transit = r.boolean(n["p2s_transit"], f + ".p2s_transit");
    if (n["er_drop_hairpin"]) {
        rs.er_drop_hairpin = r.boolean(n["er_drop_hairpin"], f + ".er_drop_hairpin");
    }
    if (n["vpn_max_prefixes"]) {
        rs.vpn_max_prefixes = static_cast<std::uint32_t>(
            r.uint(n["vpn_max_prefixes"], f + ".vpn_max_prefixes", 1000000));
        if (rs.vpn_max_prefixes == 0) {
            r.fail(n["vpn_max_prefixes"], f + ".vpn_max_prefixes", "must be > 0");
        }
    }
    return rs;
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
        const auto ps = n["peerings"];
        r.seq(ps, f + ".peerings");
        for (std::size_t i = 0; i < ps.size(); ++i) {
            const auto pf = Reader::idx(f + ".peerings", i);
            r.map(ps[i], pf, {"name", "address_space", "use_remote_gateway"});
            PeeringConfig p;
            p.line = line_of(ps[i]);
            p.name = r.name(r.need(ps[i], pf, "name"), pf + ".name");
            p.address_space = r.prefixes(r.need(ps[i], pf, "address_space"), pf + ".address_space");
            if (p.address_space.empty()) r.fail(ps[i], pf + ".address_space", "is empty");
            if (ps[i]["use_remote_gateway"]) {
                p.use_remote_gateway =
                    r.boolean(ps[i]["use_remote_gateway"], pf + ".use_remote_gateway");
            }
            v.peerings.push_back(std::move(p));
        }
    }
    return v;
}

void check_peer_asn(const Reader& r, const YAML::Node& n, const std::string& f, std::uint32_t asn,
                    bool nva) {
    if (nva && asn == 65515) {
        r.fail(n, f, "E1: an NVA must not use 65515, Route Server's own ASN");
    }
    if (is_reserved_peer_asn(asn)) {
        r.fail(n, f, fmt::format("E2: ASN {} is reserved and refused by Route Server", asn));
    }
}

Config parse_root(const Reader& r, const YAML::Node& root) {
    Config c;
    c.file = r.file();
    if (!root.IsDefined() || root.IsNull()) r.fail(1, "", "empty configuration");
    r.map(root, "",
          {"route_server", "vnet", "expressroute_gateway", "vpn_gateway", "nvas", "ports",
           "neighbours"});
    c.route_server = read_route_server(r, r.need(root, "", "route_server"));
    c.vnet = read_vnet(r, r.need(root, "", "vnet"));

    // ports first: everything else refers to them.
    if (root["ports"]) {
        const auto ps = root["ports"];
        r.seq(ps, "ports");
        for (std::size_t i = 0; i < ps.size(); ++i) {
            const auto pf = Reader::idx("ports", i);
            const auto& n = ps[i];
            r.map(n, pf, {"name", "device", "address", "address6", "mac", "view"});
            PortConfig p;
            p.line = line_of(n);
            p.name = r.name(r.need(n, pf, "name"), pf + ".name");
            p.device = r.str(r.need(n, pf, "device"), pf + ".device");
            if (p.device.empty()) r.fail(n["device"], pf + ".device", "is empty");
            std::tie(p.address, p.subnet) =
                r.iface(r.need(n, pf, "address"), pf + ".address", false);
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
                const bool ok = p.view == "vnet" ||
                                (p.view.rfind("er/", 0) == 0 && p.view.size() > 3) ||
                                (p.view.rfind("vpn/", 0) == 0 && p.view.size() > 4);
                if (!ok) {
                    r.fail(n["view"], pf + ".view",
                           fmt::format("'{}': expected vnet, er/<circuit> or vpn/<site>", p.view));
                }
            }
            if (c.find_port(p.name))
                r.fail(n["name"], pf + ".name", "duplicate port name " + p.name);
            c.ports.push_back(std::move(p));
        }
    }

    auto port_ref = [&](const YAML::Node& n, const std::string& f) -> const PortConfig& {
        const auto name = r.str(n, f);
        const auto* p = c.find_port(name);
        if (!p) r.fail(n, f, fmt::format("no port named '{}'", name));
        return *p;
    };

    if (root["expressroute_gateway"]) {
        const auto n = root["expressroute_gateway"];
        const std::string f = "expressroute_gateway";
        r.map(n, f, {"instance_ips", "circuits", "global_reach"});
        ErGatewayConfig g;
        g.line = line_of(n);
        g.instance_ips = r.ips<2>(r.need(n, f, "instance_ips"), f + ".instance_ips");
        if (n["circuits"]) {
            const auto cs = n["circuits"];
            r.seq(cs, f + ".circuits");
            for (std::size_t i = 0; i < cs.size(); ++i) {
                const auto cf = Reader::idx(f + ".circuits", i);
                const auto& e = cs[i];
                r.map(e, cf, {"name", "port", "onprem_asn", "edge_ip", "routes", "bgp"});
                CircuitConfig cc;
                cc.line = line_of(e);
                cc.name = r.name(r.need(e, cf, "name"), cf + ".name");
                for (const auto& prev : g.circuits) {
                    if (prev.name == cc.name) {
                        r.fail(e["name"], cf + ".name", "duplicate circuit name " + cc.name);
                    }
                }
                const auto& port = port_ref(r.need(e, cf, "port"), cf + ".port");
                cc.port = port.name;
                if (port.view != "er/" + cc.name) {
                    r.fail(e["port"], cf + ".port",
                           fmt::format("port '{}' must have view er/{} (it has {})", port.name,
                                       cc.name, port.view));
                }
                cc.onprem_asn = r.asn(r.need(e, cf, "onprem_asn"), cf + ".onprem_asn");
                check_peer_asn(r, e["onprem_asn"], cf + ".onprem_asn", cc.onprem_asn, false);
                cc.edge_ip = r.ip4(r.need(e, cf, "edge_ip"), cf + ".edge_ip");
                if (!port.subnet.contains(cc.edge_ip) || cc.edge_ip == port.address) {
                    r.fail(e["edge_ip"], cf + ".edge_ip",
                           fmt::format("{} must be a host of port {}'s subnet {}", cc.edge_ip.str(),
                                       port.name, port.subnet.str()));
                }
                if (e["routes"]) {
                    cc.routes = read_routes(r, e["routes"], cf + ".routes", RouteKind::circuit);
                }
                if (e["bgp"]) cc.bgp = read_bgp(r, e["bgp"], cf + ".bgp", false);
                g.circuits.push_back(std::move(cc));
            }
        }
        if (n["global_reach"]) {
            const auto gs = n["global_reach"];
            r.seq(gs, f + ".global_reach");
            for (std::size_t i = 0; i < gs.size(); ++i) {
                const auto gf = Reader::idx(f + ".global_reach", i);
                r.map(gs[i], gf, {"a", "b"});
                GlobalReachConfig gr;
                gr.line = line_of(gs[i]);
                gr.a = r.str(r.need(gs[i], gf, "a"), gf + ".a");
                gr.b = r.str(r.need(gs[i], gf, "b"), gf + ".b");
                for (const auto* side : {&gr.a, &gr.b}) {
                    const bool found =
                        std::any_of(g.circuits.begin(), g.circuits.end(),
                                    [&](const auto& cc) { return cc.name == *side; });
                    if (!found) {
                        r.fail(gs[i][side == &gr.a ? "a" : "b"], gf + (side == &gr.a ? ".a" : ".b"),
                               fmt::format("no circuit named '{}'", *side));
                    }
                }
                if (gr.a == gr.b) r.fail(gs[i], gf, "a circuit cannot reach itself");
                for (const auto& prev : g.global_reach) {
                    if ((prev.a == gr.a && prev.b == gr.b) || (prev.a == gr.b && prev.b == gr.a)) {
                        r.fail(gs[i], gf, "duplicate Global Reach pair");
                    }
                }
                g.global_reach.push_back(std::move(gr));
            }
        }
        c.expressroute_gateway = std::move(g);
    }

    if (root["vpn_gateway"]) {
        const auto n = root["vpn_gateway"];
        const std::string f = "vpn_gateway";
        r.map(n, f, {"asn", "active_active", "instance_ips", "sites"});
        VpnGatewayConfig g;
        g.line = line_of(n);
        if (n["asn"]) {
            g.asn = r.asn(n["asn"], f + ".asn");
            if (g.asn != 65515) {
                r.fail(n["asn"], f + ".asn",
                       "C1: the VPN gateway must use ASN 65515 to work with Route Server");
            }
        }
        if (n["active_active"]) {
            g.active_active = r.boolean(n["active_active"], f + ".active_active");
            if (!g.active_active) {
                r.fail(n["active_active"], f + ".active_active",
                       "C1: Route Server requires an active-active VPN gateway");
            }
        }
        g.instance_ips = r.ips<2>(r.need(n, f, "instance_ips"), f + ".instance_ips");
        if (n["sites"]) {
            const auto ss = n["sites"];
            r.seq(ss, f + ".sites");
            for (std::size_t i = 0; i < ss.size(); ++i) {
                const auto sf = Reader::idx(f + ".sites", i);
                const auto& e = ss[i];
                r.map(e, sf, {"name", "port", "asn", "device_ip", "prefixes", "routes", "bgp"});
                SiteConfig s;
                s.line = line_of(e);
                s.name = r.name(r.need(e, sf, "name"), sf + ".name");
                for (const auto& prev : g.sites) {
                    if (prev.name == s.name) {
                        r.fail(e["name"], sf + ".name", "duplicate site name " + s.name);
                    }
                }
                const auto& port = port_ref(r.need(e, sf, "port"), sf + ".port");
                s.port = port.name;
                if (port.view != "vpn/" + s.name) {
                    r.fail(e["port"], sf + ".port",
                           fmt::format("port '{}' must have view vpn/{} (it has {})", port.name,
                                       s.name, port.view));
                }
                s.asn = r.asn(r.need(e, sf, "asn"), sf + ".asn");
                check_peer_asn(r, e["asn"], sf + ".asn", s.asn, false);
                s.device_ip = r.ip4(r.need(e, sf, "device_ip"), sf + ".device_ip");
                if (!port.subnet.contains(s.device_ip) || s.device_ip == port.address) {
                    r.fail(e["device_ip"], sf + ".device_ip",
                           fmt::format("{} must be a host of port {}'s subnet {}",
                                       s.device_ip.str(), port.name, port.subnet.str()));
                }
                if (e["prefixes"]) s.prefixes = r.prefixes(e["prefixes"], sf + ".prefixes");
                if (e["routes"])
                    s.routes = read_routes(r, e["routes"], sf + ".routes", RouteKind::site);
                for (const auto& rc : s.routes) {
                    if (std::find(s.prefixes.begin(), s.prefixes.end(), rc.prefix) !=
                        s.prefixes.end()) {
                        r.fail(
                            rc.line, sf + ".routes.prefix",
                            fmt::format("duplicate prefix {} (also in prefixes)", rc.prefix.str()));
                    }
                }
                if (e["bgp"]) s.bgp = read_bgp(r, e["bgp"], sf + ".bgp", false);
                g.sites.push_back(std::move(s));
            }
        }
        c.vpn_gateway = std::move(g);
    }

    if (root["nvas"]) {
        const auto ns = root["nvas"];
        r.seq(ns, "nvas");
        if (ns.size() > 8) {
            r.fail(ns[8], "nvas[8]", fmt::format("E7: at most 8 NVA peers ({} given)", ns.size()));
        }
        for (std::size_t i = 0; i < ns.size(); ++i) {
            const auto nf = Reader::idx("nvas", i);
            const auto& e = ns[i];
            r.map(e, nf, {"name", "asn", "ip", "port", "peers_with", "routes", "bgp"});
            NvaConfig v;
            v.line = line_of(e);
            v.name = r.name(r.need(e, nf, "name"), nf + ".name");
            if (c.find_nva(v.name)) r.fail(e["name"], nf + ".name", "duplicate NVA name " + v.name);
            v.asn = r.asn(r.need(e, nf, "asn"), nf + ".asn");
            check_peer_asn(r, e["asn"], nf + ".asn", v.asn, true);
            v.ip = r.ip4(r.need(e, nf, "ip"), nf + ".ip");
            const auto& port = port_ref(r.need(e, nf, "port"), nf + ".port");
            v.port = port.name;
            if (port.view != "vnet") {
                r.fail(e["port"], nf + ".port",
                       fmt::format("NVA port '{}' must have view vnet (it has {})", port.name,
                                   port.view));
            }
            if (!port.subnet.contains(v.ip) || v.ip == port.address) {
                r.fail(e["ip"], nf + ".ip",
                       fmt::format("{} must be a host of port {}'s subnet {}", v.ip.str(),
                                   port.name, port.subnet.str()));
            }
            if (e["peers_with"]) {
                const auto pw = e["peers_with"];
                r.seq(pw, nf + ".peers_with");
                if (pw.size() == 0 || pw.size() > 2) {
                    r.fail(pw, nf + ".peers_with", "expected [0], [1] or [0, 1]");
                }
                v.peers_with.clear();
                for (std::size_t j = 0; j < pw.size(); ++j) {
                    const int inst =
                        static_cast<int>(r.uint(pw[j], Reader::idx(nf + ".peers_with", j), 1));
                    if (std::find(v.peers_with.begin(), v.peers_with.end(), inst) !=
                        v.peers_with.end()) {
                        r.fail(pw[j], Reader::idx(nf + ".peers_with", j), "duplicate instance");
                    }
                    v.peers_with.push_back(inst);
                }
                std::sort(v.peers_with.begin(), v.peers_with.end());
                if (v.peers_with.size() < 2) {
                    c.warnings.push_back(fmt::format(
                        "{}:{}: {}.peers_with: E6: NVA {} peers with one Route Server instance "
                        "only; VMs served by the other instance may miss its routes",
                        r.file(), line_of(pw), nf, v.name));
                }
            }
            if (e["routes"]) {
                v.routes = read_routes(r, e["routes"], nf + ".routes", RouteKind::nva);
                for (std::size_t j = 0; j < v.routes.size(); ++j) {
                    const auto& rc = v.routes[j];
                    if (rc.instance >= 0 && std::find(v.peers_with.begin(), v.peers_with.end(),
                                                      rc.instance) == v.peers_with.end()) {
                        r.fail(rc.line, Reader::idx(nf + ".routes", j) + ".instance",
                               fmt::format("NVA {} does not peer with instance {}", v.name,
                                           rc.instance));
                    }
                }
            }
            if (e["bgp"]) v.bgp = read_bgp(r, e["bgp"], nf + ".bgp", true);
            c.nvas.push_back(std::move(v));
        }
    }

    if (root["neighbours"]) {
        const auto ns = root["neighbours"];
        r.seq(ns, "neighbours");
        for (std::size_t i = 0; i < ns.size(); ++i) {
            const auto nf = Reader::idx("neighbours", i);
            const auto& e = ns[i];
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
            const auto& port = port_ref(r.need(e, nf, "port"), nf + ".port");
            nb.port = port.name;
            if (nb.ip.is_v4() && !port.subnet.contains(nb.ip)) {
                r.fail(e["ip"], nf + ".ip",
                       fmt::format("{} is outside port {}'s subnet {}", nb.ip.str(), port.name,
                                   port.subnet.str()));
            }
            if (nb.ip.is_v6() && !port.subnet6) {
                r.fail(e["ip"], nf + ".ip",
                       fmt::format("{}: port {} has no address6", nb.ip.str(), port.name));
            }
            if (nb.ip.is_v6() && !port.subnet6->contains(nb.ip)) {
                r.fail(e["ip"], nf + ".ip",
                       fmt::format("{} is outside port {}'s subnet {}", nb.ip.str(), port.name,
                                   port.subnet6->str()));
            }
            if (nb.ip.is_v6() && nb.ip == *port.address6) {
                r.fail(e["ip"], nf + ".ip",
                       fmt::format("{} is port {}'s own address", nb.ip.str(), port.name));
            }
            for (const auto& prev : c.neighbours) {
                if (prev.ip == nb.ip) {
                    r.fail(e["ip"], nf + ".ip",
                           fmt::format("duplicate neighbour {} (line {})", nb.ip.str(), prev.line));
                }
            }
            c.neighbours.push_back(nb);
        }
    }

    // ---- cross checks ----------------------------------------------------------------------
    // Port views must name something that exists.
    for (std::size_t i = 0; i < c.ports.size(); ++i) {
        const auto& p = c.ports[i];
        const auto f = Reader::idx("ports", i) + ".view";
        if (p.view == "vnet") continue;
        if (p.view.rfind("er/", 0) == 0) {
            if (!c.find_circuit(p.view.substr(3))) {
                r.fail(p.line, f,
                       fmt::format("view {}: no circuit named '{}'", p.view, p.view.substr(3)));
            }
        } else if (p.view.rfind("vpn/", 0) == 0) {
            if (!c.find_site(p.view.substr(4))) {
                r.fail(p.line, f,
                       fmt::format("view {}: no VPN site named '{}'", p.view, p.view.substr(4)));
            }
        } else {
            r.fail(p.line, f,
                   fmt::format("'{}': expected vnet, er/<circuit> or vpn/<site>", p.view));
        }
    }

    // Address spaces: no duplicates and no overlap (Azure refuses overlapping peered VNets).
    {
        struct Space {
            Prefix p;
            std::string where;
            int line;
        };
        std::vector<Space> all;
        for (const auto& p : c.vnet.address_space)
            all.push_back({p, "vnet.address_space", c.vnet.line});
        for (std::size_t i = 0; i < c.vnet.peerings.size(); ++i) {
            for (const auto& p : c.vnet.peerings[i].address_space) {
                all.push_back({p, Reader::idx("vnet.peerings", i) + ".address_space",
                               c.vnet.peerings[i].line});
            }
        }
        for (std::size_t i = 0; i < all.size(); ++i) {
            for (std::size_t j = 0; j < i; ++j) {
                if (all[i].p.covers(all[j].p) || all[j].p.covers(all[i].p)) {
                    r.fail(all[i].line, all[i].where,
                           fmt::format("{} overlaps {} ({})", all[i].p.str(), all[j].p.str(),
                                       all[j].where));
                }
            }
        }
        for (std::size_t i = 0; i < c.vnet.peerings.size(); ++i) {
            for (std::size_t j = 0; j < i; ++j) {
                if (c.vnet.peerings[i].name == c.vnet.peerings[j].name) {
                    r.fail(c.vnet.peerings[i].line, Reader::idx("vnet.peerings", i) + ".name",
                           "duplicate peering name " + c.vnet.peerings[i].name);
                }
            }
        }
    }

    // Every configured address is unique (two owners of one IP break ARP and next hops).
    {
        struct Owner {
            IpAddr ip;
            std::string field;
            int line;
        };
        std::vector<Owner> owners;
        auto add = [&](const IpAddr& ip, std::string field, int line) {
            for (const auto& o : owners) {
                if (o.ip == ip) {
                    r.fail(line, field,
                           fmt::format("duplicate address {} (also {} at line {})", ip.str(),
                                       o.field, o.line));
                }
            }
            owners.push_back({ip, std::move(field), line});
        };
        for (int i = 0; i < 2; ++i) {
            add(c.route_server.instance_ips[static_cast<std::size_t>(i)],
                fmt::format("route_server.instance_ips[{}]", i), c.route_server.line);
        }
        if (c.expressroute_gateway) {
            for (int i = 0; i < 2; ++i) {
                add(c.expressroute_gateway->instance_ips[static_cast<std::size_t>(i)],
                    fmt::format("expressroute_gateway.instance_ips[{}]", i),
                    c.expressroute_gateway->line);
            }
            for (std::size_t i = 0; i < c.expressroute_gateway->circuits.size(); ++i) {
                const auto& cc = c.expressroute_gateway->circuits[i];
                add(cc.edge_ip, Reader::idx("expressroute_gateway.circuits", i) + ".edge_ip",
                    cc.line);
            }
        }
        if (c.vpn_gateway) {
            for (int i = 0; i < 2; ++i) {
                add(c.vpn_gateway->instance_ips[static_cast<std::size_t>(i)],
                    fmt::format("vpn_gateway.instance_ips[{}]", i), c.vpn_gateway->line);
            }
            for (std::size_t i = 0; i < c.vpn_gateway->sites.size(); ++i) {
                const auto& s = c.vpn_gateway->sites[i];
                add(s.device_ip, Reader::idx("vpn_gateway.sites", i) + ".device_ip", s.line);
            }
        }
        for (std::size_t i = 0; i < c.nvas.size(); ++i) {
            add(c.nvas[i].ip, Reader::idx("nvas", i) + ".ip", c.nvas[i].line);
        }
        for (std::size_t i = 0; i < c.ports.size(); ++i) {
            add(c.ports[i].address, Reader::idx("ports", i) + ".address", c.ports[i].line);
        }
    }

    // H1: an NVA may not point its routes at Route Server.
    for (std::size_t i = 0; i < c.nvas.size(); ++i) {
        for (std::size_t j = 0; j < c.nvas[i].routes.size(); ++j) {
            const auto& rc = c.nvas[i].routes[j];
            if (rc.next_hop && (*rc.next_hop == c.route_server.instance_ips[0] ||
                                *rc.next_hop == c.route_server.instance_ips[1])) {
                r.fail(rc.line, fmt::format("nvas[{}].routes[{}].next_hop", i, j),
                       "H1: Route Server is never a next hop");
            }
        }
    }
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
