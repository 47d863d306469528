#!/usr/bin/python3
"""bench/bgp/feed.py — issue 6's benchmark: an N-route feed from GoBGP ingested by rsfwd (through
the policy and compiled into the FIB), by FRR bgpd and by BIRD 2, on the same machine, one after
the other; prints a table and one JSON line per receiver.

  bench/bgp/feed.sh [--routes N] [--build build-bgp] [--only rsfwd,speaker,frr,bird]
                    [--timeout S] [--no-worker-idle] [--perf FILE]
  receivers: rsfwd, rsfwd-busy, speaker, frr, bird

Needs root (network namespaces), gobgpd/gobgp, and whichever receivers are installed
(/usr/lib/frr/bgpd, /usr/sbin/bird; a missing one is reported and skipped).

How:
1. `mrt_gen` (bench/bgp/mrt_gen.cpp, compiled here against BUILD/lpm/librsfwd_lpm.a) writes an MRT
   TABLE_DUMP_V2 file of N prefixes from lpm::gen_bgp4 — the same BGP-shaped table as the LPM/FIB
   benchmarks (issue-3 length mix, ~20 prefixes per attribute set, communities on a tenth).
2. Two network namespaces joined by a veth pair: `feed` holds gobgpd (10.1.2.4, AS 65009); `rx`
   holds the receivers: rsfwd's Route Server instance 0 (10.1.0.4, AS 65515, the NVA
   "feed" = gobgpd), FRR (10.1.2.2) and BIRD (10.1.2.3). GoBGP sends next hop 10.1.2.4 (its own
   address, eBGP), which is on-link for every receiver.
3. gobgpd starts with the three neighbours configured, `gobgp mrt inject global` loads the file,
   and the script waits for gobgpd's RIB to settle (GoBGP keeps the count it really holds; that
   count is the target N for every receiver).
4. Each receiver is started alone (the others are not running) and opens the session; the clock
   runs from the moment the receiver reports the session Established to the moment it holds all
   N routes:
   - rsfwd: `rsfwd run` (DPDK, one net_null port, `--no-huge`, lcores 0-1; with
     `--idle-sleep-us 100` unless --no-worker-idle: its worker sleeps while it has no packets,
     so on a 2-core machine it does not take a whole core from the control thread and gobgpd;
     `rsfwd-busy` = the same busy-polling, the default for dedicated cores), polled over its JSON API socket
     (`stats`): control.bgp_routes_in >= N (every UPDATE decoded and run through the policy),
     then forwarding.fib.route_events / generation stable = the last route event compiled and
     published to the workers. The done time is the first poll that saw the final values.
   - speaker: `rsfwd-bgp --expect N` (rsfwd's BGP speaker alone, decode + count, no policy/FIB):
     its own "done" event, timed from its on_established.
   - FRR bgpd (-Z: no zebra, like BIRD without a kernel protocol; nothing exported back, as
     BIRD's `export none`, and rsfwd, whose only NVA gets none of its own routes back):
     `show bgp summary json` pfxRcd >= N.
   - BIRD: `birdc show protocols all feed`: "N imported".
   Polls every 0.1 s (rsfwd, BIRD) / 0.2 s (FRR's vtysh is slower to answer), so each figure is
   rounded up by at most one interval.
Everything is torn down at exit (daemons by pid, namespaces deleted).
"""
import argparse
import atexit
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FRR_BGPD = "/usr/lib/frr/bgpd"
BIRD = "/usr/sbin/bird"
BIRDC = "/usr/sbin/birdc"
FEED_IP, RS_IP, FRR_IP, BIRD_IP = "10.1.2.4", "10.1.0.4", "10.1.2.2", "10.1.2.3"
FEED_AS, RS_AS = 65009, 65515


def log(msg):
    print(f"# {msg}", flush=True)


