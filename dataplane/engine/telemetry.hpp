// dataplane/engine/telemetry.hpp — the engine's DPDK telemetry commands (/rsfwd/stats, drops,
// ports, workers, fib), internal to dataplane/engine.
//
// What: telemetry_attach() registers the commands (once per process: DPDK cannot unregister
// them) and points them at an engine; telemetry_detach() makes them answer an error, and when
// it returns no callback is still reading that engine (it waits for one in progress).
// Thread: attach/detach on the control thread; the callbacks run on DPDK's telemetry threads
// (one per client connection), serialised with each other and with detach.
#pragma once

namespace rsfwd::dp {

class Engine;

void telemetry_attach(const Engine* engine);
void telemetry_detach(const Engine* engine);

} // namespace rsfwd::dp
