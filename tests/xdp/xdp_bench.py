#!/usr/bin/python3
"""tests/xdp/xdp_bench.py — forwarding rate of the XDP backend against the kernel and DPDK
(net_af_xdp, net_af_packet) on one veth topology. A report, not a gate: veth and a shared 2-vCPU
VM make absolute numbers small and noisy; compare the ratios from one run.

    gen (g0) ──veth── (r1) rt (r2) ──veth── (s0) sink

gen: xdp_livegen (BPF_PROG_RUN live frames, XDP_TX of one 64-byte UDP frame 10.0.1.2 → 10.0.9.9,
     dst MAC = r1; r1 gets GRO on so that veth accepts the frames); rt routes 10.0.9.0/24 via
     the sink (10.0.2.2). Generator, router and sink share the VM's CPUs: the offered load is
     what the generator managed while the router ran.
rt:  one of
     kernel      — ip_forward=1, no XDP
     xdp-generic — rsfwd-xdp forward, generic (SKB) mode
     xdp-native  — rsfwd-xdp forward, native mode (the sink's XDP program makes redirects into
                   the r2/s0 veth pair legal)
     dpdk-afxdp  — dpdk-testpmd io forwarding between net_af_xdp ports on r1 and r2
     dpdk-afpkt  — dpdk-testpmd io forwarding between net_af_packet ports on r1 and r2
sink: rsfwd-xdp with a port and no route: every frame is dropped in XDP and counted (rx =
     delivered packets), so the sink costs almost nothing.

Usage: xdp_bench.py PATH/TO/rsfwd-xdp PATH/TO/xdp_livegen [SECONDS] [MODE...]
prints one JSON line per mode.
(The rsfwd DPDK backend itself — issue 5 — is not in the tree yet; testpmd io is its ceiling.)
"""
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from xdplab import JsonProc, Lab, Fail, require_root_and_tools  # noqa: E402

EXE = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else "rsfwd-xdp"
LIVEGEN = os.path.abspath(sys.argv[2]) if len(sys.argv) > 2 else "xdp_livegen"
SECS = float(sys.argv[3]) if len(sys.argv) > 3 else 5.0
MODES = sys.argv[4:] or ["kernel", "xdp-generic", "xdp-native", "dpdk-afxdp", "dpdk-afpkt"]
TESTPMD = shutil.which("dpdk-testpmd")


def mac(lab, ns, dev):
    return lab.nsrun(ns, ["cat", f"/sys/class/net/{dev}/address"]).stdout.strip()


def testpmd(lab, ns, prefix, vdevs, extra, log):
    cmd = ["ip", "netns", "exec", ns, TESTPMD, "--no-huge", "-m", "512", "--no-pci",
           "--file-prefix", prefix, "-l", "0-1"]
    for v in vdevs:
        cmd += ["--vdev", v]
    cmd += ["--", "--stats-period", "1", "--total-num-mbufs", "8192"] + extra
    lf = open(log, "w")
    p = subprocess.Popen(cmd, stdout=lf, stderr=subprocess.STDOUT)
    lab.procs.append(p)
    return p


