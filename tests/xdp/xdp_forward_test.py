#!/usr/bin/python3
"""tests/xdp/xdp_forward_test.py — the XDP forwarding backend on a real kernel (issue 9).

Topology (all namespaces created here, deleted on every exit path):

    h1 (10.0.1.2, fd00:1::2) ── r1 ┐
                                   rt: rsfwd-xdp forward, kernel forwarding OFF
    h2 (10.0.2.2, fd00:2::2) ── r2 ┤   r1 in view "left", r2/r3 in view "right"
    h3 (10.0.3.2)            ── r3 ┘
    h2 and h3 both own 10.9.9.9 (on lo): which one receives tells the path.

Checks: attach; forward (ping both ways through two views, IPv4 and IPv6); TTL decrement with a
valid checksum; route update by map operation moves traffic from h2 to h3; ECMP spreads flows
over both (D7); no route → dropped and counted; TTL expiry → kernel (ICMP time exceeded when
the kernel forwards); detach on quit; after SIGKILL nothing is attached or loaded; native mode.
Usage: xdp_forward_test.py PATH/TO/rsfwd-xdp      (exit 77 without root)
"""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from xdplab import (JsonProc, Lab, PY, PKT, Fail, check, report_failure,  # noqa: E402
                    require_root_and_tools)

EXE = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "rsfwd-xdp"


def build(lab):
    h1, rt, h2, h3 = lab.ns("h1"), lab.ns("rt"), lab.ns("h2"), lab.ns("h3")
    for i, h in ((1, h1), (2, h2), (3, h3)):
        lab.veth(rt, f"r{i}", h, "e0")
        lab.run(["ip", "-n", rt, "addr", "add", f"10.0.{i}.1/24", "dev", f"r{i}"])
        lab.run(["ip", "-n", h, "addr", "add", f"10.0.{i}.2/24", "dev", "e0"])
        lab.run(["ip", "-n", h, "route", "add", "default", "via", f"10.0.{i}.1"])
    for i, h in ((1, h1), (2, h2)):
        lab.run(["ip", "-n", rt, "addr", "add", f"fd00:{i}::1/64", "dev", f"r{i}", "nodad"])
        lab.run(["ip", "-n", h, "addr", "add", f"fd00:{i}::2/64", "dev", "e0", "nodad"])
        lab.run(["ip", "-n", h, "-6", "route", "add", "default", "via", f"fd00:{i}::1"])
    for h in (h2, h3):
        lab.run(["ip", "-n", h, "addr", "add", "10.9.9.9/32", "dev", "lo"])
    # The router's kernel does not forward: whatever crosses it was forwarded by XDP.
    lab.nsrun(rt, ["sysctl", "-qw", "net.ipv4.ip_forward=0"])
    lab.nsrun(rt, ["sysctl", "-qw", "net.ipv6.conf.all.forwarding=0"])
    return h1, rt, h2, h3


CONFIG = """\
# view "left": what h1 reaches; view "right": what h2/h3 reach (two FIBs, one per view)
route left 10.0.2.0/24
route left 10.0.3.0/24
route left 10.9.9.0/24 via 10.0.2.2
route left fd00:2::/64
route right 10.0.1.0/24
route right fd00:1::/64
"""


def start_router(lab, rt, mode):
    cfg = f"/tmp/{lab.prefix}.cfg"
    with open(cfg, "w") as f:
        f.write(f"port r1 left {mode}\nport r2 right {mode}\nport r3 right {mode}\n" + CONFIG)
    p = lab.spawn(rt, [EXE, "forward", "--config", cfg, "--stdin", "--refresh-interval", "0.3"])
    r = JsonProc(p)
    ready = r.read(timeout=20)
    os.unlink(cfg)
    check(ready.get("ready") and len(ready["ports"]) == 3, f"rsfwd-xdp attached 3 ports ({mode})")
    return p, r


def wait_next_hop(router, addr, timeout=8):
    end = time.time() + timeout
    while time.time() < end:
        for nh in router.cmd("stats")["next_hops"]:
            if nh["addr"] == addr and nh["mac"]:
                return True
        time.sleep(0.3)
    return False


def prime(lab, h1, h2, h3):
    """ICMP to the router's own addresses: ARP/ND both ways (and proves local punting)."""
    for h, a in ((h1, "10.0.1.1"), (h2, "10.0.2.1"), (h3, "10.0.3.1"), (h1, "fd00:1::1"),
                 (h2, "fd00:2::1")):
        res = lab.pkt(h, "ping", a, 1)
        check(res["replies"] == 1, f"ping to router address {a} answered by its kernel")
    time.sleep(1.0)  # one neighbour refresh


