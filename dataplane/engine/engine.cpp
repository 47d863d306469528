// dataplane/engine/engine.cpp — port set-up and the control thread's side of the data plane.
// Why it is built this way:
// - Ports are probed from their device strings after EAL init (rte_dev_probe), so any PMD and
//   any PCI NIC is configured the same way; offloads are requested only when dev_info lists them
//   (DPDK 22.11's l3fwd asks for RX checksum unconditionally and fails on vdevs).
// - Every worker owns one TX queue on every port (queue id = worker id); when a port has fewer TX
//   queues than there are workers (net_pcap has one per tx_pcap), the engine uses fewer workers
//   instead of sharing a queue behind a lock.
// - The control thread never transmits on its own queue: packets it builds (ARP, ND, ICMP) or
//   releases (after ARP) go to worker 0 on an SP/SC "inject" ring. One TX queue per worker keeps
//   PMDs with a single TX queue (net_pcap, some virtio set-ups) usable.
// - Neighbour resolution needs no publication: a MAC lands in an 8-byte adjacency slot. Only a
//   new connected host (first packet to an address on a connected subnet) adds a hosts-table
//   entry, which rides on the next coalesced publication.
#include "dataplane/engine/engine.hpp"

#include "dataplane/engine/af_xdp_split.hpp"

#include <algorithm>
#include <bit>
#include <cctype>
#include <chrono>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <map>
#include <set>
#include <stdexcept>
#include <thread>

#include <arpa/inet.h>
#include <fmt/format.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <rte_bus.h>
#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_devargs.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf_dyn.h>
#include <rte_mempool.h>
#include <rte_telemetry.h>

#include "dataplane/engine/runtime.hpp"
#include "dataplane/worker/packet.hpp"

