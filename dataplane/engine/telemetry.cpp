// dataplane/engine/telemetry.cpp — the /rsfwd/* DPDK telemetry commands, generated from the
// counter tables (counter_table.hpp): a counter added there appears here.
// Why: the callbacks run on DPDK's telemetry thread, never on the control thread, so they read
// only what Engine::stats() may read from any thread (worker counters, the control mirror).
#include "dataplane/engine/telemetry.hpp"

#include <cctype>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>
#include <rte_telemetry.h>

#include "dataplane/engine/counter_table.hpp"
#include "dataplane/engine/engine.hpp"

namespace rsfwd::dp {

namespace {

// What the callbacks reach the engine through. DPDK cannot unregister a telemetry command, so
// the callbacks outlive every engine; they find the engine here, under the mutex, and call
// stats() while holding it. telemetry_detach() (Engine::stop(), before the ports close and
// long before the engine is destroyed) takes the mutex to clear the pointer: once it returns,
// no callback is inside the engine and none will enter it. Never destroyed (a telemetry
// thread may still answer a client while the process exits).
struct TelemetryHub {
    std::mutex mutex;
    const Engine* engine = nullptr; // under mutex
};
TelemetryHub& hub() {
    static auto* h = new TelemetryHub; // NOLINT: leaked on purpose, see above
    return *h;
}

void tel_add_u64(rte_tel_data* d, const std::string& k, std::uint64_t v) {
    rte_tel_data_add_dict_u64(d, k.c_str(), v);
}

// Telemetry names take only [A-Za-z0-9_/]: other characters (a view's "er/c1" keeps its '/')
// become '_'.
std::string tel_name(std::string s) {
    for (char& ch : s)
        if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != '/') ch = '_';
    return s;
}

// A nested dict {key: {field: value, …}} from a table of fields. The telemetry library frees
// the container once sent; one it refuses (a full dict) is freed here.
template <class Row, std::size_t N>
void tel_add_row(rte_tel_data* d, const std::string& key, const Field<Row> (&fields)[N],
                 const Row& row) {
    rte_tel_data* c = rte_tel_data_alloc();
    if (!c) return;
    rte_tel_data_start_dict(c);
    for (const auto& f : fields) tel_add_u64(c, std::string(f.info.key), f.get(row));
    if (rte_tel_data_add_dict_container(d, tel_name(key).c_str(), c, 0) != 0) rte_tel_data_free(c);
}

template <class Row, std::size_t N>
void tel_add_fields(rte_tel_data* d, const Field<Row> (&fields)[N], const Row& row) {
    for (const auto& f : fields) tel_add_u64(d, std::string(f.info.key), f.get(row));
}

void tel_add_drops(rte_tel_data* d, const Stats& s, std::string_view prefix) {
    for (std::size_t i = 0; i < drop_count; ++i)
        tel_add_u64(d, fmt::format("{}{}", prefix, to_string(static_cast<Drop>(i))), s.drops[i]);
}

// Each command: one Stats snapshot, one dict.
template <void (*Fill)(rte_tel_data*, const Stats&)>
int tel_command(const char*, const char*, rte_tel_data* d) {
    TelemetryHub& h = hub();
    const std::lock_guard lock(h.mutex);
    if (!h.engine) return -1;
    const Stats s = h.engine->stats();
    rte_tel_data_start_dict(d);
    Fill(d, s);
    return 0;
}

// /rsfwd/stats: the workers' counters summed, the FIB generation, drops as drop_<reason>.
void fill_stats(rte_tel_data* d, const Stats& s) {
    for (const auto& f : worker_fields) {
        if (f.info.type != MetricType::counter) continue;
        std::uint64_t sum = 0;
        for (const auto& w : s.workers) sum += f.get(w);
        tel_add_u64(d, std::string(f.info.key), sum);
    }
    tel_add_u64(d, "generation", s.generation);
    tel_add_u64(d, "publications", s.publications);
    tel_add_drops(d, s, "drop_");
}

void fill_drops(rte_tel_data* d, const Stats& s) {
    tel_add_drops(d, s, "");
}

void fill_ports(rte_tel_data* d, const Stats& s) {
    for (const auto& p : s.ports) tel_add_row(d, p.name, port_fields, p);
}

void fill_workers(rte_tel_data* d, const Stats& s) {
    for (std::size_t i = 0; i < s.workers.size(); ++i)
        tel_add_row(d, fmt::format("worker{}", i), worker_fields, s.workers[i]);
}

// /rsfwd/fib: the fib section, the publish latency summary, {"view/<view>": {…}} per view.
void fill_fib(rte_tel_data* d, const Stats& s) {
    tel_add_fields(d, fib_fields, s);
    tel_add_u64(d, "latency_count", s.publish_count);
    tel_add_u64(d, "latency_p50_ns", s.publish_p50_ns);
    tel_add_u64(d, "latency_p99_ns", s.publish_p99_ns);
    tel_add_u64(d, "latency_max_ns", s.publish_max_ns);
    tel_add_u64(d, "latency_sum_ns", s.publish_sum_ns);
    for (const auto& v : s.views) tel_add_row(d, "view/" + v.name, view_fields, v);
}

} // namespace

void telemetry_attach(const Engine* engine) {
    {
        TelemetryHub& h = hub();
        const std::lock_guard lock(h.mutex);
        h.engine = engine;
    }
    static bool registered = false;
    if (!registered) {
        registered = true;
        rte_telemetry_register_cmd("/rsfwd/stats", tel_command<fill_stats>,
                                   "rsfwd totals and drops by reason");
        rte_telemetry_register_cmd("/rsfwd/drops", tel_command<fill_drops>,
                                   "rsfwd drops by reason");
        rte_telemetry_register_cmd("/rsfwd/ports", tel_command<fill_ports>,
                                   "rsfwd per-port counters");
        rte_telemetry_register_cmd("/rsfwd/workers", tel_command<fill_workers>,
                                   "rsfwd per-worker counters");
        rte_telemetry_register_cmd("/rsfwd/fib", tel_command<fill_fib>,
                                   "rsfwd FIB generation and publish latency");
    }
}

void telemetry_detach(const Engine* engine) {
    TelemetryHub& h = hub();
    const std::lock_guard lock(h.mutex);
    if (h.engine == engine) h.engine = nullptr;
}

} // namespace rsfwd::dp
