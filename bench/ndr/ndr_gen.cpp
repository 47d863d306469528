// bench/ndr/ndr_gen.cpp — ndr-gen: a TSC-paced DPDK traffic generator that runs an RFC 2544-style
// zero-loss (NDR) throughput search against a forwarder it is looped through (issue 8).
//
// Why it exists: the harness's virtio setup fed the forwarder from a testpmd replaying a pcap
// with no rate control and no loss count, so it could only say "the forwarder keeps up with
// whatever the generator sends". An NDR needs an offered rate the generator controls, a count of
// what came back, and a search over the rate. Why the search runs inside the generator: the
// forwarder (and the vhost-user/virtio_user link) stays up across trials, so each trial costs
// only T seconds plus a drain, not a process start.
//
// Why TX failures are "not offered", not "lost": a vhost-user TX that returns short means the
// forwarder's RX ring was full (backpressure), i.e. the offered load did not enter the device
// under test; a NIC would have dropped it on the wire. Such frames are counted separately
// (`not_offered`) and fail the trial like lost ones (frames the forwarder accepted but never
// returned).
//
// Why the schedule shifts instead of catching up: this generator is a process on a shared CPU.
// When it is descheduled (a 4 ms tick is common here), a TSC schedule that catches up would
// release the whole backlog as one line-rate burst — load the target rate never asked for, which
// overflows a 1024-entry virtio ring at ~0.25 Mpps and made every trial fail on the generator's
// account. Instead, once the loop is more than two bursts behind, the schedule moves forward by
// the excess ("lag"): the forwarder never sees more than the target rate plus two bursts, and
// only sees a pause. A trial whose total lag exceeds --lag-tolerance % of T did not offer the
// rate steadily: it is reported invalid and repeated (--lag-retries), then counts as failed with
// reason generator_lag (also what happens above the generator's own capacity).
//
// Why two mbuf strategies: `refcnt` hands the same prebuilt mbuf out again with its reference
// count raised (no allocation, no copy; safe because vhost copies frames into guest buffers
// and the PMD only drops its reference — use --mode copy with a PMD that hands the mbuf itself
// to a peer that may rewrite it), `copy` allocates fresh mbufs and copies the template
// bytes (what a NIC generator does). Which one sustains more depends on the PMD and the CPU, so
// `--mode auto` measures both unpaced and keeps the faster for the search.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

constexpr int exit_ok = 0;
constexpr int exit_usage = 2;
constexpr int exit_setup = 3;   // EAL, pcap, port set-up
constexpr int exit_no_link = 4; // ports not up / nothing came back within --link-timeout-s
constexpr int exit_signal = 5;

constexpr unsigned max_burst = 32;

std::atomic<bool> stop_requested{false};

void on_signal(int) {
    stop_requested.store(true, std::memory_order_relaxed);
}

struct Options {
    std::string pcap;
    uint16_t tx_port = 0;
    uint16_t rx_port = 1;
    double trial_s = 2.0;
    double drain_ms = 200.0;
    double warmup_s = 1.0;
    double max_s = 1.0;
    double loss_tolerance_pct = 0.0;
    double resolution_pct = 1.0;
    unsigned max_trials = 16;
    double min_mpps = 0.01;
    double max_mpps = 0.0; // 0: the measured generator maximum
    double link_timeout_s = 30.0;
    unsigned burst = max_burst;
    std::string mode = "auto";
    unsigned nb_mbufs = 16383;
    unsigned ring_size = 1024;
    double lag_tolerance_pct = 5.0;
    unsigned lag_retries = 3;
    bool max_only = false;
};

const char* const description =
    R"(ndr-gen: zero-loss (NDR) throughput search, RFC 2544 style, through a DPDK forwarder.

