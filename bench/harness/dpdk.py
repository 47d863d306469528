"""bench/harness/dpdk.py — start a DPDK forwarder, read its port counters, stop it cleanly.

What: `Forwarder` runs one DPDK process (testpmd, l3fwd, rsfwd) under `taskset -c 0,1` with the
forwarding worker alone on core 1 and the EAL main/control threads on core 0, and reads port
counters through the DPDK telemetry socket (/var/run/dpdk/<prefix>/dpdk_telemetry.v2,
`/ethdev/stats,<port>`), which every DPDK 22.11 application opens by default. One counter source
for every forwarder is what makes the comparison fair: no forwarder-specific stats parsing.

Why telemetry and not stdout: l3fwd prints no rates, testpmd prints them only on a period, and a
telemetry read costs one control-thread wake-up per second on core 0, nowhere near the worker.
Each process gets a unique --file-prefix; its runtime directory is removed after exit.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import time

RUNTIME = "/var/run/dpdk"


def stop_group(proc, timeout=15):
    """SIGINT to a process started with start_new_session=True and its group; SIGKILL after
    `timeout` seconds. No-op when it has exited."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


class ForwarderError(RuntimeError):
    pass


def hugepages_free_mb():
    try:
        info = dict(
            line.split(":", 1) for line in open("/proc/meminfo").read().splitlines() if ":" in line
        )
        free = int(info["HugePages_Free"].split()[0])
        size_kb = int(info["Hugepagesize"].split()[0])
        return free * size_kb // 1024
    except (OSError, KeyError, ValueError):
        return 0


def eal_memory_args(mode, mem_mb):
    """('hugepages'|'no-huge', args). --in-memory leaves no /dev/hugepages files behind."""
    if mode == "auto":
        mode = "huge" if hugepages_free_mb() >= mem_mb else "no-huge"
    if mode == "huge":
        return "hugepages", ["--in-memory", "-m", str(mem_mb)]
    return "no-huge", ["--no-huge", "-m", str(mem_mb)]


class Telemetry:
    def __init__(self, prefix):
        self.path = os.path.join(RUNTIME, prefix, "dpdk_telemetry.v2")
        self.sock = None

    def connect(self, deadline, proc=None):
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                return False
            if os.path.exists(self.path):
                try:
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
                    s.connect(self.path)
                    s.recv(4096)  # banner: version, pid, max_output_len
                    self.sock = s
                    return True
                except OSError:
                    pass
            time.sleep(0.1)
        return False

    def query(self, cmd):
        self.sock.send(cmd.encode())
        reply = json.loads(self.sock.recv(1 << 20))
        return reply[cmd.split(",")[0]]

    def close(self):
        if self.sock:
            self.sock.close()
            self.sock = None


class Forwarder:
    """One running DPDK process. argv is the full command (taskset included)."""

    def __init__(self, name, argv, prefix, log_path, stdin_pipe=False, env=None):
        self.name = name
        self.argv = argv
        self.prefix = prefix
        self.log_path = log_path
        self.stdin_pipe = stdin_pipe
        self.env = env
        self.proc = None
        self.tel = Telemetry(prefix)
        self.ports = {}

    def start(self, timeout=60.0):
        self.log = open(self.log_path, "w")
        self.log.write("# " + " ".join(self.argv) + "\n")
        self.log.flush()
        # testpmd without -i still reads stdin and exits at EOF: keep a pipe open on it.
        self.proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.PIPE if self.stdin_pipe else subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=self.env,
        )
        deadline = time.monotonic() + timeout
        if not self.tel.connect(deadline, self.proc):
            rc = self.proc.poll()
            self.stop()
            if rc is not None:
                raise ForwarderError("%s exited with %s before forwarding (see %s)" % (
                    self.name, rc, self.log_path))
            raise ForwarderError("%s: no telemetry socket within %.0f s" % (self.name, timeout))
        # ports by driver: the source is the port that receives, the sink the net_null one.
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ForwarderError("%s exited with %s" % (self.name, self.proc.returncode))
            try:
                ids = self.tel.query("/ethdev/list")
                for pid in ids:
                    info = self.tel.query("/ethdev/info,%d" % pid)
                    self.ports[pid] = info.get("name", "")
                if ids:
                    return
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.2)
        raise ForwarderError("%s: no ports listed in telemetry" % self.name)

    def port_by(self, prefix):
        for pid, name in sorted(self.ports.items()):
            if name.startswith(prefix):
                return pid
        raise ForwarderError("%s: no port named %s* in %s" % (self.name, prefix, self.ports))

    def stats(self, port):
        return self.tel.query("/ethdev/stats,%d" % port)

    def wait_flowing(self, sink, timeout=30.0):
        """Until the sink's TX counter moves (the worker is forwarding)."""
        deadline = time.monotonic() + timeout
        first = self.stats(sink)["opackets"]
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ForwarderError("%s exited with %s" % (self.name, self.proc.returncode))
            time.sleep(0.2)
            if self.stats(sink)["opackets"] > first:
                return
        raise ForwarderError("%s: nothing reached the sink port in %.0f s" % (self.name, timeout))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        self.tel.close()
        if self.proc:
            stop_group(self.proc)
        if self.proc and self.proc.stdin:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        if hasattr(self, "log"):
            self.log.close()
        shutil.rmtree(os.path.join(RUNTIME, self.prefix), ignore_errors=True)


