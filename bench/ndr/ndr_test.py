#!/usr/bin/python3
"""bench/ndr/ndr_test.py — meson test `ndr_gen_search`: ndr-gen's argument checks and one real,
short NDR search through dpdk-testpmd io over vhost-user/virtio_user.

What it asserts (behaviour, not speed):
  - --help exits 0 and explains the method; bad arguments exit 2 with a message; a pcap that is
    not one exits 3; ports whose peer never connects exit 4 with a "no_link" result line.
  - A search through testpmd io prints trial lines and one result line; the trial the result
    names as the NDR passed with zero loss, zero not-offered frames and the reported rate; and
    either a trial above that rate failed or the NDR is the generator's maximum
    (generator_bound).
Needs root, hugepages (vhost-user shares memory by fd) and dpdk-testpmd: otherwise exit 77.
Usage: ndr_test.py <path to ndr-gen>. Bounded: every process has a timeout (meson: 120 s).
"""

import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

SKIP = 77


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)
    print("ok: " + msg, flush=True)


def hugepages_free_mb():
    try:
        info = dict(l.split(":", 1) for l in open("/proc/meminfo") if ":" in l)
        return int(info["HugePages_Free"].split()[0]) * int(info["Hugepagesize"].split()[0]) // 1024
    except (OSError, KeyError, ValueError):
        return 0


def write_pcap(path, n=64):
    """n 60-byte Eth/IPv4/UDP frames to 10.1.x.y (testpmd io does not look at them)."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i in range(n):
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 46, i, 0, 64, 17, 0,
                             bytes([10, 255, 0, 1]), bytes([10, 1, i >> 8, i & 255]))
            frame = (bytes.fromhex("027063617000" "020000000001" "0800") + ip +
                     struct.pack("!HHHH", 1024, 5001, 26, 0) + bytes(18))
            f.write(struct.pack("<IIII", 0, 0, len(frame), len(frame)) + frame)


def run(argv, timeout=30):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


def lines(text):
    out = []
    for line in text.splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def arg_checks(gen, pcap, tmp):
    r = run([gen, "--help"])
    check(r.returncode == 0 and "USAGE" in r.stdout and "NDR" in r.stdout, "--help exits 0")
    for args, what in (
        ([], "missing --pcap"),
        (["--pcap", pcap, "--trial-s", "0", "--", "-l", "0"], "--trial-s 0"),
        (["--pcap", pcap, "--loss-tolerance", "-1", "--"], "negative --loss-tolerance"),
        (["--pcap", pcap, "--mode", "fast", "--"], "unknown --mode"),
        (["--pcap", pcap, "--burst", "64", "--"], "--burst above 32"),
        (["--pcap", pcap, "--frobnicate", "--"], "unknown option"),
        (["--pcap", pcap], "no EAL arguments after --"),
        (["--pcap", pcap, "--min-mpps", "1", "--max-mpps", "0.5", "--"], "--max-mpps < --min-mpps"),
        (["--pcap", os.path.join(tmp, "missing.pcap"), "--"], "missing pcap file"),
    ):
        r = run([gen] + args)
        check(r.returncode == 2 and "ndr-gen:" in r.stderr and r.stdout == "",
              "bad arguments exit 2 (%s): %s" % (what, r.stderr.strip().splitlines()[0]
                                                 if r.stderr.strip() else "no message"))
    junk = os.path.join(tmp, "junk.pcap")
    with open(junk, "wb") as f:
        f.write(b"not a pcap file at all, definitely")
    r = run([gen, "--pcap", junk, "--", "-l", "0"])
    check(r.returncode == 3 and "not a pcap" in r.stderr, "a non-pcap file exits 3")


class Proc:
    def __init__(self, argv, stdin_pipe=False):
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE if stdin_pipe else subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  start_new_session=True)

    def stop(self):
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, signal.SIGINT)
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait()
            except ProcessLookupError:
                pass


def read_until(proc, kind, deadline):
    """JSON lines from proc's stdout until one of type `kind` (or EOF / deadline)."""
    got = []
    os.set_blocking(proc.p.stdout.fileno(), True)
    while time.monotonic() < deadline:
        line = proc.p.stdout.readline()
        if not line:
            break
        if line.startswith("{"):
            got.append(json.loads(line))
            if got[-1]["type"] == kind:
                break
    return got