USAGE
  ndr-gen --pcap FILE [options] -- <EAL args with two --vdev ports>

  Example (the harness's virtio NDR setup; start ndr-gen first, it is the vhost-user server):
    ndr-gen --pcap f.pcap --trial-s 2 -- -l 0 --in-memory --single-file-segments -m 128 \
        --no-pci --file-prefix gen --vdev net_vhost0,iface=/tmp/g0.sock,queues=1 \
        --vdev net_vhost1,iface=/tmp/g1.sock,queues=1
    dpdk-testpmd -l 0,1 ... --vdev virtio_user0,path=/tmp/g0.sock \
        --vdev virtio_user1,path=/tmp/g1.sock -- --forward-mode=io ...   # port 0 in, 1 out

PORTS  --tx-port (default 0) sends into the forwarder's input, --rx-port (default 1) receives
  what it forwards (port ids are in --vdev order). Both may be the same port.

METHOD
  1. Wait until both links are up, then send at --min-mpps until the first frame comes back
     (the virtio side may come up late), all within --link-timeout-s; else exit 4.
  2. Warm up --warmup-s at --min-mpps (not reported as a trial).
  3. Generator maximum: send unpaced for --max-s with each mbuf mode (refcnt: the prebuilt
     frame mbufs are reused with their reference count raised; copy: fresh mbufs with the
     frame bytes copied in); --mode auto keeps the faster. generator_max_mpps = frames the TX
     port accepted per second; it bounds every rate offered below.
  4. Trials of --trial-s seconds: round(rate x T) frames from the pcap, in bursts of --burst
     (<= 32) released on a TSC schedule (rte_rdtsc) at the target rate; RX is polled between
     bursts and for --drain-ms after the last one. Per trial:
       sent        frames the TX port accepted
       not_offered frames the TX port refused (its ring was full: the forwarder was behind)
       received    frames the RX port returned during the trial and the drain
       lost        sent - received (never negative; a surplus is reported as "late")
     The schedule never catches up by more than two bursts: when ndr-gen falls further behind
     (descheduled, or above its own capacity) the schedule shifts by the excess ("lag_s"), so
     the forwarder sees at most the target rate plus two bursts, and a pause.
     A trial passes when lost + not_offered = 0, or <= --loss-tolerance percent of the
     scheduled frames, and lag_s <= --lag-tolerance percent of T. A trial with more lag is
     reported with "valid": false and repeated, up to --lag-retries times (not within 5 % of
     the generator maximum, where the generator itself is the limit); then it counts as failed
     with reason generator_lag.
  5. Search: first the upper bound (the generator maximum or --max-mpps); if it passes, the
     NDR is that rate and the result is flagged generator_bound. Otherwise binary search
     between --min-mpps and it: a pass raises the low bound, a fail lowers the high bound, until
     (hi - lo) / hi <= --resolution-pct or --max-trials trials. If nothing passed, the low bound
     itself is tried; NDR = 0 if it fails too.

OUTPUT (stdout; DPDK's own log goes to stderr)
  One JSON object per line: {"type":"info",...} (set-up), {"type":"max",...} (per mbuf mode),
  {"type":"trial",...} (per trial: n, valid, rate_mpps, sent, not_offered, received, lost,
  loss_pct, offered_mpps (sent / (seconds - lag_s)), rx_mpps, seconds, lag_s, lag_events,
  max_backlog, lag, pass, reason: pass, loss, not_offered, generator_lag) and last {"type":"result",...}: ndr_mpps,
  ndr_trial (the n of the passing trial), trials, invalid_trials, generator_max_mpps, mode,
  max_refcnt_mpps, max_copy_mpps,
  generator_bound, lowest_fail_mpps, loss_tolerance_pct, resolution_pct, trial_s, status.

  --max-only stops after step 3 (with net_null ports it measures the generator alone).

EXIT STATUS  0 result printed; 2 bad arguments; 3 EAL/pcap/port set-up failed; 4 ports not up or
  nothing returned within --link-timeout-s; 5 interrupted (SIGINT/SIGTERM).
)";

// ---------------------------------------------------------------------------------------------
// pcap (classic format, either byte order, micro- or nanosecond stamps): frames only.

std::vector<std::string> read_pcap(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f) {
        throw std::runtime_error("cannot open pcap " + path + ": " + std::strerror(errno));
    }
    unsigned char gh[24];
    if (!f.read(reinterpret_cast<char*>(gh), sizeof gh)) {
        throw std::runtime_error(path + ": too short for a pcap header");
    }
    uint32_t magic;
    std::memcpy(&magic, gh, 4);
    bool swap;
    if (magic == 0xa1b2c3d4 || magic == 0xa1b23c4d) {
        swap = false;
    } else if (magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1) {
        swap = true;
    } else {
        throw std::runtime_error(path + ": not a pcap file (pcapng is not supported)");
    }
    auto u32 = [swap](const unsigned char* p) {
        uint32_t v;
        std::memcpy(&v, p, 4);
        return swap ? __builtin_bswap32(v) : v;
    };
    if (u32(gh + 20) != 1) {
        throw std::runtime_error(path + ": link type is not Ethernet");
    }
    std::vector<std::string> frames;
    unsigned char rh[16];
    while (f.read(reinterpret_cast<char*>(rh), sizeof rh)) {
        uint32_t caplen = u32(rh + 8);
        if (caplen > 9000) {
            throw std::runtime_error(path + ": record larger than 9000 bytes");
        }
        std::string data(caplen, '\0');
        if (!f.read(data.data(), caplen)) {
            throw std::runtime_error(path + ": truncated record");
        }
        if (caplen >= 14) {
            frames.push_back(std::move(data));
        }
    }
    if (frames.empty()) {
        throw std::runtime_error(path + ": no Ethernet frames");
    }
    return frames;
}

