// dataplane/engine/engine_sink.hpp — the ControlPlane's ForwardingSink on the DPDK engine: view
// changes go to the FIB compiler (published by the engine's control loop, coalesced), stats and
// /metrics come from the engine's counter table, and `rsctl fib VIEW ADDRESS` is answered from the
// generation the workers use.
//
// Thread: control thread only. The active generation is immutable while published and only the
// control thread ever writes a generation, so reading it here needs no synchronisation.
#pragma once

#include "control/daemon/control_plane.hpp"
#include "dataplane/engine/counter_table.hpp"
#include "dataplane/engine/engine.hpp"

#include <rte_cycles.h>

#include <fmt/format.h>

namespace rsfwd::dp {

class EngineSink final : public ForwardingSink {
public:
    explicit EngineSink(Engine& engine) : engine_(engine) {}

    void bind_views(std::span<const ViewName> views) override {
        engine_.compiler().bind_views(views);
    }

    void apply(std::span<const ViewChange> changes) override {
        const std::uint64_t tsc = rte_rdtsc();
        for (const auto& c : changes) engine_.compiler().change(c, tsc);
    }

    [[nodiscard]] api::Json stats() const override {
        return engine_.stats_json(); // api::Json is ordered_json, like the engine's
    }

    // The engine's counter table (counter_table.hpp) into the control plane's builder.
    void metrics(api::MetricsBuilder& out) const override {
        struct Adapter {
            api::MetricsBuilder& b;
            void family(std::string_view name, std::string_view help, MetricType t) {
                b.family(name, help,
                         t == MetricType::counter ? api::MetricType::counter
                         : t == MetricType::gauge ? api::MetricType::gauge
                                                  : api::MetricType::histogram);
            }
            void sample(const MetricLabels& l, double v) { b.sample(l, v); }
            void histogram(const MetricLabels& l, const std::vector<double>& le,
                           const std::vector<std::uint64_t>& cum, std::uint64_t n, double sum) {
                b.histogram(l, le, cum, n, sum);
            }
        } a{out};
        expose(engine_.stats(), a);
    }

    [[nodiscard]] std::optional<api::Json> lookup(const std::string& view,
                                                  const IpAddr& addr) const override {
        const auto* pub = engine_.publisher();
        auto& comp = engine_.compiler();
        const auto vid = comp.view_id(view);
        if (!pub || !vid) return api::Json{{"result", "view has no port"}};
        const fib::Generation* gen = pub->active();
        api::Json out{{"generation", gen->number}};
        fib::nh_t nh = lpm::no_route;
        if (addr.is_v4()) {
            nh = gen->views[*vid].v4.lookup(addr.v4_host());
        } else {
            nh = gen->views[*vid].v6.lookup(addr.bytes);
        }
        if (nh == lpm::no_route) {
            out["result"] = "no_route";
            return out;
        }
        auto adj_json = [&](std::uint32_t adj) {
            const std::uint64_t slot = comp.adjacencies().load(adj);
            const auto& info = comp.neighbour_info(adj);
            api::Json a{{"neighbour", info.ip.str()}};
            if (fib::adj_port(slot) == fib::adj_unresolved) {
                a["state"] = "unresolved";
            } else {
                const auto mac = fib::adj_mac(slot);
                a["port"] = port_name(fib::adj_port(slot));
                a["mac"] = mac_str(mac);
                a["state"] = info.is_static ? "static" : "resolved";
            }
            return a;
        };
        if (nh == fib::group_local) {
            out["result"] = "local";
        } else if (nh == fib::group_blackhole) {
            out["result"] = "blackhole";
        } else if (nh == fib::group_connected) {
            out["result"] = "connected";
            const auto host =
                addr.is_v4() ? gen->hosts4.lookup(addr.v4_host()) : gen->hosts6.lookup(addr.bytes);
            if (host != lpm::no_route)
                out["via"] = api::Json::array({adj_json(host)});
            else
                out["via"] = "not resolved yet (ARP on first packet)";
        } else {
            out["result"] = "forward";
            api::Json via = api::Json::array();
            const auto& g = gen->groups[nh];
            for (unsigned i = 0; i < g.n; ++i) via.push_back(adj_json(g.adj[i]));
            out["via"] = via;
        }
        return out;
    }

private:
    [[nodiscard]] std::string port_name(std::uint16_t port_id) const {
        for (std::size_t i = 0; i < engine_.ports().size(); ++i) {
            if (engine_.port_id(i) == port_id) return engine_.ports()[i].name;
        }
        return std::to_string(port_id);
    }
    Engine& engine_;
};

} // namespace rsfwd::dp
