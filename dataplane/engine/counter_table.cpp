// dataplane/engine/counter_table.cpp — the stats JSON generated from the counter tables.
// Why ordered_json: the document reads in table order (`rsctl stats --json`, --stats-json), and
// it is the API's own JSON type, so the control plane embeds it without a dump/parse copy.
#include "dataplane/engine/counter_table.hpp"

#include <limits>

#include "dataplane/fib/publisher.hpp"

namespace rsfwd::dp {

namespace {

using Json = nlohmann::ordered_json;

template <class Row, std::size_t N>
void put(Json& o, const Field<Row> (&fields)[N], const Row& row) {
    for (const auto& f : fields) o[std::string(f.info.key)] = f.get(row);
}

Json drops_json(const std::array<std::uint64_t, drop_count>& d) {
    Json o = Json::object();
    for (std::size_t i = 0; i < drop_count; ++i)
        o[std::string(to_string(static_cast<Drop>(i)))] = d[i];
    return o;
}

} // namespace

Json to_json(const Stats& s) {
    Json j;
    j["ports"] = Json::array();
    for (const auto& p : s.ports) {
        Json o{{"name", p.name}};
        put(o, port_fields, p);
        j["ports"].push_back(std::move(o));
    }
    j["workers"] = Json::array();
    for (const auto& w : s.workers) {
        Json o = Json::object();
        put(o, worker_fields, w);
        o[std::string(worker_drops_info.key)] = drops_json(w.drops);
        Json sc = Json::object();
        for (std::size_t k = 0; k < stage_count; ++k)
            sc[std::string(to_string(static_cast<Stage>(k)))] = w.stage_cycles[k];
        o[std::string(stage_info.key)] = std::move(sc);
        j["workers"].push_back(std::move(o));
    }
    j[std::string(drops_info.key)] = drops_json(s.drops);
    Json control = Json::object();
    put(control, control_fields, s.control);
    j["control"] = std::move(control);
    Json fib = Json::object();
    put(fib, fib_fields, s);
    fib[std::string(publish_latency_info.key)] = {
        {"count", s.publish_count}, {"p50", s.publish_p50_ns},
        {"p99", s.publish_p99_ns},  {"max", s.publish_max_ns},
        {"sum", s.publish_sum_ns},  {"log2_buckets", s.publish_histogram}};
    fib["views"] = Json::array();
    for (const auto& v : s.views) {
        Json o{{"name", v.name}};
        put(o, view_fields, v);
        fib["views"].push_back(std::move(o));
    }
    j["fib"] = std::move(fib);
    Json mbufs = Json::object();
    put(mbufs, mbuf_fields, s);
    j["mbufs"] = std::move(mbufs);
    j[std::string(tsc_info.key)] = s.tsc_hz;
    return j;
}

// Bucket b of the publisher's histogram holds [2^b, 2^(b+1)) ns (b = 0 also holds 0), the last
// one everything above. Bounds from 1 µs to ~17 s keep the exposition short; cumulative counts
// stay exact because a bound only sums the buckets below it.
LatencyBuckets publish_buckets(const Stats& s) {
    constexpr unsigned first = 9, last = 33; // le = 2^(b+1) ns: 1.024 µs … 17.2 s
    static_assert(last + 1 < fib::LatencyHistogram::buckets);
    LatencyBuckets h;
    std::uint64_t cum = 0;
    for (unsigned b = 0; b <= last; ++b) {
        if (b < s.publish_histogram.size()) cum += s.publish_histogram[b];
        if (b < first) continue;
        h.le.push_back(static_cast<double>(std::uint64_t{1} << (b + 1)) / 1e9); // exact decimal
        h.cumulative.push_back(cum);
    }
    h.le.push_back(std::numeric_limits<double>::infinity());
    h.cumulative.push_back(s.publish_count);
    return h;
}

} // namespace rsfwd::dp
