"""tests/xdp/pkt.py — packet helper run inside a namespace (`ip netns exec NS python3 pkt.py ...`).
Prints one JSON line with the result.

  ping DST COUNT [TTL]              ICMP/ICMPv6 echo; counts replies and time-exceeded
  udp DST COUNT [TTL] [FLOWS]       UDP datagrams, FLOWS different source ports
  sniff IFACE SECONDS DST           capture UDP to DST; report TTLs and whether checksums verify
  tcp DST PORT                      TCP connect (kernel socket), reports success
  listen ADDR PORT SECONDS          TCP accept once (kernel socket), reports the peer
  udplisten ADDR PORT SECONDS       count UDP datagrams a kernel socket receives (until
                                    a line on stdin, or SECONDS)
"""
import json
import socket
import sys

args = sys.argv[1:]
cmd = args[0]


def out(**kw):
    print(json.dumps(kw))
    sys.stdout.flush()


def v6(addr):
    return ":" in addr


if cmd in ("tcp", "listen", "udplisten"):
    if cmd == "tcp":
        dst, port = args[1], int(args[2])
        fam = socket.AF_INET6 if v6(dst) else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.connect((dst, port))
            out(connected=True)
        except OSError as e:
            out(connected=False, error=str(e))
    elif cmd == "listen":
        addr, port, secs = args[1], int(args[2]), float(args[3])
        s = socket.socket(socket.AF_INET6 if v6(addr) else socket.AF_INET)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, port))
        s.listen(4)
        out(ready=True)
        s.settimeout(secs)
        try:
            c, peer = s.accept()
            out(accepted=True, peer=peer[0])
        except OSError:
            out(accepted=False)
    else:
        # Counts datagrams until a line arrives on stdin (the sender is done), then 0.5 s more;
        # prints {"ready":true} once bound so the test sends only when the socket exists.
        import select
        import time
        addr, port, secs = args[1], int(args[2]), float(args[3])
        s = socket.socket(socket.AF_INET6 if v6(addr) else socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((addr, port))
        out(ready=True)
        n, end, done = 0, time.time() + secs, None
        while time.time() < end and (done is None or time.time() < done):
            r, _, _ = select.select([s, sys.stdin], [], [], 0.1)
            if s in r:
                s.recv(2048)
                n += 1
            if sys.stdin in r and done is None:
                sys.stdin.readline()
                done = time.time() + 0.5
        out(received=n)
    sys.exit(0)

from scapy.all import (ICMP, IP, UDP, ICMPv6EchoReply, ICMPv6EchoRequest, ICMPv6TimeExceeded,
                       IPv6, Raw, conf, send, sniff, sr1)

conf.verb = 0

if cmd == "ping":
    dst, count = args[1], int(args[2])
    ttl = int(args[3]) if len(args) > 3 else 64
    replies = exceeded = 0
    sources = []
    for i in range(count):
        if v6(dst):
            pkt = IPv6(dst=dst, hlim=ttl) / ICMPv6EchoRequest(id=0x77, seq=i)
        else:
            pkt = IP(dst=dst, ttl=ttl) / ICMP(id=0x77, seq=i)
        r = sr1(pkt, timeout=1)
        if r is None:
            continue
        sources.append(r.src)
        if (r.haslayer(ICMP) and r[ICMP].type == 0) or r.haslayer(ICMPv6EchoReply):
            replies += 1
        elif (r.haslayer(ICMP) and r[ICMP].type == 11) or r.haslayer(ICMPv6TimeExceeded):
            exceeded += 1
    out(replies=replies, time_exceeded=exceeded, sources=sorted(set(sources)))
elif cmd == "udp":
    dst, count = args[1], int(args[2])
    ttl = int(args[3]) if len(args) > 3 else 64
    flows = int(args[4]) if len(args) > 4 else 1
    pkts = []
    for i in range(count):
        sport = 20000 + (i % flows)
        l3 = IPv6(dst=dst, hlim=ttl) if v6(dst) else IP(dst=dst, ttl=ttl)
        pkts.append(l3 / UDP(sport=sport, dport=9999) / Raw(b"rsfwd-xdp" * 4))
    send(pkts)
    out(sent=count)
elif cmd == "sniff":
    iface, secs, dst = args[1], float(args[2]), args[3]
    out(ready=True)
    got = sniff(iface=iface, timeout=secs,
                lfilter=lambda p: p.haslayer(UDP) and p.haslayer(IP) and p[IP].dst == dst)
    ttls, good = [], 0
    for p in got:
        ip = p[IP]
        ttls.append(ip.ttl)
        orig = ip.chksum
        ip2 = IP(bytes(ip))
        del ip2.chksum
        if IP(bytes(ip2)).chksum == orig:
            good += 1
    out(count=len(got), ttls=sorted(set(ttls)), checksum_ok=good)
else:
    out(error="unknown command " + cmd)
    sys.exit(2)
