// control/plan.hpp — `rsfwd plan`: "what would Route Server do with this config?".
//
// What: loads a config, announces its static routes through the policy engine (RouteServer) and
// prints, per peer, the learned routes (accepted or rejected, and why) and the advertised routes,
// and per view the effective routes with next hops. Human tables by default; --json emits the
// stable schema documented in docs/plan-json.md. No DPDK, no sockets.
// Thread: any (single-threaded, self-contained). Cost: one full policy computation.
#pragma once

#include "control/policy.hpp"

#include <string>
#include <vector>

namespace rsfwd {

// argv[0] is "plan". Options: --config FILE, --json, --branch-to-branch on|off,
// --routing-preference ExpressRoute|VpnGateway|ASPath, --help. Returns the exit status:
// 0 ok, 2 config error or bad usage.
int plan_main(int argc, char** argv);

// The renderers plan_main uses, for tests and for rsctl-like tools. `events` are the events
// raised while loading (E8 teardowns, E6 warnings, B7 limits).
std::string render_plan_json(const RouteServer& rs, const std::vector<PolicyEvent>& events);
std::string render_plan_text(const RouteServer& rs, const std::vector<PolicyEvent>& events);

} // namespace rsfwd