class Bench:
    def __init__(self, args):
        self.args = args
        self.dir = tempfile.mkdtemp(prefix="rsfwd-bench-bgp-")
        tag = f"{os.getpid() % 100000}"
        self.ns_feed, self.ns_rx = f"rsbf{tag}", f"rsbr{tag}"
        self.procs = []
        self.netns_up = False
        atexit.register(self.cleanup)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: sys.exit(1))

    def path(self, name):
        return os.path.join(self.dir, name)

    # --- processes and namespaces ---------------------------------------------------------------

    def sh(self, *argv, check=True, **kw):
        return subprocess.run(list(argv), check=check, capture_output=True, text=True, **kw)

    def nsx(self, ns, *argv):
        return ["ip", "netns", "exec", ns] + list(argv)

    def spawn(self, argv, name):
        out = open(self.path(f"{name}.log"), "w")
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append((p, name))
        return p

    def stop(self, p):
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def cleanup(self):
        for p, _ in self.procs:
            try:
                self.stop(p)
            except OSError:
                pass
        if self.netns_up:
            for ns in (self.ns_feed, self.ns_rx):
                subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        if os.environ.get("RSFWD_BENCH_KEEP"):
            print(f"# kept {self.dir}")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def tail(self, name, n=30):
        f = self.path(f"{name}.log")
        if os.path.exists(f):
            with open(f) as fh:
                lines = fh.read().splitlines()
            print(f"----- {name}.log (last {n} lines)")
            print("\n".join(lines[-n:]))

    def netns(self):
        f, r = self.ns_feed, self.ns_rx
        self.sh("ip", "netns", "add", f)
        self.sh("ip", "netns", "add", r)
        self.netns_up = True
        self.sh("ip", "link", "add", "rsb-f", "netns", f, "type", "veth", "peer", "name", "rsb-r",
                "netns", r)
        self.sh(*self.nsx(f, "ip", "addr", "add", f"{FEED_IP}/16", "dev", "rsb-f"))
        for a in (RS_IP, FRR_IP, BIRD_IP):
            self.sh(*self.nsx(r, "ip", "addr", "add", f"{a}/16", "dev", "rsb-r"))
        for ns, dev in ((f, "rsb-f"), (r, "rsb-r")):
            self.sh(*self.nsx(ns, "ip", "link", "set", "lo", "up"))
            self.sh(*self.nsx(ns, "ip", "link", "set", dev, "up"))
        # Addresses must leave "tentative" before binding (IPv4 has no DAD; this is quick).
        time.sleep(0.5)

    # --- the feed -------------------------------------------------------------------------------

    def build_mrt(self, n):
        lib = os.path.join(self.args.build, "lpm", "librsfwd_lpm.a")
        gen = self.path("mrt_gen")
        srcs = [os.path.join(HERE, "mrt_gen.cpp")]
        srcs += [lib] if os.path.exists(lib) else [
            os.path.join(ROOT, "lpm", s) for s in ("gen.cpp", "lpm.cpp", "poptrie.cpp")]
        self.sh("g++", "-O2", "-std=c++20", "-I", ROOT, *srcs, "-o", gen)
        mrt = self.path("feed.mrt")
        self.sh(gen, "--routes", str(n), "--seed", str(self.args.seed), "--next-hop", FEED_IP,
                "--peer-ip", FEED_IP, "--peer-as", str(FEED_AS), "-o", mrt)
        return mrt

    def gobgp(self, *args, timeout=60):
        r = self.sh("gobgp", "--target", f"unix://{self.gb_sock}", *args, check=False,
                    timeout=timeout)
        return r.stdout

    def start_gobgpd(self):
        self.gb_sock = self.path("gobgpd.sock")
        conf = ["[global.config]", f"  as = {FEED_AS}", f'  router-id = "{FEED_IP}"',
                "  port = 179", f'  local-address-list = ["{FEED_IP}"]']
        for addr in (RS_IP, FRR_IP, BIRD_IP):
            conf += ["[[neighbors]]", "  [neighbors.config]", f'    neighbor-address = "{addr}"',
                     f"    peer-as = {RS_AS}", "  [neighbors.transport.config]",
                     f'    local-address = "{FEED_IP}"', "  [neighbors.timers.config]",
                     "    connect-retry = 5", "    hold-time = 90", "    keepalive-interval = 30"]
        with open(self.path("gobgpd.toml"), "w") as f:
            f.write("\n".join(conf) + "\n")
        self.gb = self.spawn(self.nsx(self.ns_feed, "gobgpd", "-f", self.path("gobgpd.toml"),
                                      "--api-hosts", f"unix://{self.gb_sock}", "--pprof-disable",
                                      "-l", "warn"), "gobgpd")
        end = time.time() + 15
        while not os.path.exists(self.gb_sock):
            if time.time() > end or self.gb.poll() is not None:
                self.tail("gobgpd")
                sys.exit("gobgpd did not start")
            time.sleep(0.1)

    def inject(self, mrt, n):
        t = time.time()
        r = self.sh("gobgp", "--target", f"unix://{self.gb_sock}", "mrt", "inject", "global", mrt,
                    check=False, timeout=self.args.timeout * 4)
        if r.returncode != 0:
            sys.exit(f"gobgp mrt inject failed: {r.stderr.strip()}")
        # `mrt inject` can return before gobgpd has processed everything: wait until stable.
        last, stable = -1, 0
        while stable < 10:
            m = re.search(r"Destination:\s*(\d+)", self.gobgp("global", "rib", "summary"))
            count = int(m.group(1)) if m else 0
            stable = stable + 1 if count == last else 0
            last = count
            time.sleep(0.5)
        log(f"gobgpd holds {last} of {n} generated routes after {time.time() - t:.1f} s "
            f"(mrt inject)")
        return last

    # --- receivers ------------------------------------------------------------------------------

    def run_rsfwd_busy(self, n):
        """`rsfwd run` with its DPDK worker busy-polling (the default, for dedicated cores): on a
        2-core machine the worker takes a core from the control thread and gobgpd."""
        return self.run_rsfwd(n, worker_idle=False)

    def run_rsfwd(self, n, worker_idle=None):
        if worker_idle is None:
            worker_idle = self.args.worker_idle
        rsfwd = os.path.join(self.args.build, "control", "cmd", "rsfwd")
        if not os.path.exists(rsfwd):
            return {"skipped": f"{rsfwd} not built (ninja -C BUILD control/cmd/rsfwd)"}
        cfg = self.path("rsfwd.yaml")
        with open(cfg, "w") as f:
            f.write(f"""route_server:
  instance_ips: [{RS_IP}, 10.1.0.5]
  max_prefixes: 1000000       # the config's maximum: E8's 1000 would tear the feed down,
  max_prefix_action: ignore   # and "ignore" alone logs a warning per UPDATE past the limit
vnet:
  name: bench
  address_space: [10.1.0.0/16]
ports:
  - {{name: nva, device: "net_null0,no-rx=1", address: 10.1.2.1/24, view: vnet}}
nvas:
  - name: feed
    asn: {FEED_AS}
    ip: {FEED_IP}
    port: nva
    peers_with: [0]
    bgp: {{peer_ip: {FEED_IP}, hold_time: 90}}
""")
        sock = self.path("rsfwd.sock")
        # The worker's idle back-off (a product option, EngineOptions::idle_sleep_us): on a
        # 2-core machine a busy-polling worker leaves rsfwd's control thread and gobgpd one core,
        # while FRR and BIRD get both.
        idle = ["--idle-sleep-us", "100"] if worker_idle else []
        p = self.spawn(self.nsx(self.ns_rx, rsfwd, "run", "--config", cfg, "--socket", sock,
                                "--bgp-port", "179", *idle, "--", "-l", "0,1", "--no-huge", "-m",
                                str(self.args.dpdk_mem), "--file-prefix",
                                f"rsb{os.getpid()}", "--no-pci", "--log-level", "lib.eal:4"),
                       "rsfwd")

        def api(cmd):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(30)
            s.connect(sock)
            s.sendall((json.dumps({"cmd": cmd}) + "\n").encode())
            buf = b""
            while not buf.endswith(b"\n"):
                chunk = s.recv(1 << 20)
                if not chunk:
                    break
                buf += chunk
            s.close()
            r = json.loads(buf)
            if not r.get("ok"):
                raise RuntimeError(r.get("error"))
            return r["result"]

        end = time.time() + 60
        while not os.path.exists(sock):
            if time.time() > end or p.poll() is not None:
                self.tail("rsfwd")
                return {"error": "rsfwd did not start"}
            time.sleep(0.1)
        perf = None
        if self.args.perf:  # profile the whole daemon (control thread + worker) while it ingests
            perf = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-g", "-q", "-o",
                                     os.path.abspath(self.args.perf), "-p", str(p.pid)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t_est = None
        end = time.time() + self.args.timeout
        while time.time() < end and t_est is None:
            for row in api("peers"):
                if row.get("session") == "Established" or row.get("state") == "Established":
                    t_est = time.time()
            if t_est is None:
                time.sleep(0.05)
        if t_est is None:
            self.tail("rsfwd")
            return {"error": "rsfwd: no Established session"}
        samples = []  # (t, routes_in, route_events, generation)
        done = None
        while time.time() < end:
            st = api("stats")
            fib = st.get("forwarding", {}).get("fib", {})
            samples.append((time.time(), st["control"]["bgp_routes_in"],
                            fib.get("route_events", 0), fib.get("generation", 0)))
            if samples[-1][1] >= n and len(samples) > 10:
                recent = samples[-10:]
                if all(s[1:] == recent[-1][1:] for s in recent):  # stable for 10 polls
                    final = recent[-1][1:]
                    done = next(s[0] for s in samples if s[1:] == final)
                    break
            time.sleep(0.1)
        peers = api("peers")
        if perf:
            perf.send_signal(signal.SIGINT)
            perf.wait(timeout=120)
        self.stop(p)
        if done is None:
            self.tail("rsfwd")
            return {"error": f"rsfwd: {samples[-1][1] if samples else 0} of {n} routes in time"}
        ingest = next(s[0] for s in samples if s[1] >= n)
        row = next((r for r in peers if r.get("accepted") is not None), {})
        return {"seconds": round(done - t_est, 2), "seconds_bgp_ingest": round(ingest - t_est, 2),
                "routes": samples[-1][1], "accepted_by_policy": row.get("accepted"),
                "fib_route_events": samples[-1][2], "fib_generation": samples[-1][3]}

    def run_speaker(self, n):
        """rsfwd's BGP speaker alone (`rsfwd-bgp`: decode + a handler that counts), no policy
        or FIB: the share of the full pipeline that is BGP."""
        tool = os.path.join(self.args.build, "control", "bgp", "rsfwd-bgp")
        if not os.path.exists(tool):
            return {"skipped": f"{tool} not built"}
        p = self.spawn(self.nsx(self.ns_rx, tool, "--port", "179", "--no-stdin",
                                "--quiet-routes", "--log-level", "warn", "--expect", str(n),
                                "--exit-on-expect", "--peer",
                                f"name=feed,local={RS_IP},remote={FEED_IP},remote-as={FEED_AS},"
                                f"connect-retry=1,hold=90"), "rsfwd-bgp")
        try:
            p.wait(timeout=self.args.timeout)
        except subprocess.TimeoutExpired:
            self.stop(p)
        with open(self.path("rsfwd-bgp.log")) as f:
            done = [json.loads(line) for line in f if '"done"' in line]
        if not done:
            self.tail("rsfwd-bgp")
            return {"error": "rsfwd-bgp did not receive the whole feed in time"}
        return {"seconds": round(done[0]["seconds_since_established"], 2),
                "routes": done[0]["prefixes"]}

    def run_frr(self, n):
        if not os.path.exists(FRR_BGPD):
            return {"skipped": f"{FRR_BGPD} not installed"}
        vty = self.path("frr-vty")
        os.makedirs(vty, exist_ok=True)
        conf = self.path("bgpd.conf")
        with open(conf, "w") as f:
            f.write(f"""frr defaults traditional
hostname bench
router bgp {RS_AS}
 bgp router-id {FRR_IP}
 no bgp ebgp-requires-policy
 neighbor {FEED_IP} remote-as {FEED_AS}
 neighbor {FEED_IP} update-source {FRR_IP}
 neighbor {FEED_IP} timers connect 1
 address-family ipv4 unicast
  neighbor {FEED_IP} route-map NONE out
 exit-address-family
!
route-map NONE deny 10
!
""")
        p = self.spawn(self.nsx(self.ns_rx, FRR_BGPD, "-f", conf, "-i", self.path("bgpd.pid"),
                                "-z", self.path("zserv"), "--vty_socket", vty, "-P", "0", "-p",
                                "179", "-l", FRR_IP, "-Z", "-n", "-u", "root", "-g", "root"),
                       "frr")

        def summary():
            r = self.sh("vtysh", "--vty_socket", vty, "-d", "bgpd", "-c",
                        "show bgp ipv4 unicast summary json", check=False, timeout=60)
            try:
                return json.loads(r.stdout).get("peers", {}).get(FEED_IP, {})
            except json.JSONDecodeError:
                return {}

        end = time.time() + self.args.timeout
        t_est = done = None
        got = 0
        while time.time() < end:
            s = summary()
            if t_est is None and s.get("state") == "Established":
                t_est = time.time()
            got = s.get("pfxRcd", 0)
            if t_est is not None and got >= n:
                done = time.time()
                break
            time.sleep(0.2 if t_est else 0.05)
        self.stop(p)
        if done is None:
            self.tail("frr")
            return {"error": f"FRR: {got} of {n} routes in time (established: {bool(t_est)})"}
        return {"seconds": round(done - t_est, 2), "routes": got}

    def run_bird(self, n):
        if not os.path.exists(BIRD):
            return {"skipped": f"{BIRD} not installed (apt-get install bird2)"}
        conf, sock = self.path("bird.conf"), self.path("bird.ctl")
        with open(conf, "w") as f:
            f.write(f"""router id {BIRD_IP};
protocol device {{ }}
protocol bgp feed {{
  local {BIRD_IP} as {RS_AS};
  neighbor {FEED_IP} as {FEED_AS};
  connect retry time 1;
  ipv4 {{ import all; export none; }};
}}
""")
        p = self.spawn(self.nsx(self.ns_rx, BIRD, "-f", "-c", conf, "-s", sock, "-P",
                                self.path("bird.pid")), "bird")

        def proto():
            r = self.sh(BIRDC, "-s", sock, "show", "protocols", "all", "feed", check=False,
                        timeout=60)
            return r.stdout

        end = time.time() + self.args.timeout
        t_est = done = None
        got = 0
        while time.time() < end:
            out = proto()
            if t_est is None and re.search(r"BGP state:\s+Established", out):
                t_est = time.time()
            m = re.search(r"Routes:\s+(\d+) imported", out)
            got = int(m.group(1)) if m else 0
            if t_est is not None and got >= n:
                done = time.time()
                break
            time.sleep(0.1 if t_est else 0.05)
        self.stop(p)
        if done is None:
            self.tail("bird")
            return {"error": f"BIRD: {got} of {n} routes in time (established: {bool(t_est)})"}
        return {"seconds": round(done - t_est, 2), "routes": got}


