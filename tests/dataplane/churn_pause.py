#!/usr/bin/python3
"""tests/dataplane/churn_pause.py — meson test `churn_pause`: `rsfwd run --bench-churn` pauses its
route-change driver on SIGUSR1 and resumes it on SIGUSR2 (the benchmark harness measures
churning and paused windows of one process with it).

What it asserts (behaviour), on real DPDK (net_null ports, --no-huge):
  - paused from the start for ~2 s, the driver applies almost nothing (it would apply ~2 s x
    RATE running), and the stats JSON says so;
  - resumed for ~2 s, it applies about RATE per second, without a catch-up burst for the paused
    time (applied stays well below RATE x the whole run);
  - every change is a real FIB update with zero update-caused drops and misforwards, and the
    control thread's CPU share while churning is reported (0 < share <= 1).
Needs root (EAL): otherwise exit 77. Usage: churn_pause.py <path to rsfwd>. Bounded (meson: 60 s).
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

from testlib import HUB_CONFIG_HEAD, SKIP, check, fail  # noqa: E402

RATE = 5000

CONFIG = HUB_CONFIG_HEAD + """\
  - {name: in, device: "net_null0,no-rx=1", address: 10.1.3.1/24, view: vnet}
  - {name: out, device: "net_null1,no-rx=1", address: 10.1.2.1/24, view: vnet}
neighbours:
  - {ip: 10.1.2.4, mac: "02:00:00:00:02:04", port: out}
  - {ip: 10.1.2.5, mac: "02:00:00:00:02:04", port: out}
nvas:
  - name: NVA1
    asn: 65001
    ip: 10.1.2.4
    port: out
    routes:
      - {prefix: "198.18.0.0/15", as_path: "65001"}
"""


def run(rsfwd, tmp, tag, resume_after):
    """Starts rsfwd with the driver paused from its first poll (SIGUSR1 before the control loop
    can matter: sent as soon as it forwards), resumes it after `resume_after` s (None: never),
    stops it 2 s later. Returns (churn report, seconds forwarding)."""
    conf, routes = os.path.join(tmp, "rsfwd.yaml"), os.path.join(tmp, "routes.txt")
    with open(conf, "w") as f:
        f.write(CONFIG)
    with open(routes, "w") as f:
        for i in range(4096):
            f.write("100.%d.%d.0/24 10.1.2.4\n" % (64 + i // 256, i % 256))
    stats, log = os.path.join(tmp, tag + ".json"), os.path.join(tmp, tag + ".log")
    p = subprocess.Popen(
        [rsfwd, "run", "--config", conf, "--stats-json", stats, "--socket", "", "--bench-routes",
         routes, "--bench-churn", str(RATE), "--bench-churn-next-hop", "10.1.2.5", "--",
         "-l", "0,1", "--main-lcore", "0", "--no-pci", "--no-huge", "-m", "256",
         "--file-prefix", "churnpause%d%s" % (os.getpid(), tag), "--log-level", "lib.eal:warning"],
        stdin=subprocess.DEVNULL, stdout=open(log, "w"), stderr=subprocess.STDOUT,
        start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "forwarding on" not in open(log).read():
            if p.poll() is not None:
                fail("rsfwd exited: %s" % open(log).read()[-600:])
            time.sleep(0.02)
        os.kill(p.pid, signal.SIGUSR1)
        t0 = time.monotonic()
        if resume_after is not None:
            time.sleep(resume_after)
            os.kill(p.pid, signal.SIGUSR2)
        time.sleep(2.0)
        os.kill(p.pid, signal.SIGINT)
        rc = p.wait(timeout=20)
        check(rc == 0, "%s: rsfwd exits 0 on SIGINT (got %s)" % (tag, rc))
        return json.load(open(stats))["churn"], time.monotonic() - t0
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def main():
    if len(sys.argv) != 2:
        print("usage: churn_pause.py <rsfwd>", file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        print("SKIP: DPDK EAL needs root")
        return SKIP
    rsfwd = os.path.abspath(sys.argv[1])
    with tempfile.TemporaryDirectory(prefix="churnpause") as tmp:
        # Paused all along: the few changes applied before SIGUSR1 arrived, nothing after.
        c, secs = run(rsfwd, tmp, "paused", None)
        check(c["applied"] < RATE * 0.5,
              "paused for %.1f s: %d changes applied (running would be ~%d)" % (
                  secs, c["applied"], RATE * secs))
        # Paused 2 s, then resumed 2 s: ~2 s worth, no catch-up for the paused time.
        c, secs = run(rsfwd, tmp, "resumed", 2.0)
        check(RATE * 1.0 < c["applied"] < RATE * 3.0,
              "paused 2 s then resumed 2 s: %d changes applied (want ~%d, not ~%d)" % (
                  c["applied"], 2 * RATE, RATE * secs))
        check(c["update_drops"] == 0 and c["misforwards"] == 0,
              "no update-caused drops (%d) or misforwards (%d)" % (
                  c["update_drops"], c["misforwards"]))
        check(0 < c["control_cpu_share"] <= 1.0 and c["control_cpu_ns_per_change"] > 0,
              "control thread CPU while churning reported: %.1f %% of a core, %.1f µs/change" % (
                  100 * c["control_cpu_share"], c["control_cpu_ns_per_change"] / 1e3))
    return 0


if __name__ == "__main__":
    sys.exit(main())
