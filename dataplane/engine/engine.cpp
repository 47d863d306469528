// dataplane/engine/engine.cpp — the engine's lifecycle: construct (workers, mempool, compiler),
// start, stop. Why it is built this way:
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

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf_dyn.h>
#include <rte_mempool.h>
#include <spdlog/spdlog.h>

#include "control/log.hpp"
#include "dataplane/engine/ports.hpp"
#include "dataplane/engine/runtime.hpp"
#include "dataplane/engine/telemetry.hpp"
#include "dataplane/worker/packet.hpp"

namespace rsfwd::dp {

namespace {

// DPDK's log stream: every EAL/PMD line goes to spdlog at the level DPDK gave it, so the daemon
// has one log format (DPDK's own prefix, "EAL: …", stays in the text). rte_vlog() flushes after
// each message, so one write is one message (maybe several lines).
ssize_t eal_log_write(void*, const char* buf, std::size_t size) {
    spdlog::level::level_enum lvl = spdlog::level::info;
    switch (rte_log_cur_msg_loglevel()) {
    case RTE_LOG_EMERG:
    case RTE_LOG_ALERT:
    case RTE_LOG_CRIT:
        lvl = spdlog::level::critical;
        break;
    case RTE_LOG_ERR:
        lvl = spdlog::level::err;
        break;
    case RTE_LOG_WARNING:
        lvl = spdlog::level::warn;
        break;
    case RTE_LOG_NOTICE:
    case RTE_LOG_INFO:
        lvl = spdlog::level::info;
        break;
    default:
        lvl = spdlog::level::debug;
        break;
    }
    std::string_view text(buf, size);
    while (!text.empty()) {
        const auto nl = text.find('\n');
        const auto line = text.substr(0, nl);
        if (!line.empty()) spdlog::log(lvl, "{}", line);
        if (nl == std::string_view::npos) break;
        text.remove_prefix(nl + 1);
    }
    return static_cast<ssize_t>(size);
}

void route_eal_logs() {
    // Programs that set no logger of their own (rsfwd-bench, tests) log on stderr too: stdout
    // is for their output.
    if (spdlog::default_logger()->name().empty()) log::init("rsfwd");
    static FILE* stream = [] {
        cookie_io_functions_t io{};
        io.write = eal_log_write;
        FILE* f = fopencookie(nullptr, "w", io);
        // Fully buffered: rte_vlog() fflush()es after each message, so a write is a message.
        if (f) std::setvbuf(f, nullptr, _IOFBF, 4096);
        return f;
    }();
    if (stream) rte_openlog_stream(stream);
    // DPDK's threshold follows ours; an EAL --log-level after `--` still overrides it.
    int dpdk_level = RTE_LOG_INFO;
    switch (spdlog::get_level()) {
    case spdlog::level::trace:
    case spdlog::level::debug:
        dpdk_level = RTE_LOG_DEBUG;
        break;
    case spdlog::level::info:
        dpdk_level = RTE_LOG_INFO;
        break;
    case spdlog::level::warn:
        dpdk_level = RTE_LOG_WARNING;
        break;
    case spdlog::level::err:
        dpdk_level = RTE_LOG_ERR;
        break;
    default:
        dpdk_level = RTE_LOG_CRIT;
        break;
    }
    rte_log_set_global_level(static_cast<std::uint32_t>(dpdk_level));
}

} // namespace

void eal_init(const std::vector<std::string>& args) {
    route_eal_logs();
    std::vector<std::string> copy = args;
    std::vector<char*> argv;
    argv.reserve(copy.size() + 1);
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (rte_eal_init(static_cast<int>(copy.size()), argv.data()) < 0)
        throw std::runtime_error(fmt::format("EAL init failed: {}", rte_strerror(rte_errno)));
}

void eal_cleanup() noexcept {
    rte_eal_cleanup();
}

// ------------------------------------------------------------------------------------------------
// Construction: ports, queues, mempool, compiler
// ------------------------------------------------------------------------------------------------

Engine::Engine(std::vector<PortSpec> ports, std::vector<NeighbourSpec> neighbours,
               const EngineOptions& opt)
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
    const std::vector<rte_eth_dev_info> infos = probe_ports(rt);

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
    const std::uint64_t nb = mempool_size(rt);
    rt.pool = rte_pktmbuf_pool_create("rsfwd_mbufs", static_cast<unsigned>(nb), 256, 0,
                                      RTE_MBUF_DEFAULT_BUF_SIZE, static_cast<int>(rte_socket_id()));
    if (!rt.pool)
        throw std::runtime_error(
            fmt::format("mempool of {} mbufs: {}", nb, rte_strerror(rte_errno)));

    // Port configuration.
    configure_ports(rt, infos);

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
    telemetry_attach(this);
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
    telemetry_detach(this);
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
    close_ports(rt);
}

} // namespace rsfwd::dp