def main():
    if len(sys.argv) != 2:
        print("usage: ndr_test.py <ndr-gen>", file=sys.stderr)
        return 2
    gen = os.path.abspath(sys.argv[1])
    tmp = tempfile.mkdtemp(prefix="ndrtest")
    pcap = os.path.join(tmp, "f.pcap")
    write_pcap(pcap)
    try:
        arg_checks(gen, pcap, tmp)
        if os.geteuid() != 0:
            print("SKIP: the vhost-user search needs root")
            return SKIP
        testpmd = shutil.which("dpdk-testpmd")
        if not testpmd:
            print("SKIP: dpdk-testpmd not found")
            return SKIP
        if hugepages_free_mb() < 256:
            print("SKIP: vhost-user/virtio_user need hugepages (%d MB free, want 256)"
                  % hugepages_free_mb())
            return SKIP
        return search(gen, testpmd, pcap, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def search(gen, testpmd, pcap, tmp):
    tag = "ndrtest%d" % os.getpid()
    socks = ["/tmp/%s_%d.sock" % (tag, i) for i in (0, 1)]
    gen_eal = ["-l", "0", "--no-pci", "--in-memory", "--single-file-segments", "-m", "64",
               "--file-prefix", tag + "g", "--log-level", "lib.eal:warning",
               "--vdev", "net_vhost0,iface=%s,queues=1" % socks[0],
               "--vdev", "net_vhost1,iface=%s,queues=1" % socks[1]]
    # 1. Nobody connects: exit 4 with a no_link result, within the timeout.
    t0 = time.monotonic()
    r = run(["taskset", "-c", "0", gen, "--pcap", pcap, "--link-timeout-s", "1", "--"] + gen_eal,
            timeout=60)
    res = [x for x in lines(r.stdout) if x["type"] == "result"]
    check(r.returncode == 4 and res and res[0]["status"] == "no_link" and "link" in r.stderr,
          "no peer: exit 4 and a no_link result (%.1f s): %s" % (
              time.monotonic() - t0, r.stderr.strip().splitlines()[-1:] or r.returncode))
    for s in socks:
        if os.path.exists(s):
            os.unlink(s)
    # 2. A real search through testpmd io (port 0 -> port 1), short trials.
    g = Proc(["taskset", "-c", "0", gen, "--pcap", pcap, "--trial-s", "0.3", "--drain-ms", "50",
              "--warmup-s", "0.2", "--max-s", "0.3", "--max-trials", "8", "--resolution", "5",
              "--min-mpps", "0.002",
              "--link-timeout-s", "40", "--"] + gen_eal)
    fwd = None
    try:
        deadline = time.monotonic() + 90
        got = read_until(g, "info", deadline)
        check(got and got[-1]["type"] == "info" and got[-1]["frames"] == 64,
              "ndr-gen set up its ports (%s)" % (got[-1] if got else g.p.stderr.read()))
        fwd = Proc(["taskset", "-c", "0,1", testpmd, "-l", "0,1", "--main-lcore", "0", "--no-pci",
                    "--in-memory", "--single-file-segments", "-m", "128", "--file-prefix",
                    tag + "f", "--log-level", "lib.eal:warning",
                    "--vdev", "virtio_user0,path=%s,queues=1,queue_size=1024" % socks[0],
                    "--vdev", "virtio_user1,path=%s,queues=1,queue_size=1024" % socks[1],
                    "--", "--forward-mode=io", "--auto-start", "--nb-cores=1", "--rxq=1",
                    "--txq=1", "--rxd=1024", "--txd=1024"], stdin_pipe=True)
        got += read_until(g, "result", deadline)
        g.p.wait(timeout=max(1, deadline - time.monotonic()))
        err = g.p.stderr.read()
    finally:
        if fwd:
            fwd.stop()
        g.stop()
        for s in socks:
            if os.path.exists(s):
                os.unlink(s)
        for pfx in ("g", "f"):  # DPDK runtime dirs (--in-memory leaves only these)
            shutil.rmtree("/var/run/dpdk/" + tag + pfx, ignore_errors=True)
    check(g.p.returncode == 0, "ndr-gen exited 0 (rc %s; %s)" % (
        g.p.returncode, err.strip().splitlines()[-3:]))
    for x in got:
        print("  " + json.dumps(x))
    res = [x for x in got if x["type"] == "result"]
    trials = [x for x in got if x["type"] == "trial" and x["valid"]]
    invalid = [x for x in got if x["type"] == "trial" and not x["valid"]]
    maxes = [x for x in got if x["type"] == "max"]
    check(len(res) == 1 and res[0]["status"] == "ok", "one result line, status ok")
    res = res[0]
    check({m["mode"] for m in maxes} == {"refcnt", "copy"} and res["generator_max_mpps"] > 0,
          "generator maximum measured in both mbuf modes (%s)" % {
              m["mode"]: m["mpps"] for m in maxes})
    check(res["trials"] == len(trials) >= 1 and res["invalid_trials"] == len(invalid)
          and [t["n"] for t in trials] == list(range(1, len(trials) + 1)),
          "%d trials reported (+%d repeated: the generator lagged)" % (len(trials), len(invalid)))
    check(res["ndr_mpps"] > 0 and 1 <= res["ndr_trial"] <= len(trials),
          "an NDR was found: %.3f Mpps" % res["ndr_mpps"])
    at = trials[res["ndr_trial"] - 1]
    check(at["pass"] and at["lost"] == 0 and at["not_offered"] == 0 and not at["lag"]
          and at["received"] >= at["sent"] > 0 and abs(at["rate_mpps"] - res["ndr_mpps"]) < 1e-3,
          "the NDR trial had zero loss: sent %d, received %d" % (at["sent"], at["received"]))
    above = [t for t in trials if t["rate_mpps"] > res["ndr_mpps"] and not t["pass"]]
    check(bool(above) or (res["generator_bound"] and
                          abs(res["ndr_mpps"] - res["search_hi_mpps"]) < 1e-3),
          "a rate above the NDR failed (%s) or the NDR is the generator maximum (%s)" % (
              ["%.3f %s" % (t["rate_mpps"], t["reason"]) for t in above],
              res["generator_bound"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
