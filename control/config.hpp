// control/config.hpp — the rsfwd configuration: a YAML file that mirrors the Azure resource model
// (Route Server, VNet and peerings, ExpressRoute gateway and circuits, VPN gateway and sites, NVA
// peers) plus the emulator's own wiring (ports, static neighbours). docs/config.md lists every key.
//
// What: plain value types and a loader that validates everything before returning (nothing is
// ever half-loaded: load_config either returns a complete Config or throws ConfigError).
// Ownership: a Config owns all its data; copy freely.
// Thread: control thread; load_config does file I/O, the types are inert.
// Cost: loading is O(size of the file) plus O(n^2) duplicate checks on small lists.
#pragma once

#include "control/model.hpp"
#include "dataplane/fib/mac.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace rsfwd {

// A configuration error. what() reads "FILE:LINE: field.path: message" (LINE is 1-based; 0 when
// the error is not tied to a line, e.g. the file cannot be read).
class ConfigError : public std::runtime_error {
public:
    ConfigError(std::string file, int line, std::string field, const std::string& message);
    [[nodiscard]] const std::string& file() const noexcept { return file_; }
    [[nodiscard]] int line() const noexcept { return line_; }
    [[nodiscard]] const std::string& field() const noexcept { return field_; }

private:
    std::string file_;
    int line_;
    std::string field_;
};

// D2
enum class RoutingPreference : std::uint8_t { expressroute, vpn_gateway, as_path };
std::string_view to_string(RoutingPreference p) noexcept;
std::optional<RoutingPreference> parse_routing_preference(std::string_view text);

// E8 (I-knob): what happens when a peer goes over its prefix limit.
enum class MaxPrefixAction : std::uint8_t { teardown, ignore };
// B7 (I-knob): what happens when more than er_max_advertised prefixes would go to a circuit.
enum class ErLimitAction : std::uint8_t { truncate, ignore };
// G2 (I-knob): NO_EXPORT is undocumented for ARS. `ignore` treats it as a normal route (default),
// `rfc1997` keeps it off every eBGP neighbour (NVAs, on-prem behind ER and VPN).
enum class NoExportMode : std::uint8_t { ignore, rfc1997 };

// A BGP session rsfwd runs itself (towards an NVA, an on-prem ER edge or a VPN device).
struct BgpConfig {
    std::optional<IpAddr> local_ip; // rsfwd's address; default: the port (or instance) address
    std::optional<IpAddr> peer_ip;  // default: the peer's configured address
    std::string md5;                // RFC 2385 password, empty = none
    std::uint16_t hold_time = 180;  // E4 (0 or >= 3)
    bool multihop = true;           // E3 (NVA sessions)
    int line = 0;
};

// A static announcement (what the peer would send over BGP).
struct RouteConfig {
    Prefix prefix;
    AsPath as_path;                 // as the peer sends it
    std::optional<IpAddr> next_hop; // NVA only (E12); default = the NVA's ip
    std::vector<Community> communities;
    int instance = -1; // NVA only: 0 or 1 = that ARS instance only; -1 = all peered
    int line = 0;
};

struct PortConfig {
    std::string name;
    std::string device; // DPDK device string
    IpAddr address;     // interface address
    Prefix subnet;      // address/len, masked: the connected subnet
    std::optional<IpAddr> address6;
    std::optional<Prefix> subnet6;
    std::optional<Mac> mac;    // default: the port's own MAC
    std::string view = "vnet"; // "vnet", "er/<circuit>", "vpn/<site>"
    int line = 0;
};

struct NeighbourConfig {
    IpAddr ip;
    Mac mac{};
    std::string port;
    int line = 0;
};