namespace rsfwd::dp {

void eal_init(const std::vector<std::string>& args) {
    std::vector<std::string> copy = args;
    std::vector<char*> argv;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (rte_eal_init(static_cast<int>(copy.size()), argv.data()) < 0)
        throw std::runtime_error(fmt::format("EAL init failed: {}", rte_strerror(rte_errno)));
}

void eal_cleanup() noexcept {
    rte_eal_cleanup();
}

namespace {

std::atomic<Runtime*> g_telemetry_rt{nullptr};
Engine* g_telemetry_engine = nullptr;

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

// "key=value" arguments of a devargs string.
std::map<std::string, std::string> devargs_kv(const std::string& dev) {
    std::map<std::string, std::string> kv;
    std::size_t pos = dev.find(',');
    while (pos != std::string::npos) {
        const std::size_t next = dev.find(',', pos + 1);
        const std::string item =
            dev.substr(pos + 1, next == std::string::npos ? next : next - pos - 1);
        const auto eq = item.find('=');
        if (eq != std::string::npos) kv[item.substr(0, eq)] = item.substr(eq + 1);
        pos = next;
    }
    return kv;
}

std::uint16_t probe_port(const std::string& device) {
    const std::string name = device.substr(0, device.find(','));
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

std::string af_xdp_iface(const std::string& device) {
    const auto kv = devargs_kv(device);
    const auto it = kv.find("iface");
    return it == kv.end() ? std::string{} : it->second;
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

// ------------------------------------------------------------------------------------------------
// Construction: ports, queues, mempool, compiler
// ------------------------------------------------------------------------------------------------

Engine::Engine(std::vector<PortSpec> ports, std::vector<NeighbourSpec> neighbours,
               EngineOptions opt)
    : rt_(std::make_unique<Runtime>()) {
    Runtime& rt = *rt_;
    rt.opt = opt;
    rt.wopt = {opt.icmp_errors, opt.stage_cycles, opt.idle_sleep_us, opt.idle_polls_before_sleep,
               opt.allow_martian_sources};
    rt.specs = std::move(ports);
    rt.static_neighbours = std::move(neighbours);
    rt.tsc_hz = rte_get_tsc_hz();
    rt.index_by_id.fill(-1);
    if (rt.specs.empty()) throw std::runtime_error("no ports configured");

    static const rte_mbuf_dynfield punt_field = {"rsfwd_punt_meta", sizeof(PuntMeta),
                                                 alignof(PuntMeta), 0};
    punt_dynfield_offset = rte_mbuf_dynfield_register(&punt_field);
    if (punt_dynfield_offset < 0) throw std::runtime_error("mbuf dynfield registration failed");

    // Ports. net_af_xdp ones get the split program (xdp_prog=) unless the user named one.
    const bool split = opt.af_xdp_split && af_xdp::available();
    auto& xports = af_xdp_ports()[&rt];
    xports.clear();
    std::vector<std::string> devices;
    rt.split_iface.assign(rt.specs.size(), std::string{});
    for (const PortSpec& s : rt.specs) {
        std::string dev = s.device;
        if (split && is_af_xdp(dev) && !devargs_kv(dev).count("xdp_prog")) {
            const std::string iface = af_xdp_iface(dev);
            if (iface.empty())
                throw std::runtime_error(fmt::format("port '{}': {} has no iface=", s.name, dev));
            bool removed = false;
            try {
                removed = af_xdp::detach_stale(iface);
            } catch (const std::exception& e) {
                throw std::runtime_error(fmt::format("port '{}': {}", s.name, e.what()));
            }
            if (removed)
                std::fprintf(stderr, "rsfwd: %s: removed a stale rsfwd_split XDP program\n",
                             iface.c_str());
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

    // Workers: (port, rx queue) → lcore, automatic or from opt.rx_map.
    std::vector<unsigned> lcores;
    unsigned lc;
    RTE_LCORE_FOREACH_WORKER(lc) lcores.push_back(lc);
    if (lcores.empty())
        throw std::runtime_error("no worker lcore: give EAL at least two lcores (e.g. -l 0-1)");
    std::uint16_t max_txq = UINT16_MAX;
    for (const auto& info : infos) max_txq = std::min(max_txq, info.max_tx_queues);
    struct Assign {
        std::size_t port;
        std::uint16_t queue;
        unsigned lcore;
    };
    std::vector<Assign> assign;
    if (!opt.rx_map.empty()) {
        std::size_t pos = 0;
        while (pos <= opt.rx_map.size()) {
            const std::size_t end = std::min(opt.rx_map.find(',', pos), opt.rx_map.size());
            const std::string item = opt.rx_map.substr(pos, end - pos);
            const auto colon = item.find(':'), at = item.find('@');
            if (colon == std::string::npos || at == std::string::npos || at < colon)
                throw std::runtime_error(
                    fmt::format("rx map item '{}': want PORT:QUEUE@LCORE", item));
            const std::string pname = item.substr(0, colon);
            auto it = std::find_if(rt.specs.begin(), rt.specs.end(),
                                   [&](const PortSpec& s) { return s.name == pname; });
            if (it == rt.specs.end())
                throw std::runtime_error(fmt::format("rx map item '{}': unknown port", item));
            const auto q =
                static_cast<std::uint16_t>(std::stoul(item.substr(colon + 1, at - colon - 1)));
            const auto l = static_cast<unsigned>(std::stoul(item.substr(at + 1)));
            if (std::find(lcores.begin(), lcores.end(), l) == lcores.end())
                throw std::runtime_error(
                    fmt::format("rx map item '{}': lcore {} is not a worker lcore", item, l));
            assign.push_back({static_cast<std::size_t>(it - rt.specs.begin()), q, l});
            pos = end + 1;
        }
    } else {
        const std::size_t n_workers = std::min<std::size_t>(lcores.size(), max_txq);
        std::size_t k = 0;
        std::uint16_t max_q = 0;
        for (std::size_t i = 0; i < infos.size(); ++i)
            max_q = std::max<std::uint16_t>(
                max_q, std::min<std::uint16_t>(infos[i].max_rx_queues,
                                               static_cast<std::uint16_t>(n_workers)));
        for (std::uint16_t q = 0; q < max_q; ++q)
            for (std::size_t i = 0; i < infos.size(); ++i)
                if (q < std::min<std::uint16_t>(infos[i].max_rx_queues,
                                                static_cast<std::uint16_t>(n_workers)))
                    assign.push_back({i, q, lcores[k++ % n_workers]});
    }
    std::vector<unsigned> used;
    for (const Assign& a : assign)
        if (std::find(used.begin(), used.end(), a.lcore) == used.end()) used.push_back(a.lcore);
    std::sort(used.begin(), used.end());
    if (used.size() > max_txq)
        throw std::runtime_error(
            fmt::format("{} workers but a port has only {} TX queues", used.size(), max_txq));
    rt.rx_queues.assign(rt.specs.size(), 0);
    rt.tx_queues.assign(rt.specs.size(), static_cast<std::uint16_t>(used.size()));
    for (const Assign& a : assign)
        rt.rx_queues[a.port] = std::max<std::uint16_t>(rt.rx_queues[a.port], a.queue + 1);

    // Views: port order, unique.
    std::vector<std::string> views;
    for (const PortSpec& s : rt.specs)
        if (std::find(views.begin(), views.end(), s.view) == views.end()) views.push_back(s.view);
    if (views.size() > 255) throw std::runtime_error("too many views");

    for (std::size_t w = 0; w < used.size(); ++w) {
        auto ctx = std::make_unique<WorkerCtx>();
        ctx->id = static_cast<unsigned>(w);
        ctx->lcore = used[w];
        ctx->sh = &rt;
        for (const Assign& a : assign)
            if (a.lcore == used[w]) {
                const auto v =
                    std::find(views.begin(), views.end(), rt.specs[a.port].view) - views.begin();
                ctx->rxq.push_back({rt.port_ids[a.port], a.queue, static_cast<std::uint16_t>(v)});
            }
        const std::string pn = fmt::format("rsfwd_punt{}", w), in = fmt::format("rsfwd_inj{}", w);
        ctx->punt = rte_ring_create(pn.c_str(), opt.punt_ring, static_cast<int>(rte_socket_id()),
                                    RING_F_SP_ENQ | RING_F_SC_DEQ);
        ctx->inject = rte_ring_create(in.c_str(), 1024, static_cast<int>(rte_socket_id()),
                                      RING_F_SP_ENQ | RING_F_SC_DEQ);
        if (!ctx->punt || !ctx->inject)
            throw std::runtime_error(fmt::format("ring create: {}", rte_strerror(rte_errno)));
        rt.workers.push_back(std::move(ctx));
    }

    // Mempool: every descriptor can hold an mbuf, plus bursts in flight, rings, pending queues,
    // and the frames net_pcap preloads with infinite_rx=1.
    std::uint64_t nb = 0;
    for (std::size_t i = 0; i < rt.specs.size(); ++i) {
        nb += std::uint64_t{rt.rx_queues[i]} * opt.rx_desc +
              std::uint64_t{rt.tx_queues[i]} * opt.tx_desc;
        const auto kv = devargs_kv(rt.specs[i].device);
        auto inf = kv.find("infinite_rx"), rx = kv.find("rx_pcap");
        if (inf != kv.end() && inf->second == "1" && rx != kv.end())
            nb += pcap_frames(rx->second) * 2;
    }
    nb += rt.workers.size() * (opt.punt_ring + 1024 + burst_size * (2 + 2 * rt.specs.size()));
    nb += 4096 + opt.extra_mbufs; // pending ARP queues, control-built packets, mempool caches
    rt.pool = rte_pktmbuf_pool_create("rsfwd_mbufs", static_cast<unsigned>(nb), 256, 0,
                                      RTE_MBUF_DEFAULT_BUF_SIZE, static_cast<int>(rte_socket_id()));
    if (!rt.pool)
        throw std::runtime_error(
            fmt::format("mempool of {} mbufs: {}", nb, rte_strerror(rte_errno)));

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
        std::uint16_t nrx = opt.rx_desc, ntx = opt.tx_desc;
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

    // FIB compiler + static neighbours.
    std::vector<fib::FibPort> fps;
    for (std::size_t i = 0; i < rt.specs.size(); ++i) {
        const PortSpec& s = rt.specs[i];
        fps.push_back({rt.port_ids[i], s.subnet4, s.addr4, s.subnet6, s.addr6});
    }
    rt.comp = std::make_unique<fib::FibCompiler>(std::move(fps), views);
    for (const NeighbourSpec& n : rt.static_neighbours) {
        auto adj = rt.comp->neighbour(n.ip);
        if (!adj)
            throw std::runtime_error(
                fmt::format("static neighbour {}: no port subnet holds it", n.ip.str()));
        rt.comp->set_mac(*adj, n.mac, true);
        rt.comp->ensure_host(*adj);
    }
}

Engine::~Engine() {
    try {
        stop();
    } catch (...) {
    }
}

fib::FibCompiler& Engine::compiler() noexcept {
    return *rt_->comp;
}
const std::vector<PortSpec>& Engine::ports() const noexcept {
    return rt_->specs;
}
std::uint16_t Engine::port_id(std::size_t i) const noexcept {
    return rt_->port_ids[i];
}
unsigned Engine::workers() const noexcept {
    return static_cast<unsigned>(rt_->workers.size());
}
bool Engine::running() const noexcept {
    return rt_->started && !rt_->stopped;
}
const fib::Publisher* Engine::publisher() const noexcept {
    return rt_->pub.get();
}

// ------------------------------------------------------------------------------------------------
// Telemetry (/rsfwd/...): callbacks run on DPDK's telemetry thread and only read counters.
// ------------------------------------------------------------------------------------------------
namespace {

void tel_add_u64(rte_tel_data* d, const std::string& k, std::uint64_t v) {
    rte_tel_data_add_dict_u64(d, k.c_str(), v);
}

// A nested dict {key: {name: value, …}}. The telemetry library frees the container once sent;
// one it refuses (a full dict, a name outside [A-Za-z0-9_/]) is freed here.
void tel_add_child(rte_tel_data* d, const std::string& key,
                   std::initializer_list<std::pair<const char*, std::uint64_t>> kv) {
    rte_tel_data* c = rte_tel_data_alloc();
    if (!c) return;
    rte_tel_data_start_dict(c);
    for (const auto& [k, v] : kv) tel_add_u64(c, k, v);
    if (rte_tel_data_add_dict_container(d, key.c_str(), c, 0) != 0) rte_tel_data_free(c);
}

int tel_stats(const char*, const char*, rte_tel_data* d) {
    if (!g_telemetry_rt.load() || !g_telemetry_engine) return -1;
    const Stats s = g_telemetry_engine->stats();
    rte_tel_data_start_dict(d);
    std::uint64_t rx = 0, tx = 0;
    for (const auto& w : s.workers) {
        rx += w.rx_pkts;
        tx += w.tx_pkts;
    }
    tel_add_u64(d, "rx_pkts", rx);
    tel_add_u64(d, "tx_pkts", tx);
    tel_add_u64(d, "generation", s.generation);
    tel_add_u64(d, "publications", s.publications);
    for (std::size_t i = 0; i < drop_count; ++i)
        tel_add_u64(d, fmt::format("drop_{}", to_string(static_cast<Drop>(i))), s.drops[i]);
    return 0;
}

int tel_drops(const char*, const char*, rte_tel_data* d) {
    if (!g_telemetry_rt.load() || !g_telemetry_engine) return -1;
    const Stats s = g_telemetry_engine->stats();
    rte_tel_data_start_dict(d);
    for (std::size_t i = 0; i < drop_count; ++i)
        tel_add_u64(d, std::string(to_string(static_cast<Drop>(i))), s.drops[i]);
    return 0;
}

int tel_ports(const char*, const char*, rte_tel_data* d) {
    if (!g_telemetry_rt.load() || !g_telemetry_engine) return -1;
    const Stats s = g_telemetry_engine->stats();
    rte_tel_data_start_dict(d);
    for (const auto& p : s.ports) {
        rte_tel_data* c = rte_tel_data_alloc();
        rte_tel_data_start_dict(c);
        tel_add_u64(c, "port_id", p.port_id);
        tel_add_u64(c, "rx_pkts", p.sw.rx_pkts);
        tel_add_u64(c, "rx_bytes", p.sw.rx_bytes);
        tel_add_u64(c, "tx_pkts", p.sw.tx_pkts);
        tel_add_u64(c, "tx_bytes", p.sw.tx_bytes);
        tel_add_u64(c, "hw_imissed", p.hw_imissed);
        tel_add_u64(c, "hw_rx_nombuf", p.hw_rx_nombuf);
        rte_tel_data_add_dict_container(d, p.name.c_str(), c, 0);
    }
    return 0;
}

int tel_workers(const char*, const char*, rte_tel_data* d) {
    if (!g_telemetry_rt.load() || !g_telemetry_engine) return -1;
    const Stats s = g_telemetry_engine->stats();
    rte_tel_data_start_dict(d);
    for (std::size_t i = 0; i < s.workers.size(); ++i) {
        const auto& w = s.workers[i];
        tel_add_child(d, fmt::format("worker{}", i),
                      {{"lcore", w.lcore},
                       {"rx_pkts", w.rx_pkts},
                       {"tx_pkts", w.tx_pkts},
                       {"punted", w.punted},
                       {"generation", w.generation},
                       {"loops", w.loops}});
    }
    return 0;
}

int tel_fib(const char*, const char*, rte_tel_data* d) {
    if (!g_telemetry_rt.load() || !g_telemetry_engine) return -1;
    const Stats s = g_telemetry_engine->stats();
    rte_tel_data_start_dict(d);
    tel_add_u64(d, "generation", s.generation);
    tel_add_u64(d, "publications", s.publications);
    tel_add_u64(d, "route_events", s.route_events);
    tel_add_u64(d, "queue_full", s.publish_queue_full);
    tel_add_u64(d, "latency_count", s.publish_count);
    tel_add_u64(d, "latency_p50_ns", s.publish_p50_ns);
    tel_add_u64(d, "latency_p99_ns", s.publish_p99_ns);
    tel_add_u64(d, "latency_max_ns", s.publish_max_ns);
    tel_add_u64(d, "neighbours", s.neighbours);
    tel_add_u64(d, "pending_events", s.pending_events);
    tel_add_u64(d, "publishing", s.publishing ? 1 : 0);
    // Per view: {"view/<view>": {routes_v4, routes_v6, root_bits_v4, root_bits_v6, lpm_bytes,
    // lpm_lookup_bytes}}. Telemetry names take only [A-Za-z0-9_/]: other characters of a view
    // name become '_'.
    for (const auto& v : s.views) {
        std::string key = "view/" + v.name;
        for (char& ch : key)
            if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '_' && ch != '/') ch = '_';
        tel_add_child(d, key,
                      {{"routes_v4", v.routes_v4},
                       {"routes_v6", v.routes_v6},
                       {"root_bits_v4", v.root_bits_v4},
                       {"root_bits_v6", v.root_bits_v6},
                       {"lpm_bytes", v.lpm_bytes},
                       {"lpm_lookup_bytes", v.lpm_lookup_bytes}});
    }
    return 0;
}

} // namespace

// ------------------------------------------------------------------------------------------------
// Start / stop
// ------------------------------------------------------------------------------------------------

void Engine::start() {
    Runtime& rt = *rt_;
    if (rt.started) return;
    rt.control_thread = std::this_thread::get_id();
    fib::Generation g = rt.comp->build_generation();
    rt.comp->discard_pending(); // already contained in the full build
    fib::PublisherOptions po;
    po.coalesce_ns = rt.opt.coalesce_us * 1000;
    rt.mirror.n_views = g.views.size();
    rt.mirror.views =
        std::make_unique<std::array<std::atomic<std::uint64_t>, 5>[]>(rt.mirror.n_views);
    rt.pub = std::make_unique<fib::Publisher>(static_cast<unsigned>(rt.workers.size()),
                                              std::move(g), po);
    rt.handoff = &rt.pub->handoff();
    rt.adj = &rt.comp->adjacencies();
    rt.nstate.resize(rt.comp->adjacencies().capacity());
    rt.icmp_tokens = rt.opt.icmp_burst;
    rt.icmp_refill_tsc = rte_rdtsc();
    for (std::size_t i = 0; i < rt.specs.size(); ++i) {
        const int rc = rte_eth_dev_start(rt.port_ids[i]);
        if (rc < 0)
            throw std::runtime_error(
                fmt::format("port '{}': start: {}", rt.specs[i].name, rte_strerror(-rc)));
        if (rt.opt.promiscuous) (void)rte_eth_promiscuous_enable(rt.port_ids[i]);
    }
    start_af_xdp_split();
    for (auto& w : rt.workers)
        if (rte_eal_remote_launch(worker_main, w.get(), w->lcore) != 0)
            throw std::runtime_error(fmt::format("lcore {} busy", w->lcore));
    for (unsigned i = 0; i < rt.workers.size(); ++i)
        while (!rt.pub->worker(i).online.load()) std::this_thread::yield();
    rt.started = true;
    g_telemetry_engine = this;
    g_telemetry_rt.store(&rt);
    static bool registered = false;
    if (!registered) {
        registered = true;
        rte_telemetry_register_cmd("/rsfwd/stats", tel_stats, "rsfwd totals and drops by reason");
        rte_telemetry_register_cmd("/rsfwd/drops", tel_drops, "rsfwd drops by reason");
        rte_telemetry_register_cmd("/rsfwd/ports", tel_ports, "rsfwd per-port counters");
        rte_telemetry_register_cmd("/rsfwd/workers", tel_workers, "rsfwd per-worker counters");
        rte_telemetry_register_cmd("/rsfwd/fib", tel_fib,
                                   "rsfwd FIB generation and publish latency");
    }
}

// After rte_eth_dev_start (the PMD attached the program and filled xsks_map): the port
// addresses on the kernel interfaces, then the program's local addresses. Until configured the
// program passes everything to the kernel, so BGP is never stolen in between.
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
            if (is_af_xdp(s.device) && af_xdp_iface(s.device) == xp.iface) spec = &s;
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
            std::fprintf(stderr, "rsfwd: %s: %zu local addresses, the split program keeps %zu\n",
                         xp.iface.c_str(), local.size(), max_split_local);
            local.resize(max_split_local);
        }
        try {
            af_xdp::configure(xp.iface, local);
        } catch (const std::exception& e) {
            throw std::runtime_error(fmt::format("af_xdp split on {}: {}", xp.iface, e.what()));
        }
        std::fprintf(stderr, "rsfwd: %s: rsfwd_split XDP program, %zu local addresses\n",
                     xp.iface.c_str(), local.size());
    }
}

void Engine::flush_publication() {
    Runtime& rt = *rt_;
    if (!rt.started || rt.stopped) return;
    rt.pub->drain();
    if (rt.comp->has_pending()) rt.pub->publish(rt.comp->take_batch());
    rt.pub->drain();
}

void Engine::stop() {
    Runtime& rt = *rt_;
    if (rt.stopped) return;
    rt.stopped = true;
    g_telemetry_rt.store(nullptr);
    if (rt.started) {
        rt.stop_workers.store(true, std::memory_order_relaxed);
        for (auto& w : rt.workers) rte_eal_wait_lcore(w->lcore);
        // Whatever is left on the rings is freed (counted as control drops).
        for (auto& w : rt.workers) {
            void* obj;
            while (rte_ring_dequeue(w->punt, &obj) == 0)
                rte_pktmbuf_free(static_cast<rte_mbuf*>(obj));
            while (rte_ring_dequeue(w->inject, &obj) == 0)
                rte_pktmbuf_free(static_cast<rte_mbuf*>(obj));
        }
        for (auto& ns : rt.nstate) {
            for (rte_mbuf* m : ns.pending) rte_pktmbuf_free(m);
            ns.pending.clear();
        }
    }
    for (std::uint16_t pid : rt.port_ids) {
        (void)rte_eth_dev_stop(pid);
        (void)rte_eth_dev_close(pid); // net_pcap flushes its tx_pcap here
    }
    rt.ports_closed = true;
    // Split program: whatever the PMD left attached goes, and the addresses we added.
    if (auto it = af_xdp_ports().find(&rt); it != af_xdp_ports().end()) {
        for (const AfXdpPort& xp : it->second) {
            try {
                (void)af_xdp::detach_stale(xp.iface);
                for (const auto& a : xp.added) af_xdp::remove_address(xp.iface, a.addr, a.len);
            } catch (const std::exception& e) {
                std::fprintf(stderr, "rsfwd: %s: %s\n", xp.iface.c_str(), e.what());
            }
        }
        af_xdp_ports().erase(it);
    }
}

// ------------------------------------------------------------------------------------------------
// Stats
// ------------------------------------------------------------------------------------------------

Stats Engine::stats() const {
    const Runtime& rt = *rt_;
    Stats s;
    s.tsc_hz = rt.tsc_hz;
    for (std::size_t i = 0; i < rt.specs.size(); ++i) {
        PortStats p;
        p.name = rt.specs[i].name;
        p.port_id = rt.port_ids[i];
        p.rx_queues = rt.rx_queues[i];
        p.tx_queues = rt.tx_queues[i];
        for (const auto& w : rt.workers) {
            const PortCount& c = w->counters.port[p.port_id];
            p.sw.rx_pkts += read_counter(c.rx_pkts);
            p.sw.rx_bytes += read_counter(c.rx_bytes);
            p.sw.tx_pkts += read_counter(c.tx_pkts);
            p.sw.tx_bytes += read_counter(c.tx_bytes);
        }
        rte_eth_stats es{};
        if (!rt.ports_closed && rte_eth_stats_get(p.port_id, &es) == 0) {
            p.hw_ipackets = es.ipackets;
            p.hw_opackets = es.opackets;
            p.hw_imissed = es.imissed;
            p.hw_ierrors = es.ierrors;
            p.hw_oerrors = es.oerrors;
            p.hw_rx_nombuf = es.rx_nombuf;
        }
        s.ports.push_back(p);
    }
    for (std::size_t i = 0; i < rt.workers.size(); ++i) {
        const WorkerCtx& w = *rt.workers[i];
        const WorkerCounters& c = w.counters;
        WorkerStats ws;
        ws.lcore = w.lcore;
        ws.rx_pkts = read_counter(c.rx_pkts);
        ws.rx_bytes = read_counter(c.rx_bytes);
        ws.tx_pkts = read_counter(c.tx_pkts);
        ws.tx_bytes = read_counter(c.tx_bytes);
        ws.punted = read_counter(c.punted);
        ws.loops = read_counter(c.loops);
        ws.busy_loops = read_counter(c.busy_loops);
        ws.idle_sleeps = read_counter(c.idle_sleeps);
        for (std::size_t d = 0; d < drop_count; ++d) {
            ws.drops[d] = read_counter(c.drops[d]);
            s.drops[d] += ws.drops[d];
        }
        for (std::size_t k = 0; k < stage_count; ++k)
            ws.stage_cycles[k] = read_counter(c.stage_cycles[k]);
        if (rt.pub) ws.generation = rt.pub->worker(static_cast<unsigned>(i)).generation.load();
        s.workers.push_back(ws);
    }
    for (std::size_t d = 0; d < drop_count; ++d) s.drops[d] += read_counter(rt.cdrops[d]);
    // The control thread's own structures only on the control thread (or before start()):
    // elsewhere (telemetry) their last published mirror.
    const bool live = !rt.started || std::this_thread::get_id() == rt.control_thread;
    if (live) {
        s.control = rt.cstats;
    } else {
        std::array<std::uint64_t, 9> c{};
        for (std::size_t k = 0; k < c.size(); ++k)
            c[k] = rt.mirror.control[k].load(std::memory_order_relaxed);
        s.control = std::bit_cast<ControlStats>(c);
    }
    if (rt.pub && !live) {
        s.generation = rt.mirror.generation.load(std::memory_order_relaxed);
        s.publications = rt.mirror.publications.load(std::memory_order_relaxed);
        s.publish_queue_full = rt.mirror.queue_full.load(std::memory_order_relaxed);
        s.route_events = rt.mirror.route_events.load(std::memory_order_relaxed);
        s.publishing = rt.mirror.publishing.load(std::memory_order_relaxed);
    } else if (rt.pub) {
        s.generation = rt.pub->generation();
        s.publications = rt.pub->publications();
        s.publish_queue_full = rt.pub->queue_full();
        s.route_events = rt.pub->events();
        s.publishing = rt.pub->busy();
    }
    if (rt.pub) {
        const auto& h = rt.pub->latency(); // atomics
        s.publish_count = h.count();
        s.publish_p50_ns = h.quantile_ns(0.5);
        s.publish_p99_ns = h.quantile_ns(0.99);
        s.publish_max_ns = h.max_ns();
        unsigned last = 0;
        for (unsigned b = 0; b < fib::LatencyHistogram::buckets; ++b)
            if (h.bucket(b)) last = b + 1;
        for (unsigned b = 0; b < last; ++b) s.publish_histogram.push_back(h.bucket(b));
    }
    if (live) {
        s.neighbours = rt.comp ? rt.comp->neighbour_count() : 0;
        s.pending_events = rt.comp ? rt.comp->pending_events() : 0;
    } else {
        s.neighbours = rt.mirror.neighbours.load(std::memory_order_relaxed);
        s.pending_events = rt.mirror.pending_events.load(std::memory_order_relaxed);
    }
    if (rt.pool) {
        s.mbufs_total = rt.pool->size;
        s.mbufs_in_use = rte_mempool_in_use_count(rt.pool);
    }
    if (rt.pub && rt.comp) {
        const auto& names = rt.comp->views(); // fixed after start(): safe from any thread
        for (std::size_t v = 0; v < names.size(); ++v) {
            if (live) {
                const fib::Generation* g = rt.pub->active();
                if (v < g->views.size()) s.views.push_back(view_fib_stats(names[v], g->views[v]));
                continue;
            }
            if (v >= rt.mirror.n_views) break;
            const auto& a = rt.mirror.views[v];
            ViewFibStats f;
            f.name = names[v];
            f.routes_v4 = a[0].load(std::memory_order_relaxed);
            f.routes_v6 = a[1].load(std::memory_order_relaxed);
            const std::uint64_t bits = a[2].load(std::memory_order_relaxed);
            f.root_bits_v4 = static_cast<unsigned>(bits & 0xFF);
            f.root_bits_v6 = static_cast<unsigned>(bits >> 8 & 0xFF);
            f.lpm_bytes = a[3].load(std::memory_order_relaxed);
            f.lpm_lookup_bytes = a[4].load(std::memory_order_relaxed);
            s.views.push_back(std::move(f));
        }
    }
    return s;
}

nlohmann::json to_json(const Stats& s) {
    using nlohmann::json;
    json j;
    auto drops = [](const std::array<std::uint64_t, drop_count>& d) {
        json o = json::object();
        for (std::size_t i = 0; i < drop_count; ++i)
            o[std::string(to_string(static_cast<Drop>(i)))] = d[i];
        return o;
    };
    j["ports"] = json::array();
    for (const auto& p : s.ports)
        j["ports"].push_back({{"name", p.name},
                              {"port_id", p.port_id},
                              {"rx_queues", p.rx_queues},
                              {"tx_queues", p.tx_queues},
                              {"rx_pkts", p.sw.rx_pkts},
                              {"rx_bytes", p.sw.rx_bytes},
                              {"tx_pkts", p.sw.tx_pkts},
                              {"tx_bytes", p.sw.tx_bytes},
                              {"hw_ipackets", p.hw_ipackets},
                              {"hw_opackets", p.hw_opackets},
                              {"hw_imissed", p.hw_imissed},
                              {"hw_ierrors", p.hw_ierrors},
                              {"hw_oerrors", p.hw_oerrors},
                              {"hw_rx_nombuf", p.hw_rx_nombuf}});
    j["workers"] = json::array();
    for (const auto& w : s.workers) {
        json o = {{"lcore", w.lcore},
                  {"rx_pkts", w.rx_pkts},
                  {"rx_bytes", w.rx_bytes},
                  {"tx_pkts", w.tx_pkts},
                  {"tx_bytes", w.tx_bytes},
                  {"punted", w.punted},
                  {"loops", w.loops},
                  {"busy_loops", w.busy_loops},
                  {"idle_sleeps", w.idle_sleeps},
                  {"generation", w.generation},
                  {"drops", drops(w.drops)}};
        json sc = json::object();
        for (std::size_t k = 0; k < stage_count; ++k)
            sc[std::string(to_string(static_cast<Stage>(k)))] = w.stage_cycles[k];
        o["stage_cycles"] = sc;
        j["workers"].push_back(o);
    }
    j["drops"] = drops(s.drops);
    j["control"] = {{"arp_requests", s.control.arp_requests},
                    {"arp_replies", s.control.arp_replies},
                    {"arp_learned", s.control.arp_learned},
                    {"nd_solicits", s.control.nd_solicits},
                    {"nd_adverts", s.control.nd_adverts},
                    {"icmp_echo_replies", s.control.icmp_echo_replies},
                    {"icmp_errors", s.control.icmp_errors},
                    {"forwarded", s.control.forwarded},
                    {"punts", s.control.punts}};
    j["fib"] = {{"generation", s.generation},
                {"publications", s.publications},
                {"queue_full", s.publish_queue_full},
                {"route_events", s.route_events},
                {"pending_events", s.pending_events},
                {"publishing", s.publishing},
                {"neighbours", s.neighbours},
                {"publish_latency_ns",
                 {{"count", s.publish_count},
                  {"p50", s.publish_p50_ns},
                  {"p99", s.publish_p99_ns},
                  {"max", s.publish_max_ns},
                  {"log2_buckets", s.publish_histogram}}}};
    j["fib"]["views"] = json::array();
    for (const auto& v : s.views)
        j["fib"]["views"].push_back({{"name", v.name},
                                     {"routes_v4", v.routes_v4},
                                     {"routes_v6", v.routes_v6},
                                     {"root_bits_v4", v.root_bits_v4},
                                     {"root_bits_v6", v.root_bits_v6},
                                     {"lpm_bytes", v.lpm_bytes},
                                     {"lpm_lookup_bytes", v.lpm_lookup_bytes}});
    j["mbufs"] = {{"total", s.mbufs_total}, {"in_use", s.mbufs_in_use}};
    j["tsc_hz"] = s.tsc_hz;
    return j;
}

} // namespace rsfwd::dp
