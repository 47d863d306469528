#!/usr/bin/python3
"""tests/xdp/xdp_split_test.py — the AF_XDP control/data split program (issue 9).

Topology: peer (10.0.5.1, fd00:5::1) ── veth ── port (e0: 10.0.5.2, fd00:5::2)

Part A — rsfwd attaches the split program itself (bpf_link): ARP, ICMP/ICMPv6 to us, IPv6 ND and
BGP (TCP 179, both directions) are passed to the kernel and really answered by it; other traffic
is handed to xsks_map (no socket bound here, so it falls back to the kernel: counted as redirect).
Part B — DPDK 22.11 net_af_xdp (dpdk-testpmd, rxonly) loads the same object through `xdp_prog=`;
before configuration everything reaches the kernel; after `rsfwd-xdp split --configure-attached`
ping and BGP still reach the kernel while UDP goes to DPDK and no longer to the kernel socket.
Part B is skipped (reported) when dpdk-testpmd or the PMD is missing.
Usage: xdp_split_test.py PATH/TO/rsfwd-xdp
"""
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from xdplab import JsonProc, Lab, PY, PKT, Fail, check, require_root_and_tools  # noqa: E402

EXE = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "rsfwd-xdp"


def split_stats(j):
    j.p.stdin.write("stats\n")
    j.p.stdin.flush()
    return j.read()["counters"]


def bgp_both_ways(lab, peer, port):
    """A BGP session needs TCP 179 inbound (peer connects to us) and outbound (we connect)."""
    ls = JsonProc(lab.spawn(port, [PY, PKT, "listen", "10.0.5.2", "179", "15"]))
    ls.read(timeout=20)  # listening
    c = lab.pkt(peer, "tcp", "10.0.5.2", 179)
    got = ls.read(timeout=20)
    check(c["connected"] and got["accepted"], "BGP: peer → us TCP 179 reaches our kernel")
    ls = JsonProc(lab.spawn(peer, [PY, PKT, "listen", "10.0.5.1", "179", "15"]))
    ls.read(timeout=20)
    c = lab.pkt(port, "tcp", "10.0.5.1", 179)
    got = ls.read(timeout=20)
    check(c["connected"] and got["accepted"], "BGP: us → peer TCP 179 (replies from port 179)")


def udp_to_kernel(lab, peer, port, n=10):
    """Sends n UDP datagrams to 10.0.5.2:9999; returns how many the kernel socket received."""
    ul = lab.spawn(port, [PY, PKT, "udplisten", "10.0.5.2", "9999", "30"])
    j = JsonProc(ul)
    j.read(timeout=20)  # bound
    lab.pkt(peer, "udp", "10.0.5.2", n)
    ul.stdin.write("done\n")
    ul.stdin.flush()
    return j.read(timeout=15)["received"]


def part_a(lab, peer, port):
    print("part A: split program attached by rsfwd-xdp")
    p = lab.spawn(port, [EXE, "split", "--iface", "e0", "--local", "10.0.5.2", "--local",
                         "fd00:5::2", "--mode", "native"])
    j = JsonProc(p)
    ready = j.read(timeout=20)
    check(ready.get("ready"), f"split program attached ({ready.get('mode')})")
    check(any("xdp" in l for l in lab.xdp_attached(port)), "ip link shows XDP on e0")
    c0 = split_stats(j)
    res = lab.pkt(peer, "ping", "10.0.5.2", 3)
    check(res["replies"] == 3, "ICMP to our address answered by the kernel")
    res = lab.pkt(peer, "ping", "fd00:5::2", 3)
    check(res["replies"] == 3, "ICMPv6 to our address (after ND) answered by the kernel")
    bgp_both_ways(lab, peer, port)
    got = udp_to_kernel(lab, peer, port, 10)
    c1 = split_stats(j)
    check(c1["pass_arp"] - c0["pass_arp"] >= 1, "ARP passed to the kernel")
    check(c1["pass_icmp"] - c0["pass_icmp"] >= 6, "ICMP + ICMPv6/ND passed")
    check(c1["pass_bgp"] - c0["pass_bgp"] >= 4, f"BGP segments passed ({c1['pass_bgp']})")
    check(c1["redirect"] - c0["redirect"] >= 10, "UDP handed to xsks_map (redirect counted)")
    check(got == 10, "no AF_XDP socket bound: xsks_map falls back to the kernel")
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=10)
    check(lab.xdp_attached(port) == [], "split program detached on SIGTERM")


def testpmd_rx(log):
    try:
        with open(log, errors="replace") as f:
            vals = re.findall(r"RX-packets:\s+(\d+)", f.read())
        return int(vals[-1]) if vals else 0
    except OSError:
        return 0


