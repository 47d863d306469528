#!/usr/bin/python3
"""tests/dataplane/vhost_peer_gone.py — meson test `vhost_peer_gone`: rsfwd on virtio_user ports
outlives its vhost-user backend and still shuts down cleanly.

What it asserts (behaviour): rsfwd runs with two virtio_user ports whose vhost-user server is a
real dpdk-testpmd (net_vhost0/1); the server exits; rsfwd keeps running; SIGINT then stops it
with exit code 0 and a written --stats-json. The bug this guards: DPDK's virtio_user sends
vhost-user messages with sendmsg() on a socket whose peer is gone, and rsfwd died of SIGPIPE
(exit 141, no stats) in `rsfwd run`'s shutdown after the benchmark harness's generator exited.
Needs root, hugepages (vhost-user shares memory by fd) and dpdk-testpmd: otherwise exit 77.
Usage: vhost_peer_gone.py <path to rsfwd>. Bounded: every wait has a deadline (meson: 90 s).
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench",
                                "harness"))
import dpdk  # noqa: E402  (bench/harness: hugepages_free_mb, stop_group)
from testlib import HUB_CONFIG_HEAD, SKIP, check, fail, wait_for  # noqa: E402

CONFIG = HUB_CONFIG_HEAD + """\
  - name: in
    device: virtio_user0,path={s0},queues=1,queue_size=1024
    mac: "02:70:63:61:70:00"
    address: 10.1.3.1/24
    view: vnet
  - name: out
    device: virtio_user1,path={s1},queues=1,queue_size=1024
    mac: "02:70:63:61:70:01"
    address: 10.1.2.1/24
    view: vnet
neighbours:
  - {{ip: 10.1.2.4, mac: "02:00:00:00:02:04", port: out}}
nvas:
  - name: NVA1
    asn: 65001
    ip: 10.1.2.4
    port: out
    routes:
      - {{prefix: "198.18.0.0/15", as_path: "65001"}}
"""


def main():
    if len(sys.argv) != 2:
        print("usage: vhost_peer_gone.py <rsfwd>", file=sys.stderr)
        return 2
    rsfwd = os.path.abspath(sys.argv[1])
    if os.geteuid() != 0:
        print("SKIP: DPDK with vhost-user needs root")
        return SKIP
    testpmd = shutil.which("dpdk-testpmd")
    if not testpmd:
        print("SKIP: dpdk-testpmd not found")
        return SKIP
    if dpdk.hugepages_free_mb() < 384:
        print("SKIP: vhost-user/virtio_user need hugepages (%d MB free, want 384)"
              % dpdk.hugepages_free_mb())
        return SKIP
    tmp = tempfile.mkdtemp(prefix="vhostgone")
    tag = "vhostgone%d" % os.getpid()
    socks = ["/tmp/%s_%d.sock" % (tag, i) for i in (0, 1)]
    conf = os.path.join(tmp, "rsfwd.yaml")
    with open(conf, "w") as f:
        f.write(CONFIG.format(s0=socks[0], s1=socks[1]))
    stats = os.path.join(tmp, "stats.json")
    server = fwd = None
    try:
        # The vhost-user server: testpmd io between its two net_vhost ports, both lcores on
        # CPU 0; stdin is a pipe we keep open (testpmd exits when stdin closes).
        server = subprocess.Popen(
            ["taskset", "-c", "0", testpmd, "--lcores", "0@0,1@0", "--main-lcore", "0",
             "--no-pci", "--in-memory", "--single-file-segments", "-m", "128", "--file-prefix",
             tag + "s", "--log-level", "lib.eal:warning",
             "--vdev", "net_vhost0,iface=%s,queues=1" % socks[0],
             "--vdev", "net_vhost1,iface=%s,queues=1" % socks[1],
             "--", "--forward-mode=io", "--auto-start", "--nb-cores=1"],
            stdin=subprocess.PIPE, stdout=open(os.path.join(tmp, "server.log"), "w"),
            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not all(os.path.exists(s) for s in socks):
            if server.poll() is not None:
                fail("testpmd (vhost-user server) exited: %s" %
                     open(os.path.join(tmp, "server.log")).read()[-500:])
            time.sleep(0.1)
        check(all(os.path.exists(s) for s in socks), "vhost-user server listening")
        log = os.path.join(tmp, "rsfwd.log")
        fwd = subprocess.Popen(
            ["taskset", "-c", "0,1", rsfwd, "run", "--config", conf, "--stats-json", stats,
             "--socket", "", "--", "-l", "0,1", "--main-lcore", "0", "--no-pci", "--in-memory",
             "--single-file-segments", "-m", "256", "--file-prefix", tag + "f",
             "--log-level", "lib.eal:warning"],
            stdin=subprocess.DEVNULL, stdout=open(log, "w"), stderr=subprocess.STDOUT,
            start_new_session=True)
        check(wait_for(log, "forwarding on 2 ports", time.monotonic() + 40, fwd),
              "rsfwd forwarding on its two virtio_user ports")
        # The backend goes away (the benchmark's generator finishing its search).
        dpdk.stop_group(server, timeout=10)
        check(server.returncode is not None, "vhost-user server stopped")
        time.sleep(1.0)
        check(fwd.poll() is None, "rsfwd still running after its vhost-user peer left")
        t0 = time.monotonic()
        os.killpg(fwd.pid, signal.SIGINT)
        try:
            rc = fwd.wait(timeout=20)
        except subprocess.TimeoutExpired:
            rc = None
        tail = open(log).read()[-600:]
        check(rc == 0, "SIGINT: rsfwd exits 0 (got %s after %.1f s; log tail: %s)" % (
            rc, time.monotonic() - t0, tail.strip().splitlines()[-1:] if rc != 0 else "-"))
        try:
            s = json.load(open(stats))
        except (OSError, ValueError) as e:
            s = None
            fail("--stats-json written at exit: %s" % e)
        check(isinstance(s, dict) and "workers" in s, "--stats-json written at exit")
        return 0
    finally:
        for p in (fwd, server):
            if p is not None:
                dpdk.stop_group(p, timeout=10)
        for s in socks:
            if os.path.exists(s):
                os.unlink(s)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
