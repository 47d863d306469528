#!/usr/bin/python3
"""tests/xdp/xdp_run_test.py — `rsfwd run --backend xdp --config FILE`, end to end (issue 9).

The daemon (policy, API, BGP) on the XDP backend, in namespaces created here:

    vm   10.1.3.10 ─── p-vm  ┐ rs: rsfwd run --backend xdp (kernel forwarding OFF)
    nva  10.1.2.4  ─── p-nva ┤   ports vms/nva in view vnet, vpn in view vpn/branch
         192.168.10.10, 192.168.20.10 (lo)
    site 172.31.2.2 ── p-vpn ┘   (172.20.0.1 on lo; static LNG prefix 172.20.0.0/16)
         GoBGP in nva (AS 65001) peers with both ARS instances 10.1.0.4/.5 (on rs's lo) across
         p-nva — BGP on the kernel stack of the interface XDP forwards on.

The rs-side interfaces start WITHOUT addresses: rsfwd puts the config's port addresses on them
and removes them on a clean exit.

Checks: attach (ip link shows xdp on the 3 ports); port addresses added; pings to the port
addresses answered by rs's kernel (punted); vm → NVA prefix and vm → VPN prefix forwarded by XDP
both ways (static routes from the config, connected return path over the VNet space spanning two
ports, D11); TTL 17 arrives as 16 with a valid checksum and rewritten MACs; `rsctl announce` of
a static route → new map entry, traffic follows; a BGP route from GoBGP → forwarded, withdrawn →
dropped; `rsctl stats` shows the XDP counters; SIGTERM: detached and addresses removed; SIGKILL:
nothing attached, nothing pinned, program freed, and the next start attaches again.
Usage: xdp_run_test.py RSFWD RSCTL      (exit 77 without root)
"""
import json
import os
import shutil
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# The rsfwd config head the dataplane script tests share (tests/dataplane/testlib.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "dataplane"))
from testlib import HUB_CONFIG_HEAD  # noqa: E402
from xdplab import (JsonProc, Lab, PY, PKT, Fail, check, report_failure,  # noqa: E402
                    require_root_and_tools)
from rsfwdlab import Daemon, gobgp_conf, gobgp_established, ip_addrs, start_gobgp, wait  # noqa

RSFWD = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "rsfwd"
RSCTL = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else "rsctl"
GOBGPD, GOBGP = shutil.which("gobgpd"), shutil.which("gobgp")
VM_MAC = "02:00:00:00:03:0a"

CONFIG = HUB_CONFIG_HEAD + """\
  - {name: nva, device: "net_af_packet0,iface=p-nva", address: 10.1.2.1/24, view: vnet}
  - {name: vms, device: "net_af_packet1,iface=p-vm", address: 10.1.3.1/24, view: vnet}
  - {name: vpn, device: "net_af_packet2,iface=p-vpn", address: 172.31.2.1/30, view: vpn/branch}
neighbours:
  - {ip: 10.1.3.10, mac: "%s", port: vms}
vpn_gateway:
  asn: 65515
  active_active: true
  instance_ips: [10.1.1.6, 10.1.1.7]
  sites:
    - name: branch
      port: vpn
      asn: 65200
      device_ip: 172.31.2.2
      prefixes: [172.20.0.0/16]
nvas:
  - name: sdwan
    asn: 65001
    ip: 10.1.2.4
    port: nva
    routes:
      - {prefix: 192.168.10.0/24, as_path: "65001"}
%s""" % (VM_MAC, "")

BGP_NVA = """\
  - name: bgpnva
    asn: 65002
    ip: 10.1.2.5
    port: nva
    bgp: {peer_ip: 10.1.2.5, hold_time: 9}
"""

# The NVA peers with both Route Server instances (A1).
GOBGP_CONF = gobgp_conf(65002, "10.1.2.5", ["10.1.0.4", "10.1.0.5"])


