#!/usr/bin/python3
"""Max-prefix (E8) against GoBGP and FRR: a peer that sends more than the limit gets
NOTIFICATION Cease / Maximum Number of Prefixes Reached (seen in the peer's own state), and the
owner is told the session is down (its routes are withdrawn)."""

from harness import Env, Frr, GoBgp, Rsfwd, eventually, need, port_base, run

need("gobgpd")
env = Env("maxprefix")
P = port_base() + 4
RS, GB, FR = "127.0.12.1", "127.0.12.2", "127.0.12.3"


def main():
    gb = GoBgp(env, 65001, "10.0.0.2", GB, P + 1, [{"address": RS, "asn": 65515, "port": P}])
    for i in range(3):
        gb.cli("global", "rib", "add", "-a", "ipv4", f"192.168.{i}.0/24", "nexthop", "10.1.2.4")
    networks = [f"172.16.{i}.0/24" for i in range(5)]
    frr = Frr(env, 65002, "10.0.0.3", FR, P + 2, [{"address": RS, "asn": 65515, "port": P}],
              networks=networks)
    rs = Rsfwd(env, ["--port", str(P),
                     "--peer", f"name=gobgp,local={RS},remote={GB},remote-as=65001,"
                               f"remote-port={P + 1},connect-retry=1,max-prefixes=2,"
                               "max-prefix-restart=300",
                     "--peer", f"name=frr,local={RS},remote={FR},remote-as=65002,"
                               f"remote-port={P + 2},connect-retry=1,max-prefixes=4,"
                               "max-prefix-restart=300"])
    for peer in ("gobgp", "frr"):
        ev = rs.wait(lambda e, p=peer: e.get("event") == "down" and e["peer"] == p, 60,
                     f"{peer} torn down for max-prefix")
        assert "maximum number of prefixes" in ev["reason"], ev

    # The peers saw the NOTIFICATION (Cease 6 / subcode 1).
    def gobgp_saw():
        log = gb.log_text()
        return ("Code=6" in log and "Subcode=1" in log) or "maximum number of prefixes" in log.lower()
    eventually(gobgp_saw, 10, "gobgpd logging the Cease/1 NOTIFICATION")

    def frr_saw():
        n = frr.neighbor(RS)
        text = str(n.get("lastNotificationReason", "")) + str(n.get("lastResetDueTo", ""))
        return "Maximum Number of Prefixes" in text and text
    print("frr:", eventually(frr_saw, 10, "bgpd reporting the Cease/1 NOTIFICATION"))

    for s in rs.sessions():
        assert s["state"] != "Established" and s["prefixes_held"] == 0, s
        assert "Maximum Number of Prefixes" in s["last_error"], s


run(main, env)
