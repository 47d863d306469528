#!/usr/bin/python3
"""bench/harness/selftest.py — checks of the harness's own generators (no DPDK, no timing).

Registered as a meson unit test (bench/harness/meson.build). Asserts:
- route tables are distinct, host bits clear, BGP-shaped (IPv4 /24 the most common length) and
  nested (table(n) is the first n routes of table(m > n));
- every pcap frame parses (Ethernet/IPv4|IPv6/UDP), has the requested size, a valid IPv4 header
  checksum / UDP-over-IPv6 checksum, and a destination covered by the table (uniform and Zipf);
- the harness plans cells and ratios without running anything (summarize on fake samples).
"""

import collections
import importlib.util
import statistics
import os
import struct
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
if importlib.util.find_spec("numpy") is None:
    print("skip: needs Debian's python3-numpy")
    sys.exit(77)
import bench  # noqa: E402
import routes  # noqa: E402
import traffic  # noqa: E402


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def covered(fam, table, d):
    width = 32 if fam == 4 else 128
    for a, length in table:
        if (d >> (width - length)) == (a >> (width - length)):
            return True
    return False


def check_tables():
    for fam, width in ((4, 32), (6, 128)):
        big = routes.table(fam, 5000, seed=3)
        small = routes.table(fam, 700, seed=3)
        assert small == big[:700], "tables are not nested"
        assert len(set(big)) == len(big), "duplicate prefixes"
        for a, length in big:
            assert a & ((1 << (width - length)) - 1) == 0, "host bits set"
        top = collections.Counter(length for _, length in big).most_common(1)[0][0]
        assert top == (24 if fam == 4 else 48), "not BGP-shaped: most common /%d" % top


def check_pcap(fam, dist, frame):
    table = routes.table(fam, 300, seed=5)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "t.pcap")
        size = traffic.write_pcap(path, fam, table, 200, frame, dist, 9, "02:70:63:61:70:00",
                                  "02:00:00:00:00:01")
        data = open(path, "rb").read()
    magic, = struct.unpack("<I", data[:4])
    assert magic == 0xA1B2C3D4
    off, n = 24, 0
    while off < len(data):
        _, _, caplen, wirelen = struct.unpack("<IIII", data[off:off + 16])
        pkt = data[off + 16:off + 16 + caplen]
        off += 16 + caplen
        n += 1
        assert caplen == wirelen == size - 4
        etype, = struct.unpack("!H", pkt[12:14])
        if fam == 4:
            assert etype == 0x0800
            ip = pkt[14:34]
            assert csum(ip) == 0xFFFF, "bad IPv4 header checksum"
            dst, = struct.unpack("!I", ip[16:20])
            assert ip[9] == 17 and ip[8] == 64
        else:
            assert etype == 0x86DD
            ip = pkt[14:54]
            plen, nh, hl = struct.unpack("!HBB", ip[4:8])
            assert nh == 17 and hl == 64 and plen == len(pkt) - 54
            pseudo = ip[8:40] + struct.pack("!IxxxB", plen, 17)
            assert csum(pseudo + pkt[54:]) == 0xFFFF, "bad UDP checksum"
            dst = int.from_bytes(ip[24:40], "big")
        assert covered(fam, table, dst), "destination outside the table"
    assert n == 200


def check_planning():
    cell = bench.Cell
    a = bench.Cell("pcap", "rsfwd", 4, 1000, "uniform", 64)
    io = cell("pcap", "testpmd-io", 4, 1000, "uniform", 64)
    lpm = cell("pcap", "l3fwd-lpm", 4, 1000, "uniform", 64)
    for c, xs in ((a, [10, 12, 11]), (io, [20, 24, 22]), (lpm, [5, 6, 5.5])):
        c.samples, c.fractions, c.shares = xs, [1.0] * 3, [0.5] * 3
    rows = {r["key"]: r for r in bench.summarize([io, lpm, a])}
    r = rows["pcap/rsfwd/v4/1k/uniform/64B"]
    assert r["ratio_testpmd_io"] == 0.5 and r["ratio_l3fwd_lpm"] == 2.0, r
    assert r["mpps"] == 11 and r["mpps_per_core"] == 22
    assert rows["pcap/testpmd-io/v4/-/uniform/64B"]["fib_size"] == 0


