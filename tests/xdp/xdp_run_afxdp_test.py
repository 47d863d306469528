#!/usr/bin/python3
"""tests/xdp/xdp_run_afxdp_test.py — `rsfwd run` (DPDK engine) with net_af_xdp ports that load
rsfwd's control/data split program (issue 9, docs/xdp.md): BGP, ARP and ICMP to rsfwd's
addresses go to the kernel of the very interface DPDK forwards on.

    vm   10.1.3.10 ─── p-vm  ┐ rs: rsfwd run, ports net_af_xdp on p-vm and p-nva
    nva  10.1.2.4/.5 ── p-nva ┘   (kernel forwarding OFF; ARS 10.1.0.4/.5 on rs's lo)
         192.168.10.10, 192.168.30.10 (lo); GoBGP (AS 65002) peers with 10.1.0.4/.5

Checks: the engine attached rsfwd_split through the PMD (xdp_prog=) and configured it; rsfwd put
the port addresses on the kernel interfaces; (a) pings to the port addresses are answered by rs's
kernel (split counter pass_icmp, the engine's own ICMP replies unchanged); (b) GoBGP Established
with both ARS instances across p-nva, its route forwarded; (c) transit vm → NVA static route
forwarded by DPDK both ways (port counters increase, replies arrive); (d) SIGKILL leaves the
netlink-attached program behind, and the next start removes it and works; SIGTERM: exit 0,
program detached, added addresses removed.
Usage: xdp_run_afxdp_test.py RSFWD RSCTL RSFWD_XDP      (exit 77 without root or net_af_xdp)
"""
import json
import os
import shutil
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# The rsfwd config head the dataplane script tests share (tests/dataplane/testlib.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "dataplane"))
from testlib import HUB_CONFIG_HEAD  # noqa: E402
from xdplab import (Lab, Fail, check, report_failure, require_root_and_tools,  # noqa: E402
                    skip)
from rsfwdlab import (Daemon, gobgp_conf, gobgp_established, ip_addrs, start_gobgp,  # noqa: E402
                      wait)

RSFWD = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "rsfwd"
RSCTL = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else "rsctl"
RSFWD_XDP = os.path.abspath(sys.argv[3]) if len(sys.argv) > 3 else "rsfwd-xdp"
WITH_BGP = shutil.which("gobgpd") is not None and shutil.which("gobgp") is not None
VM_MAC, NVA_MAC = "02:00:00:00:03:0a", "02:00:00:00:02:04"

CONFIG = HUB_CONFIG_HEAD + """\
  - {name: nva, device: "net_af_xdp0,iface=p-nva,start_queue=0,queue_count=1",
     address: 10.1.2.1/24, view: vnet}
  - {name: vms, device: "net_af_xdp1,iface=p-vm,start_queue=0,queue_count=1",
     address: 10.1.3.1/24, view: vnet}
neighbours:
  # ARP goes to the kernel on a split port: the VM's MAC (10.1.3.10) is resolved by the kernel
  # and read from its neighbour table; the NVA's is static. Both paths are exercised.
  - {ip: 10.1.2.4, mac: "%s", port: nva}
nvas:
  - name: sdwan
    asn: 65001
    ip: 10.1.2.4
    port: nva
    routes:
      - {prefix: 192.168.10.0/24, as_path: "65001"}
""" % NVA_MAC

BGP_NVA = """\
  - name: bgpnva
    asn: 65002
    ip: 10.1.2.5
    port: nva
    bgp: {peer_ip: 10.1.2.5, hold_time: 9}
"""


def build(lab):
    rs, vm, nva = lab.ns("rs"), lab.ns("vm"), lab.ns("nva")
    lab.veth(rs, "p-vm", vm, "eth0")
    lab.veth(rs, "p-nva", nva, "eth0")
    lab.run(["ip", "-n", vm, "link", "set", "eth0", "address", VM_MAC])
    lab.run(["ip", "-n", vm, "addr", "add", "10.1.3.10/24", "dev", "eth0"])
    lab.run(["ip", "-n", vm, "route", "add", "default", "via", "10.1.3.1"])
    lab.run(["ip", "-n", nva, "link", "set", "eth0", "address", NVA_MAC])
    lab.run(["ip", "-n", nva, "addr", "add", "10.1.2.4/24", "dev", "eth0"])
    lab.run(["ip", "-n", nva, "addr", "add", "10.1.2.5/24", "dev", "eth0"])
    lab.run(["ip", "-n", nva, "route", "add", "default", "via", "10.1.2.1", "src", "10.1.2.4"])
    for a in ("192.168.10.10/32", "192.168.30.10/32"):
        lab.run(["ip", "-n", nva, "addr", "add", a, "dev", "lo"])
    for a in ("10.1.0.4/32", "10.1.0.5/32"):  # ARS instances: BGP on rs's kernel stack
        lab.run(["ip", "-n", rs, "addr", "add", a, "dev", "lo"])
    # The router's kernel does not forward: whatever crosses rs was forwarded by DPDK.
    lab.nsrun(rs, ["sysctl", "-qw", "net.ipv4.ip_forward=0"])
    return rs, vm, nva


