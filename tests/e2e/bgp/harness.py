"""tests/e2e/bgp/harness.py — start rsfwd-bgp, gobgpd and FRR bgpd on loopback addresses for
the interop tests. Every daemon runs in the foreground as a child with its config, sockets and
pid file in a temporary directory, and is stopped by pid when the test ends (pass or fail).

Run by /usr/bin/python3 (no third-party modules). A test exits 77 (meson: skipped) with a reason
when a daemon binary is missing.
"""

import atexit
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

SKIP = 77


def skip(reason):
    print(f"SKIP: {reason}")
    sys.exit(SKIP)


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


def need(binary):
    path = shutil.which(binary) or (binary if os.path.exists(binary) else None)
    if not path:
        skip(f"{binary} not installed")
    return path


def port_base():
    # Spread tests over ports by pid so parallel runs (and TIME_WAIT leftovers) do not collide.
    return 30000 + (os.getpid() * 13) % 20000


class Env:
    """Temp dir + child processes, all cleaned up at exit."""

    def __init__(self, name):
        self.dir = tempfile.mkdtemp(prefix=f"rsfwd-e2e-{name}-")
        self.procs = []
        atexit.register(self.cleanup)
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: sys.exit(1))

    def path(self, name):
        return os.path.join(self.dir, name)

    def spawn(self, argv, name, stdin=None):
        log = open(self.path(f"{name}.log"), "w")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=stdin,
                             start_new_session=True)
        self.procs.append((p, name))
        return p

    def cleanup(self):
        for p, _ in self.procs:
            if p.poll() is None:
                try:
                    p.terminate()
                except OSError:
                    pass
        deadline = time.time() + 3
        for p, _ in self.procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if os.environ.get("RSFWD_E2E_KEEP"):
            print(f"kept {self.dir}")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def dump_logs(self):
        for _, name in self.procs:
            f = self.path(f"{name}.log")
            if os.path.exists(f):
                with open(f) as fh:
                    lines = fh.read().splitlines()
                print(f"----- {name}.log (last 40 lines)")
                print("\n".join(lines[-40:]))


def rsfwd_bgp_binary():
    b = os.environ.get("RSFWD_BGP")
    if not b or not os.path.exists(b):
        fail("RSFWD_BGP must point at the rsfwd-bgp binary (meson sets it)")
    return b


class Rsfwd:
    """rsfwd-bgp as a child: JSON commands in, JSON events out."""

    def __init__(self, env, args, name="rsfwd"):
        self.env = env
        self.events = queue.Queue()
        self.seen = []
        self.err = open(env.path(f"{name}.stderr"), "w")
        self.proc = subprocess.Popen([rsfwd_bgp_binary()] + args, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.err, text=True,
                                     start_new_session=True)
        env.procs.append((self.proc, name + ".stderr_only"))
        self.name = name
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        for line in self.proc.stdout:
            line = line.strip()
            if not line:
                continue
            try:
                self.events.put(json.loads(line))
            except json.JSONDecodeError:
                self.events.put({"event": "garbage", "line": line})
        self.events.put({"event": "exit"})

    def send(self, obj):
        self.proc.stdin.write(json.dumps(obj) + "\n")
        self.proc.stdin.flush()

    def wait(self, pred, timeout, what):
        """Waits for an event matching pred; returns it. Earlier events stay in self.seen."""
        for ev in self.seen:
            if pred(ev):
                self.seen.remove(ev)
                return ev
        end = time.time() + timeout
        while time.time() < end:
            try:
                ev = self.events.get(timeout=max(0.05, end - time.time()))
            except queue.Empty:
                break
            if pred(ev):
                return ev
            self.seen.append(ev)
            if ev.get("event") == "exit":
                break
        raise AssertionError(f"timed out waiting for {what}; events so far: {self.seen[-10:]}")

    def sessions(self):
        self.send({"cmd": "sessions"})
        return self.wait(lambda e: e.get("event") == "sessions", 10, "sessions")["sessions"]

    def stderr_text(self):
        self.err.flush()
        with open(self.err.name) as f:
            return f.read()