def thread_cpu_ns(pid):
    """{tid: ns spent on a CPU} for every thread of pid (/proc/<pid>/task/*/schedstat)."""
    out = {}
    base = "/proc/%d/task" % pid
    try:
        for tid in os.listdir(base):
            try:
                out[tid] = int(open(os.path.join(base, tid, "schedstat")).read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
    except OSError:
        pass
    return out


def measure_window(fwd, src, sink, seconds, step=None):
    """Counters over one timed window: forwarded (sink TX) Mpps, plus RX and bounced packets.

    Also the busiest thread's CPU share (the polling worker: ~1.0 on an idle core; less when
    other work on the VM takes core 1 from it), so a noisy window can be told from a slow one.
    step: also sample the sink every `step` s; "series" = [[t since the window's start, Mpps
    over that step], ...] (the churn timeline).
    """
    pid = fwd.proc.pid
    a_src, a_sink = fwd.stats(src), fwd.stats(sink)
    a_cpu = thread_cpu_ns(pid)
    t0 = time.monotonic()
    series = []
    if step:
        t_prev, n_prev = t0, a_sink["opackets"]
        while time.monotonic() - t0 < seconds - 1e-3:
            time.sleep(max(0.0, min(step, seconds - (time.monotonic() - t0))))
            t, n = time.monotonic(), fwd.stats(sink)["opackets"]
            if t > t_prev:
                series.append([round(t - t0, 3), round((n - n_prev) / (t - t_prev) / 1e6, 3)])
            t_prev, n_prev = t, n
    else:
        time.sleep(seconds)
    b_src, b_sink = fwd.stats(src), fwd.stats(sink)
    dt = time.monotonic() - t0
    b_cpu = thread_cpu_ns(pid)
    share = max([b_cpu[t] - a_cpu[t] for t in b_cpu if t in a_cpu] or [0]) / (dt * 1e9)
    fwd_pk = b_sink["opackets"] - a_sink["opackets"]
    rx_pk = b_src["ipackets"] - a_src["ipackets"]
    back_pk = b_src["opackets"] - a_src["opackets"]  # sent back out of the source port
    return {
        "seconds": dt,
        "worker_cpu_share": share,
        "mpps": fwd_pk / dt / 1e6,
        "rx_mpps": rx_pk / dt / 1e6,
        # cumulative since start: window-edge skew (two counter reads, a loaded VM) cancels out
        "forwarded_fraction": (b_sink["opackets"] / b_src["ipackets"]) if b_src["ipackets"] else 0.0,
        "bounced": back_pk,
        "rx_nombuf": b_src.get("rx_nombuf", 0) - a_src.get("rx_nombuf", 0),
        "oerrors": b_sink.get("oerrors", 0) - a_sink.get("oerrors", 0),
        "series": series,
        "t0": t0,
    }
