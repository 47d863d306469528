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
