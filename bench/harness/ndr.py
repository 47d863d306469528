"""bench/harness/ndr.py — setup "virtio-ndr": a zero-loss (NDR) search per forwarder (issue 8).

What: for one cell, start ndr-gen (bench/ndr/ndr_gen.cpp) on core 0 as the vhost-user server of
two ports (net_vhost0 sends into the forwarder, net_vhost1 receives what it forwards), then the
forwarder (testpmd io, l3fwd, rsfwd) with `virtio_user0` (its input) and `virtio_user1` (its
output, where every route points) and its worker alone on core 1. ndr-gen waits for the links
and the first returned frame, warms up, measures its own unpaced maximum, and runs an RFC 2544
binary search over the offered rate (zero loss by default), printing one JSON line per trial
and a final result line. run_once() returns that result as the cell's one sample for the round:
sample Mpps = the NDR.

Why the search runs in the generator: the forwarder and the vhost-user link stay up for all
trials of a search (restarting them per trial would cost seconds and re-warm caches); this
driver only reads lines. Why a fresh generator and forwarder each round: same as the other
setups, rounds are interleaved across forwarders so drifting load hits them all.
"""

import json
import os
import select
import shutil
import statistics
import subprocess
import time

import dpdk

DEFAULT_LINK_SLACK_S = 30.0


def sock_paths(gen_prefix):
    return ["/tmp/%s_%d.sock" % (gen_prefix, i) for i in (0, 1)]


# 1024-entry vrings (virtio_user's default is 256) on both of the forwarder's ports, whatever
# the forwarder asks for: virtio ignores rte_eth_rx/tx_queue_setup's descriptor counts, and a
# longer ring rides out a few hundred microseconds of descheduling on this shared VM.
QUEUE_SIZE = 1024


def input_device(gen_prefix):
    return "virtio_user0,path=%s,queues=1,queue_size=%d" % (sock_paths(gen_prefix)[0], QUEUE_SIZE)


def output_device(gen_prefix):
    return "virtio_user1,path=%s,queues=1,queue_size=%d" % (sock_paths(gen_prefix)[1], QUEUE_SIZE)


def default_binary(a, top):
    """--ndr-gen, else ndr-gen next to --rsfwd's build (<build>/bench/ndr/ndr-gen)."""
    if getattr(a, "ndr_gen", None):
        return a.ndr_gen
    build = os.path.dirname(os.path.dirname(os.path.abspath(a.rsfwd)))
    return os.path.join(build, "bench", "ndr", "ndr-gen")


def gen_argv(a, pcap, gen_prefix, link_timeout):
    mem = str(max(64, a.mem_mb // 2))
    opts = ["--pcap", pcap, "--trial-s", str(a.ndr_trial_s), "--drain-ms", str(a.ndr_drain_ms),
            "--loss-tolerance", str(a.ndr_loss_tolerance), "--resolution", str(a.ndr_resolution),
            "--max-trials", str(a.ndr_max_trials), "--warmup-s", str(a.warmup),
            "--link-timeout-s", str(link_timeout)] + list(a.ndr_args)
    socks = sock_paths(gen_prefix)
    # One lcore on CPU 0 (its EAL control threads too): CPU 1 is the forwarder worker's.
    eal = ["-l", "0", "--main-lcore", "0", "--no-pci", "--file-prefix", gen_prefix,
           "--in-memory", "--single-file-segments", "-m", mem, "--log-level", "lib.eal:notice",
           "--vdev", "net_vhost0,iface=%s,queues=1" % socks[0],
           "--vdev", "net_vhost1,iface=%s,queues=1" % socks[1]]
    return _nice(a) + ["taskset", "-c", "0", a.ndr_gen_path] + opts + ["--"] + eal


def _nice(a):
    return ["nice", "-n", str(a.ndr_nice)] if getattr(a, "ndr_nice", 0) else []


class Lines:
    """JSON lines from a pipe, read with a deadline (select on the raw fd, own buffering)."""

    def __init__(self, proc, copy_to):
        self.proc, self.fd, self.buf, self.copy_to = proc, proc.stdout.fileno(), b"", copy_to
        self.eof = False

    def next(self, deadline):
        while True:
            i = self.buf.find(b"\n")
            if i >= 0:
                line, self.buf = self.buf[:i].decode(errors="replace"), self.buf[i + 1:]
                self.copy_to.write(line + "\n")
                self.copy_to.flush()
                if line.startswith("{"):
                    try:
                        return json.loads(line)
                    except ValueError:
                        continue
                continue
            if self.eof:
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.fd], [], [], min(left, 1.0))
            if r:
                chunk = os.read(self.fd, 65536)
                if not chunk:
                    self.eof = True
                self.buf += chunk

    def until(self, kind, deadline):
        got = []
        while True:
            x = self.next(deadline)
            if x is None:
                return got, False
            got.append(x)
            if x.get("type") == kind:
                return got, True