struct RouteServerConfig {
    std::string name = "ars";
    std::uint32_t asn = 65515;                                              // E1: fixed
    std::array<IpAddr, 2> instance_ips{};                                   // E5
    bool branch_to_branch = false;                                          // A5/A6
    RoutingPreference routing_preference = RoutingPreference::expressroute; // D2
    std::uint32_t max_prefixes = 1000;                                      // E8, per NVA session
    MaxPrefixAction max_prefix_action = MaxPrefixAction::teardown;          // E8
    std::uint32_t er_max_advertised = 1000;                                 // B7
    ErLimitAction er_limit_action = ErLimitAction::truncate;                // B7
    NoExportMode no_export = NoExportMode::ignore;                          // G2
    bool p2s_transit = false;              // A6 / "Defaults": P2S is not modelled yet
    bool er_drop_hairpin = true;           // B5: ER gateway drops 65517:65517 from MSEE
    std::uint32_t vpn_max_prefixes = 4000; // C5, per VPN BGP session
    // Per BGP session: bytes queued for a peer that does not read before its session is reset
    // (Cease / Out of Resources). Sized for a full table encoded at once.
    std::uint64_t bgp_write_queue_max = std::uint64_t{64} << 20;
    int line = 0;
};

struct PeeringConfig {
    std::string name;
    std::vector<Prefix> address_space;
    bool use_remote_gateway = false; // A2-A4
    int line = 0;
};

struct VnetConfig {
    std::string name = "hub";
    std::vector<Prefix> address_space;
    std::vector<PeeringConfig> peerings;
    int line = 0;
};

struct CircuitConfig {
    std::string name;
    std::string port;
    std::uint32_t onprem_asn = 0;
    IpAddr edge_ip;                  // on-prem edge on the circuit's port: next hop of its routes
    std::vector<RouteConfig> routes; // as the edge sends them; ARS holds "12076 <path>" (B4)
    std::optional<BgpConfig> bgp;
    int line = 0;
};

struct GlobalReachConfig {
    std::string a, b; // circuit names
    int line = 0;
};

struct ErGatewayConfig {
    std::array<IpAddr, 2> instance_ips{};
    std::vector<CircuitConfig> circuits;
    std::vector<GlobalReachConfig> global_reach;
    int line = 0;
};

struct SiteConfig {
    std::string name;
    std::string port;
    std::uint32_t asn = 0;
    IpAddr device_ip;                // on-prem VPN device on the site's port
    std::vector<Prefix> prefixes;    // local network gateway prefixes (static, C2)
    std::vector<RouteConfig> routes; // what the device would send over BGP (as_path as sent)
    std::optional<BgpConfig> bgp;
    int line = 0;
};

struct VpnGatewayConfig {
    std::uint32_t asn = 65515; // C1
    bool active_active = true; // C1
    std::array<IpAddr, 2> instance_ips{};
    std::vector<SiteConfig> sites;
    int line = 0;
};

struct NvaConfig {
    std::string name;
    std::uint32_t asn = 0;
    IpAddr ip;
    std::string port;
    std::vector<int> peers_with{0, 1}; // E6
    std::vector<RouteConfig> routes;
    std::optional<BgpConfig> bgp;
    int line = 0;
};

// Data-plane switches (the `dataplane:` section).
struct DataplaneConfig {
    // RFC 1812 §5.3.7 (SHOULD NOT forward martian sources: 0/8, 127/8, 224/4, 240/4,
    // 255.255.255.255): false (the default) drops them as martian_src.
    bool allow_martian_sources = false;
};

struct Config {
    std::string file;
    DataplaneConfig dataplane;
    RouteServerConfig route_server;
    VnetConfig vnet;
    std::optional<ErGatewayConfig> expressroute_gateway;
    std::optional<VpnGatewayConfig> vpn_gateway;
    std::vector<NvaConfig> nvas;
    std::vector<PortConfig> ports;
    std::vector<NeighbourConfig> neighbours;
    std::vector<std::string> warnings; // non-fatal findings (e.g. E6: NVA peers with one instance)

    [[nodiscard]] const PortConfig* find_port(std::string_view name) const noexcept;
    [[nodiscard]] const CircuitConfig* find_circuit(std::string_view name) const noexcept;
    [[nodiscard]] const SiteConfig* find_site(std::string_view name) const noexcept;
    [[nodiscard]] const NvaConfig* find_nva(std::string_view name) const noexcept;
};

// Reads and validates a YAML config file. Throws ConfigError (exit status 2 for CLIs).
Config load_config(const std::string& path);
// Same, from text; `file` is the name used in error messages.
Config parse_config(std::string_view yaml_text, const std::string& file = "<config>");

// Rule E2: peer ASNs Route Server refuses (the NVA check adds E1 for 65515).
bool is_reserved_peer_asn(std::uint32_t asn) noexcept;

} // namespace rsfwd
