#!/usr/bin/python3
"""tests/dataplane/golden.py — golden-packet tests for `rsfwd run` on real DPDK net_pcap ports.

For each scenario: write a config + one input pcap per port (scapy), run
`rsfwd run --duration` with net_pcap ports (rx_pcap/tx_pcap, --no-huge, unique --file-prefix),
then compare every port's output pcap with the expected packets (as a multiset: ICMP/ARP replies
built by the control thread may interleave with forwarded packets), and check drop counters.
ECMP packets may match one of several alternatives (one per member); the test also asserts
that every member was used. Exit 77 (skip) without root. Usage: golden.py --rsfwd BIN --workdir DIR
"""
import argparse
import collections
import json
import os
import re
import socket
import subprocess
import sys
import time

if os.geteuid() != 0:
    print("SKIP: DPDK net_pcap tests need root (EAL, /var/run/dpdk)")
    sys.exit(77)

from scapy.all import (ARP, ICMP, IP, UDP, TCP, Dot1Q, Ether, IPv6, ICMPv6ND_NS, ICMPv6ND_NA,  # noqa: E402
                       ICMPv6NDOptSrcLLAddr, ICMPv6NDOptDstLLAddr, ICMPv6EchoRequest,
                       ICMPv6EchoReply, ICMPv6TimeExceeded, ICMPv6DestUnreach, Padding, Raw,
                       IPOption, IPv6ExtHdrFragment, checksum, rdpcap, wrpcap)

MAC = {  # our port MACs
    "nva": "02:00:00:00:01:02", "vms": "02:00:00:00:01:03", "spoke": "02:00:00:00:01:04",
    "er": "02:00:00:00:01:05", "vpn": "02:00:00:00:01:06",
}
NVA1, NVA2 = "02:00:00:00:02:04", "02:00:00:00:02:05"
VMH, VMS = "02:00:00:00:03:0a", "02:00:00:00:02:0a"
EDGE, VPNDEV = "02:00:00:00:0e:02", "02:00:00:00:0f:06"
VMH6, VPN6 = "02:00:00:00:06:10", "02:00:00:00:06:02"
VMS6 = "02:00:00:00:06:20"  # static IPv6 neighbour 2001:db8:3::20 on port vms

CONFIG = """
route_server:
  instance_ips: [10.1.0.4, 10.1.0.5]
  branch_to_branch: {b2b}
vnet:
  address_space: [10.1.0.0/16]
  peerings:
    - {{name: spoke, address_space: [10.2.0.0/16], use_remote_gateway: true}}
ports:
  - {{name: nva, device: "net_pcap0,rx_pcap={d}/nva-in.pcap,tx_pcap={d}/nva-out.pcap", address: 10.1.2.1/24, mac: "{m[nva]}", view: vnet}}
  - {{name: vms, device: "net_pcap1,rx_pcap={d}/vms-in.pcap,tx_pcap={d}/vms-out.pcap", address: 10.1.3.1/24, address6: "2001:db8:3::1/64", mac: "{m[vms]}", view: vnet}}
  - {{name: spoke, device: "net_pcap2,rx_pcap={d}/spoke-in.pcap,tx_pcap={d}/spoke-out.pcap", address: 10.2.0.1/24, mac: "{m[spoke]}", view: vnet}}
  - {{name: er, device: "net_pcap3,rx_pcap={d}/er-in.pcap,tx_pcap={d}/er-out.pcap", address: 192.0.2.1/30, mac: "{m[er]}", view: er/onprem}}
  - {{name: vpn, device: "net_pcap4,rx_pcap={d}/vpn-in.pcap,tx_pcap={d}/vpn-out.pcap", address: 192.0.2.5/30, address6: "2001:db8:5::1/64", mac: "{m[vpn]}", view: vpn/branch}}
neighbours:
  - {{ip: 10.1.2.4, mac: "{nva1}", port: nva}}
  - {{ip: 10.1.2.5, mac: "{nva2}", port: nva}}
  - {{ip: 10.1.3.10, mac: "{vmh}", port: vms}}
  - {{ip: 10.2.0.10, mac: "{vms_}", port: spoke}}
  - {{ip: 192.0.2.2, mac: "{edge}", port: er}}
  - {{ip: 192.0.2.6, mac: "{vpndev}", port: vpn}}
  - {{ip: "2001:db8:3::20", mac: "{vms6}", port: vms}}
expressroute_gateway:
  instance_ips: [10.1.1.4, 10.1.1.5]
  circuits:
    - name: onprem
      port: er
      onprem_asn: 65100
      edge_ip: 192.0.2.2
      routes: [{{prefix: 172.16.0.0/16, as_path: "65100"}}]
vpn_gateway:
  asn: 65515
  active_active: true
  instance_ips: [10.1.1.6, 10.1.1.7]
  sites:
    - name: branch
      port: vpn
      asn: 65200
      device_ip: 192.0.2.6
      routes: [{{prefix: 172.20.0.0/16, as_path: "65200"}}{vpn_default}]
nvas:
  - name: NVA1
    asn: 65001
    ip: 10.1.2.4
    port: nva
    routes:
      - {{prefix: 192.168.10.0/24, as_path: "65001"}}
      - {{prefix: 192.168.20.0/24, as_path: "65001"}}
  - name: NVA2
    asn: 65002
    ip: 10.1.2.5
    port: nva
    routes:
      - {{prefix: 192.168.20.0/24, as_path: "65002"}}
"""