// ---------------------------------------------------------------------------------------------

void emit(const nlohmann::json& j) {
    std::string s = j.dump();
    std::fwrite(s.data(), 1, s.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

double round3(double x) {
    return std::round(x * 1000.0) / 1000.0;
}

struct TrialResult {
    double rate_mpps = 0;
    uint64_t scheduled = 0;
    uint64_t sent = 0;
    uint64_t not_offered = 0;
    uint64_t received = 0;
    uint64_t rx_on_tx_port = 0;
    uint64_t max_backlog = 0;
    double seconds = 0; // first burst to last burst
    bool lag = false;
    bool pass = false;
    double lag_s = 0; // schedule shifted by this much (generator behind > 2 bursts)
    uint64_t lag_events = 0;
    uint64_t lost() const { return sent > received ? sent - received : 0; }
    uint64_t late() const { return received > sent ? received - sent : 0; }
};

class Generator {
public:
    Generator(const Options& o, std::vector<std::string> frames)
        : o_(o), frames_(std::move(frames)), hz_(static_cast<double>(rte_get_tsc_hz())) {}

    void setup() {
        unsigned n = static_cast<unsigned>(frames_.size());
        pool_ =
            rte_pktmbuf_pool_create("ndr_pool", o_.nb_mbufs + n, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                    static_cast<int>(rte_socket_id()));
        if (pool_ == nullptr) {
            throw std::runtime_error(std::string("mbuf pool: ") + rte_strerror(rte_errno));
        }
        for (const auto& fr : frames_) {
            if (fr.size() > RTE_MBUF_DEFAULT_DATAROOM) {
                throw std::runtime_error("frame larger than an mbuf's data room");
            }
            rte_mbuf* m = rte_pktmbuf_alloc(pool_);
            if (m == nullptr) {
                throw std::runtime_error("mbuf pool too small for the pcap's frames");
            }
            std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(fr.size())), fr.data(),
                        fr.size());
            templates_.push_back(m);
        }
        for (uint16_t p : {o_.tx_port, o_.rx_port}) {
            if (!rte_eth_dev_is_valid_port(p)) {
                throw std::runtime_error("port " + std::to_string(p) + " does not exist (" +
                                         std::to_string(rte_eth_dev_count_avail()) +
                                         " ports: give two --vdev)");
            }
        }
        setup_port(o_.tx_port);
        if (o_.rx_port != o_.tx_port) {
            setup_port(o_.rx_port);
        }
    }

    void teardown() {
        for (uint16_t p : {o_.tx_port, o_.rx_port}) {
            if (rte_eth_dev_is_valid_port(p)) {
                rte_eth_dev_stop(p);
                rte_eth_dev_close(p);
            }
        }
        for (rte_mbuf* m : templates_) {
            rte_pktmbuf_free(m);
        }
        templates_.clear();
    }

    // Step 1: links up, then one frame back through the forwarder. false on timeout.
    bool wait_ready(std::string& why) {
        uint64_t deadline = rte_rdtsc() + static_cast<uint64_t>(o_.link_timeout_s * hz_);
        for (;;) {
            bool up = link_up(o_.tx_port) && link_up(o_.rx_port);
            if (up) {
                break;
            }
            if (stop_requested.load() || rte_rdtsc() > deadline) {
                why = "link down on port " +
                      std::to_string(link_up(o_.tx_port) ? o_.rx_port : o_.tx_port) + " after " +
                      std::to_string(o_.link_timeout_s) + " s (is the forwarder connected?)";
                return false;
            }
            rte_delay_us_sleep(10000);
            drain_rx(0);
        }
        if (o_.max_only) {
            return true; // nothing needs to come back to measure the unpaced maximum
        }
        // A link can be up before the forwarder polls: probe at the low rate until one returns.
        while (rte_rdtsc() < deadline && !stop_requested.load()) {
            TrialResult r = run_trial(o_.min_mpps, 0.1, 20.0, use_copy_);
            if (r.received > 0) {
                return true;
            }
        }
        why = "links up but no frame came back on port " + std::to_string(o_.rx_port) + " within " +
              std::to_string(o_.link_timeout_s) +
              " s (does the forwarder route the pcap's frames to its output?)";
        return false;
    }

    void warm_up() {
        if (o_.warmup_s > 0) {
            run_trial(o_.min_mpps, o_.warmup_s, o_.drain_ms, use_copy_);
        }
    }

    // Step 3: the unpaced rate per mode; sets use_copy_.
    double measure_max(double& refcnt_mpps, double& copy_mpps) {
        refcnt_mpps = copy_mpps = 0;
        if (o_.mode != "copy") {
            refcnt_mpps = unpaced(false);
        }
        if (o_.mode != "refcnt") {
            copy_mpps = unpaced(true);
        }
        use_copy_ = copy_mpps > refcnt_mpps;
        return std::max(refcnt_mpps, copy_mpps);
    }

    bool use_copy() const { return use_copy_; }

    // One paced trial: round(rate x T) frames, then the drain.
    TrialResult run_trial(double rate_mpps, double seconds, double drain_ms, bool copy) {
        TrialResult r;
        r.rate_mpps = rate_mpps;
        double pps = rate_mpps * 1e6;
        r.scheduled = std::max<uint64_t>(1, static_cast<uint64_t>(std::llround(pps * seconds)));
        double cycles_per_pkt = hz_ / pps;
        uint64_t burst = std::min<uint64_t>(o_.burst, r.scheduled);
        uint64_t attempted = 0;
        rx_count_ = rx_stray_ = 0;
        uint64_t t0 = rte_rdtsc();
        uint64_t t_last = t0;
        double shift = 0; // cycles the schedule moved forward
        const uint64_t max_pending = 2 * burst;
        while (attempted < r.scheduled) {
            uint64_t now = rte_rdtsc();
            double elapsed = static_cast<double>(now - t0) - shift;
            auto due = std::min<uint64_t>(r.scheduled,
                                          static_cast<uint64_t>(elapsed / cycles_per_pkt) + 1);
            uint64_t pending = due > attempted ? due - attempted : 0;
            if (pending > max_pending) { // behind: pause the schedule, do not burst the backlog
                r.max_backlog = std::max(r.max_backlog, pending);
                ++r.lag_events;
                shift += static_cast<double>(pending - max_pending) * cycles_per_pkt;
                pending = max_pending;
                due = attempted + pending;
            }
            if (pending >= burst || (due == r.scheduled && pending > 0)) {
                r.max_backlog = std::max(r.max_backlog, pending);
                auto n = static_cast<unsigned>(std::min<uint64_t>(pending, burst));
                unsigned ok = send_burst(n, copy);
                r.sent += ok;
                r.not_offered += n - ok;
                attempted += n;
                t_last = now;
            }
            poll_rx();
            if (stop_requested.load(std::memory_order_relaxed)) {
                break;
            }
        }
        r.seconds = static_cast<double>(t_last - t0) / hz_;
        r.lag_s = shift / hz_;
        r.lag = r.lag_s > seconds * o_.lag_tolerance_pct / 100.0 || attempted < r.scheduled;
        drain_rx(drain_ms);
        r.received = rx_count_;
        r.rx_on_tx_port = rx_stray_;
        return r;
    }

private:
    void setup_port(uint16_t port) {
        rte_eth_conf conf{};
        rte_eth_dev_info info{};
        if (int rc = rte_eth_dev_info_get(port, &info); rc != 0) {
            throw std::runtime_error("port " + std::to_string(port) +
                                     ": dev_info: " + rte_strerror(-rc));
        }
        if (int rc = rte_eth_dev_configure(port, 1, 1, &conf); rc != 0) {
            throw std::runtime_error("port " + std::to_string(port) +
                                     ": configure: " + rte_strerror(-rc));
        }
        uint16_t nrx = static_cast<uint16_t>(o_.ring_size), ntx = nrx;
        if (int rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nrx, &ntx); rc != 0) {
            throw std::runtime_error("port " + std::to_string(port) +
                                     ": descriptors: " + rte_strerror(-rc));
        }
        int socket = rte_eth_dev_socket_id(port);
        socket = socket < 0 ? static_cast<int>(rte_socket_id()) : socket;
        if (int rc =
                rte_eth_rx_queue_setup(port, 0, nrx, static_cast<unsigned>(socket), nullptr, pool_);
            rc != 0) {
            throw std::runtime_error("port " + std::to_string(port) +
                                     ": rx queue: " + rte_strerror(-rc));
        }
        if (int rc = rte_eth_tx_queue_setup(port, 0, ntx, static_cast<unsigned>(socket), nullptr);
            rc != 0) {
            throw std::runtime_error("port " + std::to_string(port) +
                                     ": tx queue: " + rte_strerror(-rc));
        }
        if (int rc = rte_eth_dev_start(port); rc != 0) {
            throw std::runtime_error("port " + std::to_string(port) +
                                     ": start: " + rte_strerror(-rc));
        }
        rte_eth_promiscuous_enable(port); // not supported by every vdev: ignore the result
    }

    static bool link_up(uint16_t port) {
        rte_eth_link link{};
        return rte_eth_link_get_nowait(port, &link) == 0 && link.link_status == RTE_ETH_LINK_UP;
    }

    // Fills n mbufs from the templates (round robin) and hands them to the TX port; frees and
    // returns the count of the refused tail.
    unsigned send_burst(unsigned n, bool copy) {
        rte_mbuf* b[max_burst];
        std::size_t nt = templates_.size();
        if (copy) {
            if (rte_pktmbuf_alloc_bulk(pool_, b, n) != 0) {
                return 0; // pool exhausted (the PMD holds mbufs): counted as not offered
            }
            for (unsigned i = 0; i < n; ++i) {
                const rte_mbuf* t = templates_[next_];
                next_ = next_ + 1 == nt ? 0 : next_ + 1;
                uint16_t len = rte_pktmbuf_data_len(t);
                std::memcpy(rte_pktmbuf_mtod(b[i], char*), rte_pktmbuf_mtod(t, const char*), len);
                b[i]->data_len = len;
                b[i]->pkt_len = len;
            }
        } else {
            for (unsigned i = 0; i < n; ++i) {
                rte_mbuf* t = templates_[next_];
                next_ = next_ + 1 == nt ? 0 : next_ + 1;
                rte_mbuf_refcnt_update(t, 1);
                b[i] = t;
            }
        }
        uint16_t ok = rte_eth_tx_burst(o_.tx_port, 0, b, static_cast<uint16_t>(n));
        for (unsigned i = ok; i < n; ++i) {
            rte_pktmbuf_free(b[i]);
        }
        return ok;
    }

    void poll_rx() {
        rte_mbuf* b[max_burst];
        uint16_t n = rte_eth_rx_burst(o_.rx_port, 0, b, max_burst);
        rx_count_ += n;
        rte_pktmbuf_free_bulk(b, n);
        if (o_.tx_port != o_.rx_port) { // frames sent back out of the input (route misses)
            n = rte_eth_rx_burst(o_.tx_port, 0, b, max_burst);
            rx_stray_ += n;
            rte_pktmbuf_free_bulk(b, n);
        }
    }

    void drain_rx(double ms) {
        uint64_t end = rte_rdtsc() + static_cast<uint64_t>(ms / 1000.0 * hz_);
        do {
            poll_rx();
        } while (rte_rdtsc() < end && !stop_requested.load(std::memory_order_relaxed));
    }

    double unpaced(bool copy) {
        auto cycles = static_cast<uint64_t>(o_.max_s * hz_);
        uint64_t sent = 0, refused = 0;
        rx_count_ = rx_stray_ = 0;
        uint64_t t0 = rte_rdtsc(), now = t0;
        while (now - t0 < cycles && !stop_requested.load(std::memory_order_relaxed)) {
            unsigned ok = send_burst(o_.burst, copy);
            sent += ok;
            refused += o_.burst - ok;
            poll_rx();
            now = rte_rdtsc();
        }
        double secs = static_cast<double>(now - t0) / hz_;
        drain_rx(o_.drain_ms);
        double mpps = static_cast<double>(sent) / secs / 1e6;
        emit({{"type", "max"},
              {"mode", copy ? "copy" : "refcnt"},
              {"seconds", round3(secs)},
              {"sent", sent},
              {"not_offered", refused},
              {"received", rx_count_},
              {"mpps", round3(mpps)},
              {"rx_mpps", round3(static_cast<double>(rx_count_) / secs / 1e6)}});
        return mpps;
    }

    const Options& o_;
    std::vector<std::string> frames_;
    double hz_;
    rte_mempool* pool_ = nullptr;
    std::vector<rte_mbuf*> templates_;
    std::size_t next_ = 0;
    uint64_t rx_count_ = 0;
    uint64_t rx_stray_ = 0;
    bool use_copy_ = false;
};

