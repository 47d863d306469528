"""bench/harness/rsfwd_bench_leg.py — runs the data plane's own `rsfwd-bench` as one harness leg.

What: `rsfwd-bench` (bench/fwd/rsfwd_bench.cpp) forwards on net_pcap replay -> net_null0 with one
worker and measures three phases back to back: 16 routes, a 1M-route BGP-shaped FIB (lpm/gen.hpp,
published while forwarding), and the same with an RX callback that stamps random covered
destinations. It prints one "... Mpps" line per phase. run() starts it once per round with
--no-testpmd and this harness's EAL arguments (worker alone on core 1), reads its lines as they
come (stdbuf -oL) and samples every thread's CPU time meanwhile, so each phase also gets the
worker's CPU share over its window, as every other cell does.

Why: it is the only way today to put rsfwd on 1M routes and random destinations (the config path
cannot load 1M routes in time, and `rsfwd run` has no bench RX callback). Caveat: its frames are
its own (64 B IPv4, destinations covered by its table), not this harness's pcap; the peers'
numbers come from the same run on 64 B IPv4 pcaps.
"""

import os
import re
import shutil
import subprocess
import threading
import time

import dpdk

PHASE = [
    (re.compile(r"^rsfwd 16 routes:\s+([\d.]+) Mpps"), 16, "uniform"),
    (re.compile(r"^rsfwd (\d+) routes:\s+([\d.]+) Mpps"), None, "uniform"),
    (re.compile(r"^rsfwd (\d+) \+ random dst:\s+([\d.]+) Mpps"), None, "random"),
]


def argv(a, prefix, mem_args, seconds):
    return ["stdbuf", "-oL", "taskset", "-c", "0,1", a.rsfwd_bench, "--routes",
            str(a.bench_routes), "--seconds", str(max(1, int(round(seconds)))), "--no-testpmd",
            "--workdir", a.data, "--", "-l", "0,1", "--main-lcore", "0", "--no-pci",
            "--file-prefix", prefix, "--log-level", "lib.eal:notice"] + mem_args


def run(a, cells, workdir, seq, n_windows):
    """One process; appends one sample per phase (cell) — n_windows is ignored (one per round)."""
    kind, mem_args = dpdk.eal_memory_args(a.mem, a.mem_mb)
    prefix = "rsbench%d_%d" % (os.getpid(), seq)
    seconds = max(1, int(round(a.window)))
    log_path = os.path.join(workdir, "logs", "rsfwd-bench_%d.log" % seq)
    cmd = argv(a, prefix, mem_args, seconds)
    samples = []  # (monotonic time, {tid: cpu ns})
    stop = threading.Event()
    with open(log_path, "w") as log:
        log.write("# " + " ".join(cmd) + "\n")
        log.flush()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True,
                                start_new_session=True)

        def sampler():
            while not stop.is_set():
                samples.append((time.monotonic(), dpdk.thread_cpu_ns(proc.pid)))
                time.sleep(0.2)

        th = threading.Thread(target=sampler, daemon=True)
        th.start()
        got = {}
        deadline = time.monotonic() + a.rsfwd_start_timeout
        try:
            for line in proc.stdout:
                log.write(line)
                log.flush()
                now = time.monotonic()
                for rx, fib, traffic in PHASE:
                    m = rx.match(line)
                    if m:
                        mpps = float(m.groups()[-1])
                        size = fib or int(m.group(1))
                        got[(size, traffic)] = (mpps, _share(samples, now - seconds, now))
                        break
                if len(got) == len(PHASE) or now > deadline:
                    break
        finally:
            stop.set()
            dpdk.stop_group(proc, timeout=20)
            rest = proc.stdout.read() if proc.stdout else ""
            log.write(rest)
            shutil.rmtree(os.path.join(dpdk.RUNTIME, prefix), ignore_errors=True)
    if not got:
        raise dpdk.ForwarderError("rsfwd-bench printed no rates (exit %s, see %s)" % (
            proc.returncode, log_path))
    for c in cells:
        c.mem = kind
        mpps, share = got.get((c.fib, c.traffic), (None, None))
        if mpps is None:
            c.status = "failed: rsfwd-bench printed no rate for this phase (see %s)" % log_path
            continue
        c.samples.append(mpps)
        c.shares.append(share)
        c.fractions.append(1.0)  # counted from rsfwd's worker TX counters, not the ports
        if "rsfwd-bench's own frames" not in " ".join(c.warnings):
            c.warnings.append("rsfwd-bench's own frames and worker counters; window %d s" % seconds)


def _share(samples, t0, t1):
    """Busiest thread's CPU share between t0 and t1 from the periodic samples."""
    if len(samples) < 2:
        return 0.0
    a = min(samples, key=lambda s: abs(s[0] - t0))
    b = min(samples, key=lambda s: abs(s[0] - t1))
    dt = b[0] - a[0]
    if dt <= 0:
        return 0.0
    return max([b[1][t] - a[1][t] for t in b[1] if t in a[1]] or [0]) / (dt * 1e9)
