#!/usr/bin/python3
"""Writes the seed corpus of the BGP fuzz target (tests/fuzz/bgp/corpus/): valid OPEN, UPDATE
(IPv4, IPv6, 2- and 4-octet AS, every attribute), NOTIFICATION, KEEPALIVE, ROUTE-REFRESH, and the
malformed cases the codec tests cover. Each file: one context byte, then the message.
Run: /usr/bin/python3 tests/fuzz/bgp/make_corpus.py"""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
WK, OPT_T, OPT = 0x40, 0xC0, 0x80


def msg(t, body, length=None):
    n = 19 + len(body) if length is None else length
    return b"\xff" * 16 + struct.pack("!HB", n, t) + body


def attr(flags, t, v):
    if len(v) > 255:
        return struct.pack("!BBH", flags | 0x10, t, len(v)) + v
    return struct.pack("!BBB", flags, t, len(v)) + v


def update(withdrawn=b"", attrs=b"", nlri=b""):
    return msg(2, struct.pack("!H", len(withdrawn)) + withdrawn + struct.pack("!H", len(attrs))
               + attrs + nlri)


def path(asns, four=True, seg=2):
    fmt = "!I" if four else "!H"
    return attr(WK, 2, bytes([seg, len(asns)]) + b"".join(struct.pack(fmt, a) for a in asns))


ORIGIN = attr(WK, 1, b"\x00")
NH = attr(WK, 3, bytes([10, 1, 2, 4]))
NLRI = bytes([24, 192, 168, 10, 16, 10, 1])
V6NH = bytes.fromhex("20010db8000000000000000000000004")


def mp_reach(nlri=bytes([48, 0x20, 0x01, 0x0d, 0xb8, 0, 1]), nh=V6NH, afi=2):
    return attr(OPT, 14, struct.pack("!HBB", afi, 1, len(nh)) + nh + b"\x00" + nlri)


def mp_unreach(nlri=bytes([32, 0x20, 0x01, 0x0d, 0xb8]), afi=2):
    return attr(OPT, 15, struct.pack("!HB", afi, 1) + nlri)


def open_msg(asn=65001, hold=180, caps=None, version=4, bgp_id=0x0A000002):
    if caps is None:
        caps = (bytes([1, 4, 0, 1, 0, 1]) + bytes([1, 4, 0, 2, 0, 1]) + bytes([2, 0])
                + bytes([70, 0]) + bytes([65, 4]) + struct.pack("!I", asn))
    params = bytes([2, len(caps)]) + caps if caps else b""
    return msg(1, struct.pack("!BHHIB", version, min(asn, 23456) if asn > 65535 else asn, hold,
                              bgp_id, len(params)) + params)


FULL = (ORIGIN + path([65001, 65002, 4200000001]) + NH + attr(OPT, 4, struct.pack("!I", 50))
        + attr(WK, 6, b"") + attr(OPT_T, 7, struct.pack("!II", 65001, 0x0A010204))
        + attr(OPT_T, 8, struct.pack("!III", 0xFFEDFFED, 0xFFFFFF02, 0xFDE90007))
        + attr(OPT_T, 32, struct.pack("!III", 65001, 1, 2)) + attr(OPT_T | 0x20, 99, b"\x01\x02"))