// Zero tolerance: nothing lost, nothing refused. With a tolerance (a partial-drop rate), frames
// the TX port refused count against it like lost ones: both are offered load the forwarder did
// not carry.
bool passes(const Options& o, TrialResult& r) {
    uint64_t bad = r.lost() + r.not_offered;
    double bad_pct =
        r.scheduled ? 100.0 * static_cast<double>(bad) / static_cast<double>(r.scheduled) : 100.0;
    r.pass = !r.lag && r.sent > 0 &&
             (o.loss_tolerance_pct == 0.0 ? bad == 0 : bad_pct <= o.loss_tolerance_pct);
    return r.pass;
}

nlohmann::json trial_json(unsigned n, const TrialResult& r, const char* phase, bool valid) {
    double secs = std::max(r.seconds, 1e-9);
    const char* reason = r.pass                                           ? "pass"
                         : r.lag                                          ? "generator_lag"
                         : r.not_offered >= r.lost() && r.not_offered > 0 ? "not_offered"
                                                                          : "loss";
    return {{"type", "trial"},
            {"n", valid ? n : 0},
            {"valid", valid},
            {"phase", phase},
            {"rate_mpps", round3(r.rate_mpps)},
            {"scheduled", r.scheduled},
            {"sent", r.sent},
            {"not_offered", r.not_offered},
            {"received", r.received},
            {"lost", r.lost()},
            {"late", r.late()},
            {"loss_pct",
             r.sent ? 100.0 * static_cast<double>(r.lost()) / static_cast<double>(r.sent) : 0.0},
            {"rx_on_tx_port", r.rx_on_tx_port},
            {"seconds", round3(r.seconds)},
            {"offered_mpps",
             round3(static_cast<double>(r.sent) / std::max(secs - r.lag_s, 1e-9) / 1e6)},
            {"lag_s", round3(r.lag_s)},
            {"lag_events", r.lag_events},
            {"rx_mpps", round3(static_cast<double>(r.received) / secs / 1e6)},
            {"max_backlog", r.max_backlog},
            {"lag", r.lag},
            {"pass", r.pass},
            {"reason", reason}};
}