class Case:
    def __init__(self):
        self.inputs = collections.defaultdict(list)     # port → [pkt]
        self.expected = collections.defaultdict(list)   # port → [[alternative bytes...]]
        self.drops = collections.Counter()
        self.ecmp_groups = []                           # ports whose ECMP must use 2+ members
        self.optional = collections.defaultdict(list)   # port → [bytes] that may appear (once)

    def send(self, port, pkt):
        self.inputs[port].append(pkt)

    def expect(self, port, *alternatives):
        self.expected[port].append([bytes(a) for a in alternatives])


def fwd(pkt, out_port, dst_mac):
    """Expected frame after forwarding: untagged, MACs rewritten, TTL/hop limit - 1."""
    p = pkt.copy()
    if Dot1Q in p:
        inner = p[Dot1Q].payload.copy()
        p = Ether(src=p.src, dst=p.dst) / inner
    p.src, p.dst = MAC[out_port], dst_mac
    if IP in p:
        p[IP].ttl -= 1
        del p[IP].chksum
    else:
        p[IPv6].hlim -= 1
    return Ether(bytes(p))


def icmp_error(orig, port, our_ip, typ, code=0):
    orig = Ether(bytes(orig))
    ip = orig[IP]
    quote = bytes(ip)[: ip.ihl * 4 + 8]
    e = Ether(src=MAC[port], dst=orig.src) / IP(src=our_ip, dst=ip.src, ttl=64, id=0, flags=0) / \
        ICMP(type=typ, code=code) / Raw(quote)
    raw = bytes(e)
    return raw + b"\0" * max(0, 60 - len(raw))


def icmp6_error(orig, port, our_ip, typ, code=0):
    """ICMPv6 error (RFC 4443) back to the sender: as much of the packet as fits in 1280 bytes."""
    orig = Ether(bytes(orig))
    ip6 = orig[IPv6]
    quote = bytes(ip6)[: min(40 + ip6.plen, 1280 - 48)]
    cls = ICMPv6TimeExceeded if typ == 3 else ICMPv6DestUnreach
    return Ether(src=MAC[port], dst=orig.src) / IPv6(src=our_ip, dst=ip6.src, hlim=64) / \
        cls(code=code) / Raw(quote)


def udp(src_mac, dst_mac, src, dst, sport=1000, dport=2000, ttl=64, payload=b"rsfwd-golden"):
    return Ether(src=src_mac, dst=dst_mac) / IP(src=src, dst=dst, ttl=ttl) / \
        UDP(sport=sport, dport=dport) / Raw(payload)


