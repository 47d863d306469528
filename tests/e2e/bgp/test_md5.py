#!/usr/bin/python3
"""TCP MD5 (RFC 2385): with the same key on both sides the session comes up (GoBGP and FRR);
with different keys the kernel drops the segments and no session ever forms."""
import time

from harness import Env, Frr, GoBgp, Rsfwd, need, port_base, run

need("gobgpd")
env = Env("md5")
P = port_base() + 6
RS, GB, FR, FR2 = "127.0.13.1", "127.0.13.2", "127.0.13.3", "127.0.13.4"


def main():
    gb = GoBgp(env, 65001, "10.0.0.2", GB, P + 1,
               [{"address": RS, "asn": 65515, "port": P, "md5": "s3cret-gobgp"}])
    frr = Frr(env, 65002, "10.0.0.3", FR, P + 2,
              [{"address": RS, "asn": 65515, "port": P, "md5": "s3cret-frr"}])
    frr_bad = Frr(env, 65003, "10.0.0.4", FR2, P + 3,
                  [{"address": RS, "asn": 65515, "port": P, "md5": "the-right-key"}],
                  name="bgpd2")
    rs = Rsfwd(env, ["--port", str(P),
                     "--peer", f"name=gobgp,local={RS},remote={GB},remote-as=65001,"
                               f"remote-port={P + 1},connect-retry=1,md5=s3cret-gobgp",
                     "--peer", f"name=frr,local={RS},remote={FR},remote-as=65002,"
                               f"remote-port={P + 2},connect-retry=1,md5=s3cret-frr",
                     "--peer", f"name=frr-bad,local={RS},remote={FR2},remote-as=65003,"
                               f"remote-port={P + 3},connect-retry=1,md5=a-wrong-key"])
    up = set()
    while up != {"gobgp", "frr"}:
        ev = rs.wait(lambda e: e.get("event") == "established", 60, "keyed sessions up")
        assert ev["peer"] != "frr-bad", "session with mismatched MD5 keys came up"
        up.add(ev["peer"])
    # Both sides keep trying for a while; the mismatched pair must never get past TCP.
    time.sleep(8)
    states = {s["name"]: s["state"] for s in rs.sessions()}
    assert states["gobgp"] == "Established" and states["frr"] == "Established", states
    assert states["frr-bad"] in ("Connect", "Active", "Idle"), states
    assert frr_bad.neighbor(RS).get("bgpState") != "Established"
    assert frr.neighbor(RS).get("bgpState") == "Established"
    assert not any(e.get("event") == "established" and e["peer"] == "frr-bad" for e in rs.seen)


run(main, env)
