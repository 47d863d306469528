#!/usr/bin/python3
"""bench/harness/bench.py — rsfwd's end-to-end throughput harness (run it via scripts/bench.sh).

What: measures rsfwd next to its peers — dpdk-testpmd io-forward (the ceiling: no lookup, no
rewrite) and DPDK's l3fwd example (LPM and FIB lookups) — on the same ports and the same traffic,
in the same invocation, and reports medians, spread, CV and ratios to the peers. See
`scripts/bench.sh --help` (argparse's help, from make_parser() below) for the options and
docs/benchmarks.md for results. Writes under bench/results/<stamp>/ (gitignored): results.jsonl,
summary.md, *.png, logs/.

Why this shape: on a shared 2-vCPU VM absolute numbers drift with whatever else runs, so every
number is measured next to its peers and rounds are interleaved (round r runs every cell once, in
order), so a noisy minute hurts all forwarders alike; ratios are taken per round, then the median.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import dpdk  # noqa: E402
import ndr  # noqa: E402
import report  # noqa: E402
import rsfwd_bench_leg  # noqa: E402
import routes  # noqa: E402
import traffic  # noqa: E402
import veth  # noqa: E402

TOP = os.path.dirname(os.path.dirname(HERE))

FORWARDERS = ["testpmd-io", "l3fwd-lpm", "l3fwd-fib", "rsfwd", "rsfwd-cycles", "rsfwd-random",
              "rsfwd-churn", "rsfwd-bench"]
# rsfwd variants: the `rsfwd run` flag each needs (looked up in `rsfwd run --help`) and its args.
# All exist in `rsfwd run` (control/cmd/run.cpp; docs/benchmarks.md, "What the harness
# needs from rsfwd"); churn flips routes to a second static neighbour (rsfwd_leg.ALT_NH).
RSFWD_VARIANTS = {
    "rsfwd": (None, []),
    "rsfwd-cycles": ("--stage-cycles", ["--stage-cycles"]),
    "rsfwd-random": ("--bench-random-dst", ["--bench-random-dst", "1048576"]),
    "rsfwd-churn": ("--bench-churn", ["--bench-churn", "{churn}", "--bench-churn-next-hop",
                                      "{alt_nh}"]),
}
# rsfwd-churn: seconds between pausing/resuming the churn driver and the next window (the
# control thread's queue of pending events drains in well under 10 ms).
CHURN_SETTLE_S = 0.5
CHURN_TIMELINE_STEP_S = 0.1  # churn_timeline: sink Mpps sampled this often
L3FWD_LIMIT = {"l3fwd-lpm": 1000, "l3fwd-fib": 65536}
SRC_MAC = "02:00:00:00:00:01"
PCAP_PORT_MAC = "02:70:63:61:70:00"  # net_pcap's default MAC for the first pcap port


def parse_size(text):
    text = text.strip()
    mult = {"k": 1000, "K": 1000, "M": 1000000, "m": 1000000}.get(text[-1:], 1)
    return int(float(text[:-1] if mult > 1 else text) * mult)


def size_label(n):
    if n >= 1000000 and n % 1000000 == 0:
        return "%dM" % (n // 1000000)
    if n >= 1000 and n % 1000 == 0:
        return "%dk" % (n // 1000)
    return str(n)


class Cell:
    def __init__(self, setup, fwd, family, fib, traffic_kind, frame, churn=0):
        self.setup, self.fwd, self.family, self.fib = setup, fwd, family, fib
        self.churn = churn  # rsfwd-churn: route changes per second
        self.traffic, self.frame = traffic_kind, frame
        self.samples = []
        self.fractions = []
        self.shares = []
        self.status = "ok"
        self.warnings = []
        self.mem = ""
        self.extra = {}

    @property
    def key(self):
        fib = size_label(self.fib) if self.fib and self.fwd != "testpmd-io" else "-"
        fwd = self.fwd + (size_label(self.churn) if self.churn else "")
        return "%s/%s/v%d/%s/%s/%dB" % (self.setup, fwd, self.family, fib, self.traffic, self.frame)


# --------------------------------------------------------------------------------------------
# The plan
# --------------------------------------------------------------------------------------------


def plan_cells(a):
    out = []
    for setup in a.setups:
        a.setup = setup
        out += plan_one(a)
    return out


def plan_one(a):
    cells = []
    fwds = a.forwarders

    def add(fwd, fam, fib, tr, fr, churn=0):
        if fwd not in fwds:
            return
        if fwd in L3FWD_LIMIT and fib > L3FWD_LIMIT[fwd]:
            return
        c = Cell(a.setup, fwd, fam, fib, tr, fr, churn)
        if not any(x.key == c.key for x in cells):
            cells.append(c)

    def add_variants(fam, fr, biggest):
        if fam != 4:
            return
        if fr == 64:  # bench/fwd/rsfwd_bench.cpp: 64 B IPv4 frames, 16 routes, 1M, 1M + random
            add("rsfwd-bench", fam, 16, "uniform", fr)
            add("rsfwd-bench", fam, a.bench_routes, "uniform", fr)
            add("rsfwd-bench", fam, a.bench_routes, "random", fr)
        add("rsfwd-cycles", fam, 1000, "uniform", fr)
        add("rsfwd-cycles", fam, biggest, "uniform", fr)
        add("rsfwd-random", fam, biggest, "random", fr)
        for rate in a.churn_rates:
            add("rsfwd-churn", fam, biggest, "uniform", fr, rate)

    if a.setup == "null":
        c = Cell("null", "testpmd-io", 4, 0, "none", 64)
        c.warnings.append("pointer passing: net_null source writes no packet data")
        return [c]
    if a.setup == "virtio-ndr":
        # NDR search per forwarder (bench/harness/ndr.py): reported, not gated.
        for fwd in ("testpmd-io", "l3fwd-lpm", "l3fwd-fib", "rsfwd"):
            add(fwd, 4, 1000, "uniform", max(64, a.frame_sizes[0]))
        return cells
    if a.setup in ("memif", "virtio"):
        # A generator process feeds the pair: reported, not gated (generator-bound on 2 vCPUs).
        for fwd in ("testpmd-io", "l3fwd-lpm", "l3fwd-fib", "rsfwd"):
            add(fwd, 4, 1000, "uniform", max(64, a.frame_sizes[0]))
        for c in cells:
            c.warnings.append("generator on core 0 (testpmd io from pcap): %s rate is capped by "
                              "it; reported, not gated" % a.setup)
        return cells
    fr4 = [max(f, traffic.min_frame(4)) for f in a.frame_sizes]
    fr6 = [max(f, traffic.min_frame(6)) for f in a.frame_sizes]
    ref = 1000  # the l3fwd reference table size

    def sizes(fam):
        return a.fib_sizes if fam == 4 else a.fib_sizes6

    for fam in a.families:
        frames = fr4 if fam == 4 else fr6
        if a.matrix == "full" or a.quick:
            for fr in frames:
                add("testpmd-io", fam, ref, "uniform", fr)
                for tr in a.traffic:
                    for fwd in ("l3fwd-lpm", "l3fwd-fib", "rsfwd"):
                        for n in sizes(fam):
                            add(fwd, fam, n, tr, fr)
                add_variants(fam, fr, max(sizes(fam)))
            continue
        # default matrix: every size at the smallest frame / uniform; the rest at ref and max size
        fr0 = frames[0]
        biggest = max(sizes(fam))
        add("testpmd-io", fam, ref, "uniform", fr0)
        for fwd in ("l3fwd-lpm", "l3fwd-fib", "rsfwd"):
            for n in sizes(fam) if "uniform" in a.traffic else []:
                add(fwd, fam, n, "uniform", fr0)
        for tr in a.traffic:
            if tr == "uniform":
                continue
            for fwd in ("l3fwd-lpm", "l3fwd-fib"):
                add(fwd, fam, ref, tr, fr0)
            add("rsfwd", fam, ref, tr, fr0)
            add("rsfwd", fam, biggest, tr, fr0)
        for fr in frames[1:]:
            add("testpmd-io", fam, ref, "uniform", fr)
            add("l3fwd-lpm", fam, ref, "uniform", fr)
            add("rsfwd", fam, biggest, "uniform", fr)
        add_variants(fam, fr0, biggest)
    return cells


# --------------------------------------------------------------------------------------------
# Data: route tables, pcaps, per-forwarder config files
# --------------------------------------------------------------------------------------------


class Data:
    def __init__(self, folder, frames, seed=1):
        self.dir = folder
        self.frames = frames
        self.seed = seed
        os.makedirs(folder, exist_ok=True)
        self._tables = {}

    def table(self, fam, n):
        key = (fam, n)
        if key not in self._tables:
            big = [k for k in self._tables if k[0] == fam and k[1] >= n]
            if big:
                self._tables[key] = self._tables[big[0]][:n]
            else:
                self._tables[key] = routes.table(fam, n, self.seed)
        return self._tables[key]

    def pcap(self, cell):
        fib = cell.fib or 1000
        if cell.traffic == "random":  # rsfwd's RX callback rewrites destinations; carrier pcap
            cell = Cell(cell.setup, cell.fwd, cell.family, fib, "uniform", cell.frame)
        name = "v%d_%s_%s_%dB_%df.pcap" % (
            cell.family, size_label(fib), cell.traffic, cell.frame, self.frames)
        path = os.path.join(self.dir, name)
        if not os.path.exists(path):
            tr = cell.traffic if cell.traffic in ("uniform", "zipf") else "uniform"
            tmp = path + ".tmp"
            traffic.write_pcap(tmp, cell.family, self.table(cell.family, fib), self.frames,
                               cell.frame, tr, self.seed * 7919 + fib, PCAP_PORT_MAC, SRC_MAC)
            os.rename(tmp, path)
        return path

    def l3fwd_rules(self, fib):
        """(v4 file, v6 file): l3fwd reads neither unless both are given. Next hop: port 1."""
        out = []
        for fam in (4, 6):
            path = os.path.join(self.dir, "l3fwd_v%d_%s.cfg" % (fam, size_label(fib)))
            if not os.path.exists(path):
                with open(path + ".tmp", "w") as f:
                    for a, length in self.table(fam, min(fib, 65536)):
                        f.write("R%s/%d 1\n" % (routes.fmt_addr(fam, a), length))
                os.rename(path + ".tmp", path)
            out.append(path)
        return out

    def route_file(self, fam, n):
        """Plain "prefix/len" lines (one route a line), for rsfwd's bulk route loading."""
        path = os.path.join(self.dir, "routes_v%d_%s.txt" % (fam, size_label(n)))
        if not os.path.exists(path):
            with open(path + ".tmp", "w") as f:
                for a, length in self.table(fam, n):
                    f.write("%s/%d\n" % (routes.fmt_addr(fam, a), length))
            os.rename(path + ".tmp", path)
        return path