def scenario_b2b_off():
    c = Case()
    # vnet view: VM-H → NVA1 route (A2, H2), → ER (H4), → VPN site, → spoke VM (connected).
    for dst, port, mac in [("192.168.10.5", "nva", NVA1), ("172.16.1.1", "er", EDGE),
                           ("172.20.1.1", "vpn", VPNDEV), ("10.2.0.10", "spoke", VMS)]:
        p = udp(VMH, MAC["vms"], "10.1.3.10", dst)
        c.send("vms", p)
        c.expect(port, fwd(p, port, mac))
    # er/onprem view: on-prem → VNet and spoke (connected hosts).
    p = udp(EDGE, MAC["er"], "172.16.1.1", "10.1.3.10")
    c.send("er", p)
    c.expect("vms", fwd(p, "vms", VMH))
    # vpn/branch view: branch → spoke VM.
    p = udp(VPNDEV, MAC["vpn"], "172.20.5.5", "10.2.0.10")
    c.send("vpn", p)
    c.expect("spoke", fwd(p, "spoke", VMS))
    # A5 / B1: branch-to-branch off — on-prem (ER) cannot reach the VPN branch, nor the NVA
    # route: no_route drops, answered with ICMP net unreachable (rate limited, few here).
    for dst in ["172.20.1.1", "192.168.10.5"]:
        p = udp(EDGE, MAC["er"], "172.16.1.1", dst)
        c.send("er", p)
        c.expect("er", icmp_error(p, "er", "192.0.2.1", 3, 0))
        c.drops["no_route"] += 1
    p = udp(VPNDEV, MAC["vpn"], "172.20.5.5", "172.16.1.1")
    c.send("vpn", p)
    c.expect("vpn", icmp_error(p, "vpn", "192.0.2.5", 3, 0))
    c.drops["no_route"] += 1
    # D7 ECMP: 192.168.20.0/24 from NVA1 and NVA2 with equal AS-path length.
    for i in range(64):
        p = udp(VMH, MAC["vms"], "10.1.3.10", "192.168.20.%d" % (i % 200 + 1), sport=1000 + i)
        c.send("vms", p)
        c.expect("nva", fwd(p, "nva", NVA1), fwd(p, "nva", NVA2))
    c.ecmp_groups.append("nva")
    # RFC 1812: TTL 1 → ICMP time exceeded; TTL 2 is forwarded with TTL 1.
    p = udp(VMH, MAC["vms"], "10.1.3.10", "192.168.10.7", ttl=1)
    c.send("vms", p)
    c.expect("vms", icmp_error(p, "vms", "10.1.3.1", 11, 0))
    c.drops["ttl_expired"] += 1
    p = udp(VMH, MAC["vms"], "10.1.3.10", "192.168.10.7", ttl=2)
    c.send("vms", p)
    c.expect("nva", fwd(p, "nva", NVA1))
    # Bad header checksum: dropped and counted.
    p = udp(VMH, MAC["vms"], "10.1.3.10", "192.168.10.5")
    p[IP].chksum = 0x1234
    c.send("vms", Ether(bytes(p)))
    c.drops["bad_checksum"] += 1
    # Bad IHL (4): bad_header.
    raw = bytearray(bytes(udp(VMH, MAC["vms"], "10.1.3.10", "192.168.10.5")))
    raw[14] = 0x44
    c.send("vms", Ether(bytes(raw)))
    c.drops["bad_header"] += 1
    # IP options (IHL 6): not the worker's straight-line case, forwarded by the generic path.
    p = Ether(src=VMH, dst=MAC["vms"]) / \
        IP(src="10.1.3.10", dst="192.168.10.6", options=[IPOption(b"\x94\x04\x00\x00")]) / \
        UDP(sport=11, dport=12) / Raw(b"options")
    c.send("vms", p)
    c.expect("nva", fwd(p, "nva", NVA1))
    # Total length beyond the frame (a straight-line-shaped header): bad_header.
    raw = bytearray(bytes(udp(VMH, MAC["vms"], "10.1.3.10", "192.168.10.5")))
    raw[16:18] = (len(raw) - 14 + 1).to_bytes(2, "big")
    raw[24:26] = b"\0\0"
    raw[24:26] = checksum(bytes(raw[14:34])).to_bytes(2, "big")
    c.send("vms", Ether(bytes(raw)))
    c.drops["bad_header"] += 1
    # Unicast frame for someone else's MAC: not_for_us.
    c.send("vms", udp(VMH, "02:99:99:99:99:99", "10.1.3.10", "192.168.10.5"))
    c.drops["not_for_us"] += 1
    # 802.1Q-tagged frame: parsed, forwarded untagged.
    p = Ether(src=VMH, dst=MAC["vms"]) / Dot1Q(vlan=7) / IP(src="10.1.3.10", dst="192.168.10.9") / \
        UDP(sport=5, dport=6) / Raw(b"tagged")
    c.send("vms", p)
    c.expect("nva", fwd(p, "nva", NVA1))
    # ARP request for the port address → ARP reply.
    p = Ether(src=VMH, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=VMH, psrc="10.1.3.10",
                                                     pdst="10.1.3.1")
    c.send("vms", p)
    c.expect("vms", Ether(src=MAC["vms"], dst=VMH) / ARP(op=2, hwsrc=MAC["vms"], psrc="10.1.3.1",
                                                         hwdst=VMH, pdst="10.1.3.10"))
    # ICMP echo to the port address → echo reply (TTL 64).
    p = Ether(src=VMH, dst=MAC["vms"]) / IP(src="10.1.3.10", dst="10.1.3.1", ttl=33, id=77) / \
        ICMP(type=8, id=9, seq=3) / Raw(b"ping-payload")
    c.send("vms", p)
    r = Ether(src=MAC["vms"], dst=VMH) / IP(src="10.1.3.1", dst="10.1.3.10", ttl=64, id=77) / \
        ICMP(type=0, id=9, seq=3) / Raw(b"ping-payload")
    c.expect("vms", r)
    # IPv6 (E10: connected IPv6 subnets only): VM-H6 → VPN-side host, hop limit - 1. Our NAs
    # carry the Router flag (RFC 4861 §7.2.4: we are a router). The
    # VPN-side host solicits our address (its NS creates its neighbour entry, RFC 4861 §7.2.3);
    # if our packet comes first, rsfwd solicits it itself (optional NS below).
    p = Ether(src=VPN6, dst="33:33:ff:00:00:01") / \
        IPv6(src="2001:db8:5::2", dst="ff02::1:ff00:1", hlim=255) / \
        ICMPv6ND_NS(tgt="2001:db8:5::1") / ICMPv6NDOptSrcLLAddr(lladdr=VPN6)
    c.send("vpn", p)
    c.expect("vpn", Ether(src=MAC["vpn"], dst=VPN6) /
             IPv6(src="2001:db8:5::1", dst="2001:db8:5::2", hlim=255) /
             ICMPv6ND_NA(R=1, S=1, O=1, tgt="2001:db8:5::1") /
             ICMPv6NDOptDstLLAddr(lladdr=MAC["vpn"]))
    c.optional["vpn"].append(bytes(
        Ether(src=MAC["vpn"], dst="33:33:ff:00:00:02") /
        IPv6(src="2001:db8:5::1", dst="ff02::1:ff00:2", hlim=255) /
        ICMPv6ND_NS(tgt="2001:db8:5::2") / ICMPv6NDOptSrcLLAddr(lladdr=MAC["vpn"])))
    p = Ether(src=VMH6, dst=MAC["vms"]) / IPv6(src="2001:db8:3::10", dst="2001:db8:5::2", hlim=9) / \
        UDP(sport=7, dport=8) / Raw(b"six")
    c.send("vms", p)
    c.expect("vpn", fwd(p, "vpn", VPN6))
    # IPv6 payload length beyond the frame: bad_header.
    raw = bytearray(bytes(p))
    raw[18:20] = (len(raw) - 14 - 40 + 1).to_bytes(2, "big")
    c.send("vms", Ether(bytes(raw)))
    c.drops["bad_header"] += 1
    # IPv6 echo to our address → echo reply; ND solicitation for it → advertisement.
    p = Ether(src=VMH6, dst=MAC["vms"]) / IPv6(src="2001:db8:3::10", dst="2001:db8:3::1", hlim=64) / \
        ICMPv6EchoRequest(id=1, seq=2, data=b"v6ping")
    c.send("vms", p)
    c.expect("vms", Ether(src=MAC["vms"], dst=VMH6) /
             IPv6(src="2001:db8:3::1", dst="2001:db8:3::10", hlim=64) /
             ICMPv6EchoReply(id=1, seq=2, data=b"v6ping"))
    p = Ether(src=VMH6, dst="33:33:ff:00:00:01") / \
        IPv6(src="2001:db8:3::10", dst="ff02::1:ff00:1", hlim=255) / \
        ICMPv6ND_NS(tgt="2001:db8:3::1") / ICMPv6NDOptSrcLLAddr(lladdr=VMH6)
    c.send("vms", p)
    c.expect("vms", Ether(src=MAC["vms"], dst=VMH6) /
             IPv6(src="2001:db8:3::1", dst="2001:db8:3::10", hlim=255) /
             ICMPv6ND_NA(R=1, S=1, O=1, tgt="2001:db8:3::1") /
             ICMPv6NDOptDstLLAddr(lladdr=MAC["vms"]))
    # IPv6 static neighbour (config `neighbours` with an IPv6 address): forwarded at once, no
    # neighbour solicitation, from the VPN side to the VM subnet.
    p = Ether(src=VPN6, dst=MAC["vpn"]) / IPv6(src="2001:db8:5::2", dst="2001:db8:3::20", hlim=7) / \
        UDP(sport=9, dport=10) / Raw(b"static-six")
    c.send("vpn", p)
    c.expect("vms", fwd(p, "vms", VMS6))
    # ICMPv6 errors (RFC 4443): hop limit 1 → time exceeded; no route → destination unreachable
    # (E10: only the ports' IPv6 subnets are routed), both from the ingress port's address6.
    p = Ether(src=VMH6, dst=MAC["vms"]) / IPv6(src="2001:db8:3::10", dst="2001:db8:3::20", hlim=1) / \
        UDP(sport=11, dport=12) / Raw(b"hop-limit-1")
    c.send("vms", p)
    c.expect("vms", icmp6_error(p, "vms", "2001:db8:3::1", 3, 0))
    c.drops["ttl_expired"] += 1
    p = Ether(src=VMH6, dst=MAC["vms"]) / IPv6(src="2001:db8:3::10", dst="2001:db8:99::1", hlim=64) / \
        UDP(sport=13, dport=14) / Raw(b"nowhere")
    c.send("vms", p)
    c.expect("vms", icmp6_error(p, "vms", "2001:db8:3::1", 1, 0))
    c.drops["no_route"] += 1
    # No ICMPv6 error about an ICMPv6 error (RFC 4443 §2.4 (e)): dropped silently.
    p = Ether(src=VMH6, dst=MAC["vms"]) / IPv6(src="2001:db8:3::10", dst="2001:db8:99::2", hlim=64) / \
        ICMPv6DestUnreach(code=0) / Raw(b"x" * 48)
    c.send("vms", p)
    c.drops["no_route"] += 1
    # Non-IP ethertype: not_ip.
    c.send("vms", Ether(src=VMH, dst=MAC["vms"], type=0x88B5) / Raw(b"x" * 46))
    c.drops["not_ip"] += 1
    return c


