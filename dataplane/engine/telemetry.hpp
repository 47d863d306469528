// dataplane/engine/telemetry.hpp — the engine's DPDK telemetry commands (/rsfwd/stats, drops,
// ports, workers, fib), internal to dataplane/engine.
//
// What: telemetry_attach() registers the commands (once per process: DPDK cannot unregister
// them) and points them at an engine; telemetry_detach() makes them answer an error.
// Thread: attach/detach on the control thread; the callbacks run on DPDK's telemetry thread.
#pragma once

namespace rsfwd::dp {

class Engine;

void telemetry_attach(const Engine* engine);
void telemetry_detach();

} // namespace rsfwd::dp