# --------------------------------------------------------------------------------------------
# Commands per forwarder
# --------------------------------------------------------------------------------------------


def sock_path(prefix):
    return "/tmp/%s.sock" % prefix


def source_device(cell, pcap, gen_prefix):
    """The forwarder's receiving device for the cell's setup."""
    if cell.setup == "null":
        return "net_null0"
    if cell.setup == "memif":
        return "net_memif0,role=client,id=0,socket=%s" % sock_path(gen_prefix)
    if cell.setup == "virtio":
        return "virtio_user0,path=%s,queues=1" % sock_path(gen_prefix)
    if cell.setup == "virtio-ndr":
        return ndr.input_device(gen_prefix)
    return "net_pcap0,rx_pcap=%s,infinite_rx=1" % pcap


SINK_DEVICE = {"null": "net_null1,no-rx=1"}


def sink_device(cell, gen_prefix=None):
    """The forwarder's output device: virtio-ndr returns frames to ndr-gen, the rest drop."""
    if cell.setup == "virtio-ndr":
        return ndr.output_device(gen_prefix)
    return SINK_DEVICE.get(cell.setup, "net_null0,no-rx=1")


def vdevs(cell, pcap, gen_prefix=None):
    return ["--vdev", source_device(cell, pcap, gen_prefix),
            "--vdev", sink_device(cell, gen_prefix)]


