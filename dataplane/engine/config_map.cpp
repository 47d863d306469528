// dataplane/engine/config_map.cpp — Config → PortSpec/NeighbourSpec. Kept apart so that the engine
// and its tests can be driven without a YAML file.
#include "dataplane/engine/config_map.hpp"

namespace rsfwd::dp {

std::vector<PortSpec> port_specs(const Config& cfg) {
    std::vector<PortSpec> out;
    for (const PortConfig& p : cfg.ports) {
        PortSpec s;
        s.name = p.name;
        s.device = p.device;
        s.subnet4 = p.subnet;
        s.addr4 = p.address;
        s.subnet6 = p.subnet6;
        s.addr6 = p.address6;
        if (p.mac) s.mac = *p.mac;
        s.view = p.view;
        out.push_back(std::move(s));
    }
    return out;
}

std::vector<NeighbourSpec> neighbour_specs(const Config& cfg) {
    std::vector<NeighbourSpec> out;
    for (const NeighbourConfig& n : cfg.neighbours) out.push_back({n.ip, n.mac, n.port});
    return out;
}

} // namespace rsfwd::dp
