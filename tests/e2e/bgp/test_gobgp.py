#!/usr/bin/python3
"""Interop with GoBGP (gobgpd) as an NVA: session, routes both ways with exact AS paths, next hops
and communities, withdrawals, route refresh both ways (A10), peer killed → on_down."""
import sys

from harness import Env, GoBgp, Rsfwd, eventually, gobgp_path_summary, need, port_base, run

need("gobgpd")
need("gobgp")
env = Env("gobgp")
P = port_base()
RS, GB = "127.0.10.1", "127.0.10.2"


def main():
    gb = GoBgp(env, 65001, "10.0.0.2", GB, P + 1, [{"address": RS, "asn": 65515, "port": P}])
    # GoBGP connects late (5-10 s): rsfwd opens the session.
    rs = Rsfwd(env, ["--port", str(P),
                     "--peer", f"name=nva1,local={RS},remote={GB},remote-as=65001,"
                               f"remote-port={P + 1},connect-retry=1,next-hop-self=10.1.0.4",
                     "--route", "peer=*,prefix=10.1.0.0/16,communities=65517:65517 65515:10000,"
                                "large=65515:1:2,med=30"])
    rs.wait(lambda e: e.get("event") == "established", 40, "session established")

    # rsfwd → GoBGP (E13: 65515 prepended, next hop self).
    def learned():
        paths = gb.rib().get("10.1.0.0/16")
        return paths and gobgp_path_summary(paths[0])
    s = eventually(learned, 20, "10.1.0.0/16 in gobgpd")
    assert s["as_path"] == [65515], s
    assert s["next_hop"] == "10.1.0.4", s
    assert s["communities"] == [(65517 << 16) | 65517, (65515 << 16) | 10000], s
    assert s["large"] == ["65515:1:2"], s
    assert s["med"] == 30, s

    # GoBGP → rsfwd.
    gb.cli("global", "rib", "add", "-a", "ipv4", "192.168.10.0/24", "nexthop", "10.1.2.4",
           "community", "65001:100,no-advertise", "large-community", "65001:1:1", "med", "20")
    ev = rs.wait(lambda e: e.get("event") == "update" and
                 any(r["prefix"] == "192.168.10.0/24" for r in e["announce"]), 20,
                 "192.168.10.0/24 from gobgpd")
    r = [r for r in ev["announce"] if r["prefix"] == "192.168.10.0/24"][0]
    assert r["as_path"] == "65001", r
    assert r["next_hop"] == "10.1.2.4", r
    assert r["communities"] == ["65001:100", "65535:65282"], r  # G2 NO_ADVERTISE kept
    assert r["large_communities"] == ["65001:1:1"], r
    assert r["med"] == 20, r

    # Withdrawal GoBGP → rsfwd.
    gb.cli("global", "rib", "del", "-a", "ipv4", "192.168.10.0/24")
    rs.wait(lambda e: e.get("event") == "update" and "192.168.10.0/24" in e["withdraw"], 20,
            "withdrawal of 192.168.10.0/24")

    # Withdrawal rsfwd → GoBGP.
    rs.send({"cmd": "withdraw", "peer": "*", "prefixes": ["10.1.0.0/16"]})
    eventually(lambda: "10.1.0.0/16" not in gb.rib(), 20, "10.1.0.0/16 withdrawn in gobgpd")
    rs.send({"cmd": "announce", "peer": "*", "routes": [
        {"prefix": "10.2.0.0/16", "as_path": "", "communities": ["65517:65517"]}]})
    eventually(lambda: "10.2.0.0/16" in gb.rib(), 20, "10.2.0.0/16 in gobgpd")

    # Route refresh, rsfwd asks: GoBGP re-sends what it advertises.
    gb.cli("global", "rib", "add", "-a", "ipv4", "192.168.11.0/24", "nexthop", "10.1.2.4")
    rs.wait(lambda e: e.get("event") == "update" and
            any(r["prefix"] == "192.168.11.0/24" for r in e["announce"]), 20, "192.168.11.0/24")
    rs.send({"cmd": "refresh", "peer": "nva1"})
    ok = rs.wait(lambda e: e.get("event") == "refresh_sent", 10, "refresh sent")
    assert ok["ok"], ok
    rs.wait(lambda e: e.get("event") == "update" and
            any(r["prefix"] == "192.168.11.0/24" for r in e["announce"]), 20,
            "192.168.11.0/24 re-sent after ROUTE-REFRESH")

    # (GoBGP keeps an Adj-RIB-In and answers `softresetin` from it without a ROUTE-REFRESH;
    # the peer-asks direction is covered by test_frr.py.)

    sess = rs.sessions()[0]
    assert sess["state"] == "Established" and sess["prefixes_held"] == 1, sess
    assert sess["hold_time"] == 30, sess  # E4 negotiation: the lower of 180 and 30

    # Peer killed → on_down, its routes gone.
    gb.kill()
    ev = rs.wait(lambda e: e.get("event") == "down", 40, "session down after kill")
    sess = rs.sessions()[0]
    assert sess["prefixes_held"] == 0 and sess["state"] != "Established", sess
    print(f"down reason: {ev['reason']}")


run(main, env)