def build(lab):
    rs, vm, nva, site = lab.ns("rs"), lab.ns("vm"), lab.ns("nva"), lab.ns("site")
    lab.veth(rs, "p-vm", vm, "eth0")
    lab.veth(rs, "p-nva", nva, "eth0")
    lab.veth(rs, "p-vpn", site, "eth0")
    lab.run(["ip", "-n", vm, "link", "set", "eth0", "address", VM_MAC])
    lab.run(["ip", "-n", vm, "addr", "add", "10.1.3.10/24", "dev", "eth0"])
    lab.run(["ip", "-n", vm, "route", "add", "default", "via", "10.1.3.1"])
    lab.run(["ip", "-n", nva, "addr", "add", "10.1.2.4/24", "dev", "eth0"])
    lab.run(["ip", "-n", nva, "addr", "add", "10.1.2.5/24", "dev", "eth0"])
    lab.run(["ip", "-n", nva, "route", "add", "default", "via", "10.1.2.1", "src", "10.1.2.4"])
    for a in ("192.168.10.10/32", "192.168.20.10/32", "192.168.30.10/32"):
        lab.run(["ip", "-n", nva, "addr", "add", a, "dev", "lo"])
    lab.run(["ip", "-n", site, "addr", "add", "172.31.2.2/30", "dev", "eth0"])
    lab.run(["ip", "-n", site, "addr", "add", "172.20.0.1/32", "dev", "lo"])
    lab.run(["ip", "-n", site, "route", "add", "default", "via", "172.31.2.1"])
    # ARS instances: rsfwd's BGP listens on the kernel stack of rs.
    for a in ("10.1.0.4/32", "10.1.0.5/32"):
        lab.run(["ip", "-n", rs, "addr", "add", a, "dev", "lo"])
    # The router's kernel does not forward: whatever crosses rs was forwarded by XDP.
    lab.nsrun(rs, ["sysctl", "-qw", "net.ipv4.ip_forward=0"])
    return rs, vm, nva, site


class Rsfwd(Daemon):
    def __init__(self, lab, rs, cfg_path, sock, extra=()):
        super().__init__(lab, rs, RSFWD, RSCTL, cfg_path, sock,
                         ["--backend", "xdp"] + list(extra))

    def counters(self):
        j = self.json("stats")
        c = j.get("forwarding", {}).get("counters")
        if c is None:
            raise Fail(f"no counters in rsctl stats: {j}")
        return c


def delta(a, b, k):
    return b[k] - a[k]