int run(const Options& o, std::vector<std::string> frames) {
    std::size_t nframes = frames.size();
    Generator g(o, std::move(frames));
    g.setup();
    emit({{"type", "info"},
          {"tx_port", o.tx_port},
          {"rx_port", o.rx_port},
          {"frames", nframes},
          {"tsc_hz", rte_get_tsc_hz()},
          {"lcore", rte_lcore_id()}});
    std::string why;
    if (!g.wait_ready(why)) {
        g.teardown();
        if (stop_requested.load()) {
            return exit_signal;
        }
        std::fprintf(stderr, "ndr-gen: %s\n", why.c_str());
        emit({{"type", "result"}, {"status", "no_link"}, {"error", why}});
        return exit_no_link;
    }
    if (!o.max_only) {
        g.warm_up();
    }
    double max_refcnt = 0, max_copy = 0;
    double gen_max = g.measure_max(max_refcnt, max_copy);
    if (o.max_only) {
        g.teardown();
        emit({{"type", "result"},
              {"status", "max_only"},
              {"generator_max_mpps", round3(gen_max)},
              {"mode", g.use_copy() ? "copy" : "refcnt"},
              {"max_refcnt_mpps", round3(max_refcnt)},
              {"max_copy_mpps", round3(max_copy)}});
        return stop_requested.load() ? exit_signal : exit_ok;
    }
    double hi = o.max_mpps > 0 ? std::min(o.max_mpps, gen_max) : gen_max;
    double lo = std::min(o.min_mpps, hi);
    bool copy = g.use_copy();

    unsigned n = 0, invalid = 0;
    std::optional<TrialResult> best;
    unsigned best_n = 0;
    double lowest_fail = 0;
    auto trial = [&](double rate, const char* phase) {
        TrialResult r;
        // A trial the generator could not pace steadily (more lag than tolerated) says nothing
        // about the forwarder: repeat it, unless the rate is within 5 % of the unpaced maximum,
        // where the generator itself is the limit and a repeat would lag again.
        for (unsigned attempt = 0;; ++attempt) {
            r = g.run_trial(rate, o.trial_s, o.drain_ms, copy);
            passes(o, r);
            bool near_max = rate >= 0.95 * gen_max;
            if (!r.lag || near_max || attempt >= o.lag_retries || stop_requested.load()) {
                break;
            }
            ++invalid;
            emit(trial_json(0, r, phase, false));
        }
        ++n;
        emit(trial_json(n, r, phase, true));
        if (r.pass && (!best || rate > best->rate_mpps)) {
            best = r;
            best_n = n;
        }
        if (!r.pass && (lowest_fail == 0 || rate < lowest_fail)) {
            lowest_fail = rate;
        }
        return r.pass;
    };
    bool generator_bound = false;
    if (!stop_requested.load() && trial(hi, "max")) {
        generator_bound = true;
    } else {
        double l = lo, h = hi;
        while (!stop_requested.load() && n < o.max_trials &&
               (h - l) / h > o.resolution_pct / 100.0) {
            double mid = (l + h) / 2.0;
            if (trial(mid, "search")) {
                l = mid;
            } else {
                h = mid;
            }
        }
        if (!best && !stop_requested.load()) {
            trial(lo, "low_bound");
        }
    }
    g.teardown();
    if (stop_requested.load()) {
        std::fprintf(stderr, "ndr-gen: interrupted\n");
        return exit_signal;
    }
    nlohmann::json res = {
        {"type", "result"},
        {"status", best ? "ok" : "no_pass"},
        {"ndr_mpps", best ? round3(best->rate_mpps) : 0.0},
        {"ndr_trial", best ? best_n : 0},
        {"ndr_offered_mpps", best ? round3(static_cast<double>(best->sent) /
                                           std::max(best->seconds - best->lag_s, 1e-9) / 1e6)
                                  : 0.0},
        {"trials", n},
        {"invalid_trials", invalid},
        {"lag_tolerance_pct", o.lag_tolerance_pct},
        {"generator_max_mpps", round3(gen_max)},
        {"generator_bound", generator_bound},
        {"mode", copy ? "copy" : "refcnt"},
        {"max_refcnt_mpps", round3(max_refcnt)},
        {"max_copy_mpps", round3(max_copy)},
        {"lowest_fail_mpps", round3(lowest_fail)},
        {"search_lo_mpps", round3(lo)},
        {"search_hi_mpps", round3(hi)},
        {"loss_tolerance_pct", o.loss_tolerance_pct},
        {"resolution_pct", o.resolution_pct},
        {"trial_s", o.trial_s},
        {"drain_ms", o.drain_ms},
        {"burst", o.burst}};
    emit(res);
    return exit_ok;
}

} // namespace

