// dataplane/xdp/xdp_sink.hpp — the ControlPlane's ForwardingSink on the XDP backend
// (`rsfwd run --backend xdp`): view changes go through the FIB compiler (XdpFib, the DPDK
// engine's compiler) and its output becomes BPF map writes right away; counters come from the
// per-CPU counter map. The kernel keeps ARP, ICMP to us and BGP (XDP_PASS).
//
// Thread: control thread only. Build it after every port is attached (the compiler's ports and
// views are the backend's at that moment).
#pragma once

#include "control/daemon/control_plane.hpp"
#include "dataplane/engine/devargs.hpp"
#include "dataplane/xdp/xdp_backend.hpp"
#include "dataplane/xdp/xdp_fib.hpp"

#include <string>

namespace rsfwd::dp {

// "net_af_packet0,iface=veth1" / "net_af_xdp0,iface=eth0" → "veth1"; a bare name stays as is.
inline std::string xdp_ifname(const std::string& device) {
    return devargs_iface(device, true);
}

class XdpSink final : public ForwardingSink {
public:
    explicit XdpSink(xdp::XdpBackend& backend) : backend_(backend), fib_(backend) {}

    void bind_views(std::span<const ViewName> views) override { fib_.bind_views(views); }

    void apply(std::span<const ViewChange> changes) override {
        for (const auto& c : changes) {
            try {
                fib_.change(c);
                ++applied_;
            } catch (const std::exception&) {
                ++failed_; // e.g. next-hop group ids exhausted; counted, shown in stats
            }
        }
        count(fib_.flush());
    }

    // Static neighbours (the config's): win over the kernel's table. Throws xdp::XdpError if no
    // port subnet holds the address.
    void set_static_neighbour(const IpAddr& addr, const xdp::Mac& mac) {
        fib_.set_static_neighbour(addr, mac);
        count(fib_.flush());
    }
    // The kernel's ARP/ND table → adjacencies and connected destinations (call periodically).
    void refresh_neighbours() { count(fib_.refresh_neighbours()); }

    [[nodiscard]] api::Json stats() const override {
        api::Json counters = api::Json::object();
        const auto c = backend_.counters();
        for (std::size_t i = 0; i < xdp::fwd_counter_count; ++i) {
            counters[std::string(xdp::to_string(static_cast<xdp::FwdCounter>(i)))] = c.value[i];
        }
        api::Json ports = api::Json::array();
        for (const auto& p : backend_.ports()) {
            ports.push_back({{"name", p.ifname},
                             {"view", p.view},
                             {"mode", std::string(xdp::to_string(p.mode))}});
        }
        return {{"backend", "xdp"},
                {"counters", counters},
                {"ports", ports},
                {"route_changes_applied", applied_},
                {"route_changes_failed", failed_},
                {"map_writes_failed", map_failed_}};
    }

    // The XDP program's counters as one family labelled by counter name (the names of
    // `stats`' "counters"), and the route changes applied or refused.
    void metrics(api::MetricsBuilder& out) const override {
        out.family("rsfwd_xdp_packets_total", "Packets the XDP program counted, by counter",
                   api::MetricType::counter);
        const auto c = backend_.counters();
        for (std::size_t i = 0; i < xdp::fwd_counter_count; ++i)
            out.sample({{"counter", std::string(xdp::to_string(static_cast<xdp::FwdCounter>(i)))}},
                       static_cast<double>(c.value[i]));
        out.family("rsfwd_xdp_route_changes_applied_total", "Route changes written to the XDP maps",
                   api::MetricType::counter);
        out.sample({}, static_cast<double>(applied_));
        out.family("rsfwd_xdp_route_changes_failed_total", "Route changes the XDP backend refused",
                   api::MetricType::counter);
        out.sample({}, static_cast<double>(failed_));
    }

    [[nodiscard]] std::optional<api::Json> lookup(const std::string&,
                                                  const IpAddr&) const override {
        return std::nullopt; // the policy's answer is shown; BPF LPM tries are not walked here
    }

private:
    void count(const xdp::ApplyResult& r) noexcept { map_failed_ += r.failed; }

    xdp::XdpBackend& backend_;
    xdp::XdpFib fib_;
    std::uint64_t applied_ = 0, failed_ = 0, map_failed_ = 0;
};

} // namespace rsfwd::dp
