#!/usr/bin/python3
"""tests/dataplane/vdev_kinds.py — meson test `vdev_kinds`: the rsfwd binary as built drives
every kind of virtual port that docs/dataplane.md lists and no other test starts it on.

What it asserts (behaviour): one `rsfwd run` with six ports — net_null, net_ring, net_pcap,
net_tap, net_vhost (server, no peer), net_memif (server, no peer) — probes all six, says
"forwarding on 6 ports", and exits 0 with its --stats-json on SIGINT. The stats name every port.
A device string no driver takes (net_nosuchpmd0) ends rsfwd with a non-zero exit and an error
that names it and says where the PMD list is.
Why: rsfwd links DPDK statically by default (meson -Ddpdk_static), and a static binary has no
plugin directory: a PMD missing from -Ddpdk_static_drivers would only show up as "no such
device" on a user's machine. virtio_user, net_af_packet and net_af_xdp have their own tests
(vhost_peer_gone, the xdp suite).
Isolation: rsfwd runs inside a network namespace this test creates (the tap interface lives and
dies there); the vhost-user and memif sockets are under a private temporary directory; no
packet is sent anywhere. Needs root (EAL, netns): otherwise exit 77. Bounded (meson: 60 s).
Usage: vdev_kinds.py <path to rsfwd>
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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench",
                                "harness"))
import dpdk  # noqa: E402  (bench/harness: hugepages_free_mb, stop_group)
from testlib import HUB_CONFIG_HEAD, SKIP, check, fail, wait_for  # noqa: E402

PORTS = [  # (port name, device string template); "null" would be YAML null
    ("nullp", "net_null0"),
    ("ringp", "net_ring0"),
    ("pcapp", "net_pcap0,rx_pcap={tmp}/in.pcap,tx_pcap={tmp}/out.pcap"),
    ("tapp", "net_tap0,iface=rsvk0"),
    ("vhostp", "net_vhost0,iface={tmp}/vhost.sock,queues=1"),
    ("memifp", "net_memif0,role=server,socket={tmp}/memif.sock,id=0"),
]

def config(tmp):
    text = HUB_CONFIG_HEAD
    for i, (name, dev) in enumerate(PORTS):
        text += ("  - name: %s\n    device: %s\n    mac: \"02:76:6b:00:00:%02x\"\n"
                 "    address: 10.1.%d.1/24\n    view: vnet\n") % (
                     name, dev.format(tmp=tmp), i, 10 + i)
    return text


def main():
    if len(sys.argv) != 2:
        print("usage: vdev_kinds.py <rsfwd>", file=sys.stderr)
        return 2
    rsfwd = os.path.abspath(sys.argv[1])
    if os.geteuid() != 0:
        print("SKIP: DPDK ports and a network namespace need root")
        return SKIP
    if not shutil.which("ip"):
        print("SKIP: no ip(8)")
        return SKIP
    tmp = tempfile.mkdtemp(prefix="vdevkinds")
    ns = "rsvk%d" % os.getpid()
    fwd = None
    try:
        # An empty capture (global header only): net_pcap's RX side needs a file.
        with open(os.path.join(tmp, "in.pcap"), "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        conf = os.path.join(tmp, "rsfwd.yaml")
        with open(conf, "w") as f:
            f.write(config(tmp))
        subprocess.run(["ip", "netns", "add", ns], check=True)
        mem = (["--in-memory", "--single-file-segments", "-m", "256"]
               if dpdk.hugepages_free_mb() >= 256 else ["--no-huge", "-m", "512"])
        log = os.path.join(tmp, "rsfwd.log")
        stats = os.path.join(tmp, "stats.json")
        fwd = subprocess.Popen(
            ["ip", "netns", "exec", ns, "taskset", "-c", "0,1", rsfwd, "run", "--config", conf,
             "--stats-json", stats, "--socket", "", "--", "-l", "0,1", "--main-lcore", "0",
             "--no-pci", "--file-prefix", ns, "--log-level", "lib.eal:warning"] + mem,
            stdin=subprocess.DEVNULL, stdout=open(log, "w"), stderr=subprocess.STDOUT,
            start_new_session=True)
        started = wait_for(log, "forwarding on %d ports" % len(PORTS), time.monotonic() + 30,
                           fwd)
        if not started:
            fail("rsfwd did not start on %s (log tail: %s)" % (
                ", ".join(d.split(",")[0] for _, d in PORTS),
                open(log).read()[-800:].strip()))
        check(True, "rsfwd forwarding on %d ports: %s" % (
            len(PORTS), ", ".join(d.split(",")[0] for _, d in PORTS)))
        links = subprocess.run(["ip", "-n", ns, "-o", "link", "show"], capture_output=True,
                               text=True).stdout
        check("rsvk0" in links, "net_tap created its interface inside the test's namespace")
        os.killpg(fwd.pid, signal.SIGINT)
        try:
            rc = fwd.wait(timeout=20)
        except subprocess.TimeoutExpired:
            rc = None
        check(rc == 0, "SIGINT: rsfwd exits 0 (got %s)" % rc)
        try:
            s = json.load(open(stats))
        except (OSError, ValueError) as e:
            fail("--stats-json written at exit: %s" % e)
        text = json.dumps(s)
        check(all('"%s"' % name in text for name, _ in PORTS),
              "--stats-json names every port")
        # A device no driver takes: a clear error and a non-zero exit, not a crash or a hang.
        with open(conf, "w") as f:
            f.write(config(tmp).replace("net_null0", "net_nosuchpmd0"))
        r = subprocess.run(
            ["ip", "netns", "exec", ns, rsfwd, "run", "--config", conf, "--socket", "", "--",
             "-l", "0,1", "--main-lcore", "0", "--no-pci", "--file-prefix", ns + "b",
             "--log-level", "lib.eal:warning"] + mem,
            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
        out = r.stdout + r.stderr
        check(r.returncode not in (0, None) and r.returncode > 0 and
              "no DPDK driver in this rsfwd takes 'net_nosuchpmd0'" in out,
              "an unknown PMD name: exit %d with a clear error (%s)" % (
                  r.returncode, (out.strip().splitlines() or ["-"])[-1]))
        return 0
    finally:
        if fwd is not None:
            dpdk.stop_group(fwd, timeout=10)
        subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