# --- gobgpd -------------------------------------------------------------------------------------

class GoBgp:
    def __init__(self, env, asn, router_id, address, port, neighbors, name="gobgpd"):
        """neighbors: list of dicts {address, asn, port, md5, max_prefixes}"""
        self.env = env
        self.sock = env.path(f"{name}.sock")
        conf = [
            "[global.config]",
            f"  as = {asn}",
            f'  router-id = "{router_id}"',
            f"  port = {port}",
            f'  local-address-list = ["{address}"]',
        ]
        for n in neighbors:
            conf += [
                "[[neighbors]]",
                "  [neighbors.config]",
                f'    neighbor-address = "{n["address"]}"',
                f"    peer-as = {n['asn']}",
            ]
            if n.get("md5"):
                conf.append(f'    auth-password = "{n["md5"]}"')
            conf += [
                "  [neighbors.transport.config]",
                f'    local-address = "{address}"',
                f"    remote-port = {n['port']}",
                "  [neighbors.timers.config]",
                "    connect-retry = 5",
                "    hold-time = 30",
                "    keepalive-interval = 10",
            ]
        self.conf = env.path(f"{name}.toml")
        with open(self.conf, "w") as f:
            f.write("\n".join(conf) + "\n")
        self.proc = env.spawn(
            [need("gobgpd"), "-f", self.conf, "--api-hosts", f"unix://{self.sock}",
             "--pprof-disable", "-p", "-l", "debug"], name)
        self.log = env.path(f"{name}.log")
        end = time.time() + 10
        while not os.path.exists(self.sock):
            if time.time() > end or self.proc.poll() is not None:
                env.dump_logs()
                fail("gobgpd did not start")
            time.sleep(0.1)

    def cli(self, *args, check=True):
        r = subprocess.run([need("gobgp"), "--target", f"unix://{self.sock}"] + list(args),
                           capture_output=True, text=True, timeout=20)
        if check and r.returncode != 0:
            raise AssertionError(f"gobgp {' '.join(args)}: {r.stderr.strip()}")
        return r.stdout

    def cli_json(self, *args):
        out = self.cli("-j", *args)
        return json.loads(out) if out.strip() else None

    def rib(self, family="ipv4"):
        """{prefix: [paths]} of gobgpd's global RIB."""
        out = self.cli_json("global", "rib", "-a", family) or {}
        return out

    def neighbor_state(self, addr):
        n = self.cli_json("neighbor", addr)
        if isinstance(n, list):
            n = n[0]
        return n.get("state", {}).get("session_state")

    def log_text(self):
        with open(self.log) as f:
            return f.read()

    def kill(self):
        self.proc.kill()
        self.proc.wait()


def gobgp_path_summary(path):
    """as_path list, next hop, communities, large communities from a gobgp -j path."""
    out = {"as_path": [], "next_hop": None, "communities": [], "large": [], "med": None}
    for a in path.get("attrs", []):
        t = a.get("type")
        if t == 2:  # AS_PATH
            for seg in a.get("as_paths", []):
                out["as_path"] += seg.get("asns", [])
        elif t == 3:
            out["next_hop"] = a.get("nexthop")
        elif t == 4:
            out["med"] = a.get("metric")
        elif t == 8:
            out["communities"] = a.get("communities", [])
        elif t == 32:
            out["large"] = [f"{v['ASN']}:{v['LocalData1']}:{v['LocalData2']}"
                            for v in a.get("value", [])]
        elif t == 14:
            out["next_hop"] = a.get("nexthop")
    return out


# --- FRR bgpd -----------------------------------------------------------------------------------

FRR_BGPD = "/usr/lib/frr/bgpd"


