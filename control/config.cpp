// control/config.cpp — the Config value types' helpers: ConfigError, MACs, the routing
// preference names and the look-ups by name. Reading a file is config_read.cpp; the Route Server
// rules a config must satisfy are config_validate.cpp.
#include "control/config.hpp"

#include <charconv>

#include <fmt/format.h>

namespace rsfwd {

ConfigError::ConfigError(std::string file, int line, std::string field, const std::string& message)
    : std::runtime_error(
          fmt::format("{}:{}: {}{}{}", file, line, field, field.empty() ? "" : ": ", message)),
      file_(std::move(file)), line_(line), field_(std::move(field)) {}

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

} // namespace rsfwd