def scenario_b2b_on():
    c = Case()
    # A6: with branch-to-branch on, the ER circuit's view gets the VPN branch and NVA routes.
    for dst, port, mac in [("172.20.1.1", "vpn", VPNDEV), ("192.168.10.5", "nva", NVA1)]:
        p = udp(EDGE, MAC["er"], "172.16.1.1", dst)
        c.send("er", p)
        c.expect(port, fwd(p, port, mac))
    p = udp(VPNDEV, MAC["vpn"], "172.20.5.5", "172.16.1.1")
    c.send("vpn", p)
    c.expect("er", fwd(p, "er", EDGE))
    return c


ATTACKER = "02:00:00:00:66:66"


def scenario_rfc1812(default_route=False, allow_martian=False):
    """Router requirements (issue 26, docs/dataplane.md "Conformance"): what a router must not
    forward or believe. The same packets on the seed config and on one whose views hold a
    default route (learnt from the VPN site, out the vpn port): with it, the old code forwarded
    most of them. Every packet here has a counted drop or an exact expected output."""
    c = Case()
    ok_dst = "192.168.10.5"  # NVA1's route in the vnet view

    def v4(src="10.1.3.10", dst=ok_dst, dmac=MAC["vms"], smac=VMH, **kw):
        return udp(smac, dmac, src, dst, **kw)

    def v6(src, dst="2001:db8:3::20", dmac=MAC["vpn"]):  # vpn port → static neighbour on vms
        return Ether(src=VPN6, dst=dmac) / IPv6(src=src, dst=dst, hlim=9) / \
            UDP(sport=21, dport=22) / Raw(b"six-rfc")

    # Controls: an ordinary packet, and good addresses the fast path's screen sends to the
    # generic parse (169.x outside 169.254/16, fec0::/10): forwarded.
    for p in [v4(), v4(src="169.1.2.3")]:
        c.send("vms", p)
        c.expect("nva", fwd(p, "nva", NVA1))
    p = v6("fec0::1")
    c.send("vpn", p)
    c.expect("vms", fwd(p, "vms", VMS6))
    if default_route:  # the default route is there: off-net traffic leaves by the VPN site
        p = v4(dst="8.8.8.8")
        c.send("vms", p)
        c.expect("vpn", fwd(p, "vpn", VPNDEV))
    # RFC 1812 §5.3.4: unicast IP in a link-layer broadcast / multicast frame.
    for dmac in ["ff:ff:ff:ff:ff:ff", "01:00:5e:00:00:01", "01:80:c2:00:00:0e", "33:33:00:00:00:01"]:
        c.send("vms", v4(dmac=dmac))
        c.drops["l2_not_unicast"] += 1
    c.send("vms", Ether(src=VMH, dst="ff:ff:ff:ff:ff:ff") / IP(src="10.1.3.10", dst="10.1.3.1") /
           ICMP(type=8, id=1, seq=1))  # an echo to us in a broadcast frame: no reply
    c.drops["l2_not_unicast"] += 1
    c.send("vpn", v6("2001:db8:5::2", dmac="33:33:00:00:00:01"))
    c.drops["l2_not_unicast"] += 1
    # RFC 3927 §7 / RFC 4291 §2.5.6: link-local sources and destinations stay on the link.
    c.send("vms", v4(src="169.254.1.1"))
    c.send("vms", v4(dst="169.254.9.9"))
    c.send("vpn", v6("fe80::2"))
    c.drops["link_local"] += 3
    # RFC 1812 §5.3.5.1, §5.3.7: limited broadcast, multicast (no multicast routing), 0/8,
    # 127/8, class E destinations; IPv6 loopback and unspecified destinations (RFC 4291).
    for dst in ["255.255.255.255", "224.0.0.5", "239.1.1.1", "240.0.0.1", "127.0.0.1", "0.1.2.3"]:
        c.send("vms", v4(dst=dst))
        c.drops["martian_dst"] += 1
    for dst in ["::1", "::"]:
        c.send("vpn", v6("2001:db8:5::2", dst=dst))
        c.drops["martian_dst"] += 1
    # Martian sources (RFC 1812 §5.3.7; --allow-martian-sources lets the IPv4 ones through);
    # IPv6 unspecified, loopback and multicast sources (RFC 4291 §2.5.2, §2.5.3, §2.7: MUSTs).
    for src in ["0.0.0.5", "127.0.0.1", "224.0.0.1", "240.0.0.1", "255.255.255.255"]:
        p = v4(src=src)
        c.send("vms", p)
        if allow_martian:
            c.expect("nva", fwd(p, "nva", NVA1))
        else:
            c.drops["martian_src"] += 1
    for src in ["::", "::1", "ff02::1"]:
        c.send("vpn", v6(src))
        c.drops["martian_src"] += 1
    # ICMP sees only whole datagrams: fragments to us are dropped, not answered.
    c.send("vms", Ether(src=VMH, dst=MAC["vms"]) /
           IP(src="10.1.3.10", dst="10.1.3.1", flags="MF", id=5) / ICMP(type=8, id=2, seq=1) /
           Raw(b"first-fragment"))
    c.send("vms", Ether(src=VMH, dst=MAC["vms"]) /
           IP(src="10.1.3.10", dst="10.1.3.1", frag=2, proto=1, id=6) /
           Raw(bytes(ICMP(type=8, id=3, seq=1) / Raw(b"later-fragment"))))
    c.send("vms", Ether(src=VMH6, dst=MAC["vms"]) / IPv6(src="2001:db8:3::10", dst="2001:db8:3::1") /
           IPv6ExtHdrFragment(m=1, id=7) / ICMPv6EchoRequest(id=4, seq=1, data=b"frag6"))
    c.drops["frag_to_us"] += 3
    # An echo request with a bad ICMP checksum: dropped, not answered.
    c.send("vms", Ether(src=VMH, dst=MAC["vms"]) / IP(src="10.1.3.10", dst="10.1.3.1") /
           ICMP(type=8, id=4, seq=1, chksum=0x1234) / Raw(b"bad"))
    c.drops["bad_checksum"] += 1
    # Directed broadcasts to a connected subnet (RFC 2644): never ARPed for, never forwarded.
    for dst in ["10.1.3.255", "10.1.3.0"]:
        c.send("er", udp(EDGE, MAC["er"], "172.16.1.1", dst))
        c.drops["directed_broadcast"] += 1
    # RFC 1812 §3.3.2: an ARP sender with a multicast/broadcast MAC is not believed (no reply,
    # no entry); nor an NS with a hop limit other than 255 (RFC 4861 §7.1.1).
    for sha in ["01:00:5e:00:00:01", "ff:ff:ff:ff:ff:ff"]:
        c.send("vms", Ether(src=VMH, dst="ff:ff:ff:ff:ff:ff") /
               ARP(op=1, hwsrc=sha, psrc="10.1.3.50", pdst="10.1.3.1"))
        c.drops["neighbour_invalid"] += 1
    c.send("vms", Ether(src=VMH6, dst="33:33:ff:00:00:01") /
           IPv6(src="2001:db8:3::10", dst="ff02::1:ff00:1", hlim=64) /
           ICMPv6ND_NS(tgt="2001:db8:3::1") / ICMPv6NDOptSrcLLAddr(lladdr=VMH6))
    c.drops["neighbour_invalid"] += 1
    c.send("vms", Ether(src=VMH6, dst="33:33:ff:00:00:01") /
           IPv6(src="2001:db8:3::10", dst="ff02::1:ff00:1", hlim=255) /
           ICMPv6ND_NS(tgt="2001:db8:3::1") / ICMPv6NDOptSrcLLAddr(lladdr="33:33:00:00:00:01"))
    c.drops["neighbour_invalid"] += 1
    # Spoofed ARP reply / NA for static neighbours: ignored, traffic still goes to the static MAC.
    c.send("vms", Ether(src=ATTACKER, dst=MAC["vms"]) /
           ARP(op=2, hwsrc=ATTACKER, psrc="10.1.3.10", hwdst=MAC["vms"], pdst="10.1.3.1"))
    c.send("vms", Ether(src=ATTACKER, dst=MAC["vms"]) /
           IPv6(src="2001:db8:3::20", dst="2001:db8:3::1", hlim=255) /
           ICMPv6ND_NA(R=0, S=0, O=1, tgt="2001:db8:3::20") / ICMPv6NDOptDstLLAddr(lladdr=ATTACKER))
    for _ in range(3):  # after the spoofs, in arrival order on the control thread's side
        p = udp(EDGE, MAC["er"], "172.16.1.1", "10.1.3.10")
        c.send("er", p)
        c.expect("vms", fwd(p, "vms", VMH))
        p = v6("2001:db8:5::2")
        c.send("vpn", p)
        c.expect("vms", fwd(p, "vms", VMS6))
    return c


