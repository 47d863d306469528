// dataplane/engine/ports.cpp — probing and configuring ports, and the net_af_xdp split program.
// Why it is built this way:
// - Ports are probed from their device strings after EAL init (rte_dev_probe), so any PMD and
//   any PCI NIC is configured the same way; offloads are requested only when dev_info lists them
//   (DPDK 22.11's l3fwd asks for RX checksum unconditionally and fails on vdevs).
// - The mempool is sized from what can hold an mbuf at once (descriptors, rings, bursts in
//   flight, net_pcap's preloaded frames), so a config never needs a pool size.
#include "dataplane/engine/ports.hpp"

#include "dataplane/engine/devargs.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>

#include <arpa/inet.h>
#include <fmt/format.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_devargs.h>
#include <rte_errno.h>
#include <rte_mempool.h>
#include <spdlog/spdlog.h>

#include "dataplane/engine/af_xdp_split.hpp"
#include "dataplane/engine/engine.hpp"
#include "dataplane/engine/runtime.hpp"
#include "dataplane/worker/packet.hpp"

namespace rsfwd::dp {

namespace {

std::uint64_t mac64(const fib::Mac& m) {
    std::uint64_t v = 0;
    std::memcpy(&v, m.data(), 6);
    return v;
}

// Frames in a pcap file (net_pcap with infinite_rx=1 preloads all of them into mbufs).
std::uint64_t pcap_frames(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return 0;
    std::uint8_t gh[24];
    if (!in.read(reinterpret_cast<char*>(gh), 24)) return 0;
    const bool swapped = gh[0] == 0xA1 || gh[0] == 0xA2 ? true : false; // big-endian magic
    std::uint64_t n = 0;
    std::uint8_t rh[16];
    while (in.read(reinterpret_cast<char*>(rh), 16)) {
        std::uint32_t incl;
        if (swapped)
            incl = load_be32(rh + 8);
        else
            std::memcpy(&incl, rh + 8, 4);
        in.seekg(incl, std::ios::cur);
        ++n;
    }
    return n;
}

std::uint16_t probe_port(const std::string& device) {
    const std::string name = devargs_name(device);
    std::uint16_t pid;
    if (rte_eth_dev_get_port_by_name(name.c_str(), &pid) == 0) return pid; // probed by EAL
    // No bus takes the name: no such driver in this binary (a statically linked rsfwd has only
    // the PMDs of meson's -Ddpdk_static_drivers, no plugin directory) or a misspelt device.
    rte_devargs da{};
    if (rte_devargs_parse(&da, device.c_str()) != 0)
        throw std::runtime_error(fmt::format(
            "port device '{}': no DPDK driver in this rsfwd takes '{}' (misspelt, or a PMD not "
            "linked in: see -Ddpdk_static_drivers in docs/dataplane.md)",
            device, name));
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations" // experimental in 22.11, stable later
    rte_devargs_reset(&da);
#pragma GCC diagnostic pop
    const int rc = rte_dev_probe(device.c_str());
    if (rte_eth_dev_get_port_by_name(name.c_str(), &pid) == 0) return pid;
    // Some buses name the ethdev differently from the device: match the rte_device name.
    RTE_ETH_FOREACH_DEV(pid) {
        rte_eth_dev_info info{};
        if (rte_eth_dev_info_get(pid, &info) == 0 && info.device &&
            name == rte_dev_name(info.device))
            return pid;
    }
    throw std::runtime_error(fmt::format("port device '{}': probe failed ({})", device,
                                         rc < 0 ? rte_strerror(-rc) : "no ethdev created"));
}

// ---- net_af_xdp ports with the control/data split program (issue 9, docs/xdp.md) -------------
// The PMD loads the object named by xdp_prog= and attaches it with the netlink call, which
// survives a SIGKILL; so a stale copy is removed before probing, and ours is configured (local
// addresses) after the port started. The kernel of the interface answers ARP/ICMP and runs BGP,
// so it needs the port's addresses, added here (as `run --backend xdp` does) and removed on a
// clean stop when they were ours.

bool is_af_xdp(const std::string& device) {
    return device.rfind("net_af_xdp", 0) == 0;
}

struct AfXdpPort {
    std::string iface;
    std::vector<IpAddr> local;
    struct Added {
        IpAddr addr;
        int len;
    };
    std::vector<Added> added; // addresses this engine put on the kernel interface
};

// Per engine (keyed by its Runtime): the af_xdp ports that use the split program.
std::map<const Runtime*, std::vector<AfXdpPort>>& af_xdp_ports() {
    static std::map<const Runtime*, std::vector<AfXdpPort>> m;
    return m;
}

// Every address the kernel of this network namespace has (the personas rsfwd's BGP listens on
// live there), loopback excluded: traffic to them arriving on an AF_XDP port is the kernel's.
std::vector<IpAddr> kernel_addresses() {
    std::vector<IpAddr> out;
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return out;
    for (ifaddrs* i = list; i; i = i->ifa_next) {
        if (!i->ifa_addr) continue;
        char buf[INET6_ADDRSTRLEN] = {};
        if (i->ifa_addr->sa_family == AF_INET) {
            const auto* a = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
            if ((ntohl(a->sin_addr.s_addr) >> 24) == 127) continue;
            ::inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
        } else if (i->ifa_addr->sa_family == AF_INET6) {
            const auto* a = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
            if (IN6_IS_ADDR_LOOPBACK(&a->sin6_addr) || IN6_IS_ADDR_LINKLOCAL(&a->sin6_addr))
                continue;
            ::inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
        } else {
            continue;
        }
        if (auto ip = IpAddr::parse(buf)) out.push_back(*ip);
    }
    ::freeifaddrs(list);
    return out;
}

constexpr std::size_t max_split_local = 1024; // RSFWD_XDP_MAX_LOCAL (dataplane/xdp/xdp_abi.h)

void push_unique(std::vector<IpAddr>& v, const IpAddr& a) {
    if (std::find(v.begin(), v.end(), a) == v.end()) v.push_back(a);
}

} // namespace

std::vector<rte_eth_dev_info> probe_ports(Runtime& rt) {
    // Ports. net_af_xdp ones get the split program (xdp_prog=) unless the user named one.
    const bool split = rt.opt.af_xdp_split && af_xdp::available();
    auto& xports = af_xdp_ports()[&rt];
    xports.clear();
    std::vector<std::string> devices;
    rt.split_iface.assign(rt.specs.size(), std::string{});
    for (const PortSpec& s : rt.specs) {
        std::string dev = s.device;
        if (split && is_af_xdp(dev) && !devargs_kv(dev).count("xdp_prog")) {
            const std::string iface = devargs_iface(dev);
            if (iface.empty())
                throw std::runtime_error(fmt::format("port '{}': {} has no iface=", s.name, dev));
            bool removed = false;
            try {
                removed = af_xdp::detach_stale(iface);
            } catch (const std::exception& e) {
                throw std::runtime_error(fmt::format("port '{}': {}", s.name, e.what()));
            }
            if (removed) spdlog::warn("{}: removed a stale rsfwd_split XDP program", iface);
            dev += ",xdp_prog=" + af_xdp::object_path();
            rt.split_iface[devices.size()] = iface;
            rt.any_split = true;
            AfXdpPort xp;
            xp.iface = iface;
            xp.local.push_back(s.addr4);
            if (s.addr6) xp.local.push_back(*s.addr6);
            xports.push_back(std::move(xp));
        }
        devices.push_back(std::move(dev));
    }
    std::vector<rte_eth_dev_info> infos;
    for (std::size_t i = 0; i < rt.specs.size(); ++i) {
        const std::uint16_t pid = probe_port(devices[i]);
        if (pid >= fib::max_ports) throw std::runtime_error("port id beyond max_ports");
        if (rt.index_by_id[pid] >= 0)
            throw std::runtime_error(fmt::format(
                "ports '{}' and '{}' are the same device",
                rt.specs[static_cast<std::size_t>(rt.index_by_id[pid])].name, rt.specs[i].name));
        rt.port_ids.push_back(pid);
        rt.index_by_id[pid] = static_cast<std::int16_t>(i);
        rte_eth_dev_info info{};
        if (rte_eth_dev_info_get(pid, &info) != 0)
            throw std::runtime_error(fmt::format("port '{}': dev_info failed", rt.specs[i].name));
        infos.push_back(info);
    }
    return infos;
}

std::uint64_t mempool_size(const Runtime& rt) {
    // Mempool: every descriptor can hold an mbuf, plus bursts in flight, rings, pending queues,
    // and the frames net_pcap preloads with infinite_rx=1.
    std::uint64_t nb = 0;
    for (std::size_t i = 0; i < rt.specs.size(); ++i) {
        nb += std::uint64_t{rt.rx_queues[i]} * rt.opt.rx_desc +
              std::uint64_t{rt.tx_queues[i]} * rt.opt.tx_desc;
        const auto kv = devargs_kv(rt.specs[i].device);
        auto inf = kv.find("infinite_rx"), rx = kv.find("rx_pcap");
        if (inf != kv.end() && inf->second == "1" && rx != kv.end())
            nb += pcap_frames(rx->second) * 2;
    }
    nb += rt.workers.size() * (rt.opt.punt_ring + 1024 + burst_size * (2 + 2 * rt.specs.size()));
    nb += 4096 + rt.opt.extra_mbufs; // pending ARP queues, control-built packets, mempool caches
    return nb;
}

void configure_ports(Runtime& rt, const std::vector<rte_eth_dev_info>& infos) {
    // Port configuration.
    rt.offload_ip_cksum.assign(rt.specs.size(), false);
    for (std::size_t i = 0; i < rt.specs.size(); ++i) {
        const PortSpec& s = rt.specs[i];
        const std::uint16_t pid = rt.port_ids[i];
        const rte_eth_dev_info& info = infos[i];
        rte_eth_conf conf{};
        if (rt.rx_queues[i] > 1 && info.flow_type_rss_offloads != 0) {
            conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
            conf.rx_adv_conf.rss_conf.rss_hf =
                (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP) & info.flow_type_rss_offloads;
            if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_RSS_HASH)
                conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_RSS_HASH;
        }
        if (info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM) {
            conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
            rt.offload_ip_cksum[i] = true;
        }
        if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE)
            conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
        int rc = rte_eth_dev_configure(pid, rt.rx_queues[i], rt.tx_queues[i], &conf);
        if (rc < 0)
            throw std::runtime_error(
                fmt::format("port '{}' ({}): configure {} rx / {} tx queues: {}", s.name, s.device,
                            rt.rx_queues[i], rt.tx_queues[i], rte_strerror(-rc)));
        std::uint16_t nrx = rt.opt.rx_desc, ntx = rt.opt.tx_desc;
        rte_eth_dev_adjust_nb_rx_tx_desc(pid, &nrx, &ntx);
        const int sock = rte_eth_dev_socket_id(pid);
        for (std::uint16_t q = 0; q < rt.rx_queues[i]; ++q) {
            rte_eth_rxconf rxc = info.default_rxconf;
            rxc.offloads = conf.rxmode.offloads;
            rc = rte_eth_rx_queue_setup(pid, q, nrx, static_cast<unsigned>(sock < 0 ? 0 : sock),
                                        &rxc, rt.pool);
            if (rc < 0)
                throw std::runtime_error(
                    fmt::format("port '{}': rx queue {}: {}", s.name, q, rte_strerror(-rc)));
        }
        for (std::uint16_t q = 0; q < rt.tx_queues[i]; ++q) {
            rte_eth_txconf txc = info.default_txconf;
            txc.offloads = conf.txmode.offloads;
            rc = rte_eth_tx_queue_setup(pid, q, ntx, static_cast<unsigned>(sock < 0 ? 0 : sock),
                                        &txc);
            if (rc < 0)
                throw std::runtime_error(
                    fmt::format("port '{}': tx queue {}: {}", s.name, q, rte_strerror(-rc)));
        }
        fib::Mac mac{};
        if (s.mac) {
            mac = *s.mac;
            rte_ether_addr ea;
            std::memcpy(ea.addr_bytes, mac.data(), 6);
            (void)rte_eth_dev_default_mac_addr_set(pid, &ea); // not every PMD allows it
        } else {
            rte_ether_addr ea;
            rte_eth_macaddr_get(pid, &ea);
            std::memcpy(mac.data(), ea.addr_bytes, 6);
        }
        rt.mac_by_id[pid] = mac;
        rt.mac64_by_id[pid] = mac64(mac);
    }
}