def versions():
    out = {}
    for name, argv in (("gobgp", ["gobgpd", "--version"]), ("bird", [BIRD, "--version"]),
                       ("frr", [FRR_BGPD, "--version"])):
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
            text = (r.stdout + r.stderr).strip().splitlines()
            out[name] = text[0] if text else ""
        except OSError:
            out[name] = None
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--routes", type=int, default=100_000, help="feed size (default 100k)")
    ap.add_argument("--build", default=os.path.join(ROOT, "build-bgp"),
                    help="meson build dir with control/cmd/rsfwd and lpm/librsfwd_lpm.a")
    ap.add_argument("--only", default="rsfwd,speaker,frr,bird",
                    help="receivers, comma-separated (speaker = rsfwd-bgp, BGP only; "
                         "rsfwd-busy = rsfwd with a busy-polling worker)")
    ap.add_argument("--timeout", type=int, default=900, help="seconds per receiver")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dpdk-mem", type=int, default=2048, help="rsfwd -m (MB, --no-huge)")
    ap.add_argument("--worker-idle", action=argparse.BooleanOptionalAction, default=True,
                    help="run rsfwd with --idle-sleep-us 100 (its worker sleeps when it has no "
                         "packets; default on); --no-worker-idle: busy-poll")
    ap.add_argument("--perf", metavar="FILE",
                    help="perf record -e cpu-clock -g the rsfwd receiver into FILE")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root (network namespaces)")
    if not shutil.which("gobgpd") or not shutil.which("gobgp"):
        sys.exit("gobgpd/gobgp not installed (apt-get install gobgpd)")
    args.build = os.path.abspath(args.build)
    b = Bench(args)
    b.netns()
    t = time.time()
    mrt = b.build_mrt(args.routes)
    log(f"mrt_gen: {args.routes} routes in {time.time() - t:.1f} s (compile included)")
    b.start_gobgpd()
    n = b.inject(mrt, args.routes)
    results = {}
    for who in args.only.split(","):
        log(f"{who}: starting")
        r = getattr(b, f"run_{who.replace('-', '_')}")(n)
        results[who] = r
        print(json.dumps({"bench": "bgp_feed", "receiver": who, "routes_fed": n, **r}),
              flush=True)
    v = versions()
    label = {"rsfwd": "rsfwd (BGP+policy+FIB)",
             "rsfwd-busy": "rsfwd, busy-polling worker",
             "speaker": "rsfwd-bgp (BGP speaker only)",
             "frr": f"FRR bgpd {v.get('frr') or ''}",
             "bird": f"{v.get('bird') or 'BIRD'}"}
    print(f"\nGoBGP feed of {n} routes, Established → all routes held (s)")
    print(f"{'receiver':40} {'seconds':>9}  note")
    for who, r in results.items():
        sec = r.get("seconds")
        note = r.get("skipped") or r.get("error") or (
            f"BGP ingest {r['seconds_bgp_ingest']} s, {r['accepted_by_policy']} accepted"
            if who.startswith("rsfwd") else "")
        print(f"{label.get(who, who)[:40]:40} {sec if sec is not None else '-':>9}  {note}")


if __name__ == "__main__":
    main()