def stop(p):
    if p.poll() is None:
        p.send_signal(2)
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def run_mode(mode):
    lab = Lab("b")
    procs = []
    try:
        gen, rt, sink = lab.ns("gen"), lab.ns("rt"), lab.ns("sink")
        lab.veth(gen, "g0", rt, "r1")
        lab.veth(rt, "r2", sink, "s0")
        lab.run(["ip", "-n", gen, "addr", "add", "10.0.1.2/24", "dev", "g0"])
        lab.run(["ip", "-n", rt, "addr", "add", "10.0.1.1/24", "dev", "r1"])
        lab.run(["ip", "-n", rt, "addr", "add", "10.0.2.1/24", "dev", "r2"])
        lab.run(["ip", "-n", sink, "addr", "add", "10.0.2.2/24", "dev", "s0"])
        s0mac = mac(lab, sink, "s0")
        lab.run(["ip", "-n", rt, "neigh", "replace", "10.0.2.2", "lladdr", s0mac, "dev", "r2",
                 "nud", "permanent"])
        sinkp = lab.spawn(sink, [EXE, "forward", "--port", "s0=sink", "--mode", "native",
                                 "--stdin", "--refresh-interval", "0"])
        sinkj = JsonProc(sinkp)
        sinkj.read(timeout=20)

        router = None
        if mode == "kernel":
            lab.nsrun(rt, ["sysctl", "-qw", "net.ipv4.ip_forward=1"])
            lab.run(["ip", "-n", rt, "route", "add", "10.0.9.0/24", "via", "10.0.2.2"])
        elif mode.startswith("xdp-"):
            m = mode.split("-")[1]
            cfg = f"/tmp/{lab.prefix}.cfg"
            with open(cfg, "w") as f:
                f.write(f"port r1 v {m}\nport r2 v {m}\n"
                        f"route v 10.0.9.0/24 via 10.0.2.2\nneigh 10.0.2.2 {s0mac} r2\n")
            router = lab.spawn(rt, [EXE, "forward", "--config", cfg, "--stdin"])
            JsonProc(router).read(timeout=20)
            os.unlink(cfg)
        elif mode in ("dpdk-afxdp", "dpdk-afpkt"):
            if not TESTPMD:
                return {"mode": mode, "skipped": "no dpdk-testpmd"}
            drv = "net_af_xdp" if mode == "dpdk-afxdp" else "net_af_packet"
            vd = [f"{drv}0,iface=r1", f"{drv}1,iface=r2"]
            router = testpmd(lab, rt, lab.prefix + "rt", vd,
                             ["--forward-mode=mac", f"--eth-peer=1,{s0mac}"],
                             f"/tmp/{lab.prefix}-rt.log")
            time.sleep(4)
            if router.poll() is not None:
                return {"mode": mode, "error": open(f"/tmp/{lab.prefix}-rt.log").read()[-800:]}
        else:
            raise Fail("unknown mode " + mode)

        r1mac = mac(lab, rt, "r1")
        if mode != "xdp-native":
            lab.nsrun(rt, ["ethtool", "-K", "r1", "gro", "on"], check=False)
        genp = lab.spawn(gen, [LIVEGEN, "--iface", "g0", "--dst-mac", r1mac, "--src-ip",
                               "10.0.1.2", "--dst-ip", "10.0.9.9", "--seconds", str(SECS + 2)])
        time.sleep(1.0)  # warm-up
        c0 = sinkj.cmd("stats")["counters"]["rx"]
        t0 = time.time()
        time.sleep(SECS)
        c1 = sinkj.cmd("stats")["counters"]["rx"]
        t1 = time.time()
        gen_out = genp.communicate(timeout=60)[0].strip().splitlines()
        g = json.loads(gen_out[-1]) if gen_out else {}
        res = {"mode": mode, "seconds": round(t1 - t0, 2), "delivered": c1 - c0,
               "mpps": round((c1 - c0) / (t1 - t0) / 1e6, 4), "offered_mpps": g.get("mpps")}
        if router is not None and mode.startswith("xdp-"):
            rj = JsonProc(router)
            c = rj.cmd("stats")["counters"]
            res["router"] = {k: v for k, v in c.items() if v}
        if router is not None:
            stop(router)
        return res
    finally:
        lab.cleanup()
        for f in os.listdir("/tmp"):
            if f.startswith(lab.prefix):
                try:
                    os.unlink(os.path.join("/tmp", f))
                except OSError:
                    pass


def main():
    require_root_and_tools()
    if not os.access(LIVEGEN, os.X_OK):
        print(f"SKIP: no traffic generator {LIVEGEN}")
        return 77
    for m in MODES:
        print(json.dumps(run_mode(m)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