def telemetry_fib(prefix, proc, deadline):
    """/rsfwd/fib through the DPDK telemetry socket while rsfwd runs: the first reply whose vnet
    view has routes (the engine registers /rsfwd/* at start, the control thread mirrors the
    numbers on its first poll), else None."""
    path = os.path.join("/var/run/dpdk", prefix, "dpdk_telemetry.v2")
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
                s.settimeout(2)
                s.connect(path)
                s.recv(4096)  # banner
                s.send(b"/rsfwd/fib")
                reply = json.loads(s.recv(1 << 20)).get("/rsfwd/fib")
                vnet = reply.get("view/vnet") if isinstance(reply, dict) else None
                if isinstance(vnet, dict) and vnet.get("routes_v4", 0) > 0:
                    return reply
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    return None


def check_fib_views(name, st, tel):
    """Per-view FIB numbers in --stats-json (fib.views) and in telemetry (/rsfwd/fib, view/*)."""
    errors = []
    views = {v["name"]: v for v in st["fib"].get("views", [])}
    if set(views) != {"vnet", "er/onprem", "vpn/branch"}:
        return ["%s: fib.views names %s" % (name, sorted(views))]
    for n, v in views.items():
        if v["routes_v4"] < 1 or v["lpm_lookup_bytes"] > v["lpm_bytes"] or v["lpm_bytes"] == 0:
            errors.append("%s: fib.views %s: %s" % (name, n, v))
        # Every view holds the ports' connected /24s and /30s: longer than /14, so the IPv4
        # table has the 18-bit root (lpm/README.md, "Small tables"); IPv6 tables are small.
        if v["root_bits_v4"] != 18 or v["root_bits_v6"] != 8:
            errors.append("%s: fib.views %s: root bits v4 %d v6 %d, expected 18 and 8" %
                          (name, n, v["root_bits_v4"], v["root_bits_v6"]))
    if views["vnet"]["routes_v6"] < 1:  # vms has an IPv6 subnet
        errors.append("%s: fib.views vnet has no IPv6 route" % name)
    if tel is None:
        return errors + ["%s: /rsfwd/fib over telemetry never listed the views" % name]
    for n, v in views.items():
        t = tel.get("view/" + re.sub(r"[^A-Za-z0-9_/]", "_", n))
        if not isinstance(t, dict):
            errors.append("%s: telemetry /rsfwd/fib lacks view/%s: %s" % (name, n, sorted(tel)))
            continue
        # Static config: the same routes at start (telemetry) and at exit (--stats-json).
        for k in ("routes_v4", "routes_v6", "root_bits_v4", "root_bits_v6"):
            if t.get(k) != v[k]:
                errors.append("%s: telemetry view/%s %s = %s, --stats-json says %s" %
                              (name, n, k, t.get(k), v[k]))
        if not 0 < t.get("lpm_lookup_bytes", 0) <= t.get("lpm_bytes", 0):
            errors.append("%s: telemetry view/%s bytes: %s" % (name, n, t))
    return errors