int main(int argc, char** argv) {
    // App options before "--", EAL arguments after it (like `rsfwd run`).
    int split = argc;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--") == 0) {
            split = i;
            break;
        }
    }
    Options o;
    CLI::App app{description, "ndr-gen"};
    app.add_option("--pcap", o.pcap, "frames to send (classic pcap, Ethernet)")
        ->required()
        ->check(CLI::ExistingFile);
    app.add_option("--tx-port", o.tx_port, "port id that sends into the forwarder (default 0)");
    app.add_option("--rx-port", o.rx_port, "port id the forwarded frames come back on (default 1)");
    app.add_option("--trial-s", o.trial_s, "seconds per trial (default 2)")
        ->check(CLI::Range(0.01, 3600.0));
    app.add_option("--drain-ms", o.drain_ms, "RX-only wait after each trial (default 200)")
        ->check(CLI::Range(0.0, 60000.0));
    app.add_option("--warmup-s", o.warmup_s, "warm-up at --min-mpps before measuring (default 1)")
        ->check(CLI::Range(0.0, 3600.0));
    app.add_option("--max-s", o.max_s, "seconds per unpaced generator-maximum run (default 1)")
        ->check(CLI::Range(0.01, 600.0));
    app.add_option("--loss-tolerance", o.loss_tolerance_pct,
                   "accepted lost + not offered frames, percent of scheduled (default 0: none)")
        ->check(CLI::Range(0.0, 100.0));
    app.add_option("--resolution", o.resolution_pct,
                   "stop when (hi - lo) / hi <= PCT percent (default 1)")
        ->check(CLI::Range(0.001, 100.0));
    app.add_option("--max-trials", o.max_trials,
                   "trial budget, the first one included (default 16)")
        ->check(CLI::Range(1u, 1000u));
    app.add_option("--min-mpps", o.min_mpps,
                   "search low bound and probe/warm-up rate (default 0.01)")
        ->check(CLI::Range(0.0001, 1000.0));
    app.add_option("--max-mpps", o.max_mpps,
                   "search high bound cap (default 0: the measured generator maximum)")
        ->check(CLI::Range(0.0, 1000.0));
    app.add_option("--link-timeout-s", o.link_timeout_s,
                   "wait this long for links up and the first frame back (default 30)")
        ->check(CLI::Range(0.1, 3600.0));
    app.add_option("--burst", o.burst, "frames per paced burst, 1..32 (default 32)")
        ->check(CLI::Range(1u, max_burst));
    app.add_option("--mode", o.mode,
                   "mbuf strategy: refcnt, copy, auto (default auto: measure both)")
        ->check(CLI::IsMember({"auto", "refcnt", "copy"}));
    app.add_option("--mbufs", o.nb_mbufs, "mbufs in the pool besides the templates (default 16383)")
        ->check(CLI::Range(1023u, 1u << 22));
    app.add_option("--ring-size", o.ring_size, "RX/TX descriptors per port (default 1024)")
        ->check(CLI::Range(64u, 8192u));
    app.add_option("--lag-tolerance", o.lag_tolerance_pct,
                   "a trial whose schedule had to pause for more than PCT % of T is invalid "
                   "(generator_lag; default 5)")
        ->check(CLI::Range(0.0, 100.0));
    app.add_option("--lag-retries", o.lag_retries,
                   "repeats of an invalid (lagging) trial before it counts as failed (default 3)")
        ->check(CLI::Range(0u, 100u));
    app.add_flag("--max-only", o.max_only,
                 "only measure the unpaced maximum per --mode (links up suffices; no frame needs "
                 "to come back, so net_null ports work) and exit");
    try {
        app.parse(split, argv);
    } catch (const CLI::CallForHelp& e) {
        std::fputs(app.help().c_str(), stdout);
        return exit_ok;
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "ndr-gen: %s\nndr-gen: run `ndr-gen --help` for usage\n", e.what());
        return exit_usage;
    }
    if (o.max_mpps > 0 && o.max_mpps < o.min_mpps) {
        std::fprintf(stderr, "ndr-gen: --max-mpps %.4g is below --min-mpps %.4g\n", o.max_mpps,
                     o.min_mpps);
        return exit_usage;
    }
    if (split == argc) {
        std::fprintf(stderr, "ndr-gen: EAL arguments missing: ndr-gen [options] -- <EAL args "
                             "with two --vdev ports> (see --help)\n");
        return exit_usage;
    }
    std::vector<std::string> frames;
    try {
        frames = read_pcap(o.pcap);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ndr-gen: %s\n", e.what());
        return exit_setup;
    }

    // DPDK logs to stdout by default; stdout is for JSON lines only.
    rte_openlog_stream(stderr);
    std::vector<char*> eal{argv[0]};
    for (int i = split + 1; i < argc; ++i) {
        eal.push_back(argv[i]);
    }
    eal.push_back(nullptr);
    if (rte_eal_init(static_cast<int>(eal.size()) - 1, eal.data()) < 0) {
        std::fprintf(stderr, "ndr-gen: EAL init failed: %s\n", rte_strerror(rte_errno));
        return exit_setup;
    }
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    int rc;
    try {
        rc = run(o, std::move(frames));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "ndr-gen: %s\n", e.what());
        rc = exit_setup;
    }
    rte_eal_cleanup();
    return rc;
}