def _stop(proc):
    dpdk.stop_group(proc)


def run_once(a, bench, cell, data, workdir, seq):
    """One search for cell: [sample dict] like run_once's windows (mpps = NDR). Raises
    dpdk.ForwarderError on a set-up failure (the caller retries once)."""
    kind, mem_args = dpdk.eal_memory_args(a.mem, a.mem_mb + a.mem_mb // 2)
    if kind != "hugepages":
        raise dpdk.ForwarderError("virtio_user needs hugepages (vhost-user shares memory by "
                                  "fd); not enough free")
    kind, mem_args = dpdk.eal_memory_args(a.mem, a.mem_mb)
    cell.mem = "hugepages"
    pcap = data.pcap(cell)
    prefix = "rsndr%d_%d" % (os.getpid(), seq)
    gprefix = prefix + "g"
    base = os.path.join(workdir, "logs", "%s_%d" % (cell.key.replace("/", "_"), seq))
    fwd_timeout = a.rsfwd_start_timeout if cell.fwd.startswith("rsfwd") else a.start_timeout
    link_timeout = fwd_timeout + DEFAULT_LINK_SLACK_S
    argv = gen_argv(a, pcap, gprefix, link_timeout)
    glog = open(base + ".ndr-gen.log", "w")
    glog.write("# " + " ".join(argv) + "\n")
    glog.flush()
    jl = open(base + ".ndr.jsonl", "w")
    gen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=glog,
                           start_new_session=True)
    lines = Lines(gen, jl)
    fwd = None
    t_start = time.monotonic()
    try:
        got, ok = lines.until("info", time.monotonic() + a.start_timeout)
        if not ok:
            gen.wait(timeout=5) if gen.poll() is not None else None
            raise dpdk.ForwarderError("ndr-gen did not set up its ports (rc %s; see %s)" % (
                gen.poll(), base + ".ndr-gen.log"))
        fargv, pipe, _, _ = bench.command(a, cell, data, prefix, mem_args, workdir,
                                          base + ".stats.json", gen_prefix=gprefix)
        fwd = dpdk.Forwarder(cell.fwd, _nice(a) + fargv, prefix, base + ".log", stdin_pipe=pipe)
        fwd.start(timeout=fwd_timeout)
        cpu0 = dpdk.thread_cpu_ns(fwd.proc.pid)
        gcpu0 = dpdk.thread_cpu_ns(gen.pid)
        t0 = time.monotonic()
        budget = (link_timeout + a.warmup + 2 * 1.0 + 3.0 +
                  # each trial may be repeated up to 3 times after a generator stall
                  4 * (a.ndr_max_trials + 1) * (a.ndr_trial_s + a.ndr_drain_ms / 1000.0 + 0.5)
                  + 60)
        more, ok = lines.until("result", time.monotonic() + budget)
        got += more
        dt = time.monotonic() - t0
        cpu1 = dpdk.thread_cpu_ns(fwd.proc.pid)
        gcpu1 = dpdk.thread_cpu_ns(gen.pid)
        if not fwd.alive():
            raise dpdk.ForwarderError("%s died during the search" % cell.fwd)
        if not ok:
            raise dpdk.ForwarderError("ndr-gen gave no result (rc %s; see %s)" % (
                gen.poll(), base + ".ndr-gen.log"))
    finally:
        if fwd:
            fwd.stop()
        _stop(gen)
        glog.close()
        jl.close()
        for s in sock_paths(gprefix):
            try:
                os.unlink(s)
            except OSError:
                pass
        shutil.rmtree(os.path.join(dpdk.RUNTIME, gprefix), ignore_errors=True)
    res = got[-1]
    if res.get("status") not in ("ok", "no_pass"):
        raise dpdk.ForwarderError("ndr-gen: %s" % res.get("error", res.get("status")))

    def share(a0, a1):
        return max([a1[t] - a0[t] for t in a1 if t in a0] or [0]) / (dt * 1e9)

    trials = [x for x in got if x.get("type") == "trial" and x.get("valid")]
    at = trials[res["ndr_trial"] - 1] if res.get("ndr_trial") else None
    cell.extra["startup_s"] = round(time.monotonic() - t_start - dt, 1)
    cell.extra.setdefault("ndr_rounds", []).append({
        "ndr_mpps": res["ndr_mpps"], "status": res["status"], "trials": res["trials"],
        "generator_max_mpps": res["generator_max_mpps"], "generator_bound": res["generator_bound"],
        "mode": res["mode"], "max_refcnt_mpps": res["max_refcnt_mpps"],
        "max_copy_mpps": res["max_copy_mpps"], "lowest_fail_mpps": res["lowest_fail_mpps"],
        "fail_reasons": sorted({t["reason"] for t in trials if not t["pass"]}),
        "generator_cpu_share": round(share(gcpu0, gcpu1), 3),
        "invalid_trials": res.get("invalid_trials", 0), "search_s": round(dt, 1)})
    return [{"mpps": res["ndr_mpps"],
             "forwarded_fraction": (at["received"] / at["sent"]) if at and at["sent"] else 0.0,
             "worker_cpu_share": share(cpu0, cpu1)}]