def run_case(name, case, b2b, rsfwd, workdir, idle_sleep_us=0, default_route=False, args=()):
    d = os.path.join(workdir, name)
    os.makedirs(d, exist_ok=True)
    ports = ["nva", "vms", "spoke", "er", "vpn"]
    for p in ports:
        for suffix in ("-in.pcap", "-out.pcap"):
            path = os.path.join(d, p + suffix)
            if os.path.exists(path):
                os.unlink(path)
        wrpcap(os.path.join(d, p + "-in.pcap"), case.inputs.get(p, []))
    cfg = os.path.join(d, "config.yaml")
    with open(cfg, "w") as f:
        f.write(CONFIG.format(d=d, m=MAC, b2b="true" if b2b else "false", nva1=NVA1, nva2=NVA2,
                              vmh=VMH, vms_=VMS, edge=EDGE, vpndev=VPNDEV, vmh6=VMH6, vpn6=VPN6,
                              vms6=VMS6,
                              vpn_default=', {prefix: 0.0.0.0/0, as_path: "65200"}'
                              if default_route else ""))
    stats = os.path.join(d, "stats.json")
    extra = (["--idle-sleep-us", str(idle_sleep_us)] if idle_sleep_us else []) + list(args)
    cmd = [rsfwd, "run", "--config", cfg, "--socket", "", "--duration", "1.0", "--stats-json", stats] + extra + ["--",
           "-l", "0-1", "--no-huge", "-m", "256", "--no-pci", "--file-prefix",
           "rsfwd_golden_%s_%d" % (name, os.getpid()), "--log-level", "lib.eal:error"]
    prefix = "rsfwd_golden_%s_%d" % (name, os.getpid())
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    tel_fib = telemetry_fib(prefix, proc, deadline=time.monotonic() + 20)
    try:
        out_s, err_s = proc.communicate(timeout=50)
    except subprocess.TimeoutExpired:
        proc.kill()
        out_s, err_s = proc.communicate()
    if proc.returncode != 0:
        print(out_s[-3000:], err_s[-3000:])
        return ["%s: rsfwd exited %d" % (name, proc.returncode)]
    errors = []
    with open(stats) as f:
        st = json.load(f)
    errors += check_fib_views(name, st, tel_fib)
    for port in ports:
        out = [bytes(p) for p in rdpcap(os.path.join(d, port + "-out.pcap"))]
        exp = case.expected.get(port, [])
        remaining = collections.Counter(out)
        used_alt = set()
        for alts in exp:
            hit = next((i for i, a in enumerate(alts) if remaining[a] > 0), None)
            if hit is None:
                errors.append("%s: port %s: expected packet missing: %s" %
                              (name, port, Ether(alts[0]).summary()))
                continue
            remaining[alts[hit]] -= 1
            if len(alts) > 1:
                used_alt.add(hit)
        for opt in case.optional.get(port, []):
            if remaining[opt] > 0:
                remaining[opt] -= 1
        for pkt, n in remaining.items():
            for _ in range(n):
                errors.append("%s: port %s: unexpected packet: %s %s" %
                              (name, port, Ether(pkt).summary(), pkt.hex()))
        if port in case.ecmp_groups and len(used_alt) < 2:
            errors.append("%s: port %s: ECMP used only members %s" % (name, port, used_alt))
    # Per-port software counters against the pcaps: every frame read is counted in rx, every
    # frame written (forwarded, or built by the control thread) in tx, with its bytes.
    by_name = {p["name"]: p for p in st["ports"]}
    for port in ports:
        sent = [bytes(p) for p in rdpcap(os.path.join(d, port + "-out.pcap"))]
        fed = [bytes(p) for p in case.inputs.get(port, [])]
        want = {"rx_pkts": len(fed), "rx_bytes": sum(map(len, fed)),
                "tx_pkts": len(sent), "tx_bytes": sum(map(len, sent))}
        for k, v in want.items():
            if by_name[port][k] != v:
                errors.append("%s: port %s: %s = %d, the pcaps say %d" %
                              (name, port, k, by_name[port][k], v))
    for reason, n in case.drops.items():
        if st["drops"].get(reason, 0) != n:  # absent: a binary without that reason
            errors.append("%s: drops.%s = %d, expected %d" %
                          (name, reason, st["drops"].get(reason, 0), n))
    for reason, n in st["drops"].items():
        if n and reason not in case.drops:
            errors.append("%s: unexpected drops.%s = %d" % (name, reason, n))
    # --idle-sleep-us: the same packets out, and the workers did sleep once the pcaps ran dry.
    sleeps = sum(w.get("idle_sleeps", 0) for w in st.get("workers", []))
    if idle_sleep_us and sleeps == 0:
        errors.append("%s: --idle-sleep-us %d: no worker slept" % (name, idle_sleep_us))
    if not idle_sleep_us and sleeps:
        errors.append("%s: busy-poll mode, yet workers slept %d times" % (name, sleeps))
    return errors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rsfwd", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--only")
    ap.add_argument("--idle-sleep-us", type=int, default=0,
                    help="run rsfwd with its idle back-off (same expectations)")
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    errors = []
    cases = [("b2b_off", scenario_b2b_off, False, False, ()),
             ("b2b_on", scenario_b2b_on, True, False, ()),
             ("rfc1812", scenario_rfc1812, False, False, ()),
             ("rfc1812_default", lambda: scenario_rfc1812(default_route=True), True, True, ()),
             ("rfc1812_allow_martian", lambda: scenario_rfc1812(True, allow_martian=True), True,
              True, ("--allow-martian-sources",))]
    for name, fn, b2b, default_route, args in cases:
        if a.only and a.only != name:
            continue
        e = run_case(name, fn(), b2b, a.rsfwd, a.workdir, a.idle_sleep_us, default_route, args)
        print("%s: %s" % (name, "ok" if not e else "%d errors" % len(e)))
        errors += e
    for e in errors:
        print("FAIL", e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
