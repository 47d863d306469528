#!/usr/bin/python3
"""Interop with FRR bgpd as an on-prem edge router / NVA: session, routes both ways with exact AS
paths, next hops and communities, withdrawals, route refresh both ways (A10), peer killed →
on_down. bgpd runs without zebra (-Z) on a loopback address and a high port."""

from harness import Env, Frr, Rsfwd, eventually, port_base, run

env = Env("frr")
P = port_base() + 2
RS, FR = "127.0.11.1", "127.0.11.3"

ROUTE_MAP = """route-map OUT permit 10
 set ip next-hop 10.1.2.6
 set community 65002:7 65517:65517
 set large-community 65002:1:1
 set metric 40
!
"""


def main():
    frr = Frr(env, 65002, "10.0.0.3", FR, P + 1,
              [{"address": RS, "asn": 12076, "port": P, "route_map_out": "OUT"}],
              networks=["172.16.0.0/16"], extra=ROUTE_MAP)
    # The MSEE persona: local AS 12076 towards the on-prem edge router.
    rs = Rsfwd(env, ["--port", str(P),
                     "--peer", f"name=onprem,local={RS},local-as=12076,remote={FR},"
                               f"remote-as=65002,remote-port={P + 1},connect-retry=1,"
                               "next-hop-self=10.1.1.4",
                     "--route", "peer=*,prefix=10.1.0.0/16,path=65515,communities=65515:20000,"
                                "large=12076:5:6"])
    rs.wait(lambda e: e.get("event") == "established", 60, "session established")

    # FRR → rsfwd: exact AS path, next hop and communities.
    ev = rs.wait(lambda e: e.get("event") == "update" and
                 any(r["prefix"] == "172.16.0.0/16" for r in e["announce"]), 30,
                 "172.16.0.0/16 from bgpd")
    r = [r for r in ev["announce"] if r["prefix"] == "172.16.0.0/16"][0]
    assert r["as_path"] == "65002", r
    assert r["next_hop"] == "10.1.2.6", r
    assert r["communities"] == ["65002:7", "65517:65517"], r
    assert r["large_communities"] == ["65002:1:1"], r
    assert r["med"] == 40, r

    # rsfwd → FRR: 12076 prepended to the given path (B3 style), next hop self.
    def learned():
        d = frr.route_detail("10.1.0.0/16")
        return d.get("paths") and d["paths"][0]
    p = eventually(learned, 30, "10.1.0.0/16 in bgpd")
    assert p["aspath"]["string"] == "12076 65515", p["aspath"]
    nhs = [n["ip"] for n in p.get("nexthops", [])]
    assert nhs == ["10.1.1.4"], nhs
    assert p["community"]["string"] == "65515:20000", p.get("community")
    assert p["largeCommunity"]["string"] == "12076:5:6", p.get("largeCommunity")

    # Withdrawals both ways.
    rs.send({"cmd": "withdraw", "peer": "*", "prefixes": ["10.1.0.0/16"]})
    eventually(lambda: not frr.route_detail("10.1.0.0/16").get("paths"), 20,
               "10.1.0.0/16 withdrawn in bgpd")
    frr.config("router bgp 65002", "address-family ipv4 unicast", "no network 172.16.0.0/16")
    rs.wait(lambda e: e.get("event") == "update" and "172.16.0.0/16" in e["withdraw"], 30,
            "withdrawal of 172.16.0.0/16")

    # Route refresh, FRR asks (clear soft in → ROUTE-REFRESH): rsfwd re-sends (A10).
    rs.send({"cmd": "announce", "peer": "*", "routes": [{"prefix": "10.3.0.0/16"}]})
    eventually(lambda: frr.route_detail("10.3.0.0/16").get("paths"), 20, "10.3.0.0/16 in bgpd")
    frr.vtysh(f"clear bgp ipv4 unicast {RS} soft in")
    rs.wait(lambda e: e.get("event") == "refresh", 30, "ROUTE-REFRESH from bgpd")

    # Route refresh, rsfwd asks: FRR re-sends its table.
    frr.config("router bgp 65002", "address-family ipv4 unicast", "network 172.17.0.0/16")
    rs.wait(lambda e: e.get("event") == "update" and
            any(r["prefix"] == "172.17.0.0/16" for r in e["announce"]), 30, "172.17.0.0/16")
    rs.send({"cmd": "refresh", "peer": "onprem"})
    assert rs.wait(lambda e: e.get("event") == "refresh_sent", 10, "refresh sent")["ok"]
    rs.wait(lambda e: e.get("event") == "update" and
            any(r["prefix"] == "172.17.0.0/16" for r in e["announce"]), 30,
            "172.17.0.0/16 re-sent after ROUTE-REFRESH")

    n = frr.neighbor(RS)
    assert n.get("bgpState") == "Established", n.get("bgpState")

    # Peer killed → on_down.
    frr.kill()
    rs.wait(lambda e: e.get("event") == "down", 40, "session down after kill")
    sess = rs.sessions()[0]
    assert sess["prefixes_held"] == 0 and sess["state"] != "Established", sess


run(main, env)