def delta(before, after, key):
    return after[key] - before[key]


def main():
    require_root_and_tools()
    if not os.access(EXE, os.X_OK):
        raise Fail(f"no executable {EXE}")
    lab = Lab("f")
    try:
        h1, rt, h2, h3 = build(lab)
        proc, router = start_router(lab, rt, "generic")

        # --- attach ---------------------------------------------------------------------------
        attached = lab.xdp_attached(rt)
        check(len([l for l in attached if "xdpgeneric" in l]) == 3,
              "ip link shows xdpgeneric on r1, r2, r3")
        prime(lab, h1, h2, h3)
        check(router.counters()["pass_local"] >= 5, "pings to router addresses were punted")

        # --- forward, both views, both families --------------------------------------------
        c0 = router.counters()
        res = lab.pkt(h1, "ping", "10.0.2.2", 5)
        check(res["replies"] == 5, "h1 → h2 IPv4 ping through the XDP router: 5/5")
        res = lab.pkt(h1, "ping", "fd00:2::2", 5)
        check(res["replies"] == 5, "h1 → h2 IPv6 ping through the XDP router: 5/5")
        c1 = router.counters()
        check(delta(c0, c1, "tx") >= 20, f"tx counted ({delta(c0, c1, 'tx')} ≥ 20)")

        # --- TTL decrement + incremental checksum ------------------------------------------
        sn = lab.spawn(h2, [PY, PKT, "sniff", "e0", "4", "10.9.9.9"])
        sj = JsonProc(sn)
        sj.read(timeout=20)
        time.sleep(0.7)
        check(wait_next_hop(router, "10.0.2.2"), "next hop 10.0.2.2 resolved from the kernel")
        lab.pkt(h1, "udp", "10.9.9.9", 5, 17)
        got = sj.read(timeout=20)
        check(got["count"] == 5 and got["ttls"] == [16], f"TTL 17 arrives as 16 ({got})")
        check(got["checksum_ok"] == 5, "IPv4 header checksums valid after the rewrite")

        # --- route update by map operation changes the path -------------------------------
        def path_counts(n=20, flows=1):
            a2, a3 = lab.rx_packets(h2, "e0"), lab.rx_packets(h3, "e0")
            lab.pkt(h1, "udp", "10.9.9.9", n, 64, flows)
            time.sleep(0.3)
            return lab.rx_packets(h2, "e0") - a2, lab.rx_packets(h3, "e0") - a3

        d2, d3 = path_counts()
        check(d2 >= 20 and d3 < 5, f"10.9.9.0/24 via 10.0.2.2: h2 got {d2}, h3 got {d3}")
        router.cmd("route left 10.9.9.0/24 via 10.0.3.2")
        check(wait_next_hop(router, "10.0.3.2"), "new next hop 10.0.3.2 resolved")
        d2, d3 = path_counts()
        check(d3 >= 20 and d2 < 5, f"after update via 10.0.3.2: h2 got {d2}, h3 got {d3}")

        # --- ECMP (D7) ------------------------------------------------------------------------
        router.cmd("route left 10.9.9.0/24 via 10.0.2.2 10.0.3.2")
        d2, d3 = path_counts(64, 64)
        check(d2 >= 5 and d3 >= 5 and d2 + d3 >= 64,
              f"D7: 64 flows over 2 equal-cost next hops: h2 {d2}, h3 {d3}")
        d2b, d3b = path_counts(30, 1)
        check((d2b >= 30) != (d3b >= 30), f"D7: one flow sticks to one next hop ({d2b}/{d3b})")

        # --- no route: dropped and counted; view separation --------------------------------
        c0 = router.counters()
        lab.pkt(h1, "udp", "10.77.0.1", 10)
        lab.pkt(h2, "udp", "10.9.9.9", 10)  # view "right" has no 10.9.9.0/24
        c1 = router.counters()
        check(delta(c0, c1, "drop_no_route") == 20,
              f"no route → drop_no_route +20 ({delta(c0, c1, 'drop_no_route')})")
        router.cmd("del left 10.9.9.0/24")
        c0 = router.counters()
        d2, d3 = path_counts(10)
        c1 = router.counters()
        check(delta(c0, c1, "drop_no_route") == 10 and d2 < 3 and d3 < 3,
              "deleted route → dropped and counted")
        router.cmd("blackhole left 10.9.9.0/24")
        c0 = router.counters()
        lab.pkt(h1, "udp", "10.9.9.9", 5)
        check(delta(c0, router.counters(), "drop_no_route") == 5, "blackhole route drops")
        router.cmd("route left 10.9.9.0/24 via 10.0.2.2")

        # --- TTL expiry → kernel ------------------------------------------------------------
        c0 = router.counters()
        a2 = lab.rx_packets(h2, "e0")
        lab.pkt(h1, "udp", "10.9.9.9", 5, 1)
        c1 = router.counters()
        check(delta(c0, c1, "ttl_expired") == 5, "TTL 1 → ttl_expired +5, punted")
        check(lab.rx_packets(h2, "e0") - a2 < 2, "TTL-expired packets not forwarded")
        # Punted packets meet the kernel's own FIB: give it the route, let it forward.
        lab.run(["ip", "-n", rt, "route", "add", "10.9.9.0/24", "via", "10.0.2.2"])
        lab.nsrun(rt, ["sysctl", "-qw", "net.ipv4.ip_forward=1"])
        res = lab.pkt(h1, "ping", "10.9.9.9", 2, 1)
        lab.nsrun(rt, ["sysctl", "-qw", "net.ipv4.ip_forward=0"])
        lab.run(["ip", "-n", rt, "route", "del", "10.9.9.0/24"])
        check(res["time_exceeded"] == 2 and res["sources"] == ["10.0.1.1"],
              f"kernel answers ICMP time exceeded from 10.0.1.1 ({res})")

        # --- detach on quit -------------------------------------------------------------------
        router.cmd("quit")
        proc.wait(timeout=10)
        check(proc.returncode == 0, "rsfwd-xdp exited cleanly on quit")
        check(lab.xdp_attached(rt) == [], "no XDP program attached after quit")

        # --- SIGTERM --------------------------------------------------------------------------
        proc, router = start_router(lab, rt, "generic")
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)
        check(proc.returncode == 0, "SIGTERM: clean exit")
        check(lab.xdp_attached(rt) == [], "no XDP program attached after SIGTERM")

        # --- SIGKILL: the bpf_links die with the process ------------------------------------
        proc, router = start_router(lab, rt, "generic")
        out = lab.run(["ip", "-n", rt, "link", "show", "r1"]).stdout
        prog_id = out.split("prog/xdp id ")[1].split()[0] if "prog/xdp id " in out else None
        # `ip netns exec` execs rsfwd-xdp, so proc.pid is rsfwd-xdp itself.
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        for _ in range(20):  # the kernel releases the links while tearing the process down
            if not lab.xdp_attached(rt):
                break
            time.sleep(0.1)
        check(lab.xdp_attached(rt) == [], "no XDP program attached after SIGKILL")
        bpffs = "/sys/fs/bpf"
        if os.path.ismount(bpffs):
            pinned = [n for n in os.listdir(bpffs) if "rsfwd" in n or "view" in n]
            check(pinned == [], "nothing pinned in /sys/fs/bpf")
        if prog_id and subprocess.run(["which", "bpftool"], capture_output=True).returncode == 0:
            gone = False
            for _ in range(50):  # programs/maps are freed after an RCU grace period
                r = lab.run(["bpftool", "prog", "show", "id", prog_id], check=False)
                if r.returncode != 0:
                    gone = True
                    break
                time.sleep(0.1)
            check(gone, f"program id {prog_id} (and so its maps) freed after SIGKILL")

        # --- native mode (veth peers need GRO for redirected frames) ----------------------
        for h in (h1, h2, h3):
            lab.nsrun(h, ["ethtool", "-K", "e0", "gro", "on"], check=False)
        proc, router = start_router(lab, rt, "native")
        check(len([l for l in lab.xdp_attached(rt) if "xdp " in l + " "
                   and "xdpgeneric" not in l]) == 3, "native XDP on r1, r2, r3")
        time.sleep(0.8)
        res = lab.pkt(h1, "ping", "10.0.2.2", 5)
        check(res["replies"] == 5, "native mode: h1 → h2 ping 5/5")
        router.cmd("quit")
        proc.wait(timeout=10)
        check(lab.xdp_attached(rt) == [], "native mode: detached on quit")
        print("PASS")
        return 0
    except Fail as e:
        return report_failure(lab, e)
    finally:
        lab.cleanup()


if __name__ == "__main__":
    signal.alarm(170)  # hard bound below meson's timeout; SIGALRM kills us, atexit cleans
    sys.exit(main())