def main():
    require_root_and_tools()
    for exe in (RSFWD, RSCTL):
        if not os.access(exe, os.X_OK):
            raise Fail(f"no executable {exe}")
    lab = Lab("r")
    gobgp_dir = None
    try:
        rs, vm, nva, site = build(lab)
        cfg = f"/tmp/{lab.prefix}.yaml"
        with_bgp = GOBGPD is not None and GOBGP is not None
        with open(cfg, "w") as f:
            f.write(CONFIG + (BGP_NVA if with_bgp else ""))
        sock = f"/tmp/{lab.prefix}.sock"
        check(ip_addrs(lab, rs, "p-vm") == [], "p-vm starts without an address")
        r = Rsfwd(lab, rs, cfg, sock)

        # --- attach + addresses ---------------------------------------------------------------
        check(len([l for l in lab.xdp_attached(rs) if "xdp" in l]) == 3,
              "ip link shows XDP on p-vm, p-nva, p-vpn")
        check(ip_addrs(lab, rs, "p-vm") == ["10.1.3.1/24"] and
              ip_addrs(lab, rs, "p-vpn") == ["172.31.2.1/30"],
              "rsfwd put the config's port addresses on the kernel interfaces")

        # --- the kernel answers for rsfwd's addresses (punted by XDP) -------------------------
        c0 = r.counters()
        for h, a in ((vm, "10.1.3.1"), (nva, "10.1.2.1"), (site, "172.31.2.1")):
            res = lab.pkt(h, "ping", a, 1)
            check(res["replies"] == 1, f"ping to port address {a} answered by rs's kernel")
        c1 = r.counters()
        check(delta(c0, c1, "pass_local") >= 3, "pings to port addresses counted pass_local")
        time.sleep(1.2)  # a neighbour refresh (the kernel learnt the hosts' MACs from ARP)

        # --- forwarding: static routes from the config ----------------------------------------
        c0 = r.counters()
        res = lab.pkt(vm, "ping", "192.168.10.10", 5)
        check(res["replies"] == 5, "vm → 192.168.10.10 (NVA static route) through XDP: 5/5")
        res = lab.pkt(vm, "ping", "172.20.0.1", 5)
        check(res["replies"] == 5, "vm → 172.20.0.1 (VPN site prefix, view vnet → vpn): 5/5")
        c1 = r.counters()
        check(delta(c0, c1, "tx") >= 20, f"XDP tx counted both ways ({delta(c0, c1, 'tx')})")

        # --- TTL, checksum, MAC rewrite ---------------------------------------------------------
        sn = JsonProc(lab.spawn(nva, [PY, PKT, "sniff", "eth0", "4", "192.168.10.10"]))
        sn.read(timeout=20)
        time.sleep(0.7)
        lab.pkt(vm, "udp", "192.168.10.10", 5, 17)
        got = sn.read(timeout=20)
        check(got["count"] == 5 and got["ttls"] == [16], f"TTL 17 arrives as 16 ({got})")
        check(got["checksum_ok"] == 5, "IPv4 header checksums valid after the rewrite")
        pnva_mac = lab.run(["ip", "-n", rs, "-j", "link", "show", "p-nva"]).stdout
        pnva_mac = json.loads(pnva_mac)[0]["address"]
        sn = JsonProc(lab.spawn(nva, [PY, "-c", SNIFF_MACS, "eth0", "192.168.10.10"]))
        sn.read(timeout=20)
        time.sleep(0.7)
        lab.pkt(vm, "udp", "192.168.10.10", 3)
        got = sn.read(timeout=20)
        nva_mac = json.loads(lab.run(["ip", "-n", nva, "-j", "link", "show", "eth0"]).stdout)
        check(got["src"] == [pnva_mac] and got["dst"] == [nva_mac[0]["address"]],
              f"MACs rewritten: src = p-nva {pnva_mac}, dst = the NVA's ({got})")

        # --- a route added while running: rsctl announce → map update -------------------------
        c0 = r.counters()
        lab.pkt(vm, "udp", "192.168.20.10", 5)
        check(delta(c0, r.counters(), "drop_no_route") == 5,
              "192.168.20.10 before the announcement: drop_no_route +5")
        r.rsctl("announce", "nva/sdwan@0", "192.168.20.0/24", "--as-path", "65001")
        res = lab.pkt(vm, "ping", "192.168.20.10", 3)
        check(res["replies"] == 3, "after `rsctl announce 192.168.20.0/24`: vm → 192.168.20.10 3/3")

        # --- a BGP route from GoBGP, on the kernel stack of the XDP port ------------------------
        if with_bgp:
            gobgp_dir = f"/tmp/{lab.prefix}-gobgp"
            gob = start_gobgp(lab, nva, gobgp_dir, GOBGP_CONF)
            check(wait(lambda: gobgp_established(lab, nva, gob, 2), 40, 0.5),
                  "GoBGP (AS 65002) Established with 10.1.0.4 and .5")
            lab.nsrun(nva, gob + ["global", "rib", "add", "192.168.30.0/24", "nexthop",
                                  "10.1.2.4", "-a", "ipv4"])

            def reach():
                return lab.pkt(vm, "ping", "192.168.30.10", 1)["replies"] == 1
            check(wait(reach, 20, 0.5), "BGP route 192.168.30.0/24 → vm reaches 192.168.30.10")
            lab.nsrun(nva, gob + ["global", "rib", "del", "192.168.30.0/24", "-a", "ipv4"])

            def gone():
                c0 = r.counters()
                lab.pkt(vm, "udp", "192.168.30.10", 2)
                return delta(c0, r.counters(), "drop_no_route") == 2
            check(wait(gone, 20, 0.5), "BGP withdraw → 192.168.30.10 dropped (drop_no_route)")
        else:
            print("  note: gobgpd/gobgp not found, BGP part skipped")

        # --- rsctl stats shows the XDP counters ------------------------------------------------
        out = r.rsctl("stats").stdout
        check("tx" in out and "drop_no_route" in out and "xdp" in out,
              "rsctl stats (table) shows the XDP backend's counters")
        j = r.json("stats")
        print("  rsctl --json stats:", json.dumps(j)[:400])

        # --- SIGTERM: clean exit, detached, addresses removed ----------------------------------
        r.p.send_signal(signal.SIGTERM)
        r.p.wait(timeout=15)
        check(r.p.returncode == 0, "SIGTERM: rsfwd exited 0")
        check(lab.xdp_attached(rs) == [], "SIGTERM: no XDP program attached")
        check(ip_addrs(lab, rs, "p-vm") == [] and ip_addrs(lab, rs, "p-nva") == [],
              "SIGTERM: the addresses rsfwd added are removed")
        with open(r.stats) as f:
            final = json.load(f)
        check(final.get("backend") == "xdp" and final["counters"]["tx"] > 0,
              "--stats-json has the XDP counters")

        # --- SIGKILL: nothing stays attached or pinned; the next start works ---------------------
        r = Rsfwd(lab, rs, cfg, sock)
        out = lab.run(["ip", "-n", rs, "link", "show", "p-vm"]).stdout
        prog_id = out.split("prog/xdp id ")[1].split()[0] if "prog/xdp id " in out else None
        check(prog_id is not None, f"attached again (program id {prog_id})")
        os.kill(r.p.pid, signal.SIGKILL)  # `ip netns exec` execs rsfwd: the pid is rsfwd's
        r.p.wait(timeout=10)
        check(wait(lambda: lab.xdp_attached(rs) == [], 5, 0.1),
              "SIGKILL: no XDP program attached (bpf_links die with the process)")
        if os.path.ismount("/sys/fs/bpf"):
            pinned = [n for n in os.listdir("/sys/fs/bpf") if "rsfwd" in n]
            check(pinned == [], "SIGKILL: nothing pinned in /sys/fs/bpf")
        if shutil.which("bpftool"):
            check(wait(lambda: lab.run(["bpftool", "prog", "show", "id", prog_id],
                                       check=False).returncode != 0, 5, 0.1),
                  f"SIGKILL: program {prog_id} (and its maps) freed")
        check(ip_addrs(lab, rs, "p-vm") == ["10.1.3.1/24"],
              "SIGKILL leaves the port addresses (the next start finds them)")
        os.unlink(sock) if os.path.exists(sock) else None
        r = Rsfwd(lab, rs, cfg, sock)
        time.sleep(1.2)
        res = lab.pkt(vm, "ping", "192.168.10.10", 3)
        check(res["replies"] == 3, "restart after SIGKILL: attached and forwarding (3/3)")
        r.p.send_signal(signal.SIGINT)
        r.p.wait(timeout=15)
        check(r.p.returncode == 0 and lab.xdp_attached(rs) == [], "SIGINT: clean exit, detached")
        # Addresses that were there before this run (left by the SIGKILL) are not rsfwd's now.
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


SNIFF_MACS = """
import json, sys
from scapy.all import IP, UDP, conf, sniff
conf.verb = 0
iface, dst = sys.argv[1], sys.argv[2]
print(json.dumps({"ready": True}), flush=True)
got = sniff(iface=iface, timeout=4,
            lfilter=lambda p: p.haslayer(UDP) and p.haslayer(IP) and p[IP].dst == dst)
print(json.dumps({"src": sorted({p.src for p in got}), "dst": sorted({p.dst for p in got})}),
      flush=True)
"""

if __name__ == "__main__":
    signal.alarm(200)  # hard bound below meson's timeout; SIGALRM kills us, atexit cleans
    sys.exit(main())