seeds = {
    # valid
    "open": (1, open_msg()),
    "open_as4": (1, open_msg(asn=4200000001)),
    "open_nocaps": (0, open_msg(caps=b"")),
    "keepalive": (0, msg(4, b"")),
    "notification": (0, msg(3, bytes([6, 1, 0, 1, 1, 0, 0, 3, 0xE8]))),
    "route_refresh": (0, msg(5, struct.pack("!HBB", 1, 0, 1))),
    "borr": (0, msg(5, struct.pack("!HBB", 2, 1, 1))),
    "update_full": (3, update(attrs=FULL, nlri=NLRI)),
    "update_ibgp_lp": (1, update(attrs=ORIGIN + path([65001]) + NH + attr(WK, 5, b"\0\0\0\x64"),
                                 nlri=NLRI)),
    "update_as2_as4path": (2, update(attrs=ORIGIN + path([65001, 23456], four=False) + NH
                                     + attr(OPT_T, 17, bytes([2, 1]) + struct.pack("!I", 4200000001)),
                                     nlri=NLRI)),
    "update_v6": (3, update(attrs=mp_reach() + ORIGIN + path([65001]))),
    "update_v6_ll": (3, update(attrs=mp_reach(nh=V6NH + bytes.fromhex("fe80" + "00" * 13 + "01"))
                               + ORIGIN + path([65001]))),
    "update_v4_mp": (3, update(attrs=mp_reach(nlri=bytes([24, 10, 9, 8]), nh=bytes([10, 1, 2, 4]),
                                              afi=1) + ORIGIN + path([65001]))),
    "withdraw": (3, update(withdrawn=NLRI)),
    "withdraw_v6": (3, update(attrs=mp_unreach())),
    "eor_v4": (3, update()),
    "eor_v6": (3, update(attrs=mp_unreach(nlri=b""))),
    "update_extlen_comms": (3, update(attrs=ORIGIN + path([65001]) + NH
                                      + attr(OPT_T, 8, b"\xff\xed\x00\x01" * 100), nlri=NLRI)),
    # malformed
    "bad_marker": (0, b"\x00" + msg(4, b"")[1:]),
    "bad_length_short": (0, msg(4, b"", length=18)),
    "bad_length_long": (0, msg(4, b"", length=4097)),
    "bad_type": (0, msg(9, b"")),
    "keepalive_long": (0, msg(4, b"\x00")),
    "open_bad_version": (1, open_msg(version=3)),
    "open_hold_2": (1, open_msg(hold=2)),
    "open_bad_param": (1, msg(1, struct.pack("!BHHIB", 4, 65001, 180, 1, 3) + bytes([1, 1, 0]))),
    "open_trunc_cap": (1, msg(1, struct.pack("!BHHIB", 4, 65001, 180, 1, 4) + bytes([2, 2, 65, 4]))),
    "withdrawn_overrun": (3, msg(2, bytes([0, 50, 16, 10, 1, 0, 0]))),
    "attrlen_overrun": (3, msg(2, bytes([0, 0, 0, 90, 0x40, 1, 1, 0]))),
    "attr_truncated": (3, update(attrs=ORIGIN + path([65001]) + bytes([WK, 3, 9, 10, 1, 2, 4]),
                                 nlri=NLRI)),
    "attr_partial_header": (3, update(attrs=ORIGIN + path([65001]) + NH + bytes([0x40, 5]),
                                      nlri=NLRI)),
    "aspath_bad_type": (3, update(attrs=ORIGIN + attr(WK, 2, bytes([5, 1, 0, 0, 0xFD, 0xE9])) + NH,
                                  nlri=NLRI)),
    "aspath_empty_seg": (3, update(attrs=ORIGIN + attr(WK, 2, bytes([2, 0])) + NH, nlri=NLRI)),
    "aspath_overrun": (3, update(attrs=ORIGIN + attr(WK, 2, bytes([2, 3, 0, 0, 0xFD, 0xE9])) + NH,
                                 nlri=NLRI)),
    "aspath_confed_ebgp": (3, update(attrs=ORIGIN + path([65001], seg=3) + NH, nlri=NLRI)),
    "aspath_as0": (3, update(attrs=ORIGIN + path([65001, 0]) + NH, nlri=NLRI)),
    "first_as_wrong": (7, update(attrs=ORIGIN + path([65002]) + NH, nlri=NLRI)),
    "unknown_well_known": (3, update(attrs=ORIGIN + path([65001]) + NH + attr(WK, 77, b"\x01"),
                                     nlri=NLRI)),
    "duplicate_origin": (3, update(attrs=ORIGIN + attr(WK, 1, b"\x02") + path([65001]) + NH,
                                   nlri=NLRI)),
    "duplicate_mp_reach": (3, update(attrs=mp_reach() + mp_reach() + ORIGIN + path([65001]))),
    "nlri_len_33": (3, update(attrs=ORIGIN + path([65001]) + NH, nlri=bytes([33, 10, 0, 0, 0, 0]))),
    "nlri_truncated": (3, update(attrs=ORIGIN + path([65001]) + NH, nlri=bytes([24, 10, 1]))),
    "mp_reach_truncated": (3, update(attrs=attr(OPT, 14, bytes([0, 2, 1, 16, 0])))),
    "mp_reach_v6_129": (3, update(attrs=mp_reach(nlri=bytes([129]) + b"\x20" * 17) + ORIGIN
                                  + path([65001]))),
    "missing_nexthop": (3, update(attrs=ORIGIN + path([65001]), nlri=NLRI)),
    "bad_origin": (3, update(attrs=attr(WK, 1, b"\x03") + path([65001]) + NH, nlri=NLRI)),
    "bad_flags": (3, update(attrs=attr(OPT, 1, b"\x00") + path([65001]) + NH, nlri=NLRI)),
    "comm_len_3": (3, update(attrs=ORIGIN + path([65001]) + NH + attr(OPT_T, 8, b"\x01\x02\x03"),
                             nlri=NLRI)),
    "large_len_13": (3, update(attrs=ORIGIN + path([65001]) + NH + attr(OPT_T, 32, b"\x01" * 13),
                               nlri=NLRI)),
    "nexthop_zero": (3, update(attrs=ORIGIN + path([65001]) + attr(WK, 3, b"\0\0\0\0"), nlri=NLRI)),
    "rr_bad_len": (0, msg(5, bytes([0, 1, 1, 1, 0]))),
}

os.makedirs(OUT, exist_ok=True)
for name, (ctx, data) in seeds.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(bytes([ctx]) + data)
    # The same bytes as a bare UPDATE body exercise decode_update_body directly.
print(f"wrote {len(seeds)} seeds to {OUT}")