class Rsfwd(Daemon):
    seq = 0

    def __init__(self, lab, rs, cfg, sock):
        Rsfwd.seq += 1
        eal = ["--", "-l", "0,1", "--main-lcore", "0", "--no-huge", "-m", "512", "--no-pci",
               "--file-prefix", f"{lab.prefix}e{Rsfwd.seq}", "--log-level", "pmd.net.af_xdp:info"]
        super().__init__(lab, rs, RSFWD, RSCTL, cfg, sock, eal, timeout=60)

    def forwarding(self):
        j = self.json("stats")
        f = j.get("forwarding", j)
        if "ports" not in f:
            raise Fail(f"no ports in rsctl stats: {json.dumps(j)[:300]}")
        return f

    def ports(self):
        return {p["name"]: p for p in self.forwarding()["ports"]}


def split_counters(lab, rs, dev):
    r = lab.nsrun(rs, [RSFWD_XDP, "split", "--iface", dev, "--show-attached"], check=False)
    for line in reversed(r.stdout.strip().splitlines()):
        if line.startswith("{"):
            j = json.loads(line)
            return j.get("counters", j)
    raise Fail(f"rsfwd-xdp split --show-attached on {dev}: {r.stdout} {r.stderr}")


def xdp_prog_id(lab, ns, dev):
    out = lab.run(["ip", "-n", ns, "link", "show", dev]).stdout
    return out.split("prog/xdp id ")[1].split()[0] if "prog/xdp id " in out else None


