// control/config_validate.hpp — private to the config loader (config_read.cpp and
// config_validate.cpp): the Route Server rules and the cross references a Config must satisfy.
//
// What: checks that throw ConfigError "FILE:LINE: field: message". The per-entry checks take
// values the reader has just read; the reader calls each one as soon as its inputs exist, so the
// error reported for a file is the first one in reading order (the loader has always reported
// errors that way and tests pin their texts). validate_config runs the checks that need the
// whole Config, after reading.
// Thread: control thread. Cost: per-entry checks scan the earlier entries of their list (lists
// are at most a few dozen long); validate_config is O(n^2) in addresses and address spaces.
#pragma once

#include "control/config.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace rsfwd::config_check {

// Dotted field paths: sub("nvas[0]", "ip") = "nvas[0].ip", idx("nvas", 0) = "nvas[0]".
std::string sub(const std::string& field, std::string_view key);
std::string idx(const std::string& field, std::size_t i);

// Where a value was read: its file, its 1-based line and the field path for its errors.
struct Where {
    const std::string& file;
    int line;
    std::string field;
    [[noreturn]] void fail(const std::string& message) const;
};

// ---- rules on one value (ROUTE_SERVER.md ids) ------------------------------------------------
void route_server_asn(const Where& at, std::uint32_t asn);                     // E1
void distinct_instance_ips(const Where& at, const std::array<IpAddr, 2>& ips); // E5
void peer_asn(const Where& at, std::uint32_t asn, bool nva);                   // E1 (NVA), E2
void vpn_gateway_asn(const Where& at, std::uint32_t asn);                      // C1
void vpn_active_active(const Where& at, bool active_active);                   // C1
void nva_count(const Where& at, std::size_t count);                            // E7
// E6 (warning, not an error): an NVA that peers with one instance only.
void warn_one_instance(Config& c, const Where& at, const std::string& nva_field,
                       const std::string& nva_name, std::size_t instances);

// ---- references and ownership ----------------------------------------------------------------
// "duplicate <kind> name <name>" when an entry of `earlier` (a range of configs with a name)
// has that name.
template <typename Earlier>
void unique_name(const Where& at, const Earlier& earlier, const std::string& name,
                 std::string_view kind) {
    for (const auto& e : earlier)
        if (e.name == name) at.fail(std::string("duplicate ").append(kind) + " name " + name);
}
const PortConfig& port_ref(const Config& c, const Where& at, const std::string& name);
// The port a circuit, site or NVA sits on must carry its view; `who` prefixes the message.
void port_view(const Where& at, const PortConfig& port, const std::string& view,
               std::string_view who);
// A peer address must be a host of its port's subnet, other than the port's own address.
void host_of_port(const Where& at, const PortConfig& port, const IpAddr& ip);
// Global Reach: `name` is a circuit read so far; a pair names two circuits once.
void global_reach_circuit(const Where& at, const std::vector<CircuitConfig>& circuits,
                          const std::string& name);
void global_reach_pair(const Where& at, const GlobalReachConfig& pair,
                       const std::vector<GlobalReachConfig>& earlier);
// An NVA route pinned to an instance (routes[].instance) needs a session with that instance.
void nva_route_instances(const std::string& file, const NvaConfig& nva,
                         const std::string& nva_field);
// A static neighbour lies in its port's subnet (IPv6: the port's address6) and is unique.
void neighbour(const Where& at, const PortConfig& port, const NeighbourConfig& nb,
               const std::vector<NeighbourConfig>& earlier);

// ---- whole-config checks, after reading ------------------------------------------------------
// Port views name existing circuits and sites; address spaces do not overlap and peering names
// are unique; every configured address has one owner; no NVA route points at Route Server (H1).
void validate_config(const Config& c);

} // namespace rsfwd::config_check
