#!/usr/bin/python3
"""Writes the seed corpus of fuzz_packet (frames the worker must handle): run from this folder."""
import os
from scapy.all import ARP, ICMP, IP, UDP, TCP, Dot1Q, Ether, IPv6, Raw

seeds = {
    "udp4": Ether() / IP(dst="10.1.2.3", ttl=5) / UDP(sport=1, dport=2) / Raw(b"x" * 18),
    "tcp4_opts": Ether() / IP(dst="10.1.2.3", options=b"\x01\x01\x01\x00") / TCP(),
    "vlan_udp4": Ether() / Dot1Q(vlan=7) / IP(dst="192.168.1.1") / UDP(),
    "frag4": Ether() / IP(dst="10.0.0.1", flags=1, frag=0) / UDP() / Raw(b"y" * 30),
    "ttl1": Ether() / IP(dst="10.0.0.1", ttl=1) / ICMP(),
    "ttl255_csum_edge": Ether() / IP(dst="255.255.255.255", src="255.255.255.255", ttl=255) / UDP(),
    "ipv6_udp": Ether() / IPv6(dst="2001:db8::1", hlim=2) / UDP() / Raw(b"z"),
    "arp": Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(pdst="10.1.3.1"),
}
os.makedirs("corpus", exist_ok=True)
for name, pkt in seeds.items():
    with open(os.path.join("corpus", name), "wb") as f:
        f.write(bytes(pkt))
raw = bytes(seeds["udp4"])
variants = {
    "truncated_ip": raw[:20], "short_eth": raw[:13], "bad_ihl": raw[:14] + b"\x44" + raw[15:],
    "total_len_big": raw[:16] + b"\xff\xff" + raw[18:], "vlan_only": bytes(Ether() / Dot1Q())[:16],
    "ipv6_short": bytes(seeds["ipv6_udp"])[:40], "empty": b"",
}
for name, data in variants.items():
    with open(os.path.join("corpus", name), "wb") as f:
        f.write(data)
