#!/usr/bin/python3
"""Benchmark (not a test): a full-table feed from GoBGP ingested by rsfwd's speaker vs FRR bgpd.

  /usr/bin/python3 tests/e2e/bgp/bench_feed.py --rsfwd-bgp BUILD/control/cmd/rsfwd-bgp [--routes 1000000]

1. Writes an MRT TABLE_DUMP_V2 file with N IPv4 /24s (distinct AS paths every 100 prefixes,
   communities on a tenth of them) and loads it into gobgpd's global RIB (`gobgp mrt inject`).
2. Starts rsfwd-bgp (decode + handler: --quiet-routes --expect N) with gobgpd as its peer, and
   times from rsfwd-bgp's start to N prefixes held.
3. Same feed into FRR bgpd (-Z, no zebra), timed from bgpd's start to pfxRcd = N (polled every
   0.5 s via vtysh, so FRR's figure is rounded up by up to 0.5 s).
Prints one JSON line per run and a side-by-side summary. Everything on loopback, cleaned up.
"""
import argparse
import json
import os
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Env, Frr, GoBgp, need  # noqa: E402


def write_mrt(path, n):
    peer_ip = bytes([10, 0, 0, 9])
    with open(path, "wb") as f:
        def rec(subtype, body):
            f.write(struct.pack("!IHHI", 0, 13, subtype, len(body)) + body)
        # PEER_INDEX_TABLE: collector id, view name len 0, 1 peer (type 2: 4-byte AS, IPv4).
        body = bytes([10, 0, 0, 9]) + struct.pack("!H", 0) + struct.pack("!H", 1)
        body += bytes([2]) + bytes([10, 0, 0, 9]) + peer_ip + struct.pack("!I", 65009)
        rec(1, body)
        attrs_cache = {}
        for i in range(n):
            grp = i // 100
            a = attrs_cache.get(grp)
            if a is None:
                asns = [65009, 64512 + grp % 1000, 4200000000 + grp]
                path = bytes([2, len(asns)]) + b"".join(struct.pack("!I", x) for x in asns)
                a = bytes([0x40, 1, 1, 0])
                a += bytes([0x40, 2, len(path)]) + path
                a += bytes([0x40, 3, 4, 10, 1, 2, 4])
                if grp % 10 == 0:
                    a += bytes([0xC0, 8, 8]) + struct.pack("!II", (65009 << 16) | grp % 65536,
                                                           0xFFEDFFED)
                attrs_cache = {grp: a}
            addr = 0x0B000000 + (i << 8)
            prefix = struct.pack("!I", addr)[:3]
            entry = struct.pack("!HIH", 0, 0, len(a)) + a
            rec(2, struct.pack("!IB", i, 24) + prefix + struct.pack("!H", 1) + entry)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rsfwd-bgp", required=True)
    ap.add_argument("--routes", type=int, default=1_000_000)
    ap.add_argument("--skip-frr", action="store_true")
    ap.add_argument("--timeout", type=int, default=300)
    args = ap.parse_args()
    need("gobgpd")
    os.environ["RSFWD_BGP"] = os.path.abspath(args.rsfwd_bgp)
    env = Env("bench")
    n = args.routes
    P = harness.port_base() + 10
    GB, RS, FR = "127.0.20.2", "127.0.20.1", "127.0.20.3"

    mrt = env.path("feed.mrt")
    t = time.time()
    write_mrt(mrt, n)
    print(f"# wrote {n} routes to MRT in {time.time() - t:.1f} s", flush=True)
    gb = GoBgp(env, 65009, "10.0.0.9", GB, P + 1,
               [{"address": RS, "asn": 65515, "port": P},
                {"address": FR, "asn": 65515, "port": P + 2}])
    t = time.time()
    subprocess.run([need("gobgp"), "--target", f"unix://{gb.sock}", "mrt", "inject", "global",
                    mrt], check=True, timeout=args.timeout)
    # `mrt inject` returns before gobgpd has processed everything: wait for the RIB to settle.
    last, stable = -1, 0
    while stable < 6:
        summary = gb.cli("global", "rib", "summary")
        count = int(summary.split("Destination:")[1].split(",")[0])
        stable = stable + 1 if count == last else 0
        last = count
        if count >= n:
            break
        time.sleep(0.5)
    if last != n:
        print(f"# gobgpd holds {last} of {n} routes; using {last}", flush=True)
        n = last
    print(f"# injected {n} routes into gobgpd in {time.time() - t:.1f} s", flush=True)
    # The debug log of gobgpd would log every route: re-start is not needed, just lower it.
    subprocess.run([need("gobgp"), "--target", f"unix://{gb.sock}", "log-level", "info"],
                   check=False)

    results = {}
    # rsfwd: decode + hand to a handler (rsfwd-bgp counts held prefixes).
    t0 = time.time()
    out_path = env.path("rsfwd-bench.out")
    with open(out_path, "w") as out_f, open(env.path("rsfwd-bench.err"), "w") as err_f:
        proc = subprocess.Popen(
            [os.environ["RSFWD_BGP"], "--port", str(P), "--no-stdin", "--quiet-routes",
             "--log-level", "warn", "--expect", str(n), "--exit-on-expect",
             "--peer", f"name=feed,local={RS},remote={GB},remote-as=65009,"
                       f"remote-port={P + 1},connect-retry=1"],
            stdout=out_f, stderr=err_f)
        try:
            proc.wait(timeout=args.timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    total = time.time() - t0
    with open(out_path) as f:
        lines = f.read().splitlines()
    for line in lines:
        if '"progress"' in line:
            print("# rsfwd", line, flush=True)
    done = [json.loads(l) for l in lines if '"done"' in l]
    if not done:
        sys.exit("rsfwd-bgp did not receive the whole feed in time")
    results["rsfwd"] = {"seconds_from_start": round(total, 2),
                        "seconds_first_to_last_route": round(done[0]["seconds"], 2),
                        "prefixes": done[0]["prefixes"]}
    print(json.dumps({"speaker": "rsfwd", **results["rsfwd"]}), flush=True)

    if not args.skip_frr and os.path.exists(harness.FRR_BGPD):
        t0 = time.time()
        frr = Frr(env, 65515, "10.0.0.3", FR, P + 3, [{"address": GB, "asn": 65009,
                                                       "port": P + 1}])
        first = None
        while time.time() - t0 < args.timeout:
            j = frr.vtysh_json("show bgp ipv4 unicast summary json")
            peers = j.get("peers", {})
            got = peers.get(GB, {}).get("pfxRcd", 0)
            if got and first is None:
                first = time.time()
            if got >= n:
                break
            time.sleep(0.5)
        total = time.time() - t0
        results["frr"] = {"seconds_from_start": round(total, 2),
                          "seconds_first_to_last_route": round(time.time() - (first or t0), 2),
                          "prefixes": got}
        print(json.dumps({"speaker": "frr", **results["frr"]}), flush=True)
        frr.kill()

    print("\nspeaker  prefixes  start→all(s)  first→all(s)")
    for k, v in results.items():
        print(f"{k:8} {v['prefixes']:9}  {v['seconds_from_start']:12}  "
              f"{v['seconds_first_to_last_route']:12}")


if __name__ == "__main__":
    main()