def generator(a, cell, data, prefix, mem_args):
    """memif/virtio: a testpmd that replays the cell's pcap into the shared-memory device (the
    server end), on core 0 only (two lcores mapped onto CPU 0), so core 1 stays the forwarder's."""
    pcap = data.pcap(cell)
    dev = ("net_memif0,role=server,id=0,socket=%s" % sock_path(prefix) if cell.setup == "memif"
           else "net_vhost0,iface=%s,queues=1" % sock_path(prefix))
    mem_args = [x if x != str(a.mem_mb) else str(a.mem_mb // 2) for x in mem_args]
    argv = ["taskset", "-c", "0", a.testpmd, "--lcores", "0@0,1@0", "--main-lcore", "0",
            "--no-pci", "--file-prefix", prefix] + mem_args + [
        "--log-level", "lib.eal:notice", "--vdev", "net_pcap0,rx_pcap=%s,infinite_rx=1" % pcap,
        "--vdev", dev, "--", "--forward-mode=io", "--auto-start", "--nb-cores=1", "--rxq=1",
        "--txq=1", "--total-num-mbufs=%d" % max(16384, 4 * a.frames)]
    return argv, "net_memif" if cell.setup == "memif" else "net_vhost"


def command(a, cell, data, prefix, mem_args, workdir, stats_json=None, gen_prefix=None):
    """(argv, stdin_pipe, source port name prefix, sink port name prefix) or raise."""
    pcap = data.pcap(cell) if cell.setup != "null" else None
    gen_prefix = gen_prefix or prefix + "g"
    eal_common = ["--no-pci", "--file-prefix", prefix] + mem_args + ["--log-level", "lib.eal:notice"]
    if cell.setup in ("virtio", "virtio-ndr"):
        # vhost-user shares guest memory by fd, at most 8 regions: one file for all segments.
        eal_common.append("--single-file-segments")
    ts = ["taskset", "-c", "0,1"]
    src = {"pcap": "net_pcap", "null": "net_null0", "memif": "net_memif",
           "virtio": "virtio_user", "virtio-ndr": "virtio_user0"}[cell.setup]
    sink = {"null": "net_null1", "virtio-ndr": "virtio_user1"}.get(cell.setup, "net_null0")
    if cell.fwd == "testpmd-io":
        argv = ts + [a.testpmd] + main_lcore_args(cell) + eal_common + vdevs(
            cell, pcap, gen_prefix)
        argv += ["--", "--forward-mode=io", "--auto-start", "--nb-cores=1", "--rxq=1", "--txq=1",
                 "--total-num-mbufs=%d" % max(16384, 4 * a.frames)]
        if cell.setup in ("memif", "virtio", "virtio-ndr"):
            # testpmd's default (0: the PMD's preference, else ethdev's fallback of 512) posts
            # only 512 ring entries on virtio_user and memif; l3fwd and rsfwd post 1024. Same
            # depth for all, or testpmd is held back by its own configuration. (pcap and null
            # ports have no rings: unchanged there.)
            argv += ["--rxd=1024", "--txd=1024"]
        return argv, True, src, sink
    if cell.fwd.startswith("l3fwd"):
        r4, r6 = data.l3fwd_rules(cell.fib)
        argv = ts + [a.l3fwd, "-l", "1"] + eal_common + vdevs(cell, pcap, gen_prefix)
        argv += ["--", "-p", "0x3", "--config=(0,0,1),(1,0,1)", "--parse-ptype",
                 "--lookup", cell.fwd.split("-")[1], "--rule_ipv4=" + r4, "--rule_ipv6=" + r6]
        return argv, False, src, sink
    if cell.fwd in RSFWD_VARIANTS:
        import rsfwd_leg

        # churn flips --bench-routes routes: always bulk
        bulk = a.rsfwd_bulk and (cell.fib > 1000 or cell.family == 6 or cell.fwd == "rsfwd-churn")
        conf = rsfwd_leg.write_config(workdir, cell, data, pcap,
                                      source_device(cell, pcap, gen_prefix), bulk,
                                      out_device=sink_device(cell, gen_prefix))
        stats_json = stats_json or os.path.join(workdir, "rsfwd.stats.json")
        extra = [x.format(churn=cell.churn, alt_nh=rsfwd_leg.ALT_NH[cell.family])
                 for x in RSFWD_VARIANTS[cell.fwd][1]]
        if bulk:
            extra += ["--bench-routes", rsfwd_leg.route_file(data, cell)]
        extra += a.rsfwd_args
        argv = ts + rsfwd_leg.argv(a.rsfwd, conf, stats_json, eal_common, extra,
                                   lcores=main_lcore_args(cell))
        return argv, False, src, sink
    raise ValueError(cell.fwd)


def main_lcore_args(cell):
    """EAL lcore options of testpmd and rsfwd: worker lcore 1 on core 1. The main lcore (testpmd's
    prompt, rsfwd's control thread) is on core 0, except in virtio-ndr, where ndr-gen has core 0
    to itself and the main lcore moves to core 1 too: a forwarder's own main thread then costs
    its NDR, as l3fwd's (one lcore, core 1) always has, instead of preempting the generator's
    pacing. EAL control threads stay on core 0 (the CPUs of the process no lcore uses)."""
    if cell.setup == "virtio-ndr":
        return ["--lcores", "0@1,1@1", "--main-lcore", "0"]
    return ["-l", "0,1", "--main-lcore", "0"]


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------


def run_once(a, cell, data, mem_args, n_windows, workdir, seq, may_block=False):
    if cell.setup == "virtio-ndr":  # one NDR search (ndr-gen + forwarder) = one sample
        return ndr.run_once(a, sys.modules[__name__], cell, data, workdir, seq)
    # Free hugepages change while other jobs run: choose the EAL memory at every start.
    kind, mem_args = dpdk.eal_memory_args(a.mem, a.mem_mb + (a.mem_mb // 2 if cell.setup in (
        "memif", "virtio") else 0))
    if kind == "no-huge" and cell.setup == "virtio":
        raise dpdk.ForwarderError("virtio_user needs hugepages (vhost-user shares memory by fd); "
                                  "not enough free")
    kind, mem_args = dpdk.eal_memory_args(a.mem, a.mem_mb) if kind == "hugepages" else (
        kind, mem_args)
    cell.mem = kind if cell.mem in ("", kind) else "mixed"
    prefix = "rsbench%d_%d" % (os.getpid(), seq)
    base = os.path.join(workdir, "logs", "%s_%d" % (cell.key.replace("/", "_"), seq))
    log, stats_json = base + ".log", base + ".stats.json"
    gen = None
    if cell.setup in ("memif", "virtio"):
        gprefix = prefix + "g"
        gargv, gport = generator(a, cell, data, gprefix, mem_args)
        gen = dpdk.Forwarder("generator", gargv, gprefix, base + ".generator.log",
                             stdin_pipe=True)
        try:
            gen.start(timeout=a.start_timeout)
        except dpdk.ForwarderError:
            gen.stop()
            raise
    try:
        argv, pipe, src_name, sink_name = command(a, cell, data, prefix, mem_args, workdir,
                                                  stats_json, gen_prefix=prefix + "g")
    except Exception:
        if gen:
            gen.stop()
        raise
    fwd = dpdk.Forwarder(cell.fwd, argv, prefix, log, stdin_pipe=pipe)
    out = []
    t_start = time.monotonic()
    try:
        timeout = a.start_timeout if cell.fwd not in RSFWD_VARIANTS else a.rsfwd_start_timeout
        fwd.start(timeout=timeout)
        src, sink = fwd.port_by(src_name), fwd.port_by(sink_name)
        fwd.wait_flowing(sink)
        startup = time.monotonic() - t_start
        cell.extra["startup_s"] = round(startup, 1)
        if may_block and startup > a.slow_start:
            # A slow starter (e.g. rsfwd loading 1M routes from YAML) is measured for every
            # round in this one process instead of being restarted each round.
            n_windows = a.reps
            cell.blocked = True
            cell.warnings.append("started in %.0f s: all rounds measured in one process" % startup)
        time.sleep(a.warmup)
        paired = cell.fwd == "rsfwd-churn" and a.churn_pause
        for w in range(n_windows):
            if paired:  # churn on and paused, same process; the order alternates by round
                on, off = churn_pair(fwd, src, sink, a, on_first=(seq + w) % 2 == 0)
                out.append(on)
                if "churn_timeline" not in cell.extra:  # the first pair: Mpps every 100 ms
                    t0 = min(on["t0"], off["t0"])
                    cell.extra["churn_timeline"] = sorted(
                        [round(x[0] + win["t0"] - t0, 3), x[1], int(win is on)]
                        for win in (on, off) for x in win["series"])
                cell.extra.setdefault("churn_paused_mpps", []).append(round(off["mpps"], 3))
                cell.extra.setdefault("churn_on_mpps", []).append(round(on["mpps"], 3))
            else:
                out.append(dpdk.measure_window(fwd, src, sink, a.window))
            if not fwd.alive():
                raise dpdk.ForwarderError("%s died during the window" % cell.fwd)
    finally:
        fwd.stop()
        if gen:
            gen.stop()
            try:
                os.unlink(sock_path(prefix + "g"))
            except OSError:
                pass
    if cell.fwd in RSFWD_VARIANTS:
        import rsfwd_leg

        cyc = rsfwd_leg.stage_cycles(stats_json)
        if cyc and any(cyc.values()):
            cell.extra["stage_cycles"] = {k: round(v, 2) for k, v in cyc.items()}
        churn = rsfwd_leg.churn_stats(stats_json)
        if churn:
            cell.extra.setdefault("churn_stats", []).append(churn)
    return out


def churn_pair(fwd, src, sink, a, on_first):
    """rsfwd-churn: one window with the churn driver running and one with it paused (SIGUSR1
    pauses, SIGUSR2 resumes), in the same process, so the ratio of the two carries none of the
    +-15 % that separates two starts of the same binary here. Returns (on, off) windows."""
    res = {}
    for on in ((True, False) if on_first else (False, True)):
        os.kill(fwd.proc.pid, signal.SIGUSR2 if on else signal.SIGUSR1)
        time.sleep(CHURN_SETTLE_S)
        res[on] = dpdk.measure_window(fwd, src, sink, a.window, step=CHURN_TIMELINE_STEP_S)
    os.kill(fwd.proc.pid, signal.SIGUSR2)
    return res[True], res[False]


def execute(a, cells, data, mem_args, workdir):
    seq = 0
    rounds = a.reps if a.layout == "interleaved" else 1
    per = 1 if a.layout == "interleaved" else a.reps
    for r in range(rounds):
        bench_done = False
        for c in cells:
            if c.status != "ok" or getattr(c, "blocked", False):
                continue
            if c.fwd == "rsfwd-bench":
                if r >= a.bench_rounds:
                    continue
                if not bench_done:  # one process measures all its cells (three phases)
                    bench_done = True
                    seq += 1
                    group = [x for x in cells if x.fwd == "rsfwd-bench" and x.status == "ok"]
                    t0 = time.monotonic()
                    try:
                        rsfwd_bench_leg.run(a, group, workdir, seq, per)
                    except (dpdk.ForwarderError, OSError, ValueError) as e:
                        for x in group:
                            x.status = "failed: %s" % e
                        print("  rsfwd-bench: %s" % e, flush=True)
                        continue
                    for x in group:
                        print("  round %d/%d %-40s %.2f Mpps  (worker CPU %.0f %%, %.1f s)" % (
                            r + 1, rounds, x.key, x.samples[-1], 100 * x.shares[-1],
                            time.monotonic() - t0), flush=True)
                continue
            seq += 1
            t0 = time.monotonic()
            try:
                try:
                    wins = run_once(a, c, data, mem_args, per, workdir, seq,
                                    may_block=(r == 0 and a.layout == "interleaved"))
                except dpdk.ForwarderError as e:  # one retry: memory or a port may be busy
                    print("  %-44s retrying once: %s" % (c.key, e), flush=True)
                    time.sleep(2)
                    seq += 1
                    wins = run_once(a, c, data, mem_args, per, workdir, seq,
                                    may_block=(r == 0 and a.layout == "interleaved"))
            except (dpdk.ForwarderError, OSError, ValueError) as e:
                if c.fwd in RSFWD_VARIANTS:
                    c.status = "not available: %s" % e
                else:
                    c.status = "failed: %s" % e
                print("  %-44s %s" % (c.key, c.status), flush=True)
                continue
            for w in wins:
                c.samples.append(w["mpps"])
                c.fractions.append(w["forwarded_fraction"])
                c.shares.append(w["worker_cpu_share"])
            print("  round %d/%d %-40s %s Mpps  (fwd %.1f %%, worker CPU %s %%, %.1f s)" % (
                r + 1, rounds, c.key, " ".join("%.2f" % w["mpps"] for w in wins),
                100 * min(w["forwarded_fraction"] for w in wins),
                "/".join("%.0f" % (100 * w["worker_cpu_share"]) for w in wins),
                time.monotonic() - t0), flush=True)


ARGS = None  # main()'s parsed options (summarize's NDR notes quote the search settings)


def summarize(cells):
    rows = []
    for c in cells:
        row = {"setup": c.setup, "forwarder": c.key.split("/")[1], "family": "ipv%d" % c.family,
               "churn_rate": c.churn,
               "fib_size": c.fib if c.fwd != "testpmd-io" else 0, "traffic": c.traffic,
               "frame_size": c.frame, "status": c.status, "mem": c.mem,
               "warnings": list(c.warnings), "key": c.key}
        s = c.samples
        if s:
            med = statistics.median(s)
            mean = statistics.mean(s)
            row.update({
                "mpps": round(med, 3), "mpps_min": round(min(s), 3), "mpps_max": round(max(s), 3),
                "spread": round((max(s) - min(s)) / med, 4) if med else None,
                "cv": round(statistics.pstdev(s) / mean, 4) if mean else None,
                "ns_per_pkt": round(1000.0 / med, 2) if med else None,
                "repetitions": len(s), "samples": [round(x, 3) for x in s],
                "forwarded_fraction": round(min(c.fractions), 4),
                "worker_cpu_share": round(statistics.median(c.shares), 3),
                # Mpps per fully-owned core: the rate scaled by the worker's CPU share, a
                # steadier figure than raw Mpps when other load takes core 1 away at times.
                "mpps_per_core": round(statistics.median(
                    x / y for x, y in zip(s, c.shares) if y > 0.05), 3) if any(
                    y > 0.05 for y in c.shares) else None})
            if row["worker_cpu_share"] < 0.9:
                row["warnings"].append("worker had only %.0f %% of core 1"
                                       % (100 * row["worker_cpu_share"]))
            if row["forwarded_fraction"] < 0.99 and c.setup == "pcap":
                row["warnings"].append("only %.1f %% of received packets forwarded (route misses?)"
                                       % (100 * row["forwarded_fraction"]))
            if row["cv"] and row["cv"] > 0.10:
                row["warnings"].append("noisy: CV %.0f %%" % (100 * row["cv"]))
        row.update(c.extra)
        if c.setup == "virtio-ndr":
            ndr.annotate(row, c, ARGS)
        cs = row.get("churn_stats")
        if cs:  # rsfwd --bench-churn reports, one per run: totals and medians over runs
            row["churn_update_drops"] = sum(x.get("update_drops", 0) for x in cs)
            row["churn_misforwards"] = sum(x.get("misforwards", 0) for x in cs)
            row["churn_rate_achieved"] = statistics.median(x.get("rate", 0) for x in cs)
            row["churn_latency_p50_ns"] = statistics.median(x.get("latency_p50_ns", 0) for x in cs)
            row["churn_latency_p99_ns"] = max(x.get("latency_p99_ns", 0) for x in cs)
            cpu = [x["control_cpu_share"] for x in cs if x.get("control_cpu_share")]
            if cpu:  # rsfwd's control thread while churning (all its work), median over runs
                row["churn_control_cpu_share"] = round(statistics.median(cpu), 3)
                row["churn_control_us_per_change"] = round(statistics.median(
                    x.get("control_cpu_ns_per_change", 0) for x in cs) / 1e3, 2)
            on, off = row.get("churn_on_mpps"), row.get("churn_paused_mpps")
            if on and off and len(on) == len(off):
                # Throughput kept under churn, measured inside each process: churning window /
                # paused window, median over the pairs.
                row["churn_kept"] = round(statistics.median(
                    x / y for x, y in zip(on, off) if y > 0), 4)
            row["warnings"].append(
                "churn: %.0f changes/s achieved, update-caused drops %d, misforwards %d, "
                "event→publish p50 %.1f µs p99 %.1f µs" % (
                    row["churn_rate_achieved"], row["churn_update_drops"],
                    row["churn_misforwards"], row["churn_latency_p50_ns"] / 1e3,
                    row["churn_latency_p99_ns"] / 1e3)
                + (", throughput kept %.1f %% of the paused windows (same process, %d pairs)" % (
                    100 * row["churn_kept"], len(on)) if "churn_kept" in row else "")
                + (", control thread %.0f %% of a core (%.1f µs/change)" % (
                    100 * row["churn_control_cpu_share"], row["churn_control_us_per_change"])
                   if "churn_control_cpu_share" in row else ""))
        if row.get("stage_cycles") and row.get("worker_cpu_share"):
            # TSC cycles also tick while the worker is descheduled: scale by its CPU share for
            # an estimate of the cycles it actually spent per packet in each stage.
            row["stage_cycles_owned"] = {k: round(v * row["worker_cpu_share"], 1)
                                         for k, v in row["stage_cycles"].items()}
        rows.append(row)
    # Ratios: per round when rounds are paired (interleaved), else ratio of medians. Two kinds:
    # raw (Mpps / Mpps) and per core (each sample divided by its worker's CPU share first), the
    # second is what --regress gates on: it survives other load taking core 1 away.
    by_key = {r["key"]: (r, c) for r, c in zip(rows, cells)}
    for r, c in zip(rows, cells):
        if not c.samples:
            continue
        io = Cell(c.setup, "testpmd-io", c.family, 1000, "uniform", c.frame)
        lpm = Cell(c.setup, "l3fwd-lpm", c.family, 1000, c.traffic, c.frame)
        if lpm.key not in by_key:  # other traffic: compare with l3fwd on uniform traffic
            lpm = Cell(c.setup, "l3fwd-lpm", c.family, 1000, "uniform", c.frame)
        refs = [("testpmd_io", io), ("l3fwd_lpm", lpm)]
        if c.fwd in ("rsfwd-churn", "rsfwd-random", "rsfwd-cycles"):
            refs.append(("rsfwd", Cell(c.setup, "rsfwd", c.family, c.fib, "uniform", c.frame)))
        for name, ref in refs:
            if ref.key not in by_key or not by_key[ref.key][1].samples:
                continue
            rc = by_key[ref.key][1]
            r["ratio_" + name] = _ratio(c.samples, rc.samples)
            r["ratio_" + name + "_core"] = _ratio(_per_core(c), _per_core(rc))
    return rows


def _per_core(c):
    return [x / y if y > 0.05 else x for x, y in zip(c.samples, c.shares)]


def _ratio(a, b):
    if len(a) == len(b):
        return round(statistics.median(x / y for x, y in zip(a, b) if y), 3)
    return round(statistics.median(a) / statistics.median(b), 3)


def machine():
    cpu = ""
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    load = os.getloadavg()
    try:
        dpdk_v = subprocess.run(["pkg-config", "--modversion", "libdpdk"], capture_output=True,
                                text=True).stdout.strip()
    except OSError:
        dpdk_v = "?"
    return {"cpu": cpu, "cpus": os.cpu_count(), "kernel": platform.release(),
            "dpdk": dpdk_v, "loadavg_at_start": [round(x, 2) for x in load],
            "host": platform.node()}


def finish(a, rows, info, out):
    """Table, plots, docs, baseline and regression for a finished (or reloaded) run."""
    table = report.table_md(rows, info)
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write(table)
    print("\n" + table)
    try:
        report.plots(rows, out)
    except Exception as e:  # plots are a convenience; never fail a run on them
        print("bench: plots skipped: %s" % e)
    if a.write_docs:
        # pcap runs fill the main table, runs of the other setups the "other setups" one
        setups = {r["setup"] for r in rows}
        section = ("results" if setups == {"pcap"} else "results-ndr" if setups == {"virtio-ndr"}
                   else "results-other")
        report.write_docs(os.path.join(TOP, "docs", "benchmarks.md"), table, out, section)
        print("bench: table written into docs/benchmarks.md (%s)" % section)
    status = 0
    if a.update_baseline:
        report.write_baseline(rows, a.baseline, info, a.tolerance)
        print("bench: baseline written to %s" % a.baseline)
    if a.regress:
        ok, text = report.regress(rows, a.baseline, a.tolerance)
        with open(os.path.join(out, "regress.txt"), "w") as f:
            f.write(text)
        print(text)
        if not ok and not a.report_only:
            status = 1
    return status


def rerender(a):
    out = a.rerender
    rows = []
    for line in open(os.path.join(out, "results.jsonl")):
        r = json.loads(line)
        if r.get("stage_cycles") is not None and not any(r["stage_cycles"].values()):
            del r["stage_cycles"]
            r.pop("stage_cycles_owned", None)
        if r.get("stage_cycles") and r.get("worker_cpu_share") and not r.get(
                "stage_cycles_owned"):
            r["stage_cycles_owned"] = {k: round(v * r["worker_cpu_share"], 1)
                                       for k, v in r["stage_cycles"].items()}
        rows.append(r)
    info = json.load(open(os.path.join(out, "machine.json")))
    return finish(a, rows, info, out)


def make_parser():
    """The command line; `scripts/bench.sh --help` prints its help."""
    p = argparse.ArgumentParser(
        prog="scripts/bench.sh",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="""\
rsfwd end-to-end throughput harness, side by side with testpmd and l3fwd.

  scripts/bench.sh [--quick] [options]            measure, write bench/results/<stamp>/
  scripts/bench.sh --regress [--report-only]      ... and compare ratios with bench/baseline.json
  scripts/bench.sh --plan                         print the cells and commands, run nothing

WHAT IT RUNS (setup "pcap", the primary one; the others: see --setup)
  Ports: net_pcap0,rx_pcap=<generated pcap>,infinite_rx=1 (replays the file forever) -> the
  forwarder -> net_null0,no-rx=1 (a sink that frees what it is given). No generator process.
  Forwarders, each in its own process, one after the other, same ports and same pcap:
    testpmd-io   dpdk-testpmd --forward-mode=io: moves mbufs, no lookup: the ceiling
    l3fwd-lpm    DPDK l3fwd --lookup lpm (rte_lpm DIR-24-8), built by scripts/build-l3fwd.sh
    l3fwd-fib    DPDK l3fwd --lookup fib (rte_fib DIR-24-8)
    rsfwd        build-bench/control/cmd/rsfwd run --config <generated> (skipped, reported "not
                 available", when the binary is missing or does not start)
  Pinning: the process is started under `taskset -c 0,1`; the forwarding worker runs alone on
  core 1, the EAL main lcore / control threads (telemetry, interrupts) on core 0, and this driver
  pins itself to core 0. testpmd: -l 0,1 --main-lcore 0 --nb-cores=1; rsfwd: -l 0,1
  --main-lcore 0 (one worker); l3fwd: -l 1 (it opens one TX queue per lcore, main included, and
  net_pcap has only one, so its main lcore is the worker; control threads fall on core 0).
  virtio-ndr: ndr-gen has core 0; testpmd and rsfwd run --lcores 0@1,1@1 (main lcore on the
  worker's core, as l3fwd's), EAL control threads still on core 0.
  Memory: hugepages with --in-memory when enough are free, else --no-huge; a unique
  --file-prefix per process; --no-pci (never touches the VM's NIC).
  Measurement: start, wait until packets reach the sink, warm up, then count the sink's TX
  packets over a timed window through the DPDK telemetry socket (/ethdev/stats). Mpps = sink TX
  packets / window. Every cell is repeated (rounds interleaved across cells); reported: median,
  min, max, spread = (max-min)/median, CV = stdev/mean, ns/pkt = 1000/median Mpps, and the
  fraction of received packets forwarded (a route miss sends l3fwd's packet back out of port 0:
  the harness flags any cell forwarding < 99 %).
  Worker CPU share: the busiest thread's CPU time over the window (/proc/<pid>/task/*/schedstat;
  ~100 % on an idle core 1, less when other jobs take the core). Mpps/core = Mpps / share is
  the rate per owned core, far steadier on this shared VM; ratios are given raw and per core,
  and --regress gates on the per-core ones.""",
        epilog="""\
OUTPUT (bench/results/<stamp>/)
  results.jsonl   one JSON object per cell: setup, forwarder, family, fib_size, traffic,
                  frame_size, mpps (median), mpps_min, mpps_max, spread, cv, ns_per_pkt,
                  repetitions, window_s, samples[], forwarded_fraction, worker_cpu_share,
                  mpps_per_core, ratio_testpmd_io[_core], ratio_l3fwd_lpm[_core], ratio_rsfwd
                  (variants), startup_s, stage_cycles (rsfwd-cycles), churn_stats
                  (rsfwd-churn), churn_rate, mem, warnings[], status (ok | not available: why
                  | failed: why); machine.json: CPU, kernel, DPDK, load, command
  summary.md      the table (also printed), with ratios; regress.txt with --regress
  *.png           mpps_by_fib, mpps_per_core_by_fib, cells, cycles_by_stage, churn_timeline
  logs/           every process's output (command on line 1) and rsfwd's --stats-json
  setup veth: rows in results-veth.jsonl, table in summary-veth.md

EXIT STATUS  0 ok; 1 regression (without --report-only); 2 usage or set-up error.
WARNINGS  numbers from a shared VM are noisy: quote ratios from one run, not absolute Mpps
  across runs. A looped net_ring pair or a net_null source measures pointer passing (no packet
  data is written or read by the source), not forwarding: such cells are marked.""")

    g = p.add_argument_group("what to measure")
    g.add_argument("--quick", action="store_true",
                   help="quick preset for CI: v4, 64 B, uniform; testpmd-io, l3fwd-lpm (1k), "
                   "rsfwd (1k; and 1M once rsfwd has --bench-routes: from YAML it loads 100k+ "
                   "routes in minutes), rsfwd-bench (16, 1M, 1M + random; first round only: 1 "
                   "sample, reported, not gated); 3 interleaved rounds x 2 s, warm-up 0.5 s; "
                   "~100 s here, <= 2 min")
    g.add_argument("--matrix", choices=["default", "full"], default="default",
                   help="default (the default): the cells in docs/benchmarks.md (v4 64 B uniform "
                   "at every FIB size, Zipf, 512 B, IPv6); full: every family x frame x traffic "
                   "x size")
    g.add_argument("--forwarders", default=",".join(FORWARDERS), metavar="LIST",
                   help="comma list (default: all, %(default)s) of testpmd-io, l3fwd-lpm, "
                   "l3fwd-fib, rsfwd and the rsfwd variants: rsfwd-cycles (--stage-cycles: TSC "
                   "cycles per stage, its rate is not the headline), rsfwd-random "
                   "(--bench-random-dst: an RX callback stamps destinations from a 1M random "
                   "array over the whole table), rsfwd-churn (--bench-churn RATE "
                   "--bench-churn-next-hop A: the control thread re-announces the table at RATE "
                   "changes/s, flipping next hops between two resolved neighbours, while "
                   "forwarding; update-caused drops, misforwards, event->publish p50/p99 from "
                   "--stats-json, in the notes and the churn_* fields). A variant whose flag "
                   "`rsfwd run --help` lacks is reported \"not available\". rsfwd-bench: the data "
                   "plane's own benchmark binary (--rsfwd-bench, bench/fwd/rsfwd_bench.cpp): "
                   "same pcap -> null ports, its own 4096 64 B frames over a --bench-routes "
                   "BGP-shaped table from lpm/gen.hpp, phases 16 routes / 1M / 1M + random "
                   "destinations stamped by an RX callback; run once per round with "
                   "--no-testpmd and this harness's EAL args, its Mpps (worker TX counters) "
                   "parsed from stdout, the worker CPU share measured here; ratios are to "
                   "testpmd-io / l3fwd-LPM measured in this run on this harness's pcaps (64 B "
                   "IPv4 too, different destinations)")
    g.add_argument("--churn-rates", default="10k,100k,1M", metavar="LIST",
                   help="rsfwd-churn route changes/s (default %(default)s)")
    g.add_argument("--setup", default="pcap", metavar="LIST",
                   help="comma list of pcap, memif, virtio, virtio-ndr, null, veth (default "
                   "%(default)s), run in order in the same invocation. pcap: see WHAT IT RUNS "
                   "above. memif: a generator testpmd (core 0, io-forwarding the pcap) -> "
                   "net_memif server | client -> forwarder -> net_null. virtio: generator -> "
                   "net_vhost | virtio_user -> forwarder -> net_null. Both are generator-bound "
                   "on this 2-vCPU VM (the generator shares core 0 with EAL control threads): "
                   "reported, not gated; v4 64 B 1k only. virtio-ndr: zero-loss (NDR) search, "
                   "RFC 2544 style: ndr-gen (core 0, bench/ndr) -> net_vhost0 | virtio_user0 -> "
                   "forwarder -> virtio_user1 | net_vhost1 -> ndr-gen, which paces frames from "
                   "the cell's pcap by TSC, counts what comes back and binary-searches the "
                   "highest offered rate with no loss (see the NDR options); Mpps = the NDR, one "
                   "search per round; reported, not gated; v4 64 B 1k only. null: net_null0 -> "
                   "net_null1, testpmd-io only: measures mbuf pointer passing, not forwarding "
                   "(flagged in the output; never gated); a looped net_ring pair is the same "
                   "kind of number (no packet data touched). veth: gen -veth- rt -veth- sink in "
                   "network namespaces (issue 9): the XDP backend (rsfwd run --backend xdp, "
                   "generic and native) against the DPDK backend on net_af_xdp and net_af_packet "
                   "ports, and the kernel; generator xdp_livegen (BPF live frames, 64 B, one "
                   "flow), sink = XDP counter. Needs root and the XDP build (rsfwd-xdp, "
                   "xdp_livegen next to --rsfwd). Received Mpps, ratios to kernel and "
                   "rsfwd-xdp; report only. Rows in results-veth.jsonl, table in "
                   "summary-veth.md.")
    g.add_argument("--veth-forwarders", default=",".join(veth.FORWARDERS), metavar="LIST",
                   help="setup veth: subset of %(default)s (default: all)")

    g = p.add_argument_group("traffic and tables", """\
Generated, seeded, cached in --data.
Routes: BGP-shaped (IPv4 ~60 % /24, IPv6 ~50 % /48; public unicast space), nested (the 1k table
is the first 1000 routes of the 1M one), all pointing to the sink port.
Traffic: --frames frames (net_pcap keeps them all in mbufs, so the pool must hold them: <= ~6000
with l3fwd's 8192-mbuf pool) of Eth/IPv4|IPv6/UDP, destinations drawn from the cell's table:
uniform over its routes or Zipf (s=1.1) over a random ranking, then a random host inside the
route. Frame sizes are on-wire sizes with FCS (64 B = 60 B in the pcap); IPv6's smallest is
78 B. A 4096-frame replay touches at most 4096 routes: to exercise a whole 1M table rsfwd's
bench-only RX callback stamps random destinations (cell traffic "random").
l3fwd runs only where its table can hold the routes: LPM <= 1000 routes (its IPv4 LPM has 1024
rule slots), FIB <= 65536 routes; l3fwd ignores --rule_ipv4 unless --rule_ipv6 is also given
(the harness always passes both) and needs --parse-ptype on vdevs (passed).""")
    g.add_argument("--fib-sizes", default="16,1k,100k,1M", metavar="LIST",
                   help="IPv4 FIB sizes (default %(default)s; suffixes k, M)")
    g.add_argument("--fib-sizes6", default="16,1k,250k", metavar="LIST",
                   help="IPv6 FIB sizes (default %(default)s)")
    g.add_argument("--families", default="4,6", metavar="LIST",
                   help="address families (default %(default)s: both)")
    g.add_argument("--frame-sizes", default="64,512", metavar="LIST",
                   help="on-wire frame sizes in bytes (default %(default)s)")
    g.add_argument("--traffic", default="uniform,zipf", metavar="LIST",
                   help="destination distributions (default %(default)s: both)")
    g.add_argument("--frames", type=int, default=4096, metavar="N",
                   help="frames per pcap (default %(default)s)")
    g.add_argument("--data", default=os.path.join(TOP, "build-bench", "bench-data"),
                   metavar="DIR",
                   help="cache of the generated route files, configs and pcaps (default "
                   "%(default)s)")

    g = p.add_argument_group("rounds and timing")
    g.add_argument("--reps", type=int, default=5, metavar="N",
                   help="rounds (default %(default)s)")
    g.add_argument("--window", type=float, default=5.0, metavar="S",
                   help="measurement window in seconds (default %(default)s)")
    g.add_argument("--warmup", type=float, default=2.0, metavar="S",
                   help="warm-up in seconds (default %(default)s)")
    g.add_argument("--layout", choices=["interleaved", "blocked"], default="interleaved",
                   help="interleaved (default): every round restarts every cell (a cell that "
                   "took > --slow-start s to forward is measured for all rounds in its first "
                   "process); blocked: one process per cell, --reps windows back to back "
                   "(faster, less robust to drifting load)")
    g.add_argument("--slow-start", type=float, default=20.0, metavar="S",
                   help="with --layout interleaved: a cell whose start took longer is measured "
                   "for all rounds in its first process (default %(default)s)")
    g.add_argument("--start-timeout", type=float, default=90.0, metavar="S",
                   help="seconds to wait for a peer to forward (default %(default)s)")
    g.add_argument("--rsfwd-start-timeout", type=float, default=900.0, metavar="S",
                   help="the same for rsfwd (default %(default)s)")

    g = p.add_argument_group("rsfwd-bench (forwarder rsfwd-bench)")
    g.add_argument("--rsfwd-bench", default=os.path.join(TOP, "build-bench", "bench", "fwd",
                                                         "rsfwd-bench"), metavar="PATH",
                   help="the data plane's benchmark binary (default %(default)s)")
    g.add_argument("--bench-routes", default="1M", metavar="N",
                   help="its table size (default %(default)s)")
    g.add_argument("--bench-rounds", type=int, default=99, metavar="N",
                   help="run it in the first N rounds only (default %(default)s: all; --quick: "
                   "1, it needs ~45 s per start for 1M routes)")

    g = p.add_argument_group("NDR (setup virtio-ndr; reported, not gated)", """\
ndr-gen starts first (vhost-user server), then the forwarder: testpmd-io (io, port 0 -> 1),
l3fwd-lpm/-fib (every route -> port 1), rsfwd (its `out` port is virtio_user1). ndr-gen waits
for both links and a first returned frame, warms up --warmup s at 0.01 Mpps, measures its own
unpaced maximum with reused mbufs (refcnt) and copied ones and keeps the faster, then trials
of --ndr-trial-s: round(rate x T) frames in TSC-scheduled bursts of 32, RX counted during the
trial and a drain. The schedule never catches up by more than 2 bursts: when ndr-gen is
descheduled it pauses ("lag") instead of bursting its backlog into the forwarder. A trial
passes with lost (sent - received) + not offered (TX refused: the forwarder's RX ring was
full) = 0, or <= the tolerance; a trial whose pauses exceed 5 % of T is invalid and repeated
up to 3 times ("invalid_trials"), then fails as generator_lag. First the generator maximum
(a pass = "generator-bound"), then binary search down to 0.01 Mpps. The forwarder's
virtio_user ports get queue_size=1024.
Rows: mpps = ndr_mpps (median over rounds), generator_max_mpps, generator_bound_rounds,
ndr_trials, ndr_rounds[] (per search), ratios to testpmd-io in the same run; per trial JSON
lines in logs/*.ndr.jsonl. On this 2-vCPU VM ndr-gen shares core 0 with EAL control threads
and the driver, so a scheduling hiccup there or on core 1 fails a trial: NDRs here are far
below the forwarders' pcap rates.""")
    g.add_argument("--ndr-gen", metavar="PATH",
                   help="ndr-gen binary (default: <--rsfwd's build>/bench/ndr/ndr-gen; ninja -C "
                   "BUILD bench/ndr/ndr-gen)")
    g.add_argument("--ndr-trial-s", type=float, default=2.0, metavar="S",
                   help="seconds per NDR trial (default %(default)s)")
    g.add_argument("--ndr-drain-ms", type=float, default=200.0, metavar="MS",
                   help="RX-only wait after each trial (default %(default)s)")
    g.add_argument("--ndr-loss-tolerance", type=float, default=0.0, metavar="PCT",
                   help="loss allowed in a passing trial (default %(default)s: zero loss)")
    g.add_argument("--ndr-resolution", type=float, default=1.0, metavar="PCT",
                   help="stop when (hi-lo)/hi <= PCT (default %(default)s)")
    g.add_argument("--ndr-max-trials", type=int, default=14, metavar="N",
                   help="default %(default)s")
    g.add_argument("--ndr-args", default="", metavar='"ARGS"',
                   help="more ndr-gen options")
    g.add_argument("--ndr-nice", type=int, default=0, metavar="N",
                   help="run ndr-gen and the forwarder under `nice -n N` (default %(default)s; a "
                   "negative N shields them from other load on a shared VM)")

    g = p.add_argument_group("binaries and EAL memory")
    g.add_argument("--rsfwd", default=os.path.join(TOP, "build-bench", "control", "cmd", "rsfwd"),
                   metavar="PATH",
                   help="rsfwd binary (default %(default)s). Its table comes from a generated "
                   "config (static NVA routes, YAML: slow beyond ~100k routes), or, when `rsfwd "
                   "run --help` lists --bench-routes, for tables > 1k and IPv6 from a \"PREFIX "
                   "NEXT_HOP\" route file passed with --bench-routes")
    g.add_argument("--rsfwd-args", default="", metavar='"ARGS"',
                   help="more `rsfwd run` options for every rsfwd variant (e.g. \"--coalesce-us "
                   "500\"), before the EAL args; recorded in the run's commands")
    g.add_argument("--l3fwd", metavar="PATH",
                   help="l3fwd binary (default: built by scripts/build-l3fwd.sh)")
    g.add_argument("--testpmd", default=shutil.which("dpdk-testpmd") or "dpdk-testpmd",
                   metavar="PATH", help="default %(default)s")
    g.add_argument("--rsfwd-xdp", metavar="PATH",
                   help="setup veth (default: <rsfwd's build>/control/cmd/rsfwd-xdp)")
    g.add_argument("--livegen", metavar="PATH",
                   help="setup veth (default: <rsfwd's build>/tests/xdp/xdp_livegen)")
    g.add_argument("--mem", choices=["auto", "huge", "no-huge"], default="auto",
                   help="EAL memory (default %(default)s: hugepages with --in-memory when "
                   "--mem-mb MB are free at that start, else --no-huge)")
    g.add_argument("--mem-mb", type=int, default=256, metavar="N",
                   help="MB of EAL memory (default %(default)s; the memif/virtio generator gets "
                   "half)")

    g = p.add_argument_group("output, regression and docs")
    g.add_argument("--out", metavar="DIR",
                   help="results folder (default bench/results/<UTC stamp>; bench/results/latest "
                   "points to the last one)")
    g.add_argument("--plan", action="store_true",
                   help="print the cells and the exact commands, run nothing")
    g.add_argument("--regress", action="store_true",
                   help="compare this run's per-core ratios with --baseline: exit 1 when an "
                   "rsfwd ratio (to testpmd-io or to l3fwd-LPM) falls below baseline x (1 - "
                   "tolerance); peer ratios and cells with fewer than 3 samples are shown for "
                   "information only")
    g.add_argument("--baseline", default=os.path.join(TOP, "bench", "baseline.json"),
                   metavar="PATH", help="default %(default)s")
    g.add_argument("--tolerance", type=float, metavar="F",
                   help="default: the baseline's \"tolerance\" (0.20: this shared VM moves "
                   "quick-mode ratios by up to ~20 %%; 0.10 suits an idle machine)")
    g.add_argument("--report-only", action="store_true",
                   help="with --regress: print the comparison, always exit 0 (CI)")
    g.add_argument("--update-baseline", action="store_true",
                   help="write this run's ratios to --baseline (review, then commit)")
    g.add_argument("--write-docs", action="store_true",
                   help="put this run's table into docs/benchmarks.md (between the "
                   "\"bench:results\" markers; a virtio-ndr run goes to \"bench:results-ndr\", "
                   "runs with other setups than pcap to the \"bench:results-other\" ones)")
    g.add_argument("--rerender", metavar="DIR",
                   help="rebuild summary.md and plots (and --write-docs / --regress / "
                   "--update-baseline) from DIR/results.jsonl without measuring")
    return p


def main(argv=None):
    a = make_parser().parse_args(argv)
    if a.quick:
        a.families, a.frame_sizes, a.traffic = "4", "64", "uniform"
        a.fib_sizes = "1k,1M"
        a.forwarders = "testpmd-io,l3fwd-lpm,rsfwd,rsfwd-bench"
        a.bench_rounds = 1  # rsfwd-bench builds its 1M table each start: once, ~45 s
        a.reps, a.window, a.warmup, a.layout = 3, 2.0, 0.5, "interleaved"
    a.forwarders = [f.strip() for f in a.forwarders.split(",") if f.strip()]
    bad = [f for f in a.forwarders if f not in FORWARDERS]
    if bad:
        print("bench: unknown forwarder(s) %s (known: %s)" % (bad, FORWARDERS), file=sys.stderr)
        return 2
    a.fib_sizes = [parse_size(x) for x in a.fib_sizes.split(",")]
    a.bench_routes = parse_size(a.bench_routes)
    a.fib_sizes6 = [parse_size(x) for x in a.fib_sizes6.split(",")]
    a.setups = [x.strip() for x in a.setup.split(",") if x.strip()]
    if not a.setups or any(x not in ("pcap", "null", "memif", "virtio", "virtio-ndr", "veth")
                           for x in a.setups):
        print("bench: --setup takes a comma list of pcap, memif, virtio, virtio-ndr, null, veth",
              file=sys.stderr)
        return 2
    if (a.ndr_trial_s <= 0 or a.ndr_drain_ms < 0 or not 0 <= a.ndr_loss_tolerance <= 100
            or not 0 < a.ndr_resolution <= 100 or a.ndr_max_trials < 1):
        print("bench: --ndr-trial-s > 0, --ndr-drain-ms >= 0, --ndr-loss-tolerance 0..100, "
              "--ndr-resolution in (0, 100], --ndr-max-trials >= 1", file=sys.stderr)
        return 2
    a.ndr_args = a.ndr_args.split()
    a.rsfwd_args = a.rsfwd_args.split()
    global ARGS
    ARGS = a
    bad = [f for f in a.veth_forwarders.split(",") if f.strip() and f.strip() not in
           veth.FORWARDERS]
    if bad:
        print("bench: unknown --veth-forwarders %s (known: %s)" % (bad, veth.FORWARDERS),
              file=sys.stderr)
        return 2
    a.families = [int(x) for x in a.families.split(",")]
    a.frame_sizes = [int(x) for x in a.frame_sizes.split(",")]
    a.traffic = [x.strip() for x in a.traffic.split(",")]
    a.churn_rates = [parse_size(x) for x in a.churn_rates.split(",") if x.strip()]
    if a.frames > 6000:
        print("bench: note: %d frames > ~6000 may exhaust l3fwd's 8192-mbuf pool" % a.frames)

    if a.rerender:
        return rerender(a)
    stamp = datetime.datetime.utcnow().strftime("%Y%m%d-%H%M%S")
    out = a.out or os.path.join(TOP, "bench", "results", stamp)
    if "veth" in a.setups:
        # Setup veth (bench/harness/veth.py) has its own topology, generator and forwarders;
        # it runs first and its rows join results.jsonl and the summary.
        a.setups.remove("veth")
        if a.plan:
            print("veth: forwarders %s, %d rounds x %.0f s (see bench/harness/veth.py)" % (
                a.veth_forwarders, a.reps, a.window))
        else:
            os.makedirs(os.path.join(out, "logs"), exist_ok=True)
            veth_rows, veth_md = veth.run(a, out)
            with open(os.path.join(out, "results-veth.jsonl"), "w") as f:
                for r in veth_rows:
                    f.write(json.dumps(dict(r, window_s=a.window, machine=platform.node(),
                                            run=stamp)) + "\n")
            with open(os.path.join(out, "summary-veth.md"), "w") as f:
                f.write(veth_md)
            print("\n" + veth_md)
            for r in veth_rows:
                print("bench:result " + json.dumps(r))
        if not a.setups:
            if not a.plan:
                print("bench: veth results in %s (results-veth.jsonl, summary-veth.md)" % out)
            return 0
    cells = plan_cells(a)
    mem_kind, mem_args = dpdk.eal_memory_args(a.mem, a.mem_mb)

    if "l3fwd-lpm" in a.forwarders or "l3fwd-fib" in a.forwarders:
        if not a.l3fwd:
            r = subprocess.run([os.path.join(TOP, "scripts", "build-l3fwd.sh")],
                               capture_output=True, text=True)
            if r.returncode != 0:
                print("bench: building l3fwd failed:\n" + r.stderr, file=sys.stderr)
                return 2
            a.l3fwd = r.stdout.strip().splitlines()[-1]
    for c in cells:
        if c.fwd == "rsfwd-bench" and not os.access(a.rsfwd_bench, os.X_OK):
            c.status = "not available: %s not built (ninja -C build-bench bench/fwd/rsfwd-bench)" % (
                a.rsfwd_bench)
    a.ndr_gen_path = ndr.default_binary(a, TOP)
    if any(c.setup == "virtio-ndr" for c in cells) and not os.access(a.ndr_gen_path, os.X_OK):
        for c in cells:
            if c.setup == "virtio-ndr":
                c.status = "not available: %s not built (ninja -C BUILD bench/ndr/ndr-gen)" % (
                    a.ndr_gen_path)
    rs_cells = [c for c in cells if c.fwd in RSFWD_VARIANTS]
    a.rsfwd_bulk = False
    a.churn_pause = False
    if rs_cells and not os.access(a.rsfwd, os.X_OK):
        for c in rs_cells:
            c.status = "not available: %s not built (ninja -C build-bench control/cmd/rsfwd)" % (
                a.rsfwd)
    elif rs_cells:
        try:
            rs_help = subprocess.run([a.rsfwd, "run", "--help"], capture_output=True, text=True,
                                     timeout=20).stdout
        except (OSError, subprocess.TimeoutExpired):
            rs_help = ""
        a.rsfwd_bulk = "--bench-routes" in rs_help
        # rsfwd-churn pauses and resumes its driver by signal when rsfwd says it can
        a.churn_pause = "SIGUSR1" in rs_help
        if a.quick and not a.rsfwd_bulk:
            # Without a bulk route loader rsfwd takes minutes to load 100k+ routes from YAML.
            dropped = [c.key for c in cells if c.fwd in RSFWD_VARIANTS and c.fib > 1000]
            cells[:] = [c for c in cells if c.key not in dropped]
            rs_cells = [c for c in rs_cells if c.key not in dropped]
            if dropped:
                print("bench: --quick: skipping %s (rsfwd has no --bench-routes; YAML is too slow"
                      " for a quick run)" % ", ".join(dropped))
        for c in rs_cells:
            flag = RSFWD_VARIANTS[c.fwd][0]
            if flag and flag not in rs_help:
                c.status = "not available: rsfwd run has no %s option" % flag
            elif c.family != 4 and not a.rsfwd_bulk:
                c.status = ("not available: rsfwd's config holds IPv4 static routes only "
                            "(nvas[].routes[].prefix)")

    if a.plan:
        data = Data(a.data, a.frames)
        for c in cells:
            if c.status != "ok":
                print("%-44s %s" % (c.key, c.status))
                continue
            if c.fwd == "rsfwd-bench":
                print("%-44s %s\n    %s" % (c.key, c.status, " ".join(
                    rsfwd_bench_leg.argv(a, "rsbenchPLAN", mem_args, a.window))))
                continue
            try:
                argv_, _, _, _ = command(a, c, data, "rsbenchPLAN", mem_args, out,
                                         gen_prefix="rsbenchPLANg")
                print("%-44s %s\n    %s" % (c.key, c.status, " ".join(argv_)))
                if c.setup == "virtio-ndr":
                    print("    generator (started first): %s" % " ".join(ndr.gen_argv(
                        a, data.pcap(c), "rsbenchPLANg", a.start_timeout)))
            except Exception as e:  # plan only: show why a command cannot be formed
                print("%-44s cannot form command: %s" % (c.key, e))
        return 0

    os.makedirs(os.path.join(out, "logs"), exist_ok=True)
    try:
        os.sched_setaffinity(0, {0})  # the driver stays off the worker's core
    except OSError:
        pass
    info = machine()
    info.update({"mem": mem_kind, "command": " ".join(["scripts/bench.sh"] + (argv or sys.argv[1:])),
                 "started_utc": stamp, "reps": a.reps, "window_s": a.window, "warmup_s": a.warmup,
                 "frames": a.frames, "layout": a.layout})
    print("bench: %d cells, %d rounds x %.0f s windows, memory %s, results in %s" % (
        len(cells), a.reps, a.window, mem_kind, out), flush=True)
    data = Data(a.data, a.frames)
    t0 = time.monotonic()
    for c in cells:  # generate everything first: no generation inside the timed rounds
        if c.status == "ok" and c.setup != "null":
            data.pcap(c)
            if c.fwd.startswith("l3fwd"):
                data.l3fwd_rules(c.fib)
    print("bench: tables and pcaps ready (%.1f s)" % (time.monotonic() - t0), flush=True)
    execute(a, cells, data, mem_args, out)
    rows = summarize(cells)
    info["finished_utc"] = datetime.datetime.utcnow().strftime("%Y%m%d-%H%M%S")
    info["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    with open(os.path.join(out, "results.jsonl"), "w") as f:
        for r in rows:
            f.write(json.dumps(dict(r, window_s=a.window, machine=info["host"],
                                    run=stamp)) + "\n")
    with open(os.path.join(out, "machine.json"), "w") as f:
        json.dump(info, f, indent=1)
    latest = os.path.join(TOP, "bench", "results", "latest")
    if os.path.dirname(os.path.abspath(out)) == os.path.dirname(latest):
        try:
            if os.path.islink(latest):
                os.unlink(latest)
            os.symlink(os.path.basename(out), latest)
        except OSError:
            pass
    status = finish(a, rows, info, out)
    print("bench: done in %.0f s; results in %s" % (time.monotonic() - t0, out))
    return status


if __name__ == "__main__":
    sys.exit(main())