def check_churn_and_veth():
    import veth
    # churn reports from rsfwd --stats-json: totals and medians land in the row and its notes
    c = bench.Cell("pcap", "rsfwd-churn", 4, 1000000, "uniform", 64, 100000)
    c.samples, c.fractions, c.shares = [9, 10, 11], [1.0] * 3, [0.9] * 3
    c.extra["churn_stats"] = [{"rate": 99000 + i, "update_drops": i, "misforwards": 0,
                               "latency_p50_ns": 1000 * (i + 1), "latency_p99_ns": 5000 * (i + 1)}
                              for i in range(3)]
    row = bench.summarize([c])[0]
    assert row["churn_update_drops"] == 3 and row["churn_misforwards"] == 0, row
    assert row["churn_rate_achieved"] == 99001 and row["churn_latency_p99_ns"] == 15000, row
    assert any(w.startswith("churn: 99001 changes/s") for w in row["warnings"]), row
    assert "churn_kept" not in row, row  # no paused windows measured: no in-process ratio
    # paused vs churning windows of the same processes: the median of the per-pair ratios
    c.extra["churn_on_mpps"] = [9.0, 9.5, 12.0]
    c.extra["churn_paused_mpps"] = [10.0, 10.0, 10.0]
    row = bench.summarize([c])[0]
    assert row["churn_kept"] == 0.95, row
    assert any("throughput kept 95.0 % of the paused windows (same process, 3 pairs)" in w
               for w in row["warnings"]), row
    # the control thread's CPU while churning (rsfwd's churn report), median over runs
    for i, x in enumerate(c.extra["churn_stats"]):
        x["control_cpu_share"], x["control_cpu_ns_per_change"] = 0.4 + 0.01 * i, 4000 + 100 * i
    row = bench.summarize([c])[0]
    assert row["churn_control_cpu_share"] == 0.41 and row["churn_control_us_per_change"] == 4.1
    assert any("control thread 41 % of a core (4.1 µs/change)" in w for w in row["warnings"]), row
    # virtio-ndr: the forwarder's main lcore joins its worker on core 1 (ndr-gen has core 0)
    assert bench.main_lcore_args(bench.Cell("virtio-ndr", "rsfwd", 4, 1000, "uniform", 64)) == [
        "--lcores", "0@1,1@1", "--main-lcore", "0"]
    assert bench.main_lcore_args(c) == ["-l", "0,1", "--main-lcore", "0"]
    # veth: per-round ratios, then the median
    rows = [{"forwarder": f, "mpps": statistics.median(x), "mpps_runs": x}
            for f, x in (("kernel", [1.0, 2.0, 1.0]), ("rsfwd-xdp", [0.5, 1.0, 1.0]),
                         ("rsfwd-afxdp", [0.1, 0.2]))]
    veth.add_ratios(rows)
    assert rows[1]["ratio_to_kernel"] == 0.5, rows[1]
    assert rows[2]["ratio_to_kernel"] == round(0.15 / 1.0, 3), rows[2]  # missed a round
    assert "| rsfwd-xdp | 1.0000 |" in veth.table([dict(r, status="ok") for r in rows])


def check_rsfwd_configs():
    import rsfwd_leg
    with tempfile.TemporaryDirectory() as d:
        data = bench.Data(d, 64)
        for fam in (4, 6):
            cell = bench.Cell("pcap", "rsfwd-churn", fam, 16, "uniform", 64, 10000)
            text = open(rsfwd_leg.write_config(d, cell, data, None, "net_pcap0", True)).read()
            assert rsfwd_leg.ALT_NH[4] in text  # the churn neighbour
            assert ("address6: fd00:2::1/64" in text) == (fam == 6), text
            if fam == 6:
                assert rsfwd_leg.ALT_NH[6] in text and '"fd00:2::4"' in text
            # the bulk placeholder route is an IPv4 prefix whatever the family
            route = [l for l in text.splitlines() if "prefix:" in l][0]
            assert ":" not in route.split('"')[1], route


def check_plots():
    """The plots a churn run makes, churn timeline included, from synthetic rows."""
    import report
    try:
        import matplotlib  # noqa: F401  (Debian's python3-matplotlib; plots are optional)
    except ImportError:
        print("selftest: no matplotlib, plots not checked")
        return
    c = bench.Cell("pcap", "rsfwd-churn", 4, 1000000, "uniform", 64, 100000)
    c.samples, c.fractions, c.shares = [9, 10, 11], [1.0] * 3, [0.9] * 3
    c.extra["churn_stats"] = [{"rate": 1e5, "update_drops": 0, "misforwards": 0,
                               "latency_p50_ns": 1, "latency_p99_ns": 2}]
    c.extra["churn_on_mpps"], c.extra["churn_paused_mpps"] = [9.0], [10.0]
    # one churning window, a settle gap, one paused window: [t, Mpps, churning]
    c.extra["churn_timeline"] = [[0.1 * i, 9.0, 1] for i in range(1, 11)] + [
        [1.5 + 0.1 * i, 10.0, 0] for i in range(1, 11)]
    rows = bench.summarize([c])
    with tempfile.TemporaryDirectory() as d:
        report.plots(rows, d)
        assert os.path.getsize(os.path.join(d, "churn_timeline.png")) > 1000, os.listdir(d)
        assert os.path.exists(os.path.join(d, "cells.png")), os.listdir(d)


def main():
    check_tables()
    for fam in (4, 6):
        for dist in ("uniform", "zipf"):
            for frame in (64, 512):
                check_pcap(fam, dist, frame)
    check_planning()
    check_churn_and_veth()
    check_rsfwd_configs()
    check_plots()
    print("bench harness selftest: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
