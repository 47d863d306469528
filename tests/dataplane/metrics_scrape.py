#!/usr/bin/python3
"""tests/dataplane/metrics_scrape.py — meson test `metrics_scrape`: `rsfwd run --metrics` serves
an exposition that `promtool check metrics` accepts without a single warning, scraped from a
running daemon on real DPDK (net_null ports, --no-huge).

What it asserts (behaviour):
  - a bad --metrics address (`127.0.0.1:9177x`) is refused with exit 2 and a message naming it,
    before EAL starts;
  - the daemon logs the address it listens on (--metrics 127.0.0.1:0 picks a free port);
  - GET /metrics twice while forwarding: promtool prints nothing and exits 0 for both bodies;
  - every drop reason of `enum class Drop` is a label of rsfwd_drops_total (the reasons are
    read from dataplane/worker/counters.hpp, so a new one is checked without editing this);
  - the publish latency is a histogram (with an le="+Inf" bucket), counters grow between
    scrapes, the stats JSON keys scripts read are still there.
Needs root (EAL) and promtool: otherwise exit 77. Usage: metrics_scrape.py <rsfwd> <counters.hpp>.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

from testlib import HUB_CONFIG_HEAD, SKIP, check, fail  # noqa: E402

CONFIG = HUB_CONFIG_HEAD + """\
  - {name: in, device: "net_null0", address: 10.1.3.1/24, view: vnet}
  - {name: out, device: "net_null1,no-rx=1", address: 10.1.2.1/24, view: vnet}
neighbours:
  - {ip: 10.1.2.4, mac: "02:00:00:00:02:04", port: out}
nvas:
  - name: NVA1
    asn: 65001
    ip: 10.1.2.4
    port: out
    routes:
      - {prefix: "198.18.0.0/15", as_path: "65001"}
"""


def drop_reasons(counters_hpp):
    """The names of enum class Drop, in order, from the header the workers use."""
    text = open(counters_hpp).read()
    body = re.search(r"enum class Drop\b[^{]*\{(.*?)\};", text, re.S).group(1)
    names = [re.match(r"\s*(\w+)", line).group(1) for line in
             re.sub(r"//[^\n]*", "", body).split(",") if re.match(r"\s*\w+", line)]
    return [n for n in names if n != "count"]


def promtool(body):
    p = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True,
                       text=True, timeout=30)
    return p.returncode, (p.stdout + p.stderr).strip()


def main():
    if len(sys.argv) != 3:
        fail("usage: metrics_scrape.py <rsfwd> <counters.hpp>")
    rsfwd, counters_hpp = sys.argv[1], sys.argv[2]
    if os.geteuid() != 0:
        print("SKIP: needs root for DPDK EAL")
        sys.exit(SKIP)
    if not shutil.which("promtool"):
        print("SKIP: no promtool (apt-get install prometheus; scripts/setup.sh does)")
        sys.exit(SKIP)
    reasons = drop_reasons(counters_hpp)
    check(len(reasons) >= 12, "enum class Drop read from %s: %d reasons" % (counters_hpp,
                                                                            len(reasons)))
    tmp = tempfile.mkdtemp(prefix="rsfwd-metrics-")
    conf, log, stats = (os.path.join(tmp, n) for n in ("rsfwd.yaml", "rsfwd.log", "stats.json"))
    with open(conf, "w") as f:
        f.write(CONFIG)

    bad = subprocess.run([rsfwd, "run", "--config", conf, "--metrics", "127.0.0.1:9177x",
                          "--socket", ""], capture_output=True, text=True, timeout=20)
    check(bad.returncode == 2 and "127.0.0.1:9177x" in bad.stderr,
          "--metrics 127.0.0.1:9177x refused, exit 2: %r" % bad.stderr.strip())

    p = subprocess.Popen(
        [rsfwd, "run", "--config", conf, "--metrics", "127.0.0.1:0", "--socket", "",
         "--stats-json", stats, "--", "-l", "0,1", "--main-lcore", "0", "--no-pci", "--no-huge",
         "-m", "256", "--file-prefix", "metrics%d" % os.getpid(), "--log-level",
         "lib.eal:warning"],
        stdin=subprocess.DEVNULL, stdout=open(log, "w"), stderr=subprocess.STDOUT,
        start_new_session=True)
    try:
        url, deadline = None, time.monotonic() + 30
        while time.monotonic() < deadline and url is None:
            if p.poll() is not None:
                fail("rsfwd exited: %s" % open(log).read()[-600:])
            m = re.search(r"/metrics on (http://127\.0\.0\.1:\d+/metrics)", open(log).read())
            url = m.group(1) if m else None
            if url is None or "forwarding on" not in open(log).read():
                url = None
                time.sleep(0.05)
        check(url is not None, "rsfwd logs where /metrics listens: %s" % url)
        bodies = []
        for _ in range(2):
            with urllib.request.urlopen(url, timeout=10) as r:
                check(r.status == 200, "GET /metrics: 200")
                bodies.append(r.read().decode())
            time.sleep(0.5)
        for i, body in enumerate(bodies):
            rc, out = promtool(body)
            check(rc == 0 and out == "",
                  "scrape %d: promtool check metrics: no error, no warning%s" %
                  (i + 1, "" if not out else ":\n" + out))
        body = bodies[-1]
        for r in reasons:
            check('rsfwd_drops_total{reason="%s"}' % r in body, "drop reason %s exposed" % r)
        check("# TYPE rsfwd_fib_publish_latency_seconds histogram" in body and
              'rsfwd_fib_publish_latency_seconds_bucket{le="+Inf"}' in body,
              "publish latency is a histogram in seconds")

        def value(text, series):
            m = re.search(r"^%s (\S+)$" % re.escape(series), text, re.M)
            return float(m.group(1)) if m else None
        a = value(bodies[0], 'rsfwd_port_rx_packets_total{port="in"}')
        b = value(bodies[1], 'rsfwd_port_rx_packets_total{port="in"}')
        check(a is not None and b is not None and b > a,
              "rsfwd_port_rx_packets_total{port=\"in\"} grows: %s -> %s" % (a, b))
        os.kill(p.pid, signal.SIGINT)
        check(p.wait(timeout=20) == 0, "rsfwd exits 0 on SIGINT")
        j = json.load(open(stats))
        check(all(k in j for k in ("ports", "workers", "drops", "fib", "mbufs", "control")) and
              set(reasons) <= set(j["drops"]) and "publish_latency_ns" in j["fib"] and
              "hw_imissed" in j["ports"][0], "--stats-json keeps its keys")
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
        shutil.rmtree(tmp, ignore_errors=True)
    print("PASS")


if __name__ == "__main__":
    main()