def part_b(lab, peer, port):
    tp = shutil.which("dpdk-testpmd")
    pmd = glob.glob("/usr/lib/*/dpdk/pmds-*/librte_net_af_xdp.so*")
    if not tp or not pmd:
        print("part B: SKIPPED (no dpdk-testpmd or net_af_xdp PMD)")
        return
    print("part B: DPDK net_af_xdp with xdp_prog= (the PMD loads our object)")
    obj = f"/tmp/{lab.prefix}-split.bpf.o"
    log = f"/tmp/{lab.prefix}-testpmd.log"
    lab.run([EXE, "write-object", obj])
    with open(log, "w") as lf:
        tpp = subprocess.Popen(
            ["ip", "netns", "exec", port, tp, "--no-huge", "-m", "256", "--no-pci",
             "--file-prefix", lab.prefix, "-l", "0-1",
             "--vdev", f"net_af_xdp0,iface=e0,start_queue=0,queue_count=1,xdp_prog={obj}",
             "--", "--forward-mode=rxonly", "--stats-period", "1", "--total-num-mbufs", "4096"],
            stdout=lf, stderr=subprocess.STDOUT)
    lab.procs.append(tpp)
    try:
        for _ in range(100):
            if any("xdp" in l for l in lab.xdp_attached(port)) and testpmd_rx(log) >= 0 and \
                    "RX-packets" in open(log, errors="replace").read():
                break
            if tpp.poll() is not None:
                raise Fail("testpmd exited: " + open(log, errors="replace").read()[-1500:])
            time.sleep(0.2)
        out = lab.run(["ip", "-n", port, "link", "show", "e0"]).stdout
        check("name xdp_prog" in out, "net_af_xdp attached rsfwd_split's xdp_prog to e0")

        # Unconfigured: the program keeps everything with the kernel.
        # (The PMD may still be bringing e0 up right after attaching: allow a retry or two.)
        for _ in range(3):
            got = udp_to_kernel(lab, peer, port, 5)
            if got == 5:
                break
            r = lab.nsrun(port, [EXE, "split", "--iface", "e0", "--show-attached"], check=False)
            print(f"  retry: kernel got {got}/5, testpmd rx {testpmd_rx(log)}, {r.stdout.strip()}")
            time.sleep(1)
        check(got == 5, "before configuration: UDP still reaches the kernel (nothing stolen)")

        r = lab.nsrun(port, [EXE, "split", "--iface", "e0", "--local", "10.0.5.2", "--local",
                             "fd00:5::2", "--configure-attached"])
        check('"configured":true' in r.stdout, "configured the PMD's copy of the maps")

        res = lab.pkt(peer, "ping", "10.0.5.2", 3)
        check(res["replies"] == 3, "ICMP to us still answered by the kernel with DPDK on e0")
        bgp_both_ways(lab, peer, port)
        rx0 = testpmd_rx(log)
        got = udp_to_kernel(lab, peer, port, 20)
        time.sleep(1.5)  # testpmd prints stats every second
        rx1 = testpmd_rx(log)
        check(got == 0, "after configuration: UDP no longer reaches the kernel socket")
        check(rx1 - rx0 >= 20, f"UDP received by DPDK through AF_XDP (RX-packets {rx0}→{rx1})")
    finally:
        if tpp.poll() is None:
            tpp.send_signal(signal.SIGINT)
            try:
                tpp.wait(timeout=10)
            except subprocess.TimeoutExpired:
                tpp.kill()
        for f in (obj, log):
            if os.path.exists(f):
                os.unlink(f)
    for _ in range(20):
        if not lab.xdp_attached(port):
            break
        time.sleep(0.1)
    check(lab.xdp_attached(port) == [], "testpmd removed the program when it stopped")


def main():
    require_root_and_tools()
    lab = Lab("s")
    try:
        peer, port = lab.ns("peer"), lab.ns("port")
        lab.veth(peer, "p0", port, "e0")
        lab.run(["ip", "-n", peer, "addr", "add", "10.0.5.1/24", "dev", "p0"])
        lab.run(["ip", "-n", port, "addr", "add", "10.0.5.2/24", "dev", "e0"])
        lab.run(["ip", "-n", peer, "addr", "add", "fd00:5::1/64", "dev", "p0", "nodad"])
        lab.run(["ip", "-n", port, "addr", "add", "fd00:5::2/64", "dev", "e0", "nodad"])
        part_a(lab, peer, port)
        part_b(lab, peer, port)
        print("PASS")
        return 0
    except Fail as e:
        print(f"FAIL: {e}")
        return 1
    finally:
        lab.cleanup()


if __name__ == "__main__":
    signal.alarm(110)
    sys.exit(main())