def annotate(row, cell, a):
    """NDR fields and notes for a summarize() row of a virtio-ndr cell."""
    rounds = cell.extra.get("ndr_rounds") or []
    row["warnings"] = [w for w in row["warnings"] if not w.startswith("worker had only")]
    if not rounds:
        return
    gmax = [r["generator_max_mpps"] for r in rounds]
    row["ndr_mpps"] = row.get("mpps")
    row["generator_max_mpps"] = round(statistics.median(gmax), 3)
    row["generator_bound_rounds"] = sum(1 for r in rounds if r["generator_bound"])
    row["ndr_trials"] = [r["trials"] for r in rounds]
    row["ndr_method"] = {"trial_s": a.ndr_trial_s, "drain_ms": a.ndr_drain_ms, "nice": a.ndr_nice,
                         "loss_tolerance_pct": a.ndr_loss_tolerance,
                         "resolution_pct": a.ndr_resolution, "max_trials": a.ndr_max_trials}
    reasons = sorted({x for r in rounds for x in r["fail_reasons"]})
    note = ("NDR (%s loss, %.3g s trials, binary search to %.3g %%%s): generator max %.2f Mpps "
            "(%s mbufs), generator-bound in %d/%d rounds; failed trials: %s" % (
                "zero" if not a.ndr_loss_tolerance else "%g %%" % a.ndr_loss_tolerance,
                a.ndr_trial_s, a.ndr_resolution,
                ", nice %d" % a.ndr_nice if a.ndr_nice else "", row["generator_max_mpps"],
                "/".join(sorted({r["mode"] for r in rounds})), row["generator_bound_rounds"],
                len(rounds), ", ".join(reasons) or "none"))
    rep = sum(r.get("invalid_trials", 0) for r in rounds)
    if rep:
        note += "; %d trial(s) repeated: ndr-gen could not pace them (lag > 5 %% of T)" % rep
    if any(r["status"] == "no_pass" for r in rounds):
        note += "; no passing rate in some round (NDR 0)"
    row["warnings"].insert(0, note)
    if row.get("worker_cpu_share") is not None and row["worker_cpu_share"] < 0.9:
        row["warnings"].append("forwarder worker had only %.0f %% of core 1 during the search"
                               % (100 * row["worker_cpu_share"]))
