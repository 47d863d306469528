// dataplane/engine/ports.hpp — port set-up for the Engine (internal: include engine.hpp).
//
// What: probe every configured device (any PMD; net_af_xdp ones with rsfwd's split program),
// size the mempool, configure queues and MACs, and on stop close the ports and undo the split
// program's kernel side. Thread: the control thread (Engine's constructor, start(), stop()).
// Errors: std::runtime_error naming the port and device.
#pragma once

#include <cstdint>
#include <vector>

#include <rte_ethdev.h>

namespace rsfwd::dp {

struct Runtime;

// Probes rt.specs' devices and fills rt.port_ids, rt.index_by_id and the split-program state;
// returns each port's dev_info (index = config index).
std::vector<rte_eth_dev_info> probe_ports(Runtime& rt);
// mbufs the pool needs once queues and workers are known.
std::uint64_t mempool_size(const Runtime& rt);
// Queues, offloads and MACs of every port (rt.pool must exist).
void configure_ports(Runtime& rt, const std::vector<rte_eth_dev_info>& infos);
// Stops and closes every port; removes the split program and the addresses it added.
void close_ports(Runtime& rt);

} // namespace rsfwd::dp
