"""tests/xdp/rsfwdlab.py — helpers shared by the `rsfwd run` namespace tests (xdp_run_test.py,
xdp_run_afxdp_test.py): the daemon with its API socket, rsctl, address listing, polling, GoBGP.

Builds on xdplab.Lab (namespaces and processes cleaned up on every exit path).
"""
import json
import os
import time

from xdplab import Fail


class Daemon:
    """`rsfwd run ... --config CFG --socket SOCK --stats-json F` in namespace `ns`; returns once
    the API answers (rsctl stats)."""

    def __init__(self, lab, ns, rsfwd, rsctl, cfg_path, sock, args=(), timeout=30):
        self.lab, self.rs, self.sock, self.rsctl_exe = lab, ns, sock, rsctl
        self.stats = f"/tmp/{lab.prefix}-stats.json"
        self.p = lab.spawn(ns, [rsfwd, "run", "--config", cfg_path, "--socket", sock,
                                "--stats-json", self.stats] + list(args))
        end = time.time() + timeout
        while time.time() < end:
            if self.p.poll() is not None:
                raise Fail("rsfwd exited: " + self.p.stderr.read()[-3000:])
            if os.path.exists(sock) and self.rsctl("stats", check=False).returncode == 0:
                return
            time.sleep(0.2)
        raise Fail("rsfwd's API did not come up")

    def rsctl(self, *args, check=True):
        return self.lab.nsrun(self.rs, [self.rsctl_exe, "--socket", self.sock] + list(args),
                              check=check)

    def json(self, *args):
        return json.loads(self.rsctl("--json", *args).stdout)


def ip_addrs(lab, ns, dev):
    out = lab.run(["ip", "-n", ns, "-4", "-o", "addr", "show", "dev", dev]).stdout
    return [l.split()[3] for l in out.splitlines()]


def wait(pred, timeout, step=0.3):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(step)
    return False


_GOBGP_NEIGHBOR = """\
[[neighbors]]
  [neighbors.config]
    neighbor-address = "%(peer)s"
    peer-as = %(peer_as)d
  [neighbors.transport.config]
    local-address = "%(local)s"
  [neighbors.ebgp-multihop.config]
    enabled = true
    multihop-ttl = 8
  [neighbors.timers.config]
    hold-time = 9
    keepalive-interval = 3
    connect-retry = 1
"""


def gobgp_conf(asn, local, peers, peer_as=65515):
    """gobgpd TOML: AS `asn`, router id and source `local`, eBGP multihop to every peer."""
    conf = ('[global.config]\n  as = %d\n  router-id = "%s"\n  port = 179\n'
            '  local-address-list = ["%s"]\n' % (asn, local, local))
    return conf + "".join(_GOBGP_NEIGHBOR % {"peer": p, "peer_as": peer_as, "local": local}
                          for p in peers)


def start_gobgp(lab, ns, workdir, conf_text):
    """Starts gobgpd in `ns` (API on 127.0.0.1:50051 of that namespace); returns the gobgp CLI
    prefix. The process is the lab's (killed by Lab.cleanup)."""
    import shutil
    os.makedirs(workdir, exist_ok=True)
    conf = os.path.join(workdir, "gobgpd.toml")
    with open(conf, "w") as f:
        f.write(conf_text)
    lab.spawn(ns, [shutil.which("gobgpd"), "-f", conf, "--api-hosts", "127.0.0.1:50051",
                   "--log-level", "warn", "--pprof-disable"])
    return [shutil.which("gobgp"), "-u", "127.0.0.1", "-p", "50051"]


def gobgp_established(lab, ns, gob, n):
    r = lab.nsrun(ns, gob + ["neighbor"], check=False)
    return r.stdout.count("Establ") == n