def main():
    require_root_and_tools()
    for exe in (RSFWD, RSCTL, RSFWD_XDP):
        if not os.access(exe, os.X_OK):
            raise Fail(f"no executable {exe}")
    lab = Lab("a")
    gobgp_dir = None
    try:
        rs, vm, nva = build(lab)
        cfg = f"/tmp/{lab.prefix}.yaml"
        with open(cfg, "w") as f:
            f.write(CONFIG + (BGP_NVA if WITH_BGP else ""))
        sock = f"/tmp/{lab.prefix}.sock"
        try:
            r = Rsfwd(lab, rs, cfg, sock)
        except Fail as e:
            if "net_af_xdp" in str(e) and "probe failed" in str(e):
                skip("DPDK without net_af_xdp: " + str(e)[-300:])
            raise

        # --- split program attached by the PMD, configured by rsfwd -----------------------------
        for dev in ("p-vm", "p-nva"):
            check(xdp_prog_id(lab, rs, dev) is not None, f"an XDP program is attached to {dev}")
            c = split_counters(lab, rs, dev)  # fails unless it is rsfwd_split
            check("redirect" in c, f"it is rsfwd_split (counters {sorted(c)[:4]}...)")
        check(ip_addrs(lab, rs, "p-vm") == ["10.1.3.1/24"] and
              ip_addrs(lab, rs, "p-nva") == ["10.1.2.1/24"],
              "rsfwd put the port addresses on the kernel interfaces")

        # --- (a) the kernel answers pings to the port addresses ---------------------------------
        s0, e0 = split_counters(lab, rs, "p-vm"), r.json("stats")
        res = lab.pkt(vm, "ping", "10.1.3.1", 3)
        check(res["replies"] == 3, "vm → ping 10.1.3.1 (port address) answered 3/3")
        res = lab.pkt(nva, "ping", "10.1.2.1", 2)
        check(res["replies"] == 2, "nva → ping 10.1.2.1 (port address) answered 2/2")
        s1, e1 = split_counters(lab, rs, "p-vm"), r.json("stats")
        check(s1["pass_icmp"] - s0["pass_icmp"] >= 3 and s1["pass_arp"] >= 1,
              f"split program passed ICMP and ARP to the kernel (pass_icmp "
              f"+{s1['pass_icmp'] - s0['pass_icmp']}, pass_arp {s1['pass_arp']})")
        ctl = lambda j: j.get("forwarding", j)["control"]["icmp_echo_replies"]  # noqa: E731
        check(ctl(e1) == ctl(e0), "the engine itself answered none of them (kernel did)")

        # --- (c) transit forwarded by DPDK ------------------------------------------------------
        p0 = r.ports()
        res = lab.pkt(vm, "ping", "192.168.10.10", 5)
        check(res["replies"] == 5, "vm → 192.168.10.10 (NVA static route) through DPDK: 5/5")
        p1 = r.ports()
        dn = p1["nva"]["tx_pkts"] - p0["nva"]["tx_pkts"]
        dv = p1["vms"]["tx_pkts"] - p0["vms"]["tx_pkts"]
        check(dn >= 5 and dv >= 5, f"engine port counters: nva tx +{dn}, vms tx +{dv}")
        check(split_counters(lab, rs, "p-vm")["redirect"] >= 5,
              "split program redirected the transit packets to the AF_XDP socket")

        # --- (b) BGP on the kernel stack of the AF_XDP port -------------------------------------
        if WITH_BGP:
            gobgp_dir = f"/tmp/{lab.prefix}-gobgp"
            gob = start_gobgp(lab, nva, gobgp_dir,
                              gobgp_conf(65002, "10.1.2.5", ["10.1.0.4", "10.1.0.5"]))
            check(wait(lambda: gobgp_established(lab, nva, gob, 2), 45, 0.5),
                  "GoBGP (AS 65002) Established with 10.1.0.4 and .5 across p-nva")
            check(split_counters(lab, rs, "p-nva")["pass_bgp"] > 0,
                  "split program passed BGP (TCP 179) to the kernel")
            lab.nsrun(nva, gob + ["global", "rib", "add", "192.168.30.0/24", "nexthop",
                                  "10.1.2.4", "-a", "ipv4"])
            check(wait(lambda: lab.pkt(vm, "ping", "192.168.30.10", 1)["replies"] == 1, 20, 0.5),
                  "BGP route 192.168.30.0/24 from GoBGP forwarded by DPDK (vm reaches .30.10)")
        else:
            print("  note: gobgpd/gobgp not found, BGP part skipped")

        # --- (d) SIGKILL: the PMD's netlink-attached program stays; the next start removes it ---
        os.kill(r.p.pid, signal.SIGKILL)  # `ip netns exec` execs rsfwd: the pid is rsfwd's
        r.p.wait(timeout=10)
        stale = xdp_prog_id(lab, rs, "p-vm")
        print(f"  note: after SIGKILL, p-vm has XDP program {stale}")
        if os.path.exists(sock):
            os.unlink(sock)
        r = Rsfwd(lab, rs, cfg, sock)
        fresh = xdp_prog_id(lab, rs, "p-vm")
        check(fresh is not None and fresh != stale,
              f"restart after SIGKILL: stale program {stale} replaced by {fresh}")
        check(wait(lambda: lab.pkt(vm, "ping", "10.1.3.1", 1)["replies"] == 1, 10, 0.5),
              "restart: ping to the port address answered")
        res = lab.pkt(vm, "ping", "192.168.10.10", 3)
        check(res["replies"] == 3, "restart: vm → 192.168.10.10 forwarded (3/3)")
        if WITH_BGP:
            check(wait(lambda: gobgp_established(lab, nva, gob, 2), 45, 0.5),
                  "restart: GoBGP Established again")

        # --- SIGTERM: clean exit ----------------------------------------------------------------
        r.p.send_signal(signal.SIGTERM)
        r.p.wait(timeout=30)
        check(r.p.returncode == 0, "SIGTERM: rsfwd exited 0")
        err = r.p.stderr.read()
        check("p-vm: removed a stale rsfwd_split XDP program" in err,
              "the restarted rsfwd said it removed the stale program on p-vm")
        check(xdp_prog_id(lab, rs, "p-vm") is None and xdp_prog_id(lab, rs, "p-nva") is None,
              "SIGTERM: no XDP program left on p-vm, p-nva")
        with open(r.stats) as f:
            final = json.load(f)
        fib = final.get("fib", {})
        check("pending_events" in fib and "publishing" in fib,
              f"--stats-json fib has pending_events/publishing ({fib.get('pending_events')}, "
              f"{fib.get('publishing')})")
        # The addresses were left by the SIGKILLed run, so the second run did not add them.
        check(ip_addrs(lab, rs, "p-vm") == ["10.1.3.1/24"], "pre-existing addresses are kept")
        os.unlink(cfg)
        print("PASS")
        return 0
    except Fail as e:
        return report_failure(lab, e)
    finally:
        lab.cleanup()
        if gobgp_dir:
            shutil.rmtree(gobgp_dir, ignore_errors=True)


if __name__ == "__main__":
    signal.alarm(110)  # hard bound below meson's timeout; SIGALRM kills us, atexit cleans
    sys.exit(main())