void Engine::start_af_xdp_split() {
    auto it = af_xdp_ports().find(rt_.get());
    if (it == af_xdp_ports().end() || it->second.empty()) return;
    // Port addresses first, then the caller's, then the kernel's: the split_local map holds 1024
    // (RSFWD_XDP_MAX_LOCAL), and a host with more loses only kernel addresses.
    std::vector<IpAddr> common = rt_->opt.local_addresses;
    for (const IpAddr& a : kernel_addresses()) push_unique(common, a);
    for (AfXdpPort& xp : it->second) {
        const PortSpec* spec = nullptr;
        for (const PortSpec& s : rt_->specs)
            if (is_af_xdp(s.device) && devargs_iface(s.device) == xp.iface) spec = &s;
        if (spec) {
            if (af_xdp::add_address(xp.iface, spec->addr4, spec->subnet4.len))
                xp.added.push_back({spec->addr4, spec->subnet4.len});
            if (spec->addr6 && spec->subnet6 &&
                af_xdp::add_address(xp.iface, *spec->addr6, spec->subnet6->len))
                xp.added.push_back({*spec->addr6, spec->subnet6->len});
        }
        std::vector<IpAddr> local = xp.local;
        for (const IpAddr& a : common) push_unique(local, a);
        if (local.size() > max_split_local) {
            spdlog::warn("{}: {} local addresses, the split program keeps {}", xp.iface,
                         local.size(), max_split_local);
            local.resize(max_split_local);
        }
        try {
            af_xdp::configure(xp.iface, local);
        } catch (const std::exception& e) {
            throw std::runtime_error(fmt::format("af_xdp split on {}: {}", xp.iface, e.what()));
        }
        spdlog::info("{}: rsfwd_split XDP program, {} local addresses", xp.iface, local.size());
    }
}

void close_ports(Runtime& rt) {
    {
        // stats() on another thread reads ports under the same lock: it sees them open, or
        // ports_closed, never a port half-closed or released.
        const std::lock_guard lock(rt.ports_mutex);
        rt.ports_closed = true;
        for (std::uint16_t pid : rt.port_ids) {
            (void)rte_eth_dev_stop(pid);
            (void)rte_eth_dev_close(pid); // net_pcap flushes its tx_pcap here
        }
    }
    // Split program: whatever the PMD left attached goes, and the addresses we added.
    if (auto it = af_xdp_ports().find(&rt); it != af_xdp_ports().end()) {
        for (const AfXdpPort& xp : it->second) {
            try {
                (void)af_xdp::detach_stale(xp.iface);
                for (const auto& a : xp.added) af_xdp::remove_address(xp.iface, a.addr, a.len);
            } catch (const std::exception& e) {
                spdlog::warn("{}: {}", xp.iface, e.what());
            }
        }
        af_xdp_ports().erase(it);
    }
}

} // namespace rsfwd::dp
