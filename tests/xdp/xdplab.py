"""tests/xdp/xdplab.py — network-namespace lab for the XDP tests (issue 9).

A Lab owns the namespaces it creates (unique names per process) and deletes them on every exit
path: normal return, exception, SIGTERM/SIGINT (meson's timeout), and atexit. Processes started
through Lab.spawn() are killed first. Nothing outside the lab's namespaces is touched.

Run with /usr/bin/python3 (Debian's, which has scapy); packets are sent by pkt.py run inside a
namespace with `ip netns exec`.
"""
import atexit
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PKT = os.path.join(HERE, "pkt.py")
PY = "/usr/bin/python3"


def skip(reason):
    print(f"SKIP: {reason}")
    sys.exit(77)


def require_root_and_tools():
    if os.geteuid() != 0:
        skip("needs root (network namespaces, BPF)")
    if not shutil.which("ip"):
        skip("needs iproute2 (ip)")
    r = subprocess.run([PY, "-c", "import scapy.all"], capture_output=True)
    if r.returncode != 0:
        skip("needs python3-scapy for /usr/bin/python3")
    r = subprocess.run(["ip", "netns", "add", f"rsxprobe{os.getpid()}"], capture_output=True)
    if r.returncode != 0:
        skip("cannot create network namespaces: " + r.stderr.decode().strip())
    subprocess.run(["ip", "netns", "del", f"rsxprobe{os.getpid()}"], capture_output=True)


class Fail(Exception):
    pass


def report_failure(lab, e, tail=3000):
    """A test's `except Fail`: the failed check, then the stderr tail of every process of the lab
    that has exited (a crashed daemon says why). Returns the test's exit status, 1."""
    print(f"FAIL: {e}")
    for p in lab.procs:
        if p.poll() is not None and p.stderr:
            print(f"stderr ({p.args[0] if isinstance(p.args, list) else p.args}):",
                  p.stderr.read()[-tail:])
    return 1


def check(cond, msg):
    if not cond:
        raise Fail(msg)
    print(f"  ok: {msg}")


class Lab:
    def __init__(self, tag):
        self.prefix = f"rsx{tag}{os.getpid()}"
        self.namespaces = []
        self.procs = []
        atexit.register(self.cleanup)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGALRM):
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum, frame):
        self.cleanup()
        sys.exit(1)

    def ns(self, name):
        full = f"{self.prefix}-{name}"
        self.run(["ip", "netns", "add", full])
        self.namespaces.append(full)
        self.run(["ip", "-n", full, "link", "set", "lo", "up"])
        return full

    def veth(self, ns_a, name_a, ns_b, name_b):
        self.run(["ip", "link", "add", name_a, "netns", ns_a, "type", "veth", "peer", "name",
                  name_b, "netns", ns_b])
        self.run(["ip", "-n", ns_a, "link", "set", name_a, "up"])
        self.run(["ip", "-n", ns_b, "link", "set", name_b, "up"])

    def run(self, cmd, check=True, timeout=30, input=None):
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=input)
        if check and r.returncode != 0:
            raise Fail(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
        return r

    def nsrun(self, ns, cmd, **kw):
        return self.run(["ip", "netns", "exec", ns] + cmd, **kw)

    def pkt(self, ns, *args, timeout=60):
        """Runs pkt.py in `ns` and returns its JSON result."""
        r = self.nsrun(ns, [PY, PKT] + [str(a) for a in args], timeout=timeout)
        return json.loads(r.stdout.strip().splitlines()[-1])

    def spawn(self, ns, cmd, **kw):
        p = subprocess.Popen(["ip", "netns", "exec", ns] + cmd, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             bufsize=1, **kw)
        self.procs.append(p)
        return p

    def rx_packets(self, ns, dev):
        r = self.nsrun(ns, ["cat", f"/sys/class/net/{dev}/statistics/rx_packets"])
        return int(r.stdout.strip())

    def xdp_attached(self, ns):
        """Lines of `ip link show` in `ns` that mention an XDP program."""
        out = self.run(["ip", "-n", ns, "-d", "link", "show"]).stdout
        return [l for l in out.splitlines() if "xdp" in l and "prog/xdp" not in l]

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    p.kill()
                    p.wait(timeout=5)
                except Exception:
                    pass
        self.procs = []
        for ns in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        self.namespaces = []
        # DPDK runtime directories of testpmd runs that used this lab's --file-prefix.
        rundir = "/var/run/dpdk"
        if os.path.isdir(rundir):
            for d in os.listdir(rundir):
                if d.startswith(self.prefix):
                    shutil.rmtree(os.path.join(rundir, d), ignore_errors=True)


class JsonProc:
    """Line-oriented JSON conversation with rsfwd-xdp (--stdin)."""

    def __init__(self, proc):
        self.p = proc

    def read(self, timeout=10):
        end = time.time() + timeout
        while time.time() < end:
            r, _, _ = select.select([self.p.stdout], [], [], max(0.0, end - time.time()))
            if not r:
                break
            line = self.p.stdout.readline()
            if not line:
                raise Fail("rsfwd-xdp exited: " + self.p.stderr.read())
            line = line.strip()
            if line.startswith("{"):
                return json.loads(line)
        raise Fail("rsfwd-xdp did not answer in time")

    def cmd(self, line, timeout=10):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        out = self.read(timeout)
        if not out.get("ok"):
            raise Fail(f"command '{line}' failed: {out.get('error')}")
        return out

    def counters(self):
        return self.cmd("stats")["counters"]