class Frr:
    def __init__(self, env, asn, router_id, address, port, neighbors, networks=(), name="bgpd",
                 extra=""):
        """neighbors: list of dicts {address, asn, port, md5, route_map_out}."""
        if not os.path.exists(FRR_BGPD):
            skip(f"{FRR_BGPD} not installed (apt-get install frr)")
        self.env = env
        self.vty_dir = env.path(f"{name}-vty")
        os.makedirs(self.vty_dir, exist_ok=True)
        lines = [
            "frr defaults traditional",
            f"hostname {name}",
            "log stdout debugging",
            "debug bgp neighbor-events",
            "!",
        ]
        lines.append(extra)
        lines += [
            f"router bgp {asn}",
            f" bgp router-id {router_id}",
            " no bgp ebgp-requires-policy",
            " no bgp network import-check",
            " timers bgp 10 30",
        ]
        for n in neighbors:
            lines += [
                f" neighbor {n['address']} remote-as {n['asn']}",
                f" neighbor {n['address']} port {n['port']}",
                f" neighbor {n['address']} update-source {address}",
                f" neighbor {n['address']} timers connect 5",
            ]
            if n.get("md5"):
                lines.append(f" neighbor {n['address']} password {n['md5']}")
        lines.append(" address-family ipv4 unicast")
        for net in networks:
            lines.append(f"  network {net}")
        for n in neighbors:
            if n.get("route_map_out"):
                lines.append(f"  neighbor {n['address']} route-map {n['route_map_out']} out")
            if n.get("max_prefixes"):
                lines.append(f"  neighbor {n['address']} maximum-prefix {n['max_prefixes']}")
        lines.append(" exit-address-family")
        lines.append("!")
        self.conf = env.path(f"{name}.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.pidfile = env.path(f"{name}.pid")
        self.proc = env.spawn(
            [FRR_BGPD, "-f", self.conf, "-i", self.pidfile, "-z", env.path(f"{name}-zserv"),
             "--vty_socket", self.vty_dir, "-P", "0", "-p", str(port), "-l", address, "-Z", "-n",
             "-u", "root", "-g", "root"], name)
        self.log = env.path(f"{name}.log")
        end = time.time() + 15
        while not os.path.exists(os.path.join(self.vty_dir, "bgpd.vty")):
            if time.time() > end or self.proc.poll() is not None:
                env.dump_logs()
                fail("FRR bgpd did not start")
            time.sleep(0.1)

    def vtysh(self, cmd):
        r = subprocess.run(["vtysh", "--vty_socket", self.vty_dir, "-d", "bgpd", "-c", cmd],
                           capture_output=True, text=True, timeout=20)
        return r.stdout

    def config(self, *lines):
        """Runs configuration commands (configure terminal is implied)."""
        argv = ["vtysh", "--vty_socket", self.vty_dir, "-d", "bgpd", "-c", "configure terminal"]
        for line in lines:
            argv += ["-c", line]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=20)
        if r.returncode != 0:
            raise AssertionError(f"vtysh {lines}: {r.stdout} {r.stderr}")

    def vtysh_json(self, cmd):
        out = self.vtysh(cmd)
        try:
            return json.loads(out)
        except json.JSONDecodeError:
            return {}

    def routes(self):
        """{prefix: best-or-first path dict} from show bgp ipv4 unicast json."""
        j = self.vtysh_json("show bgp ipv4 unicast json")
        out = {}
        for prefix, paths in (j.get("routes") or {}).items():
            if paths:
                out[prefix] = paths[0]
        return out

    def route_detail(self, prefix):
        return self.vtysh_json(f"show bgp ipv4 unicast {prefix} json")

    def neighbor(self, addr):
        j = self.vtysh_json(f"show bgp neighbors {addr} json")
        return j.get(addr, {})

    def log_text(self):
        with open(self.log) as f:
            return f.read()

    def kill(self):
        self.proc.kill()
        self.proc.wait()


def eventually(fn, timeout, what, interval=0.2):
    end = time.time() + timeout
    last = None
    while time.time() < end:
        try:
            last = fn()
            if last:
                return last
        except (AssertionError, KeyError, IndexError, TypeError, json.JSONDecodeError) as e:
            last = e
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last: {last})")


def run(main, env):
    """Runs main(); on failure prints the daemons' logs and exits 1."""
    try:
        main()
    except AssertionError as e:
        print(f"FAIL: {e}")
        env.dump_logs()
        sys.exit(1)
    print("PASS")
