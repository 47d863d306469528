// dataplane/engine/config_map.hpp — the one place where the config's ports and neighbours become
// the engine's PortSpec / NeighbourSpec (the engine does not depend on the config types). Thread:
// control. Cost: O(ports + neighbours).
#pragma once

#include <vector>

#include "control/config.hpp"
#include "dataplane/engine/engine.hpp"

namespace rsfwd::dp {

std::vector<PortSpec> port_specs(const Config& cfg);
std::vector<NeighbourSpec> neighbour_specs(const Config& cfg);

} // namespace rsfwd::dp
